"""OpenAI-compatible embeddings over httpx: `OpenAILikeEmbedder`, `OpenAIEmbedder`, and `UnsupportedEmbedder`.

Wire format: providers.md §1.5 [O9]. A request is `POST {base_url}/embeddings` with
`{"model", "input": [text, ...], "encoding_format": "float", "dimensions"?}`; the answer's
`data[].embedding` vectors are put back in input order by `data[].index`, and `usage.prompt_tokens`
is summed over batches. Errors are translated by the chat path's `_openai_errors`, retried by
`_retry.retry_async` and every request passes `_guard.check_allowed`, so embeddings fail exactly like chat.

Subclassing for another OpenAI-compatible provider sets the class attributes `provider`, `api_key_env`,
`base_url_env`, `default_base_url`, `default_id` and `default_batch_size`, and may override
`request_body` / `refine_error`. A provider without an embeddings API exposes an `UnsupportedEmbedder`
subclass instead, whose construction raises the "not supported by X; use one of ..." error.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
import orjson

from adapters.errors import (
    ModelProviderError,
    UnexpectedModelBehaviorError,
)
from adapters.settings import ProviderKeys
from engine import ConfigurationError

from . import _guard
from ._openai_endpoint import OpenAICompatibleEndpoint
from ._openai_errors import error_from_response, error_from_stream_payload
from ._retry import retry_async
from .base import EmbeddingResult

__all__ = [
    "EMBEDDING_PROVIDERS",
    "OpenAIEmbedder",
    "OpenAILikeEmbedder",
    "UnsupportedEmbedder",
    "embeddings_not_supported",
]

EMBEDDING_PROVIDERS = ("OpenAI", "Gemini", "Ollama", "OpenRouter", "SiliconFlow", "GLM")
"""Providers with an embeddings API (issue 4's support matrix), named in the "not supported" error."""


def embeddings_not_supported(provider: str) -> ConfigurationError:
    """Return the error for asking `provider` (which has no embeddings API) for an embedder."""
    return ConfigurationError(
        f"embeddings are not supported by {provider}; use one of: {', '.join(EMBEDDING_PROVIDERS)}"
    )


class UnsupportedEmbedder:
    """The embedder of a provider without an embeddings API: constructing it raises.

    It exists so configuration can name `<Provider>Embedder` for every provider and get an error that
    says what to use instead, rather than an import error.

    Raises:
        ConfigurationError: always, on construction ("embeddings are not supported by <provider>; use one of: ...").
    """

    provider: ClassVar[str] = "this provider"
    """Provider label used in the error message."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise embeddings_not_supported(self.provider)


class OpenAILikeEmbedder(OpenAICompatibleEndpoint):
    """An embeddings model behind an OpenAI-compatible `/embeddings` endpoint (agno's `OpenAILikeEmbedder`).

    Implements `Embedder`. Construction does no I/O and reads no environment; the key and base URL are
    resolved on the first request. Use as an async context manager (or call `aclose`) when no
    `http_client` was injected.

    Args:
        id: embedding model id sent as `model` (default `default_id`).
        api_key: bearer key; when None it is read from `api_key_env` via `adapters.settings`.
        base_url: API root (the part before `/embeddings`); when None, `base_url_env`, else `default_base_url`.
        dimensions: output vector size, sent only when given (models that support it, e.g. text-embedding-3).
        batch_size: most texts per request; `default_batch_size` when None. Must be >= 1.
        timeout: per-request httpx timeout (an `httpx.Timeout` or seconds for every phase); when None the
            injected client's own timeouts, else `openai.DEFAULT_TIMEOUT`.
        max_retries: retries per batch after the first attempt for retriable errors (429, 5xx, timeouts).
        http_client: client to send with (not closed by this object); tests inject one.
        extra_headers: headers added to every request.
        provider_keys: where keys and base URLs come from; `load_settings()` when None.
        retry_sleep: awaited with each retry wait in seconds; `asyncio.sleep` when None.
    """

    provider: ClassVar[str] = "OpenAILike"
    """Provider label for errors and metrics."""
    default_id: ClassVar[str] = "not-provided"
    """Embedding model id used when `id` is not given."""
    default_batch_size: ClassVar[int] = 100
    """Texts per request when `batch_size` is not given."""

    def __init__(
        self,
        id: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        dimensions: int | None = None,
        batch_size: int | None = None,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        extra_headers: Mapping[str, str] | None = None,
        provider_keys: ProviderKeys | None = None,
        retry_sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if batch_size is not None and batch_size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")
        self._init_connection(
            id or self.default_id,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            extra_headers=extra_headers,
            provider_keys=provider_keys,
            retry_sleep=retry_sleep,
        )
        self._base_url = base_url
        self.dimensions = dimensions
        self.batch_size = batch_size or self.default_batch_size

    def request_body(self, texts: Sequence[str]) -> dict[str, Any]:
        """Return the JSON body for one batch: model, input list, float encoding, `dimensions` if set."""
        body: dict[str, Any] = {"model": self._id, "input": list(texts), "encoding_format": "float"}
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        return body

    def refine_error(self, error: ModelProviderError) -> ModelProviderError:
        """Hook for provider quirks: return the error to raise instead of `error` (default: unchanged)."""
        return error

    async def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        """Embed `texts`, `batch_size` at a time, in order; an empty sequence makes no request.

        Returns:
            One vector per text in input order, and the input tokens the provider reported (summed).

        Raises:
            ModelAuthError: no key is configured (names `api_key_env`), or HTTP 401/403.
            ModelRateLimitedError: HTTP 429 after `max_retries` retries.
            ModelServerError: HTTP 5xx after retries.
            ContextLengthExceededError: an input is longer than the model accepts (when the provider says so).
            InvalidRequestError: other HTTP 4xx.
            ModelTimeoutError: connect/read timeout after retries.
            ModelConnectionError: the host could not be reached.
            UnexpectedModelBehaviorError: the body is not JSON, or vectors are missing or miscounted.
            ModelRequestsBlockedError: `_guard.ALLOW_MODEL_REQUESTS` is False and the host is not loopback.
            ConfigurationError: no base URL is configured, or it is not an http(s) URL.
        """
        if not texts:
            return EmbeddingResult(vectors=[])
        url = f"{self._resolve_base_url()}/embeddings"
        headers = self._request_headers()
        client = self._client()
        vectors: list[list[float]] = []
        input_tokens = 0
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            content = orjson.dumps(self.request_body(batch))
            attempt = functools.partial(self._post, client, url, headers, content)
            body = await retry_async(attempt, max_retries=self.max_retries, sleep=self._retry_sleep)
            batch_vectors, batch_tokens = self._read_vectors(body, len(batch))
            vectors.extend(batch_vectors)
            input_tokens += batch_tokens
        return EmbeddingResult(vectors=vectors, input_tokens=input_tokens)

    async def _post(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], content: bytes
    ) -> Mapping[str, Any]:
        """One attempt: send one batch and return the decoded JSON object of a 2xx answer."""
        _guard.check_allowed(url)
        with self._map_provider_errors():
            response = await client.post(
                url,
                headers=headers,
                content=content,
                timeout=self._timeout if self._timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        if not response.is_success:
            raise self.refine_error(
                error_from_response(
                    response.status_code,
                    response.text,
                    response.headers,
                    provider=self.provider,
                    model_name=self._id,
                    api_key_env=self.api_key_env,
                )
            )
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise self._malformed("response body is not JSON", response.text) from exc
        if not isinstance(body, dict):
            raise self._malformed("response body is not a JSON object", response.text)
        if body.get("error"):
            raise self.refine_error(
                error_from_stream_payload(
                    body,
                    status_code=response.status_code,
                    provider=self.provider,
                    model_name=self._id,
                    api_key_env=self.api_key_env,
                )
            )
        return body

    def _read_vectors(self, body: Mapping[str, Any], expected: int) -> tuple[list[list[float]], int]:
        """Return (vectors in input order, input tokens) of one answer [O9]."""
        data = body.get("data")
        if not isinstance(data, list) or len(data) != expected:
            got = len(data) if isinstance(data, list) else "no"
            raise self._malformed(f"expected {expected} embeddings in data, got {got}", body)
        indexed: list[tuple[int, list[float]]] = []
        for position, item in enumerate(data):
            embedding = item.get("embedding") if isinstance(item, Mapping) else None
            if not isinstance(embedding, list) or not all(
                isinstance(x, int | float) and not isinstance(x, bool) for x in embedding
            ):
                raise self._malformed(f"data[{position}].embedding is not a list of numbers", body)
            index = item.get("index", position)
            indexed.append((index if isinstance(index, int) else position, [float(x) for x in embedding]))
        indexed.sort(key=lambda pair: pair[0])
        if [index for index, _ in indexed] != list(range(expected)):
            raise self._malformed("data[].index values are not 0..n-1", body)
        usage = body.get("usage")
        tokens = 0
        if isinstance(usage, Mapping):
            raw = usage.get("prompt_tokens") or usage.get("total_tokens")
            tokens = raw if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else 0
        return [vector for _, vector in indexed], tokens

    def _unreachable(self, exc: Exception) -> str | None:
        return None  # reported as a generic connection failure, with the exception type

    def _malformed(self, what: str, raw: str | Mapping[str, Any]) -> UnexpectedModelBehaviorError:
        return UnexpectedModelBehaviorError(
            f"{self.provider} embeddings response malformed: {what}",
            body=raw if isinstance(raw, str) else orjson.dumps(raw).decode(),
            provider=self.provider,
            model_name=self._id,
        )


class OpenAIEmbedder(OpenAILikeEmbedder):
    """OpenAI's embeddings API (agno's `OpenAIEmbedder`); see `OpenAILikeEmbedder` for the arguments.

    Reads OPENAI_API_KEY and OPENAI_BASE_URL (through `adapters.settings`); default base URL
    https://api.openai.com/v1 and model `text-embedding-3-small` (agno's default). OpenAI accepts up to
    2048 inputs and 300,000 tokens per request [O9]; the default batch of 100 stays well inside both.
    """

    provider: ClassVar[str] = "OpenAI"
    api_key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    base_url_env: ClassVar[str | None] = "OPENAI_BASE_URL"
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"
    default_id: ClassVar[str] = "text-embedding-3-small"
