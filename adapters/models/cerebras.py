"""Cerebras' OpenAI-compatible Chat Completions API (agno's `Cerebras` / `CerebrasOpenAI`); no embeddings API.

Wire format: providers.md §5. What differs from OpenAI (`openai.OpenAILike`) and is handled here:

- Base URL `https://api.cerebras.ai/v1`; the SDK's CEREBRAS_BASE_URL is the bare host with `/v1/...`
  appended [C1][C2], so a bare-host value here gets `/v1`.
- `max_tokens` is sent as `max_completion_tokens` (`max_tokens` is deprecated) [C3].
- No `stream_options`: the SDK accepts it [C3] but a client report says it gave 422 [C5] (UNCONFIRMED), so
  it is left out; usage is read from any chunk that carries `usage` [C4] (which one is UNCONFIRMED), and
  a stream that ends after a `finish_reason` without `[DONE]` is complete (`[DONE]` is UNCONFIRMED).
- An assistant turn that only calls tools is sent with `content: ""` rather than null, as agno's
  `CerebrasOpenAI._format_message` does ("ensure no None values").
- Error bodies are top-level `{message, type, param, code}`, not wrapped in `error` [C6] (read by the
  shared parser). A 400 whose message is the observed context-overflow text ("Please reduce the length of
  the messages or completion ...") [C10] becomes `ContextLengthExceededError`.
- 402 (payment required) [C7] stays a non-retried `InvalidRequestError`.

Not sent, because older compatibility notes list them as 400s (UNCONFIRMED [C5]): `parallel_tool_calls`,
`frequency_penalty`, `presence_penalty`, `logit_bias`, `service_tier`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx

from adapters.errors import ContextLengthExceededError, InvalidRequestError, ModelProviderError
from engine import Message

from ._aiohttp import StreamedResponse
from .openai import OpenAILike
from .openai_embedder import UnsupportedEmbedder

__all__ = ["EMBEDDINGS_SUPPORTED", "Cerebras", "CerebrasEmbedder"]

EMBEDDINGS_SUPPORTED = False
"""Cerebras serves no embeddings API: its SDK has only chat, completions and models [C8]."""

_SDK_PATH = "/v1"
_CONTEXT_OVERFLOW_TEXT = "please reduce the length of the messages or completion"
"""Start of the observed context-overflow message [C10] (Groq's observed body uses the same words [Q13])."""


class Cerebras(OpenAILike):
    """Cerebras chat (agno's `CerebrasOpenAI`, named `Cerebras` here); see `OpenAILike` for the arguments.

    Reads CEREBRAS_API_KEY and CEREBRAS_BASE_URL (through `adapters.settings`); default model
    `llama-4-scout-17b-16e-instruct` (agno's default).
    """

    provider: ClassVar[str] = "Cerebras"
    name: ClassVar[str] = "Cerebras"
    api_key_env: ClassVar[str | None] = "CEREBRAS_API_KEY"
    base_url_env: ClassVar[str | None] = "CEREBRAS_BASE_URL"
    default_base_url: ClassVar[str | None] = "https://api.cerebras.ai/v1"
    default_id: ClassVar[str] = "llama-4-scout-17b-16e-instruct"
    max_tokens_param: ClassVar[str] = "max_completion_tokens"
    sends_stream_options: ClassVar[bool] = False

    def message_to_openai(self, message: Message) -> dict[str, Any]:
        out = super().message_to_openai(message)
        if out["role"] == "assistant" and out["content"] is None:
            out["content"] = ""
        return out

    def _resolve_base_url(self) -> str:
        base_url = super()._resolve_base_url()
        return base_url + _SDK_PATH if httpx.URL(base_url).path in ("", "/") else base_url

    async def _send(self, url: str, headers: dict[str, str], content: bytes) -> StreamedResponse:
        try:
            return await super()._send(url, headers, content)
        except InvalidRequestError as exc:
            refined = _refine(exc)
            if refined is exc:
                raise
            raise refined from exc

    def _stream_error_factory(self, response: StreamedResponse) -> Callable[[Mapping[str, Any]], ModelProviderError]:
        build = super()._stream_error_factory(response)
        return lambda payload: _refine(build(payload))


class CerebrasEmbedder(UnsupportedEmbedder):
    """Cerebras has no embeddings API: constructing this raises `ConfigurationError` naming the alternatives."""

    provider: ClassVar[str] = "Cerebras"


def _refine(error: ModelProviderError) -> ModelProviderError:
    """Turn an invalid-request error carrying the observed context-overflow message [C10] into its class."""
    if type(error) is not InvalidRequestError or _CONTEXT_OVERFLOW_TEXT not in str(error).lower():
        return error
    return ContextLengthExceededError(
        str(error), status_code=error.status_code, body=error.body, provider=error.provider, model_name=error.model_name
    )
