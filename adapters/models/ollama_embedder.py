"""Ollama's native embeddings API over httpx: `OllamaEmbedder` (agno's class name).

Wire format: providers.md §3.2. A request is `POST {host}/api/embed` with `{"model", "input": [texts]}`
(plus `dimensions`, `truncate`, `options`, `keep_alive` when given); the answer is
`{"model", "embeddings": [[...], ...], "prompt_eval_count", ...}` [L7][L10]. Host, key, retries and error
mapping are `Ollama`'s (see `adapters.models.ollama`); errors are `{"error": "..."}` bodies [L14].
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
import orjson

from adapters.settings import ProviderKeys

from ._ollama_stream import count_tokens, decode_object, malformed
from .base import EmbeddingResult
from .ollama import _OllamaHTTP

__all__ = ["OllamaEmbedder"]


class OllamaEmbedder(_OllamaHTTP):
    """An embeddings model served by Ollama (agno's `OllamaEmbedder`). Implements `Embedder`.

    Args:
        id: embedding model name (default "openhermes", agno's default; any pulled embedding model works).
        host: server root, resolved as for `Ollama` (argument, OLLAMA_HOST, cloud if keyed, localhost).
        api_key: bearer key for Ollama's cloud; when None OLLAMA_API_KEY via settings.
        dimensions: output dimensions, sent only when given (models that support it) [L7].
        truncate: sent only when given; Ollama truncates over-long input by default, and with False
            an over-long input fails (`ContextLengthExceededError` when the message says so) [L7].
        options: `options` (e.g. `num_ctx`), sent only when non-empty.
        keep_alive: how long the model stays loaded (e.g. "5m", or seconds); omitted when None.
        timeout / max_retries / http_client / extra_headers / provider_keys / retry_sleep: as for `Ollama`.
    """

    default_id: ClassVar[str] = "openhermes"

    def __init__(
        self,
        id: str | None = None,
        *,
        host: str | None = None,
        api_key: str | None = None,
        dimensions: int | None = None,
        truncate: bool | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: str | float | None = None,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        extra_headers: Mapping[str, str] | None = None,
        provider_keys: ProviderKeys | None = None,
        retry_sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            id,
            host=host,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            extra_headers=extra_headers,
            provider_keys=provider_keys,
            retry_sleep=retry_sleep,
        )
        self.dimensions = dimensions
        self.truncate = truncate
        self.options = dict(options or {})
        self.keep_alive = keep_alive

    def request_body(self, texts: Sequence[str]) -> dict[str, Any]:
        """Return the JSON body of an `/api/embed` request for `texts` (always a list `input`)."""
        body: dict[str, Any] = {"model": self._id, "input": list(texts)}
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        if self.truncate is not None:
            body["truncate"] = self.truncate
        if self.options:
            body["options"] = dict(self.options)
        if self.keep_alive is not None:
            body["keep_alive"] = self.keep_alive
        return body

    async def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        """Embed `texts` in one request; an empty sequence returns no vectors without a request.

        Returns:
            One vector per text in input order, and `prompt_eval_count` as `input_tokens` (0 if absent).

        Raises:
            InvalidRequestError: HTTP 404 (the model is not pulled; the message says `ollama pull <id>`)
                or another 4xx.
            ContextLengthExceededError: an input exceeds the context length (with `truncate=False`).
            ModelAuthError / ModelRateLimitedError / ModelServerError / ModelTimeoutError /
                ModelConnectionError: as for `Ollama.stream` (retriable ones after retries).
            UnexpectedModelBehaviorError: the body is not JSON, or `embeddings` is not one list of numbers
                per input text.
            ModelRequestsBlockedError: `_guard.ALLOW_MODEL_REQUESTS` is False and the host is not loopback.
            ConfigurationError: the host is not a valid http(s) host or URL.
        """
        if not texts:
            return EmbeddingResult(vectors=[])
        response = await self._post("/api/embed", orjson.dumps(self.request_body(texts)))
        try:
            with self._map_provider_errors():
                raw = await response.aread()
        finally:
            await response.aclose()
        body = decode_object(raw, provider=self.provider, model_name=self._id)
        vectors = body.get("embeddings")
        if (
            not isinstance(vectors, list)
            or len(vectors) != len(texts)
            or not all(isinstance(v, list) and all(_is_number(x) for x in v) for v in vectors)
        ):
            raise malformed(
                f"expected `embeddings` with {len(texts)} vector(s) of numbers",
                raw,
                provider=self.provider,
                model_name=self._id,
            )
        return EmbeddingResult(
            vectors=[[float(x) for x in vector] for vector in vectors],
            input_tokens=count_tokens(body.get("prompt_eval_count")),
        )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
