"""The connection pool of the providers' HTTP/1.1 client (`_h1`): keep-alive connections per host, limits.

See `_h1`'s docstring for what the client does and why it exists.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import urllib.parse
from collections.abc import Callable, Mapping

import httpx

from ._h1 import (
    ConnectError,
    Connection,
    ConnectTimeoutError,
    H1Response,
    InvalidURLError,
    PoolTimeoutError,
    RemoteProtocolError,
)

__all__ = ["H1Pool"]

_Key = tuple[str, str, int]
"""(scheme, host, port) of a connection."""


class H1Pool:
    """Keep-alive HTTP/1.1 connections of one event loop (see `_h1`'s docstring).

    Args:
        max_connections: open connections at most, over all hosts (None: no limit).
        keepalive_expiry: seconds an idle connection is kept (None: until the server closes it).
        ssl_context: called once, on the first `https://` request, for the TLS context.
    """

    def __init__(
        self,
        *,
        max_connections: int | None,
        keepalive_expiry: float | None,
        ssl_context: Callable[[], ssl.SSLContext],
    ) -> None:
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._ssl_factory = ssl_context
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[_Key, list[Connection]] = {}
        self._open: set[Connection] = set()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._targets: dict[str, tuple[_Key, bytes]] = {}
        self.closed = False

    @property
    def open_connections(self) -> int:
        """Connections open now (idle or in use)."""
        return len(self._open)

    async def post(self, url: str, *, data: bytes, headers: Mapping[str, str], timeouts: httpx.Timeout) -> H1Response:
        """POST `data` to `url`; the open response once its status line and headers arrived, whatever its status.

        Raises:
            InvalidURLError: `url` is not an absolute http(s) URL.
            ValueError: a header carries a line break.
            ConnectError, ConnectTimeoutError, PoolTimeoutError, ReadTimeoutError, RemoteProtocolError: see
                `_h1`'s docstring.
        """
        key, head = self._target(url)
        request = _request(head, data, headers)
        for attempt in (0, 1):
            conn = await self._acquire(key, timeouts)
            reused = conn.uses > 0
            conn.uses += 1
            response = H1Response(conn, timeouts.read)
            conn.response = response
            assert conn.transport is not None
            conn.transport.write(request)
            try:
                await response.wait_head()
            except RemoteProtocolError:
                await response.aclose()
                if attempt == 0 and reused and not response.received_anything:
                    continue  # a stale keep-alive connection: once more on a new one
                raise
            except BaseException:
                await response.aclose()
                raise
            return response
        raise AssertionError("unreachable")

    def release(self, conn: Connection) -> None:
        """Take back a connection whose response was read to its end."""
        if self.closed or conn.closed:
            conn.close()
            return
        conn.idle_since = asyncio.get_running_loop().time()
        self._idle.setdefault(conn.key, []).append(conn)
        self._wake_one()

    def forget(self, conn: Connection) -> None:
        """Drop a closed connection (called from its `connection_lost`)."""
        if conn in self._open:
            self._open.discard(conn)
            idle = self._idle.get(conn.key)
            if idle is not None and conn in idle:
                idle.remove(conn)
            self._wake_one()

    async def aclose(self) -> None:
        """Close the idle connections; those in use close when their responses are closed."""
        self.closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

    # -- internals ---------------------------------------------------------------------------

    def _target(self, url: str) -> tuple[_Key, bytes]:
        cached = self._targets.get(url)
        if cached is None:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidURLError(f"not an absolute http(s) URL: {url!r}")
            default = 443 if parts.scheme == "https" else 80
            try:
                port = parts.port or default
            except ValueError as exc:
                raise InvalidURLError(f"bad port in {url!r}: {exc}") from exc
            host = parts.hostname
            authority = f"[{host}]" if ":" in host else host
            if port != default:
                authority += f":{port}"
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            cached = ((parts.scheme, host, port), f"POST {target} HTTP/1.1\r\nHost: {authority}\r\n".encode("ascii"))
            if len(self._targets) < 256:
                self._targets[url] = cached
        return cached

    async def _acquire(self, key: _Key, timeouts: httpx.Timeout) -> Connection:
        if self.closed:
            raise RuntimeError("the HTTP pool is closed")
        loop = asyncio.get_running_loop()
        deadline = None if timeouts.pool is None else loop.time() + timeouts.pool
        while True:
            idle = self._idle.get(key)
            while idle:
                conn = idle.pop()
                if conn.closed:
                    continue
                if self._expiry is not None and loop.time() - conn.idle_since > self._expiry:
                    self._drop(conn)
                    continue
                return conn
            if self._max is None or len(self._open) < self._max:
                return await self._connect(key, timeouts.connect)
            if self._evict_idle():
                continue
            await self._wait_for_room(deadline, timeouts.pool)

    async def _wait_for_room(self, deadline: float | None, pool_s: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        try:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            await asyncio.wait_for(waiter, remaining)
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._wake_one()  # woken as the wait ended otherwise: pass the free connection on
            if isinstance(exc, TimeoutError):
                raise PoolTimeoutError(f"no free connection within {pool_s:g} s") from None
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _evict_idle(self) -> bool:
        """Close one idle connection (of another host) to make room; True when one was closed."""
        for idle in self._idle.values():
            while idle:
                conn = idle.pop(0)
                if not conn.closed:
                    self._drop(conn)
                    return True
        return False

    def _drop(self, conn: Connection) -> None:
        """Close an idle connection and stop counting it now, not when its `connection_lost` runs."""
        self._open.discard(conn)
        conn.close()

    async def _connect(self, key: _Key, connect_s: float | None) -> Connection:
        scheme, host, port = key
        conn = Connection(self, key)
        self._open.add(conn)
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = self._ssl_factory()
            tls = self._ssl
        try:
            async with asyncio.timeout(connect_s):
                await loop.create_connection(
                    lambda: conn, host, port, ssl=tls, server_hostname=host if tls is not None else None
                )
        except TimeoutError:
            self.forget(conn)
            raise ConnectTimeoutError(f"connecting to {host}:{port} took longer than {connect_s:g} s") from None
        except (OSError, ssl.SSLError) as exc:
            self.forget(conn)
            raise ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        except BaseException:
            self.forget(conn)
            raise
        return conn

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _request(head: bytes, data: bytes, headers: Mapping[str, str]) -> bytes:
    """The request's bytes: `head` (request line and Host), the caller's headers, Content-Length, the body.

    Raises:
        ValueError: a header name or value carries a line break (it would split the request).
    """
    lines = [head]
    names = set()
    for name, value in headers.items():
        lower = name.lower()
        if lower in ("host", "content-length", "transfer-encoding", "connection"):
            continue
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"HTTP header {name!r} contains a line break")
        names.add(lower)
        lines.append(f"{name}: {value}\r\n".encode("latin-1"))
    if "accept-encoding" not in names:
        lines.append(b"Accept-Encoding: identity\r\n")
    lines.append(b"Content-Length: %d\r\n\r\n" % len(data))
    lines.append(data)
    return b"".join(lines)
