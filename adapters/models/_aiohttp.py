"""The connections a provider client owns for its streamed turns, and the part of a response its code reads.

A provider client without an injected `http_client` streams its chat turns through connections of its
own instead of an `httpx.AsyncClient`: without httpx's request building, send chain and the four
async-generator layers (`aiter_bytes` -> `aiter_raw` -> the bound stream -> the transport's stream) every
received chunk went through, and httpx's per-request objects. In the benchmark (100 concurrent streams,
64 chunks each; 20 s A/B runs, three each) an aiohttp session there took the embedded server from 196 to
206 requests/s without tools and from 137 to 146 with one, its p95 total from 571 to 525 ms, and its peak
RSS down ~4.5 MB. Since then the connections are `_h1`'s (httptools under asyncio transports), which
read a 64-token stream for ~0.5 ms less CPU than aiohttp (see `_h1`); a host the environment routes
through a proxy still goes through an aiohttp session.

Both are created on first use in the running event loop (they bind to it), are replaced if a later call
runs in another loop, and are closed by the client's `aclose()`. They keep what the httpx client gave:
certifi's CA bundle (`httpx.create_ssl_context`, which honours SSL_CERT_FILE / SSL_CERT_DIR), proxies
from HTTP_PROXY / HTTPS_PROXY / NO_PROXY, no redirects, httpx's timeouts (connect, read between two reads,
pool wait) and limits (`max_connections`, `keepalive_expiry`). The proxy of a host is looked up once per
client, as httpx reads the environment once per client: aiohttp's own `trust_env` reads it (and ~/.netrc)
on every request, which cost 0.17 ms a request here.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

import aiohttp
import httpx

from ._h1_pool import H1Pool

__all__ = ["AiohttpResponse", "OwnedSession", "StreamedResponse", "client_timeout"]


class StreamedResponse(Protocol):
    """What the streaming code reads of a response: `httpx.Response` has it, and so has `AiohttpResponse`."""

    @property
    def status_code(self) -> int:
        """HTTP status."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Response headers, looked up case-insensitively."""
        ...

    @property
    def is_success(self) -> bool:
        """True for a 2xx status."""
        ...

    async def aread(self) -> bytes:
        """The whole (rest of the) body."""
        ...

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive (decompressed)."""
        ...

    async def aclose(self) -> None:
        """Release the connection (back to the pool when the body was read to its end)."""
        ...


class AiohttpResponse:
    """An `aiohttp.ClientResponse` seen as a `StreamedResponse`."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        """HTTP status."""
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        """Response headers (a case-insensitive multidict)."""
        return self._response.headers

    @property
    def is_success(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self._response.status < 300

    async def aread(self) -> bytes:
        """The whole (rest of the) body."""
        return await self._response.read()

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body's bytes as each network read delivers them."""
        return self._response.content.iter_any()

    async def aclose(self) -> None:
        """Release the connection: kept alive when the body was read to its end, else closed."""
        self._response.release()


def client_timeout(timeout: httpx.Timeout) -> aiohttp.ClientTimeout:
    """Map httpx's timeouts (seconds, None = no limit) to aiohttp's, as `httpx_aiohttp` maps them.

    connect -> `sock_connect`, read (between two reads) -> `sock_read`, pool (waiting for a pooled
    connection) -> `connect`; no limit on the whole request, as with httpx.
    """
    return aiohttp.ClientTimeout(total=None, connect=timeout.pool, sock_connect=timeout.connect, sock_read=timeout.read)


class OwnedSession:
    """A provider client's own aiohttp session (see module docstring).

    Args:
        limits: httpx's connection limits: `max_connections` caps the pool (None: no cap) and
            `keepalive_expiry` is how long an idle connection is kept, in seconds.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: H1Pool | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    def get(self) -> aiohttp.ClientSession:
        """The session of the running event loop (created on first use)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,
                keepalive_timeout=self._limits.keepalive_expiry,
                ssl=httpx.create_ssl_context(),
            )
            self._session = aiohttp.ClientSession(connector=connector)
            self._loop = loop
            self._proxies.clear()
        return self._session

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL for `url` from HTTP_PROXY / HTTPS_PROXY / NO_PROXY (read once per host), or None."""
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            proxy = urllib.request.getproxies().get(parts.scheme)
            self._proxies[key] = None if not proxy or urllib.request.proxy_bypass(key[1]) else proxy
        return self._proxies[key]

    def pool(self) -> H1Pool:
        """The HTTP/1.1 pool of the running event loop (created on first use)."""
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool.closed or self._pool_loop is not loop:
            self._pool = H1Pool(
                max_connections=self._limits.max_connections,
                keepalive_expiry=self._limits.keepalive_expiry,
                ssl_context=httpx.create_ssl_context,
            )
            self._pool_loop = loop
        return self._pool

    async def post(
        self, url: str, *, data: bytes, headers: Mapping[str, str], timeouts: httpx.Timeout
    ) -> StreamedResponse:
        """POST `data`; the open response, whatever its status.

        Through `_h1.H1Pool` (its exceptions propagate), or through aiohttp (its exceptions propagate) when
        the environment names a proxy for the host.
        """
        proxy = self.proxy_for(url)
        if proxy is None:
            return await self.pool().post(url, data=data, headers=headers, timeouts=timeouts)
        response = await self.get().post(
            url,
            data=data,
            headers=headers,
            allow_redirects=False,
            proxy=proxy,
            timeout=client_timeout(timeouts),
        )
        return AiohttpResponse(response)

    async def aclose(self) -> None:
        """Close the pool and the session (if they belong to the running loop; those of a finished loop are dropped)."""
        pool, self._pool = self._pool, None
        if pool is not None and self._pool_loop is asyncio.get_running_loop():
            await pool.aclose()
        session, self._session = self._session, None
        if session is not None and not session.closed and self._loop is asyncio.get_running_loop():
            await session.close()
