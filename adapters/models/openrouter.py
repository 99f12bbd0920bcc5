"""OpenRouter's OpenAI-compatible chat and embeddings APIs (agno's `OpenRouter`).

Wire format: providers.md §6. What differs from OpenAI (`openai.OpenAILike`) and is handled here:

- Base URL `https://openrouter.ai/api/v1`, bearer OPENROUTER_API_KEY [R1].
- Optional app attribution headers [R2][R7]: `HTTP-Referer` (your site URL) and the title, sent both as
  `X-OpenRouter-Title` (current name) and `X-Title` (legacy name, still accepted). Each is sent only when
  configured (constructor argument, else OPENROUTER_SITE_URL / OPENROUTER_APP_TITLE).
- No `stream_options`: it is deprecated and has no effect; usage always comes in the last chunk before
  `[DONE]`, with `choices: []` [R2][R5].
- `max_tokens` stays `max_tokens` (both it and `max_completion_tokens` are accepted [R4]).
- Stream comment lines `: OPENROUTER PROCESSING` are skipped (by `_sse`) [R3].
- Error bodies carry the HTTP status as a number in `error.code` [R9]; a mid-stream error chunk (HTTP 200)
  takes the class of that status [R3]. `error.metadata.error_type == "context_length_exceeded"` becomes
  `ContextLengthExceededError` [R9]. 402 (no credits) is a non-retried `InvalidRequestError`; 408 a
  timeout; 502/503 (and 529 on embeddings) server errors; `Retry-After` is honoured when sent [R9].

Model ids carry an organisation prefix (`openai/gpt-4o-mini`) [R2]. Embeddings: `POST /embeddings`,
OpenAI-shaped [R6].
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

import httpx
import orjson

from adapters.errors import ContextLengthExceededError, ModelHTTPError, ModelProviderError
from adapters.settings import ProviderKeys

from ._aiohttp import StreamedResponse
from .openai import OpenAILike
from .openai_embedder import OpenAILikeEmbedder

__all__ = ["EMBEDDINGS_SUPPORTED", "OpenRouter", "OpenRouterEmbedder"]

EMBEDDINGS_SUPPORTED = True
"""OpenRouter serves `POST /embeddings` [R6]."""

_BASE_URL = "https://openrouter.ai/api/v1"


class OpenRouter(OpenAILike):
    """OpenRouter chat (agno's `OpenRouter`); see `OpenAILike` for the common arguments.

    Reads OPENROUTER_API_KEY, OPENROUTER_BASE_URL, OPENROUTER_SITE_URL and OPENROUTER_APP_TITLE (through
    `adapters.settings`); default model `openai/gpt-4o-mini`.

    Args:
        site_url: sent as `HTTP-Referer`; OPENROUTER_SITE_URL when None; not sent when neither is set.
        app_title: sent as `X-OpenRouter-Title` and `X-Title`; OPENROUTER_APP_TITLE when None.
    """

    provider: ClassVar[str] = "OpenRouter"
    name: ClassVar[str] = "OpenRouter"
    api_key_env: ClassVar[str | None] = "OPENROUTER_API_KEY"
    base_url_env: ClassVar[str | None] = "OPENROUTER_BASE_URL"
    default_base_url: ClassVar[str | None] = _BASE_URL
    default_id: ClassVar[str] = "openai/gpt-4o-mini"
    sends_stream_options: ClassVar[bool] = False

    def __init__(
        self,
        id: str | None = None,
        *,
        site_url: str | None = None,
        app_title: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        extra_headers: Mapping[str, str] | None = None,
        provider_keys: ProviderKeys | None = None,
        retry_sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            id,
            api_key=api_key,
            base_url=base_url,
            temperature=temperature,
            max_tokens=max_tokens,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            extra_headers=extra_headers,
            provider_keys=provider_keys,
            retry_sleep=retry_sleep,
        )
        self.site_url = site_url
        self.app_title = app_title

    def _request_headers(self) -> dict[str, str]:
        headers = super()._request_headers()
        site_url, app_title = self.site_url, self.app_title
        if site_url is None or app_title is None:
            keys = self._keys()
            site_url = site_url if site_url is not None else keys.secret("OPENROUTER_SITE_URL")
            app_title = app_title if app_title is not None else keys.secret("OPENROUTER_APP_TITLE")
        attribution = {"HTTP-Referer": site_url, "X-OpenRouter-Title": app_title, "X-Title": app_title}
        # extra_headers (already in `headers`) win over the attribution defaults.
        return {**{name: value for name, value in attribution.items() if value}, **headers}

    async def _send(self, url: str, headers: dict[str, str], content: bytes) -> StreamedResponse:
        try:
            return await super()._send(url, headers, content)
        except ModelHTTPError as exc:
            refined = _refine(exc)
            if refined is exc:
                raise
            raise refined from exc

    def _stream_error_factory(self, response: StreamedResponse) -> Callable[[Mapping[str, Any]], ModelProviderError]:
        build = super()._stream_error_factory(response)
        return lambda payload: _refine(build(payload))


class OpenRouterEmbedder(OpenAILikeEmbedder):
    """OpenRouter embeddings [R6]; see `OpenAILikeEmbedder` for the arguments.

    Reads OPENROUTER_API_KEY and OPENROUTER_BASE_URL; default model `openai/text-embedding-3-small`.
    Whether `dimensions` is honoured is UNCONFIRMED [R6]. OpenRouter documents no batch limit, so the
    default batch is the conservative 100.
    """

    provider: ClassVar[str] = "OpenRouter"
    api_key_env: ClassVar[str | None] = "OPENROUTER_API_KEY"
    base_url_env: ClassVar[str | None] = "OPENROUTER_BASE_URL"
    default_base_url: ClassVar[str | None] = _BASE_URL
    default_id: ClassVar[str] = "openai/text-embedding-3-small"

    def refine_error(self, error: ModelProviderError) -> ModelProviderError:
        return _refine(error)


def _refine(error: ModelProviderError) -> ModelProviderError:
    """Map `error.metadata.error_type == "context_length_exceeded"` to `ContextLengthExceededError` [R9]."""
    if not isinstance(error, ModelHTTPError) or isinstance(error, ContextLengthExceededError):
        return error
    try:
        body = orjson.loads(error.body)
    except orjson.JSONDecodeError:
        return error
    inner = body.get("error") if isinstance(body, dict) else None
    metadata = inner.get("metadata") if isinstance(inner, dict) else None
    if not isinstance(metadata, dict) or metadata.get("error_type") != "context_length_exceeded":
        return error
    return ContextLengthExceededError(
        str(error), status_code=error.status_code, body=error.body, provider=error.provider, model_name=error.model_name
    )
