"""HTTP plumbing shared by `Gemini` and `GeminiEmbedder`: key, base URL, sending, retries, error translation.

Wire facts: providers.md §2.1 (endpoints, `x-goog-api-key` auth, GOOGLE_API_KEY) and §2.6 (the error
envelope `{"error": {code, message, status, details}}`, the status table, the observed context-overflow
message). Retries go through `_retry.retry_async`, decided by the errors' `retriable` attribute; only
the sending of a request is retried, never a stream that has produced output. No httpx exception
leaves this module: `_map_provider_errors()` translates them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import orjson

from adapters.errors import (
    ContextLengthExceededError,
    InvalidRequestError,
    ModelAuthError,
    ModelHTTPError,
    ModelProviderError,
    ModelRateLimitedError,
    ModelServerError,
    ModelTimeoutError,
)
from adapters.settings import ProviderKeys

from . import _guard
from ._http import HTTPConnection
from ._openai_errors import parse_retry_after
from ._retry import retry_async

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "GeminiErrorInfo",
    "GeminiHTTP",
    "error_from_payload",
    "error_from_response",
    "parse_gemini_error",
]

API_KEY_ENV = "GOOGLE_API_KEY"
"""Variable holding the key: agno's name, and the one the google-genai SDK prefers [G1]."""
BASE_URL_ENV = "GEMINI_BASE_URL"
"""Variable overriding the API root (e.g. a proxy); not a Google variable."""
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
"""The Generative Language API v1beta root [G1][G4]."""

_MAX_MESSAGE_CHARS = 500
_CONTEXT_OVERFLOW_TEXT = "exceeds the maximum number of tokens"
"""Part of the observed 400 INVALID_ARGUMENT message for an over-long prompt (§2.6 [G17])."""
_RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
_ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"


@dataclass(frozen=True, slots=True)
class GeminiErrorInfo:
    """The parts of a Gemini error envelope we act on.

    Attributes:
        code: `error.code`, the HTTP status as an int, or None.
        status: `error.status`, the google.rpc code name (e.g. "RESOURCE_EXHAUSTED"), or None.
        message: `error.message` ("" if none; the raw text when the body is not the envelope).
        details: `error.details` entries that are objects (may be empty).
    """

    code: int | None
    status: str | None
    message: str
    details: tuple[Mapping[str, Any], ...] = ()

    @property
    def retry_delay(self) -> float | None:
        """Seconds from a `google.rpc.RetryInfo` detail (`"retryDelay": "7s"`), or None.

        Gemini sending this detail is UNCONFIRMED (§2.6); it is read only when present.
        """
        for detail in self.details:
            delay = detail.get("retryDelay")
            if detail.get("@type") == _RETRY_INFO_TYPE and isinstance(delay, str) and delay.endswith("s"):
                try:
                    return max(float(delay[:-1]), 0.0)
                except ValueError:
                    return None
        return None

    @property
    def reason(self) -> str | None:
        """`reason` of a `google.rpc.ErrorInfo` detail (e.g. "API_KEY_INVALID"), or None (UNCONFIRMED, §2.6)."""
        for detail in self.details:
            if detail.get("@type") == _ERROR_INFO_TYPE and isinstance(detail.get("reason"), str):
                return str(detail["reason"])
        return None


def parse_gemini_error(body: str | Mapping[str, Any]) -> GeminiErrorInfo:
    """Read an error envelope (text or decoded JSON); text that is not the envelope becomes the message."""
    decoded: Any = body
    if isinstance(body, str):
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            decoded = None
    error = decoded.get("error") if isinstance(decoded, Mapping) else None
    if not isinstance(error, Mapping):
        text = body if isinstance(body, str) else orjson.dumps(body).decode()
        return GeminiErrorInfo(code=None, status=None, message=text.strip()[:_MAX_MESSAGE_CHARS])
    code = error.get("code")
    status = error.get("status")
    details = error.get("details")
    return GeminiErrorInfo(
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        status=status if isinstance(status, str) else None,
        message=str(error.get("message") or "")[:_MAX_MESSAGE_CHARS],
        details=tuple(d for d in details if isinstance(d, Mapping)) if isinstance(details, list) else (),
    )


def error_from_response(
    status_code: int, body: str, headers: Mapping[str, str], *, provider: str, model_name: str
) -> ModelProviderError:
    """Translate a Gemini HTTP error response into the matching error (status table §2.6 [G16]).

    401, 403 `PERMISSION_DENIED`, and a 400 whose ErrorInfo reason is `API_KEY_INVALID` → `ModelAuthError`
    naming GOOGLE_API_KEY; 400 with the context-overflow message → `ContextLengthExceededError`; 408 →
    `ModelTimeoutError`; 429 `RESOURCE_EXHAUSTED` → `ModelRateLimitedError` with `retry_after` from a
    `Retry-After` header, else a RetryInfo detail; 5xx (`INTERNAL`, `UNAVAILABLE`, `DEADLINE_EXCEEDED`) →
    `ModelServerError`; other statuses (`INVALID_ARGUMENT`, `FAILED_PRECONDITION`, `NOT_FOUND`) →
    `InvalidRequestError`. Every message quotes Gemini's `error.status` and `error.message`.
    """
    info = parse_gemini_error(body)
    detail = (f" ({info.status})" if info.status else "") + (f": {info.message}" if info.message else "")
    labels = {"provider": provider, "model_name": model_name}
    if status_code in (401, 403) or info.reason == "API_KEY_INVALID":
        return ModelAuthError(
            f"Gemini rejected the credentials (check {API_KEY_ENV}): HTTP {status_code}{detail}", **labels
        )
    if status_code == 408:
        return ModelTimeoutError(f"Gemini timed out the request: HTTP 408{detail}", **labels)
    cls: type[ModelHTTPError]
    retry_after = None
    if status_code == 429:
        cls = ModelRateLimitedError
        retry_after = parse_retry_after(headers)
        retry_after = info.retry_delay if retry_after is None else retry_after
    elif status_code >= 500:
        cls = ModelServerError
    elif _CONTEXT_OVERFLOW_TEXT in info.message:
        cls = ContextLengthExceededError
    else:
        cls = InvalidRequestError
    return cls(
        f"Gemini returned HTTP {status_code}{detail}",
        status_code=status_code,
        body=body,
        retry_after=retry_after,
        **labels,
    )


def error_from_payload(
    payload: Mapping[str, Any], *, status_code: int, provider: str, model_name: str
) -> ModelProviderError:
    """Translate an `{"error": ...}` object received in a 2xx body or mid-stream (§2.3 [G5]).

    Its `error.code` is used as the HTTP status when it is one (>= 400), as the SDK does; without one
    the provider failed after accepting the request: `ModelServerError` with the response's status.
    """
    info = parse_gemini_error(payload)
    body = orjson.dumps(payload).decode()
    if info.code is not None and info.code >= 400:
        return error_from_response(info.code, body, {}, provider=provider, model_name=model_name)
    detail = (f" ({info.status})" if info.status else "") + (f": {info.message}" if info.message else "")
    return ModelServerError(
        f"Gemini reported an error mid-stream{detail}",
        status_code=status_code,
        body=body,
        provider=provider,
        model_name=model_name,
    )


class GeminiHTTP(HTTPConnection):
    """Configuration and request sending common to the Gemini chat model and embedder.

    Construction does no I/O and reads no environment; the key and base URL are resolved on the first
    request. Use as an async context manager (or call `aclose`) when no `http_client` was injected.

    Args:
        id: model id (default `default_id`); a leading `models/` is accepted and dropped.
        api_key: the key, sent as `x-goog-api-key` [G1][G2] (never in the URL, so it cannot leak into
            error messages); when None it is read from GOOGLE_API_KEY via `adapters.settings`.
        base_url: API root; when None, GEMINI_BASE_URL via settings, else `DEFAULT_BASE_URL`.
        timeout: per-request httpx timeout (or seconds for every phase); None: the injected client's own,
            else `openai.DEFAULT_TIMEOUT`.
        max_retries: retries after the first attempt for retriable errors (429, 5xx, 408, timeouts,
            connection errors) before any output; backoff per `adapters.models._retry`.
        http_client: client to send with (not closed by this object); tests inject one.
        extra_headers: headers added to every request (they may override the defaults).
        provider_keys: where the key and base URL come from; `load_settings()` when None.
        retry_sleep: awaited with each retry wait in seconds; `asyncio.sleep` when None.
    """

    provider: ClassVar[str] = "Google"
    """Provider label for events (`model_provider`), agno's `Gemini.provider`."""
    http_label: ClassVar[str | None] = "Gemini"
    default_id: ClassVar[str] = ""

    def __init__(
        self,
        id: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        extra_headers: Mapping[str, str] | None = None,
        provider_keys: ProviderKeys | None = None,
        retry_sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._init_connection(
            (id or self.default_id).removeprefix("models/"),
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            extra_headers=extra_headers,
            provider_keys=provider_keys,
            retry_sleep=retry_sleep,
        )
        self._base_url = base_url

    def _method_url(self, method: str) -> str:
        """`{base}/models/{id}:{method}` (§2.1 [G4]); resolves the base URL."""
        base_url = self._base_url or self._keys().secret(BASE_URL_ENV) or DEFAULT_BASE_URL
        return f"{base_url.rstrip('/')}/models/{self._id}:{method}"

    async def _open(self, url: str, content: bytes) -> httpx.Response:
        """POST `content` to `url` with retries; return the open 2xx response (the caller closes it).

        Raises:
            ModelAuthError: no key is configured, or the key was rejected.
            ModelProviderError: the request failed after retries (subclass per `error_from_response`).
            ModelRequestsBlockedError: `_guard.ALLOW_MODEL_REQUESTS` is False and the host is not loopback.
            ConfigurationError: the base URL is not an http(s) URL.
        """
        headers = self._request_headers()
        client = self._client()
        return await retry_async(
            lambda: self._send(client, url, headers, content), max_retries=self.max_retries, sleep=self._retry_sleep
        )

    async def _send(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], content: bytes
    ) -> httpx.Response:
        """One attempt: send the request and return the open response when its status is 2xx."""
        _guard.check_allowed(url)
        with self._map_provider_errors():
            request = client.build_request(
                "POST",
                url,
                headers=headers,
                content=content,
                timeout=self._timeout if self._timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            response = await client.send(request, stream=True)
            if response.is_success:
                return response
            try:
                body = (await response.aread()).decode("utf-8", errors="replace")
            finally:
                await response.aclose()
        raise error_from_response(
            response.status_code, body, response.headers, provider=self.provider, model_name=self._id
        )

    def _request_headers(self) -> dict[str, str]:
        api_key = self._api_key if self._api_key is not None else self._keys().secret(API_KEY_ENV)
        if not api_key:
            raise ModelAuthError(
                f"{API_KEY_ENV} is not set; set it or use the scripted model (adapters.models.scripted)",
                provider=self.provider,
                model_name=self._id,
            )
        headers = {"Content-Type": "application/json", "x-goog-api-key": api_key}
        headers.update(self._extra_headers)
        return headers
