"""OpenAI-style error bodies and headers → `adapters.errors` classes.

Shared by every OpenAI-compatible provider (`openai.OpenAILike` and its subclasses). Reads the envelopes
listed in providers.md §10.6: `{"error": {message, type, param, code}}` (OpenAI, Ollama /v1, Groq [O12]),
`{"error": {code: int, message, ...}}` (OpenRouter, GLM), `{"error": "..."}` (Ollama native) and a
top-level `{message, type, code}` (Cerebras, SiliconFlow). Status mapping follows openai-python's
`_make_status_error` [O13]; the context-overflow code is the observed `context_length_exceeded` [O15].
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

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

__all__ = ["ErrorInfo", "error_from_response", "error_from_stream_payload", "parse_error_body", "parse_retry_after"]

_MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """The parts of a provider error envelope we act on.

    Attributes:
        message: the provider's human-readable message ("" if none).
        code: `error.code` as text (an OpenAI string code such as "context_length_exceeded", or an
            integer status code some providers put there), or None.
        type: `error.type` (e.g. "invalid_request_error"), or None.
    """

    message: str
    code: str | None
    type: str | None


def parse_error_body(body: str | Mapping[str, Any]) -> ErrorInfo:
    """Read an error envelope (text or decoded JSON); text that is not JSON becomes the message."""
    if isinstance(body, str):
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            return ErrorInfo(message=body.strip()[:_MAX_MESSAGE_CHARS], code=None, type=None)
        if not isinstance(decoded, dict):
            return ErrorInfo(message=body.strip()[:_MAX_MESSAGE_CHARS], code=None, type=None)
        body = decoded
    error: Any = body.get("error", body)
    if isinstance(error, str):
        return ErrorInfo(message=error[:_MAX_MESSAGE_CHARS], code=None, type=None)
    if not isinstance(error, Mapping):
        return ErrorInfo(message="", code=None, type=None)
    code = error.get("code")
    type_ = error.get("type")
    return ErrorInfo(
        message=str(error.get("message") or "")[:_MAX_MESSAGE_CHARS],
        code=None if code is None else str(code),
        type=type_ if isinstance(type_, str) else None,
    )


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Return the wait in seconds a response asks for, or None.

    Reads `retry-after-ms` (milliseconds), else `retry-after` as seconds or as an HTTP-date
    (RFC 9110 §10.2.3), as openai-python does [O13]. Header names are matched case-insensitively when
    `headers` is an `httpx.Headers`.

    Args:
        headers: response headers.
        now: current Unix time in seconds for HTTP-date values; the wall clock when None.

    Returns:
        Seconds to wait (>= 0), or None when absent or unparseable.
    """
    millis = _to_float(headers.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000.0, 0.0)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _to_float(raw)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def error_from_response(
    status_code: int,
    body: str,
    headers: Mapping[str, str],
    *,
    provider: str,
    model_name: str,
    api_key_env: str | None,
) -> ModelProviderError:
    """Translate an HTTP error response into the matching error.

    401/403 → `ModelAuthError` (names `api_key_env`); 400/any status with code `context_length_exceeded` →
    `ContextLengthExceededError`; 429 → `ModelRateLimitedError` with `retry_after`; 408 →
    `ModelTimeoutError`; 5xx → `ModelServerError`; other statuses → `InvalidRequestError`.
    Every message quotes the provider's `error.message`.
    """
    info = parse_error_body(body)
    detail = _detail(info)
    if status_code in (401, 403):
        hint = f" (check {api_key_env})" if api_key_env else ""
        return ModelAuthError(
            f"{provider} rejected the credentials{hint}: HTTP {status_code}{detail}",
            provider=provider,
            model_name=model_name,
        )
    if status_code == 408:
        return ModelTimeoutError(
            f"{provider} timed out the request: HTTP 408{detail}", provider=provider, model_name=model_name
        )
    cls = _http_error_class(status_code, info)
    return cls(
        f"{provider} returned HTTP {status_code}{detail}",
        status_code=status_code,
        body=body,
        retry_after=parse_retry_after(headers) if cls is ModelRateLimitedError else None,
        provider=provider,
        model_name=model_name,
    )


def error_from_stream_payload(
    payload: Mapping[str, Any], *, status_code: int, provider: str, model_name: str, api_key_env: str | None
) -> ModelProviderError:
    """Translate an `{"error": ...}` object received inside a 200 stream [O3].

    An integer `error.code` (OpenRouter, GLM) is used as the status; otherwise the class comes from the
    string code/type: `context_length_exceeded` → `ContextLengthExceededError`, a code or type containing
    "rate_limit" → `ModelRateLimitedError`, type `invalid_request_error` → `InvalidRequestError`, anything
    else → `ModelServerError` (the provider failed after it had accepted the request).
    """
    info = parse_error_body(payload)
    if info.code is not None and info.code.isdigit() and int(info.code) >= 400:
        body = orjson.dumps(payload).decode()
        return error_from_response(
            int(info.code), body, {}, provider=provider, model_name=model_name, api_key_env=api_key_env
        )
    if info.code == "context_length_exceeded":
        cls: type[ModelHTTPError] = ContextLengthExceededError
    elif "rate_limit" in f"{info.code} {info.type}":
        cls = ModelRateLimitedError
    elif info.type == "invalid_request_error":
        cls = InvalidRequestError
    else:
        cls = ModelServerError
    return cls(
        f"{provider} reported an error mid-stream{_detail(info)}",
        status_code=status_code,
        body=orjson.dumps(payload).decode(),
        provider=provider,
        model_name=model_name,
    )


def _http_error_class(status_code: int, info: ErrorInfo) -> type[ModelHTTPError]:
    if info.code == "context_length_exceeded":
        return ContextLengthExceededError
    if status_code == 429:
        return ModelRateLimitedError
    if status_code >= 500:
        return ModelServerError
    return InvalidRequestError


def _detail(info: ErrorInfo) -> str:
    """Render ` (code): message`, each part omitted when empty."""
    label = info.code or info.type
    return (f" ({label})" if label else "") + (f": {info.message}" if info.message else "")


def _to_float(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
