"""Connection settings, lifecycle and httpx error translation shared by the HTTP provider clients.

`OpenAILike`, `OpenAILikeEmbedder`, `GeminiHTTP` and `_OllamaHTTP` all hold the same connection state
(model id, key, timeout, retries, an injected or owned `httpx.AsyncClient`, owned connections for
streamed turns, extra headers, where provider keys come from, the retry sleep), close what they created,
and translate httpx, aiohttp and `_h1` exceptions the same way; they differ only in the label their
messages use and in what "unreachable" says.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import ClassVar, Self

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from engine import ConfigurationError

from ..errors import ModelConnectionError, ModelTimeoutError
from ..settings import ProviderKeys, load_settings
from ._aiohttp import OwnedSession, StreamedResponse
from ._h1 import ConnectError, HTTPClientError, InvalidURLError

__all__ = ["DEFAULT_TIMEOUT", "HTTPConnection"]

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=5.0)
"""openai-python's default (`_constants.DEFAULT_TIMEOUT`): 600 s per read/write/pool wait, 5 s to connect."""
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
"""openai-python's default (`_constants.DEFAULT_CONNECTION_LIMITS`). httpx's own (100 connections, 20 kept
alive) makes concurrent streams queue for a connection past 100 and reconnect past 20.

The client a provider creates itself sends through aiohttp (`httpx_aiohttp.AiohttpTransport`, what
openai-python's `DefaultAioHttpClient` uses): httpcore's pool scans every pooled connection, and polls each
idle one's socket, on every request it assigns and every response it releases, which under 100 concurrent
streams was a third of the server's CPU; aiohttp's C parser also reads streamed chunks for less. Streamed
chat turns (`_post_streamed`) skip httpx altogether on the client's own connections (`_aiohttp`: the
`_h1` HTTP/1.1 client, or aiohttp for a proxied host). An injected `http_client` is used as it is."""


class HTTPConnection:
    """Base of the HTTP provider clients (see module docstring). Construction does no I/O."""

    provider: ClassVar[str] = ""
    """Provider label for events and errors."""
    http_label: ClassVar[str | None] = None
    """Name used in connection error messages; `provider` when None."""
    url_setting: ClassVar[str] = "base URL"
    """What the URL setting is called in error messages."""

    def _init_connection(
        self,
        id: str,
        *,
        api_key: str | None,
        timeout: httpx.Timeout | float | None,
        max_retries: int,
        http_client: httpx.AsyncClient | None,
        extra_headers: Mapping[str, str] | None,
        provider_keys: ProviderKeys | None,
        retry_sleep: Callable[[float], Awaitable[None]] | None,
    ) -> None:
        """Store the connection settings.

        Raises:
            ConfigurationError: `max_retries` is negative.
        """
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be >= 0, got {max_retries}")
        self._id = id
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout) if isinstance(timeout, int | float) else timeout
        self.max_retries = max_retries
        self._http_client = http_client
        self._owned_client: httpx.AsyncClient | None = None
        self._owned_session = OwnedSession(DEFAULT_LIMITS)
        self._extra_headers = dict(extra_headers or {})
        self._provider_keys = provider_keys
        self._retry_sleep = retry_sleep or asyncio.sleep

    @property
    def id(self) -> str:
        """Model id sent to the provider."""
        return self._id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self._id!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client and session this object created (an injected client is left open)."""
        if self._owned_client is not None:
            await self._owned_client.aclose()
            self._owned_client = None
        await self._owned_session.aclose()

    def _keys(self) -> ProviderKeys:
        return self._provider_keys if self._provider_keys is not None else load_settings()[1]

    def _client(self) -> httpx.AsyncClient:
        if self._http_client is not None:
            return self._http_client
        if self._owned_client is None:
            self._owned_client = httpx.AsyncClient(
                timeout=DEFAULT_TIMEOUT, limits=DEFAULT_LIMITS, transport=AiohttpTransport(limits=DEFAULT_LIMITS)
            )
        return self._owned_client

    async def _post_streamed(self, url: str, headers: Mapping[str, str], content: bytes) -> StreamedResponse:
        """POST `content` to `url`; return the open response, whatever its status (body not read yet).

        Through the injected `http_client` when there is one, else through this object's own connections
        (`_aiohttp`). Call inside `_map_provider_errors`: each raises its own client's exceptions.
        """
        if self._http_client is not None:
            request = self._http_client.build_request(
                "POST",
                url,
                headers=headers,
                content=content,
                timeout=self._timeout if self._timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            return await self._http_client.send(request, stream=True)
        timeout = self._timeout if self._timeout is not None else DEFAULT_TIMEOUT
        return await self._owned_session.post(url, data=content, headers=headers, timeouts=timeout)

    def _unreachable(self, exc: Exception) -> str | None:
        """Message for a connection refused / DNS failure, or None to report it as a generic failure."""
        return f"{self.http_label or self.provider} could not be reached: {exc}"

    @contextlib.contextmanager
    def _map_provider_errors(self) -> Iterator[None]:
        """Translate httpx, aiohttp and `_h1` exceptions raised inside the block into `adapters.errors` classes."""
        label = self.http_label or self.provider
        labels = {"provider": self.provider, "model_name": self._id}
        try:
            yield
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, aiohttp.InvalidURL, InvalidURLError) as exc:
            raise ConfigurationError(f"{label} {self.url_setting} is not a valid http(s) URL: {exc}") from exc
        except (httpx.HTTPError, aiohttp.ClientError, HTTPClientError, TimeoutError) as raw:
            error = _reclassified(raw) if isinstance(raw, httpx.HTTPError) else raw
            if isinstance(error, httpx.TimeoutException | TimeoutError):
                raise ModelTimeoutError(f"{label} request timed out ({type(error).__name__})", **labels) from raw
            connect_failed = isinstance(error, httpx.ConnectError | aiohttp.ClientConnectorError | ConnectError)
            message = self._unreachable(error) if connect_failed else None
            if message is None:
                message = f"{label} connection failed ({type(error).__name__}): {error}"
            raise ModelConnectionError(message, **labels) from raw


def _reclassified(exc: httpx.HTTPError) -> httpx.HTTPError:
    """`exc` with the httpx class its aiohttp cause deserves.

    httpx_aiohttp maps every `aiohttp.ClientConnectionError` to `httpx.ConnectTimeout`, so a refused
    connection or a server that dropped the stream would read as a timeout. A real timeout keeps its class.
    """
    cause = exc.__cause__
    if not isinstance(exc, httpx.ConnectTimeout) or not isinstance(cause, aiohttp.ClientConnectionError):
        return exc
    if isinstance(cause, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return exc
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(cause))
    return httpx.RemoteProtocolError(str(cause) or type(cause).__name__)
