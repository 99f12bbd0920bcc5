"""Errors of the adapters layer (providers, tools, HTTP, settings).

::

    AdapterError(EngineError)
    ├── ModelProviderError(provider, model)            a provider call failed
    │   ├── ModelAuthError                 401/403; never retried; names the env var
    │   ├── ModelHTTPError(status_code, body, retry_after)
    │   │   ├── ModelRateLimitedError      429; retriable, honours Retry-After
    │   │   ├── ModelServerError           5xx; retriable with backoff
    │   │   ├── ContextLengthExceededError the prompt is too long for the model
    │   │   └── InvalidRequestError        400/404/422 other than context length
    │   ├── ModelTimeoutError              connect/read timeout; retriable
    │   └── ModelConnectionError           the provider could not be reached; retriable
    ├── UnexpectedModelBehaviorError(body) truncated or malformed stream / response
    ├── ModelRequestsBlockedError          a test tried to reach a non-loopback model host
    └── ToolError(tool_name)               a tool failed (its message goes back to the model)
"""

from __future__ import annotations

from typing import ClassVar

from engine import EngineError

__all__ = [
    "AdapterError",
    "ContextLengthExceededError",
    "InvalidRequestError",
    "ModelAuthError",
    "ModelConnectionError",
    "ModelHTTPError",
    "ModelProviderError",
    "ModelRateLimitedError",
    "ModelRequestsBlockedError",
    "ModelServerError",
    "ModelTimeoutError",
    "ToolError",
    "UnexpectedModelBehaviorError",
]


class AdapterError(EngineError):
    """Base of adapter errors."""

    error_code: ClassVar[str] = "adapter_error"
    """Stable telemetry code for the error class."""


class ModelProviderError(AdapterError):
    """A call to a model provider failed.

    Attributes:
        provider: provider label (e.g. "OpenAI").
        model_name: model id.
    """

    error_code: ClassVar[str] = "provider_error"

    def __init__(self, message: str, *, provider: str = "", model_name: str = "") -> None:
        super().__init__(message)
        self.provider = provider
        self.model_name = model_name


class ModelAuthError(ModelProviderError):
    """The provider rejected the credentials (401/403) or no key is configured. Not retried."""

    error_code: ClassVar[str] = "auth"


class ModelHTTPError(ModelProviderError):
    """The provider answered with an HTTP error.

    Attributes:
        status_code: HTTP status.
        body: response body text (truncated to 2 KB).
        retry_after: seconds to wait from the Retry-After header, or None.
    """

    error_code: ClassVar[str] = "http_error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: str = "",
        retry_after: float | None = None,
        provider: str = "",
        model_name: str = "",
    ) -> None:
        super().__init__(message, provider=provider, model_name=model_name)
        self.status_code = status_code
        self.body = body[:2048]
        self.retry_after = retry_after


class ModelRateLimitedError(ModelHTTPError):
    """429: rate limited. Retried after Retry-After (bounded)."""

    retriable: ClassVar[bool] = True
    error_code: ClassVar[str] = "rate_limit"


class ModelServerError(ModelHTTPError):
    """5xx from the provider. Retried with backoff and jitter (bounded)."""

    retriable: ClassVar[bool] = True
    error_code: ClassVar[str] = "server_error"


class ContextLengthExceededError(ModelHTTPError):
    """The request is longer than the model's context window. Not retried."""

    error_code: ClassVar[str] = "context_length"


class InvalidRequestError(ModelHTTPError):
    """The provider rejected the request as invalid (400/404/422). Not retried."""

    error_code: ClassVar[str] = "invalid_request"


class ModelTimeoutError(ModelProviderError):
    """The provider did not answer in time. Retried (bounded)."""

    retriable: ClassVar[bool] = True
    error_code: ClassVar[str] = "timeout"


class ModelConnectionError(ModelProviderError):
    """The provider could not be reached. Retried (bounded)."""

    retriable: ClassVar[bool] = True
    error_code: ClassVar[str] = "connection"


class UnexpectedModelBehaviorError(ModelProviderError):
    """The stream or response was truncated or malformed; never turned into a partial answer.

    Attributes:
        body: the offending payload (truncated to 2 KB).
    """

    error_code: ClassVar[str] = "malformed_response"

    def __init__(self, message: str, *, body: str = "", provider: str = "", model_name: str = "") -> None:
        super().__init__(message, provider=provider, model_name=model_name)
        self.body = body[:2048]


class ModelRequestsBlockedError(AdapterError):
    """A model request to a non-loopback host while `ALLOW_MODEL_REQUESTS` is False (tests)."""

    error_code: ClassVar[str] = "blocked"


class ToolError(AdapterError):
    """A tool failed; the message is returned to the model as the tool result.

    Attributes:
        tool_name: the tool.
    """

    error_code: ClassVar[str] = "tool_error"

    def __init__(self, message: str, *, tool_name: str) -> None:
        super().__init__(message)
        self.tool_name = tool_name
