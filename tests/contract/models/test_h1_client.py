"""The providers' HTTP/1.1 client (`adapters.models._h1`, `_h1_pool`) against real loopback servers.

Every server here writes raw HTTP/1.1 bytes by hand on 127.0.0.1 and counts the connections it accepted,
so keep-alive reuse, retries and closes are observed from the server's side of the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from conftest import loopback as serve_raw

from adapters.models._h1 import (
    ConnectError,
    H1Response,
    InvalidURLError,
    PoolTimeoutError,
    ReadTimeoutError,
    RemoteProtocolError,
)
from adapters.models._h1_pool import H1Pool

pytestmark = pytest.mark.timeout(20)

T = httpx.Timeout(5)
R02 = httpx.Timeout(0.2)
MIB = 1 << 20


@dataclass
class Request:
    line: str
    headers: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class Server:
    port: int = 0
    connections: int = 0
    requests: list[Request] = field(default_factory=list)
    eofs: int = 0
    eof_seen: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/v1/chat") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def read(self, reader: asyncio.StreamReader) -> Request | None:
        """The next request of a connection (recorded), or None when the client closed it."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.saw_eof()
            return None
        line, *lines = head.decode("latin-1").split("\r\n")[:-2]
        headers = [(k, v) for k, _, v in (h.partition(": ") for h in lines)]
        length = sum(int(v) for k, v in headers if k.lower() == "content-length")
        request = Request(line, headers, await reader.readexactly(length))
        self.requests.append(request)
        return request

    def saw_eof(self) -> None:
        self.eofs += 1
        self.eof_seen.set()

    async def wait_eof(self, reader: asyncio.StreamReader) -> None:
        """Block until the client closes the connection."""
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass
        self.saw_eof()


Handler = Callable[[Server, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def loopback(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """Serve `handler` on a free loopback port (conftest's `loopback`), counting the connections it accepts."""
    state = Server()

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        await handler(state, reader, writer)

    async with serve_raw(counted, tls) as port:
        state.port = port
        yield state


def reply(body: bytes = b"ok", *headers: str, status: str = "200 OK") -> bytes:
    """A Content-Length response."""
    head = "".join(f"{h}\r\n" for h in (*headers, f"Content-Length: {len(body)}"))
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


def chunked_head(*headers: str) -> bytes:
    return "".join(f"{h}\r\n" for h in ("HTTP/1.1 200 OK", *headers, "Transfer-Encoding: chunked")).encode() + b"\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def keepalive(make: Callable[[Request], bytes] = lambda _: reply()) -> Handler:
    """Answer every request of a connection with `make(request)` until the client closes it."""

    async def handler(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await server.read(reader)) is not None:
            writer.write(make(request))
            await writer.drain()

    return handler


def once(raw: bytes, *, hold: bool = False) -> Handler:
    """Read one request, write `raw`, then close the connection (`hold`: not before the client does)."""

    async def handler(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read(reader)
        writer.write(raw)
        await writer.drain()
        await (server.wait_eof(reader) if hold else asyncio.sleep(0.05))

    return handler


def per_connection(first: Handler, rest: Handler) -> Handler:
    """`first` serves the first connection, `rest` the others."""

    async def handler(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await (first if server.connections == 1 else rest)(server, reader, writer)

    return handler


def h1pool(max_connections: int | None = None, keepalive_expiry: float | None = None) -> contextlib.aclosing[H1Pool]:
    ssl_context = httpx.create_ssl_context
    return contextlib.aclosing(
        H1Pool(max_connections=max_connections, keepalive_expiry=keepalive_expiry, ssl_context=ssl_context)
    )


async def post(
    pool: H1Pool, url: str, data: bytes = b"{}", headers: dict[str, str] | None = None, timeouts: httpx.Timeout = T
) -> H1Response:
    return await pool.post(url, data=data, headers=headers or {}, timeouts=timeouts)


@contextlib.asynccontextmanager
async def opened(pool: H1Pool, url: str, data: bytes = b"{}", timeouts: httpx.Timeout = T) -> AsyncIterator[H1Response]:
    """The response of a POST, closed on exit."""
    async with contextlib.aclosing(await post(pool, url, data, timeouts=timeouts)) as response:
        yield response


async def fetch(pool: H1Pool, url: str, data: bytes = b"{}") -> bytes:
    """POST, read the whole body, release the connection."""
    async with opened(pool, url, data) as response:
        return await response.aread()


async def collect_until_error(response: H1Response) -> tuple[list[bytes], BaseException | None]:
    got: list[bytes] = []
    try:
        async for data in response.aiter_bytes():
            got.append(data)
    except Exception as exc:
        return got, exc
    return got, None


PARTS = [b"data: one\n\n", b"data: two\n\n", b"data: three\n\n"]
FRAMINGS = {
    "chunked": chunked_head("X-Request-Id: abc") + b"".join(map(chunk, PARTS)) + b"0\r\n\r\n",
    "content-length": reply(b"".join(PARTS), "X-Request-Id: abc"),
    "until-close": b"HTTP/1.1 200 OK\r\nX-Request-Id: abc\r\n\r\n" + b"".join(PARTS),
    "error-status": reply(b"".join(PARTS), "X-Request-Id: abc", status="429 Too Many Requests"),
}


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_body_status_and_headers(framing: str) -> None:
    async with loopback(once(FRAMINGS[framing])) as server, h1pool() as pool, opened(pool, server.url()) as response:
        ok = framing != "error-status"
        assert (response.status_code, response.is_success) == ((200, True) if ok else (429, False))
        assert response.headers["X-REQUEST-ID"] == response.headers["x-request-id"] == "abc"
        assert b"".join([d async for d in response.aiter_bytes()]) == b"".join(PARTS)


async def test_gzip_body_is_decoded() -> None:
    plain = b"".join(b"token %d, " % i for i in range(2000))
    packed = gzip.compress(plain)
    pieces = [packed[i : i + 1000] for i in range(0, len(packed), 1000)]
    body = chunked_head("Content-Encoding: gzip") + b"".join(map(chunk, pieces)) + b"0\r\n\r\n"
    async with loopback(keepalive(lambda _: body)) as server, h1pool() as pool:
        assert await fetch(pool, server.url()) == plain


async def test_request_bytes() -> None:
    data = b'{"model":"m","messages":[]}'
    caller = {"Authorization": "Bearer k", "X-Custom": "v", "Host": "evil.example", "content-length": "999"}
    caller |= {"Connection": "close", "Transfer-Encoding": "chunked"}
    async with loopback(keepalive()) as server, h1pool() as pool:
        await (await post(pool, server.url("/v1/x?y=1"), data, caller)).aclose()
        await (await post(pool, server.url(), b"", {"accept-encoding": "gzip"})).aclose()
    first, second = server.requests
    assert first.line == "POST /v1/x?y=1 HTTP/1.1"
    assert first.values("host") == [f"127.0.0.1:{server.port}"]
    assert first.values("content-length") == [str(len(data))]
    assert first.body == data
    assert (first.values("authorization"), first.values("x-custom")) == (["Bearer k"], ["v"])
    assert first.values("accept-encoding") == ["identity"]
    assert first.values("connection") == first.values("transfer-encoding") == []
    assert second.line == "POST /v1/chat HTTP/1.1"
    assert (second.values("accept-encoding"), second.values("content-length"), second.body) == (["gzip"], ["0"], b"")


async def test_header_with_line_break_is_refused_before_sending() -> None:
    async with loopback(keepalive()) as server, h1pool() as pool:
        with pytest.raises(ValueError, match="line break"):
            await post(pool, server.url(), headers={"X-Evil": "a\r\nX-Injected: 1"})
        await asyncio.sleep(0.05)
        assert (server.connections, pool.open_connections) == (0, 0)


@pytest.mark.parametrize("url", ["ftp://x/", "http:///nohost", "example.com/v1", "http://h:notaport/"])
async def test_invalid_url(url: str) -> None:
    async with h1pool() as pool:
        with pytest.raises(InvalidURLError):
            await post(pool, url)


async def test_keepalive_reuses_one_connection() -> None:
    async with loopback(keepalive(lambda r: reply(r.body))) as server, h1pool() as pool:
        for i in range(3):
            assert await fetch(pool, server.url(), b"req %d" % i) == b"req %d" % i
        assert pool.open_connections == 1
    assert server.connections == 1


async def test_connection_close_response_is_not_reused() -> None:
    # The server says "Connection: close" but keeps serving: the client must still not reuse it.
    async with loopback(keepalive(lambda _: reply(b"ok", "Connection: close"))) as server, h1pool() as pool:
        assert await fetch(pool, server.url()) == b"ok"
        assert await fetch(pool, server.url()) == b"ok"
    assert server.connections == 2


async def test_keepalive_expiry_opens_new_connection() -> None:
    async with loopback(keepalive()) as server, h1pool(keepalive_expiry=0.1) as pool:
        await fetch(pool, server.url())
        await fetch(pool, server.url())
        assert server.connections == 1
        await asyncio.sleep(0.3)
        await fetch(pool, server.url())
    assert server.connections == 2


async def test_an_expired_connection_makes_room_at_once() -> None:
    # The only connection allowed has expired: it no longer counts, so no wait even with pool=0.
    async with loopback(keepalive()) as server, h1pool(max_connections=1, keepalive_expiry=0.1) as pool:
        await fetch(pool, server.url())
        await asyncio.sleep(0.3)
        async with opened(pool, server.url(), timeouts=httpx.Timeout(5, pool=0)) as response:
            assert await response.aread() == b"ok"
    assert server.connections == 2


@pytest.mark.parametrize("when", ["idle", "on_next_request"])
async def test_stale_keepalive_connection_is_replaced(when: str) -> None:
    async def first(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await once(reply(b"first"))(server, reader, writer)
        if when == "on_next_request":  # it reads the next request, then closes without a byte of answer
            await server.read(reader)

    async with loopback(per_connection(first, keepalive(lambda _: reply(b"fresh")))) as server, h1pool() as pool:
        assert await fetch(pool, server.url()) == b"first"
        if when == "idle":
            await asyncio.sleep(0.1)
        assert await fetch(pool, server.url()) == b"fresh"
    assert (server.connections, len(server.requests)) == (2, 3 if when == "on_next_request" else 2)


async def test_pool_timeout_while_the_only_connection_is_held() -> None:
    async with loopback(keepalive()) as server, h1pool(max_connections=1) as pool, opened(pool, server.url()):
        with pytest.raises(PoolTimeoutError):
            await post(pool, server.url(), timeouts=httpx.Timeout(5, pool=0.2))
    assert server.connections == 1


async def test_waiting_request_gets_the_released_connection() -> None:
    async with loopback(keepalive(lambda r: reply(r.body))) as server, h1pool(max_connections=1) as pool:
        first = await post(pool, server.url(), b"one")
        second = asyncio.create_task(post(pool, server.url(), b"two", timeouts=httpx.Timeout(5, pool=10)))
        await asyncio.sleep(0.1)
        assert not second.done()
        assert await first.aread() == b"one"
        await first.aclose()
        async with contextlib.aclosing(await second) as response:
            assert await response.aread() == b"two"
    assert server.connections == 1


async def test_response_closed_early_closes_its_connection() -> None:
    async with (
        loopback(per_connection(once(chunked_head() + chunk(b"partial"), hold=True), keepalive())) as server,
        h1pool() as pool,
    ):
        async with opened(pool, server.url()) as response:
            async for data in response.aiter_bytes():
                assert data == b"partial"
                break
        await asyncio.wait_for(server.eof_seen.wait(), 2)
        assert await fetch(pool, server.url()) == b"ok"
    assert server.connections == 2


async def test_pool_aclose_closes_idle_connections() -> None:
    async with loopback(keepalive()) as server:
        async with h1pool() as pool:
            await fetch(pool, server.url())
            assert server.eofs == 0
        await asyncio.wait_for(server.eof_seen.wait(), 2)
        assert server.eofs == 1


async def test_close_mid_body_raises_after_the_data_before_it() -> None:
    async with (
        loopback(once(chunked_head() + chunk(b"abc"))) as server,
        h1pool() as pool,
        opened(pool, server.url()) as response,
    ):
        got, error = await collect_until_error(response)
    assert got == [b"abc"]
    assert isinstance(error, RemoteProtocolError)


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (b"HELLO\r\n\r\n", "malformed"),
        (chunked_head("Content-Encoding: br") + chunk(b"\x8b\x02\x80") + b"0\r\n\r\n", "Content-Encoding 'br'"),
        (b"", "before a response"),  # a fresh connection closed without an answer: not retried
    ],
)
async def test_bad_answer_is_a_protocol_error(answer: bytes, match: str) -> None:
    async with loopback(once(answer)) as server, h1pool() as pool:
        with pytest.raises(RemoteProtocolError, match=match):
            await fetch(pool, server.url())
    assert (server.connections, len(server.requests)) == (1, 1)


async def plaintext(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1024)  # a TLS ClientHello, answered in plain HTTP
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize("scheme", ["http", "https"], ids=["refused", "tls-handshake-failed"])
async def test_connect_error(scheme: str) -> None:
    async with contextlib.AsyncExitStack() as stack, h1pool() as pool:
        server = await stack.enter_async_context(loopback(plaintext))
        if scheme == "http":
            await stack.aclose()  # nothing listens on its port any more
        with pytest.raises(ConnectError):
            await post(pool, server.url().replace("http", scheme, 1))
        assert pool.open_connections == 0


async def test_read_timeout_before_the_status_line() -> None:
    async with loopback(once(b"", hold=True)) as server, h1pool() as pool:
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError) as caught:
            await post(pool, server.url(), timeouts=R02)
        assert 0.15 < time.monotonic() - started < 1.5
        assert isinstance(caught.value, TimeoutError)
        await asyncio.wait_for(server.eof_seen.wait(), 2)  # the timed-out connection was closed


async def test_read_timeout_in_the_body() -> None:
    async with (
        loopback(once(chunked_head() + chunk(b"first"), hold=True)) as server,
        h1pool() as pool,
        opened(pool, server.url(), timeouts=R02) as response,
    ):
        got, error = await collect_until_error(response)
    assert got == [b"first"]
    assert isinstance(error, ReadTimeoutError)


async def test_steady_trickle_does_not_time_out() -> None:
    async def handler(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read(reader)
        writer.write(chunked_head())
        for i in range(6):
            await asyncio.sleep(0.1)
            writer.write(chunk(b"t%d" % i))
        writer.write(b"0\r\n\r\n")
        await server.wait_eof(reader)

    async with loopback(handler) as server, h1pool() as pool:
        started = time.monotonic()
        async with opened(pool, server.url(), timeouts=httpx.Timeout(5, read=0.25)) as response:
            assert await response.aread() == b"t0t1t2t3t4t5"
        assert time.monotonic() - started > 0.5


def pattern(size: int) -> bytes:
    return (bytes(range(251)) * (size // 251 + 1))[:size]


async def test_large_body_read_slowly_arrives_intact() -> None:
    body = pattern(5 * MIB)
    got: list[bytes] = []
    async with loopback(keepalive(lambda _: reply(body))) as server, h1pool() as pool, opened(pool, server.url()) as r:
        async for data in r.aiter_bytes():
            got.append(data)
            await asyncio.sleep(0.02)
    assert sum(map(len, got)) == len(body)
    assert b"".join(got) == body
    assert max(map(len, got)) < 2 * MIB  # reading paused near 1 MiB buffered instead of taking it all


async def test_connection_released_after_a_paused_complete_body_still_reads() -> None:
    # One byte over the high-water mark: reading pauses on the very feed that completes the message.
    body = pattern(MIB + 1)
    async with loopback(keepalive(lambda r: reply(body if r.body == b"big" else b"small"))) as server, h1pool() as pool:
        response = await post(pool, server.url(), b"big")
        await asyncio.sleep(0.2)  # the whole body is buffered, unread
        await response.aclose()
        async with opened(pool, server.url(), b"next", timeouts=httpx.Timeout(1)) as second:
            assert await second.aread() == b"small"
    assert server.connections == 1


async def test_tls_round_trip() -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    pool = H1Pool(max_connections=None, keepalive_expiry=None, ssl_context=lambda: client_ctx)
    async with loopback(keepalive(lambda r: reply(r.body)), server_ctx) as server, contextlib.aclosing(pool):
        assert await fetch(pool, server.url().replace("http://", "https://"), b"secret") == b"secret"


def trickle(pieces: int, gap_s: float) -> Handler:
    """A chunked body of `pieces` chunks `gap_s` apart (t0, t1, ...), each written as the server's own send."""

    async def handler(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read(reader)
        writer.write(chunked_head())
        for i in range(pieces):
            writer.write(chunk(b"t%d," % i))
            await writer.drain()
            await asyncio.sleep(gap_s)
        writer.write(b"0\r\n\r\n")
        await server.wait_eof(reader)

    return handler


async def test_a_paced_body_is_read_in_few_larger_pieces() -> None:
    # 30 pieces 5 ms apart (~150 ms): read as they arrive that is ~30 reads; paced at 50 ms, one a window.
    async with loopback(trickle(30, 0.005)) as server, h1pool() as pool, opened(pool, server.url()) as response:
        got: list[bytes] = []
        async for data in response.aiter_bytes():
            if not got:
                response.pace(0.05)  # from the second read on, as the providers do after the first text
            got.append(data)
    assert b"".join(got) == b"".join(b"t%d," % i for i in range(30))
    assert len(got) <= 8
    assert max(len(data) for data in got[1:]) > len(b"t10,")  # several pieces gathered by one read


async def test_a_paced_body_read_faster_than_its_read_timeout_does_not_time_out() -> None:
    # Held for 0.3 s at a time with a read timeout of 0.1 s: the hold is the reader's doing, not the server's.
    async with (
        loopback(trickle(20, 0.02)) as server,
        h1pool() as pool,
        opened(pool, server.url(), timeouts=httpx.Timeout(5, read=0.1)) as response,
    ):
        response.pace(0.3)
        got, error = await collect_until_error(response)
    assert error is None
    assert b"".join(got) == b"".join(b"t%d," % i for i in range(20))


async def test_a_paced_response_closed_while_held_closes_its_connection_and_the_next_request_gets_a_new_one() -> None:
    async with loopback(trickle(50, 0.01)) as server, h1pool() as pool:
        async with opened(pool, server.url()) as response:
            response.pace(0.5)
            pieces = response.aiter_bytes()
            first = await anext(pieces)
            await anext(pieces)  # the hold begins after this read: the next one waits for it to end
            await pieces.aclose()
        assert first.startswith(b"t0,")
        await asyncio.wait_for(server.eof_seen.wait(), 2)
        async with opened(pool, server.url()) as second:
            assert (await anext(second.aiter_bytes())).startswith(b"t0,")
    assert server.connections == 2
