"""OpenAIChat without an injected `http_client`: it streams through its own aiohttp session.

Every `ChatContract` check already runs on this path for each OpenAI-compatible provider (conftest); here
are the failure modes a real socket adds (a stalled server, a refused connection), what the other
OpenAI stream tests check through httpx, and the session's lifecycle (connections kept alive, `aclose`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from conftest import (
    JSON,
    KEY,
    FixtureServer,
    Reply,
    SleepRecorder,
    collect,
    collect_until_error,
    load,
    loopback,
    split,
)

from adapters.errors import (
    ContextLengthExceededError,
    ModelConnectionError,
    ModelServerError,
    ModelTimeoutError,
    UnexpectedModelBehaviorError,
)
from adapters.models._aiohttp import OwnedSession
from adapters.models._h1 import ReadTimeoutError
from adapters.models.base import TextDelta
from adapters.models.openai import OpenAIChat

pytestmark = pytest.mark.timeout(20)


def fixture(name: str) -> bytes:
    return load("openai", name)


@contextlib.asynccontextmanager
async def owned(base_url: str, **kwargs: object) -> AsyncIterator[OpenAIChat]:
    kwargs.setdefault("retry_sleep", SleepRecorder())
    async with OpenAIChat(api_key=KEY, base_url=base_url, **kwargs) as chat:  # type: ignore[arg-type]
        yield chat


async def test_streamed_text_and_json_completion(fixture_server: FixtureServer) -> None:
    fixture_server.queue(
        Reply(body=fixture("stream_text.sse")), Reply(body=fixture("completion_text.json"), content_type=JSON)
    )
    async with owned(fixture_server.base_url()) as chat:
        deltas, final = split(await collect(chat))
        assert "".join(deltas) == final.content
        assert final.usage.total_tokens > 0
        deltas, final = split(await collect(chat))
        assert deltas == ["Hello! How can I assist you today?"]
    assert [seen.headers["authorization"] for seen in fixture_server.requests] == [f"Bearer {KEY}"] * 2


async def test_truncated_stream_and_undecodable_data_are_malformed(fixture_server: FixtureServer) -> None:
    fixture_server.queue(Reply(body=fixture("stream_truncated.sse")))
    fixture_server.queue(Reply(body=b'data: {"id": "chatcmpl-1", "choices": [\n\ndata: [DONE]\n\n'))
    async with owned(fixture_server.base_url()) as chat:
        updates, error = await collect_until_error(chat)
        assert isinstance(error, UnexpectedModelBehaviorError)
        assert "truncated" in str(error)
        assert updates == [TextDelta("Hello"), TextDelta("!")]
        updates, error = await collect_until_error(chat)
        assert isinstance(error, UnexpectedModelBehaviorError)
        assert updates == []
    assert len(fixture_server.requests) == 2


async def test_error_objects_in_and_instead_of_the_stream(fixture_server: FixtureServer) -> None:
    fixture_server.queue(Reply(body=fixture("stream_error_midstream.sse")))
    fixture_server.queue(Reply(body=fixture("error_400_context_length_exceeded.json")))
    async with owned(fixture_server.base_url()) as chat:
        updates, error = await collect_until_error(chat)
        assert isinstance(error, ModelServerError)
        assert updates == [TextDelta("The answer")]
        _, error = await collect_until_error(chat)
        assert type(error) is ContextLengthExceededError


async def test_a_server_that_never_answers_times_out_and_is_retried() -> None:
    connections = 0

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read(65536)
        await asyncio.sleep(5)

    sleep = SleepRecorder()
    async with (
        loopback(stall) as port,
        owned(f"http://127.0.0.1:{port}/v1", timeout=httpx.Timeout(0.2), max_retries=1, retry_sleep=sleep) as chat,
    ):
        _, error = await collect_until_error(chat)
    assert type(error) is ModelTimeoutError
    assert isinstance(error.__cause__, ReadTimeoutError)
    assert (connections, len(sleep.waits)) == (2, 1)


async def test_a_stream_that_stalls_after_output_times_out_without_a_retry() -> None:
    body = fixture("stream_text.sse")
    first_event = body[: body.index(b"\n\n") + 2]

    async def stall_midway(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + first_event)
        await writer.drain()
        await asyncio.sleep(5)

    sleep = SleepRecorder()
    async with loopback(stall_midway) as port:
        chat = OpenAIChat(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", timeout=0.3, retry_sleep=sleep)
        async with chat:
            _, error = await collect_until_error(chat)
    assert type(error) is ModelTimeoutError
    assert sleep.waits == []


async def test_a_refused_connection_says_the_provider_could_not_be_reached() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    sleep = SleepRecorder()
    async with owned(f"http://127.0.0.1:{port}/v1", retry_sleep=sleep) as chat:
        _, error = await collect_until_error(chat)
    assert type(error) is ModelConnectionError
    assert "could not be reached" in str(error)
    assert error.retriable
    assert len(sleep.waits) == 2


async def test_connections_are_kept_alive_and_closed_with_the_client() -> None:
    body = fixture("stream_text.sse")
    connections: list[asyncio.StreamWriter] = []
    ended = asyncio.Event()
    requests = 0

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        connections.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                length = int(head.split("content-length:")[1].split("\r\n")[0])
                await reader.readexactly(length)
                requests += 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        ended.set()  # the client closed the connection

    async with loopback(keep_alive) as port:
        chat = OpenAIChat(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1")
        for _ in range(3):
            _, final = split(await collect(chat))
            assert final.content
        assert (requests, len(connections)) == (3, 1)  # one pooled connection served all three turns
        await chat.aclose()
        await asyncio.wait_for(ended.wait(), 5)


def test_proxies_come_from_the_environment_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "models.internal")
    session = OwnedSession(httpx.Limits())
    assert session.proxy_for("https://api.openai.com/v1/chat/completions") == "http://proxy.internal:3128"
    assert session.proxy_for("https://models.internal/v1/chat/completions") is None
    assert session.proxy_for("http://127.0.0.1:8000/v1/chat/completions") is None  # no HTTP_PROXY
    monkeypatch.setenv("HTTPS_PROXY", "http://other:3128")
    assert session.proxy_for("https://api.openai.com/v1/chat/completions") == "http://proxy.internal:3128"


async def test_a_host_behind_a_proxy_is_reached_through_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP_PROXY names a forward proxy: the request goes to it in absolute form (aiohttp's path), not direct."""
    body = fixture("stream_text.sse")
    request_lines: list[str] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_lines.append(head.split("\r\n")[0])
        length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    async with loopback(proxy) as port:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        async with owned("http://127.0.0.2:9/v1") as chat:  # nothing listens there: only the proxy answers
            _, final = split(await collect(chat))
    assert final.content
    assert request_lines == ["POST http://127.0.0.2:9/v1/chat/completions HTTP/1.1"]
