"""The HTTP/1.1 client of the providers' streamed chat turns: asyncio transports, httptools' parser.

A model worker reads every token of every turn off a socket, so the client under the stream is the
server's largest single cost per request. Measured on the benchmark's fake model (100 concurrent
streams of 64 tokens, one pinned core, CPU time per stream): aiohttp's `iter_any` 1.12-1.23 ms (1.28-1.43 ms
with the read timeout set, which moves a timer on every read), this client 0.65-0.76 ms. The provider's
whole `OpenAIChat.stream` took 1.59-1.66 ms on this client against 2.06-2.39 ms on aiohttp (interleaved
runs); in the benchmark the embedded server's CPU per request fell 8-9 % (docs/benchmarks.md).
The HTTP parsing stays in a library (httptools, llhttp's bindings, the parser uvicorn uses); what is ours
is the connection pool and the response's buffering.

What it does:
- POST over keep-alive connections pooled per (scheme, host, port), at most `max_connections` open;
  an idle connection is reused for `keepalive_expiry` seconds. A request that fails on a reused
  connection before any byte of its response arrived (the server had closed it meanwhile) is sent once
  more on a new connection, as HTTP clients do for a stale keep-alive connection.
- TLS with the given `ssl.SSLContext` (server name checked), plain TCP for `http://`.
- Bodies chunked, with Content-Length, or up to the connection's end; gzip / deflate bodies are decoded
  (it asks for `Accept-Encoding: identity` unless the caller set that header).
- Timeouts (seconds, None = no limit), as httpx's `Timeout` names them: `connect` (TCP + TLS), `pool`
  (waiting for a free connection), `read` (between two reads, the status line included; one timer per
  response, moved only when it fires instead of on every read).
- Flow control: it stops reading from a socket when 1 MiB of unread body is buffered.
- Pacing (`H1Response.pace`): once asked, it reads a streamed body at most once an interval, so the
  tokens arriving meanwhile are taken in one read (the providers ask once a turn streams text; see
  `base.text_read_interval`).

What it does not do (the caller keeps aiohttp for these): proxies, redirects (none are followed, as
before), HTTP/2, brotli.

Errors: `ConnectError` (could not connect: refused, DNS, TLS), `RemoteProtocolError` (the connection broke
or the response was malformed), `ConnectTimeoutError` / `PoolTimeoutError` / `ReadTimeoutError` (subclasses of
`TimeoutError`); all but the timeouts are `HTTPClientError`s.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

import httptools
import httpx

__all__ = [
    "ConnectError",
    "ConnectTimeoutError",
    "Connection",
    "H1Response",
    "HTTPClientError",
    "InvalidURLError",
    "PoolTimeoutError",
    "ReadTimeoutError",
    "RemoteProtocolError",
]

_HIGH_WATER = 1 << 20
"""Unread body bytes at which a connection stops reading from its socket."""


class HTTPClientError(Exception):
    """A request failed without a response (see the subclasses)."""


class InvalidURLError(ValueError):
    """The URL is not an absolute http(s) URL."""


class ConnectError(HTTPClientError):
    """No connection could be made (refused, unknown host, TLS handshake failed)."""


class RemoteProtocolError(HTTPClientError):
    """The connection broke, or the server's answer was not valid HTTP/1.1."""


class ConnectTimeoutError(TimeoutError):
    """The TCP connect (and TLS handshake) took longer than the `connect` timeout."""


class PoolTimeoutError(TimeoutError):
    """No connection of the pool was free within the `pool` timeout."""


class ReadTimeoutError(TimeoutError):
    """Nothing was read from the server for longer than the `read` timeout."""


class _Owner(Protocol):
    """What a connection tells its pool (`_h1_pool.H1Pool`)."""

    def release(self, conn: Connection) -> None: ...

    def forget(self, conn: Connection) -> None: ...


class Connection(asyncio.Protocol):
    """One TCP (or TLS) connection of a pool; it feeds the bytes it reads to the response in flight."""

    def __init__(self, pool: _Owner, key: tuple[str, str, int]) -> None:
        self.pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.response: H1Response | None = None
        self.closed = False
        self.idle_since = 0.0
        self.uses = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.response is None:  # bytes nobody asked for: the connection is not reusable
            self.close()
            return
        self.response.feed(data)

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.response is not None:
            self.response.on_eof(exc)
        self.pool.forget(self)

    def close(self) -> None:
        """Close the socket (the pool forgets the connection in `connection_lost`)."""
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()


class H1Response:
    """An HTTP/1.1 response whose body is read as it arrives (a `StreamedResponse`)."""

    def __init__(self, conn: Connection, read_timeout: float | None) -> None:
        self._conn = conn
        self._parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self._loop = asyncio.get_running_loop()
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._headers: httpx.Headers | None = None
        self._status = 0
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._paused = False
        self._decoder: zlib._Decompress | None = None
        self._complete = False
        self._keep_alive = False
        self._received = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._head: asyncio.Future[None] = self._loop.create_future()
        self._closed = False
        self._read_timeout = read_timeout
        self._last_read = self._loop.time()
        self._timer = None if read_timeout is None else self._loop.call_later(read_timeout, self._check_read)
        self._pace_s = 0.0
        self._pace_timer: asyncio.TimerHandle | None = None

    # -- what the streaming code reads ---------------------------------------------------------

    @property
    def status_code(self) -> int:
        """HTTP status."""
        return self._status

    @property
    def headers(self) -> Mapping[str, str]:
        """Response headers, looked up case-insensitively."""
        if self._headers is None:
            self._headers = httpx.Headers(self._raw_headers)
        return self._headers

    @property
    def is_success(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self._status < 300

    async def aread(self) -> bytes:
        """The whole (rest of the) body."""
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive: everything buffered since the last step, joined.

        Raises:
            ReadTimeoutError: nothing arrived for `read` seconds.
            RemoteProtocolError: the connection broke before the body ended, or the body is malformed.
        """
        while True:
            if self._chunks:
                chunks, self._chunks, self._buffered = self._chunks, [], 0
                self._resume_reading()
                yield chunks[0] if len(chunks) == 1 else b"".join(chunks)
                if self._pace_s and not self._complete and self._error is None:
                    self._hold()
            elif self._error is not None:
                raise self._error
            elif self._complete:
                return
            else:
                self._waiter = self._loop.create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None

    def pace(self, seconds: float) -> None:
        """Read the socket at most once every `seconds` from now on (0: as bytes arrive, the default).

        After each step of `aiter_bytes` the connection stops reading for `seconds`; what arrives meanwhile
        waits in the kernel and is taken in one read. A stream of small pieces (a token each) then wakes its
        reader once an interval instead of once a piece; the end of the body is seen up to `seconds` late.
        Measured over the benchmark's fake model (100 concurrent streams of 64 tokens 5 ms apart, one core):
        1.09-1.13 ms of CPU a stream read as it arrives (a read per token), 0.52-0.57 ms at 50 ms.
        """
        self._pace_s = seconds

    async def aclose(self) -> None:
        """Release the connection: back to the pool when the body was read to its end, else closed."""
        if self._closed:
            return
        self._closed = True
        self._stop_timer()
        self._parser = None  # it refers back to this response: no cycle left for the garbage collector
        conn = self._conn
        conn.response = None
        if self._complete and self._keep_alive and self._error is None and not conn.closed:
            # Whatever is still buffered was read off the socket: the connection is clean, but it must read again.
            self._resume_reading()
            conn.pool.release(conn)
        else:
            conn.close()

    # -- fed by the connection ---------------------------------------------------------------

    async def wait_head(self) -> None:
        """Wait for the status line and headers (raises what ended the response before them)."""
        await self._head

    @property
    def received_anything(self) -> bool:
        """True once any byte of the response was read."""
        return self._received

    def feed(self, data: bytes) -> None:
        self._received = True
        self._last_read = self._loop.time()
        if self._parser is None:  # closed
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(RemoteProtocolError(f"malformed HTTP response: {exc}"))
            self._conn.close()
            return
        if self._buffered > _HIGH_WATER and not self._paused and self._conn.transport is not None:
            self._paused = True
            self._conn.transport.pause_reading()
        self._wake()

    def on_eof(self, exc: Exception | None) -> None:
        if self._complete or self._error is not None:
            return
        if self._head.done() and self._delimited_by_eof() and exc is None:
            self._flush_decoder()
            self._complete = True
            self._wake()
            return
        where = "before the response ended" if self._head.done() else "before a response"
        detail = f": {exc}" if exc is not None else ""
        self._fail(RemoteProtocolError(f"the server closed the connection {where}{detail}"))

    def _delimited_by_eof(self) -> bool:
        headers = self.headers
        return "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", "").lower()

    # -- httptools callbacks -----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self._parser is not None  # a callback of the parser
        self._status = self._parser.get_status_code()
        encoding = self.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib or gzip header, detected
        elif encoding not in ("identity", ""):
            self._fail(RemoteProtocolError(f"unsupported Content-Encoding {encoding!r} (asked for identity)"))
            self._conn.close()
            return
        if not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self._error is not None:
            return
        if self._decoder is not None:
            try:
                body = self._decoder.decompress(body)
            except zlib.error as exc:
                self._fail(RemoteProtocolError(f"undecodable compressed body: {exc}"))
                return
        if body:
            self._chunks.append(body)
            self._buffered += len(body)

    def on_message_complete(self) -> None:
        self._flush_decoder()
        assert self._parser is not None  # a callback of the parser
        self._keep_alive = self._parser.should_keep_alive()  # only valid inside this callback
        self._complete = True
        self._stop_timer()

    # -- internals ---------------------------------------------------------------------------

    def _flush_decoder(self) -> None:
        if self._decoder is not None:
            tail = self._decoder.flush()
            if tail:
                self._chunks.append(tail)

    def _check_read(self) -> None:
        self._timer = None
        if self._complete or self._error is not None or self._closed or self._read_timeout is None:
            return
        idle = self._loop.time() - self._last_read
        if self._paused or idle < self._read_timeout:  # paused: the reader is behind, not the server
            self._timer = self._loop.call_later(
                self._read_timeout if self._paused else self._read_timeout - idle, self._check_read
            )
            return
        self._fail(ReadTimeoutError(f"nothing read from the server for {self._read_timeout:g} s"))
        self._conn.close()

    def _resume_reading(self) -> None:
        """Read from the socket again after flow control paused it (the read timeout counts from now)."""
        conn = self._conn
        if self._paused and not conn.closed and conn.transport is not None:
            self._paused = False
            self._last_read = self._loop.time()
            conn.transport.resume_reading()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pace_timer is not None:
            self._pace_timer.cancel()
            self._pace_timer = None

    def _hold(self) -> None:
        """Stop reading for one pace interval (see `pace`); flow control's pause, if on, already holds."""
        conn = self._conn
        if self._paused or conn.closed or conn.transport is None:
            return
        self._paused = True
        conn.transport.pause_reading()
        self._pace_timer = self._loop.call_later(self._pace_s, self._end_hold)

    def _end_hold(self) -> None:
        self._pace_timer = None
        self._resume_reading()

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        if not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # retrieved here: a caller may be gone
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
