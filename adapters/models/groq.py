"""Groq's OpenAI-compatible Chat Completions API (agno's `Groq`); Groq offers no embeddings API.

Wire format: providers.md §4. What differs from OpenAI (`openai.OpenAILike`) and is handled here:

- Base URL `https://api.groq.com/openai/v1` [Q1]. The groq SDK's GROQ_BASE_URL is the bare host
  (`https://api.groq.com`) with `/openai/v1/...` appended by the SDK [Q2][Q3]; a bare-host value here gets
  the same path, so one environment serves both.
- `max_tokens` is sent as `max_completion_tokens` (`max_tokens` is deprecated) [Q6].
- No `stream_options`: it is absent from the SDK's request parameters (UNCONFIRMED either way [Q5][Q6]).
  Streamed usage arrives in the chunk's `x_groq.usage` [Q5][Q7] and is read from there (a top-level
  `usage` wins if a chunk carries both). Which chunk carries it is UNCONFIRMED, so any chunk may.
- HTTP 498 ("flex tier capacity exceeded", try again later [Q10]) is a retriable `ModelServerError`.
- Tool calls are assembled whether they arrive whole in one delta [Q8] or as argument fragments [Q8b].
- Fields Groq rejects with 400 (`logprobs`, `logit_bias`, `top_logprobs`, `messages[].name`, `n` != 1
  [Q1]) are never sent by the base request mapping.

Errors use OpenAI's envelope `{"error": {message, type, code}}` [Q10][Q12]; context overflow is
`code: "context_length_exceeded"` [Q13]; `retry-after` (seconds) comes with 429 only [Q11].
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Mapping
from typing import ClassVar

import httpx
import orjson

from adapters.errors import InvalidRequestError, ModelServerError

from ._aiohttp import StreamedResponse
from .openai import OpenAILike
from .openai_embedder import UnsupportedEmbedder

__all__ = ["EMBEDDINGS_SUPPORTED", "Groq", "GroqEmbedder"]

EMBEDDINGS_SUPPORTED = False
"""Groq serves no embeddings API: the SDK has an endpoint but no model is confirmed to be served [Q9]."""

_SDK_PATH = "/openai/v1"
_FLEX_CAPACITY_EXCEEDED = 498


class Groq(OpenAILike):
    """Groq chat (agno's `Groq`); see `OpenAILike` for the arguments.

    Reads GROQ_API_KEY and GROQ_BASE_URL (through `adapters.settings`); default model
    `llama-3.3-70b-versatile` (agno's default).
    """

    provider: ClassVar[str] = "Groq"
    name: ClassVar[str] = "Groq"
    api_key_env: ClassVar[str | None] = "GROQ_API_KEY"
    base_url_env: ClassVar[str | None] = "GROQ_BASE_URL"
    default_base_url: ClassVar[str | None] = "https://api.groq.com/openai/v1"
    default_id: ClassVar[str] = "llama-3.3-70b-versatile"
    max_tokens_param: ClassVar[str] = "max_completion_tokens"
    sends_stream_options: ClassVar[bool] = False

    def _resolve_base_url(self) -> str:
        base_url = super()._resolve_base_url()
        return base_url + _SDK_PATH if httpx.URL(base_url).path in ("", "/") else base_url

    async def _send(self, url: str, headers: dict[str, str], content: bytes) -> StreamedResponse:
        try:
            return await super()._send(url, headers, content)
        except InvalidRequestError as exc:
            if exc.status_code != _FLEX_CAPACITY_EXCEEDED:
                raise
            raise ModelServerError(
                f"{exc} (flex tier capacity exceeded; retry later)",
                status_code=exc.status_code,
                body=exc.body,
                provider=self.provider,
                model_name=self.id,
            ) from exc

    async def _payloads(self, response: StreamedResponse) -> AsyncGenerator[str, None]:
        async with contextlib.aclosing(super()._payloads(response)) as payloads:
            async for data in payloads:
                yield _lift_x_groq_usage(data)


class GroqEmbedder(UnsupportedEmbedder):
    """Groq has no embeddings API: constructing this raises `ConfigurationError` naming the alternatives."""

    provider: ClassVar[str] = "Groq"


def _lift_x_groq_usage(data: str) -> str:
    """Copy `x_groq.usage` to the chunk's top-level `usage` (where the shared accumulator reads it) [Q5]."""
    if '"x_groq"' not in data:
        return data
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data  # the accumulator reports the undecodable payload
    x_groq = chunk.get("x_groq") if isinstance(chunk, dict) else None
    usage = x_groq.get("usage") if isinstance(x_groq, Mapping) else None
    if not isinstance(usage, Mapping) or isinstance(chunk.get("usage"), Mapping):
        return data
    return orjson.dumps({**chunk, "usage": usage}).decode()
