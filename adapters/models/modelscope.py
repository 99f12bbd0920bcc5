"""ModelScope API-Inference's OpenAI-compatible chat API (`ModelScope`; not in agno). No embeddings API.

Wire format: providers.md §8, which documents little beyond the endpoint, so this class stays close to
plain `OpenAILike` and avoids everything UNCONFIRMED:

- Base URL `https://api-inference.modelscope.cn/v1`; the key is a ModelScope Access Token sent as a
  bearer token [M1]. ModelScope defines no environment variable; MODELSCOPE_API_KEY is the common
  convention (UNCONFIRMED) and the one read here. The `.ai` international host is UNCONFIRMED and not a
  default (set MODELSCOPE_BASE_URL to use it).
- `max_tokens` stays `max_tokens`; no `stream_options`, `tool_choice` or `parallel_tool_calls` (all
  UNCONFIRMED). Usage is read from any chunk that carries it (placement UNCONFIRMED).
- The docs tell callers to follow each model page's sample, especially for reasoning models [M1]; those
  per-model parameters (e.g. a thinking switch) are not documented centrally, so `extra_body` passes them
  through verbatim instead of this class guessing them.
- The error body shape is UNCONFIRMED: errors are classified by HTTP status alone (429 when the daily
  quota is used up, per third-party summaries [M2], is retried like any 429).

Model ids are repository ids, e.g. `Qwen/Qwen2.5-Coder-32B-Instruct` [M1].
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx

from adapters.settings import ProviderKeys
from engine import ConfigurationError, Message, Tool

from .openai import OpenAILike
from .openai_embedder import UnsupportedEmbedder

__all__ = ["EMBEDDINGS_SUPPORTED", "ModelScope", "ModelScopeEmbedder"]

EMBEDDINGS_SUPPORTED = False
"""Only third-party code uses a ModelScope `/v1/embeddings`; providers.md §8 says assume none [M1][M2]."""


class ModelScope(OpenAILike):
    """ModelScope API-Inference chat; see `OpenAILike` for the common arguments.

    Reads MODELSCOPE_API_KEY and MODELSCOPE_BASE_URL (through `adapters.settings`); default model
    `Qwen/Qwen2.5-Coder-32B-Instruct` (the example in ModelScope's introduction [M1]).

    Args:
        extra_body: fields merged into every request body after the standard ones (a model page's own
            parameters); they may not replace `model`, `messages`, `stream` or `tools`.

    Raises:
        ConfigurationError: `extra_body` tries to replace a standard field.
    """

    provider: ClassVar[str] = "ModelScope"
    name: ClassVar[str] = "ModelScope"
    api_key_env: ClassVar[str | None] = "MODELSCOPE_API_KEY"
    base_url_env: ClassVar[str | None] = "MODELSCOPE_BASE_URL"
    default_base_url: ClassVar[str | None] = "https://api-inference.modelscope.cn/v1"
    default_id: ClassVar[str] = "Qwen/Qwen2.5-Coder-32B-Instruct"
    sends_stream_options: ClassVar[bool] = False

    _RESERVED: ClassVar[frozenset[str]] = frozenset({"model", "messages", "stream", "tools"})

    def __init__(
        self,
        id: str | None = None,
        *,
        extra_body: Mapping[str, Any] | None = None,
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
        clash = sorted(self._RESERVED.intersection(extra_body or {}))
        if clash:
            raise ConfigurationError(f"extra_body may not set {', '.join(clash)}; pass them as arguments")
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
        self.extra_body = dict(extra_body or {})

    def request_body(self, messages: Sequence[Message], tools: Sequence[Tool]) -> dict[str, Any]:
        return {**super().request_body(messages, tools), **self.extra_body}


class ModelScopeEmbedder(UnsupportedEmbedder):
    """ModelScope documents no embeddings API: constructing this raises `ConfigurationError`.

    If a model page does document an OpenAI-compatible `/embeddings`, use `OpenAILikeEmbedder` with
    `base_url="https://api-inference.modelscope.cn/v1"` and the token as `api_key`.
    """

    provider: ClassVar[str] = "ModelScope"
