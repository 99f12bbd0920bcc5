"""Gemini embeddings over the native API (agno's `GeminiEmbedder`): `embedContent` and `batchEmbedContents`.

Wire format: providers.md §2.5. One text → `POST {base}/models/{id}:embedContent` with
`{"content": {"parts": [{"text"}]}, "taskType"?, "title"?, "outputDimensionality"?}`, answered by
`{"embedding": {"values": [...]}}`. Several texts → `POST {base}/models/{id}:batchEmbedContents` with
`{"requests": [{"model": "models/<id>", "content", ...}, ...]}` (each `model` equal to the URL's),
answered by `{"embeddings": [{"values": [...]}, ...]}` in request order. Key, retries and error
translation are shared with the chat model (`_gemini_http`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
import orjson

from adapters.errors import UnexpectedModelBehaviorError
from adapters.settings import ProviderKeys
from engine import ConfigurationError

from ._gemini_http import GeminiHTTP
from .base import EmbeddingResult

__all__ = ["GeminiEmbedder"]


class GeminiEmbedder(GeminiHTTP):
    """Gemini embeddings (agno's `GeminiEmbedder`, same defaults); implements `Embedder`.

    The API reports no token usage for embeddings in the documented response (§2.5), so
    `EmbeddingResult.input_tokens` is 0.

    Args:
        id: embedding model id (default `gemini-embedding-001`, agno's default).
        task_type: `taskType` (agno's default `RETRIEVAL_QUERY`, one of the v1beta proto's values [G14]);
            omitted when None.
        title: `title`, which only applies with `RETRIEVAL_DOCUMENT` [G14]; omitted when None.
        dimensions: `outputDimensionality` (agno's default 1536); omitted when None (the model's own size).
        batch_size: texts per `batchEmbedContents` request (agno's `Embedder.batch_size` default, 100);
            the API's own limit is not in our reference, so larger batches are split.
        **kwargs: key, base URL, timeout, retries, client and settings; see `GeminiHTTP`.
    """

    name: ClassVar[str] = "GeminiEmbedder"
    default_id: ClassVar[str] = "gemini-embedding-001"

    def __init__(
        self,
        id: str | None = None,
        *,
        task_type: str | None = "RETRIEVAL_QUERY",
        title: str | None = None,
        dimensions: int | None = 1536,
        batch_size: int = 100,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        extra_headers: Mapping[str, str] | None = None,
        provider_keys: ProviderKeys | None = None,
        retry_sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")
        super().__init__(
            id,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            extra_headers=extra_headers,
            provider_keys=provider_keys,
            retry_sleep=retry_sleep,
        )
        self.task_type = task_type
        self.title = title
        self.dimensions = dimensions
        self.batch_size = batch_size

    async def __aenter__(self) -> GeminiEmbedder:
        return self

    def embed_request(self, text: str) -> dict[str, Any]:
        """Return one `EmbedContentRequest` body (without `model`) for `text`; optional keys only when set."""
        request: dict[str, Any] = {"content": {"parts": [{"text": text}]}}
        if self.task_type is not None:
            request["taskType"] = self.task_type
        if self.title is not None:
            request["title"] = self.title
        if self.dimensions is not None:
            request["outputDimensionality"] = self.dimensions
        return request

    async def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        """Embed `texts`: `embedContent` for exactly one, `batchEmbedContents` per `batch_size` texts otherwise.

        Returns:
            One vector per text, in input order (no request at all for an empty `texts`).

        Raises:
            ModelAuthError: GOOGLE_API_KEY is not set (the message names it), or HTTP 401/403.
            ModelProviderError: the request failed (same mapping and retries as `Gemini.stream`).
            UnexpectedModelBehaviorError: the response is not JSON, has no vector where one is due, or
                has a different number of vectors than texts sent.
            ModelRequestsBlockedError: `_guard.ALLOW_MODEL_REQUESTS` is False and the host is not loopback.
        """
        if len(texts) == 1:
            body = await self._post_json("embedContent", self.embed_request(texts[0]))
            embedding = body.get("embedding")
            values = embedding.get("values") if isinstance(embedding, Mapping) else None
            return EmbeddingResult(vectors=[self._vector(values, body)])
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            requests = [{"model": f"models/{self._id}", **self.embed_request(text)} for text in batch]
            body = await self._post_json("batchEmbedContents", {"requests": requests})
            embeddings = body.get("embeddings")
            if not isinstance(embeddings, list) or len(embeddings) != len(batch):
                got = len(embeddings) if isinstance(embeddings, list) else "no"
                raise self._malformed(f"{got} embeddings for {len(batch)} texts", body)
            for item in embeddings:
                vectors.append(self._vector(item.get("values") if isinstance(item, Mapping) else None, body))
        return EmbeddingResult(vectors=vectors)

    async def _post_json(self, method: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """POST `payload` to `:{method}` and return the decoded JSON object."""
        response = await self._open(self._method_url(method), orjson.dumps(payload))
        try:
            with self._map_provider_errors():
                raw = await response.aread()
        finally:
            await response.aclose()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise self._malformed("response body is not JSON", raw.decode("utf-8", errors="replace")) from exc
        if not isinstance(body, dict):
            raise self._malformed("response body is not a JSON object", body)
        return body

    def _vector(self, values: Any, body: Any) -> list[float]:
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        ):
            raise self._malformed("an embedding has no list of numbers in `values`", body)
        return [float(v) for v in values]

    def _malformed(self, what: str, body: Any) -> UnexpectedModelBehaviorError:
        text = body if isinstance(body, str) else orjson.dumps(body).decode()
        return UnexpectedModelBehaviorError(
            f"Gemini embeddings response malformed: {what}", body=text, provider=self.provider, model_name=self._id
        )
