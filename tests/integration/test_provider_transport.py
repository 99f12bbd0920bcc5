"""The HTTP client a provider creates itself (aiohttp under httpx) on real loopback sockets.

Connection failures must keep their meaning through the aiohttp transport: a refused connection says
the provider could not be reached, a server that drops the stream is a connection failure, and only a
real timeout is a timeout. A stream read to its end hands its connection back for the next request.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from adapters.errors import ModelConnectionError, ModelTimeoutError
from adapters.models.openai import OpenAIChat
from adapters.settings import ProviderKeys
from engine import Message

USER = Message(id="u", role="user", content="Hello")
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def chat(port: int, *, timeout: float | None = None) -> OpenAIChat:
    async def no_wait(_: float) -> None:
        return None

    return OpenAIChat(
        "m",
        api_key="k",
        base_url=f"http://127.0.0.1:{port}/v1",
        provider_keys=ProviderKeys(_env_file=None),
        max_retries=1,
        retry_sleep=no_wait,
        timeout=timeout,
    )


async def first_error(model: OpenAIChat) -> Exception:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the test asserts the exact class below
        async for _ in model.stream([USER], []):
            pass
    return caught.value


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> int:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    await reader.readexactly(length)


async def test_a_refused_connection_says_the_provider_could_not_be_reached() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        async with chat(port) as model:
            error = await first_error(model)
    assert type(error) is ModelConnectionError
    assert "could not be reached" in str(error)
    assert error.retriable


async def test_a_stream_dropped_midway_is_a_connection_failure_not_a_timeout(serve) -> None:  # type: ignore[no-untyped-def]
    async def drop_after_one_chunk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        chunk = b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    port = await serve(drop_after_one_chunk)
    async with chat(port) as model:
        error = await first_error(model)
    assert type(error) is ModelConnectionError
    assert "connection failed" in str(error)


async def test_a_server_that_never_answers_times_out(serve) -> None:  # type: ignore[no-untyped-def]
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
            await reader.read()  # until the client gives up and closes
        finally:
            writer.close()

    port = await serve(silent)
    async with chat(port, timeout=0.2) as model:
        error = await first_error(model)
    assert type(error) is ModelTimeoutError
