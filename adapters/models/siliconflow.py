"""SiliconFlow's OpenAI-compatible chat and embeddings APIs (agno's `Siliconflow`).

Wire format: providers.md §7. What differs from OpenAI (`openai.OpenAILike`) and is handled here:

- Base URL `https://api.siliconflow.cn/v1` (agno's default, the CN host [S1]); the international host
  `https://api.siliconflow.com/v1` [S3] is one SILICONFLOW_BASE_URL away. Bearer auth [S1].
- `max_tokens` stays `max_tokens` [S2] (`max_completion_tokens` is UNCONFIRMED).
- No `stream_options` (UNCONFIRMED); usage is read from any chunk that carries it (its placement is
  UNCONFIRMED), and from the documented non-streamed `usage` [S1].
- Thinking switches `enable_thinking` and `thinking_budget` (128-32768) [S1][S2], sent only when given.
- Error bodies are not OpenAI-shaped: `{"code": <business code>, "message", "data": null}` [S4]; the HTTP
  status decides the class (401 and 403 (often real-name verification) auth, 429 rate limit, 500/503/504
  server errors retried), the message is quoted. No context-length code is documented (UNCONFIRMED), so
  an over-long prompt surfaces as `InvalidRequestError`. Retry-After is not documented (backoff is used).

Model ids are `org/name` (`Qwen/Qwen2.5-7B-Instruct`), some with a `Pro/` prefix [S1][S3].
Embeddings: `POST /embeddings`, OpenAI-shaped, `dimensions` for Qwen3-Embedding only [S3].
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx

from adapters.settings import ProviderKeys
from engine import ConfigurationError, Message, Tool

from .openai import OpenAILike
from .openai_embedder import OpenAILikeEmbedder

__all__ = ["EMBEDDINGS_SUPPORTED", "Siliconflow", "SiliconflowEmbedder"]

EMBEDDINGS_SUPPORTED = True
"""SiliconFlow serves `POST /embeddings` [S3]."""

_BASE_URL = "https://api.siliconflow.cn/v1"
_THINKING_BUDGET_RANGE = range(128, 32768 + 1)


class Siliconflow(OpenAILike):
    """SiliconFlow chat (agno's `Siliconflow`); see `OpenAILike` for the common arguments.

    Reads SILICONFLOW_API_KEY and SILICONFLOW_BASE_URL (through `adapters.settings`); default model
    `Qwen/QwQ-32B` (agno's default).

    Args:
        enable_thinking: switches thinking on or off on models that support it [S1]; not sent when None.
            DeepSeek-V3.1 needs False for function calling [S2].
        thinking_budget: most thinking tokens, 128-32768 [S2]; not sent when None.

    Raises:
        ConfigurationError: `thinking_budget` is outside 128-32768.
    """

    provider: ClassVar[str] = "Siliconflow"
    name: ClassVar[str] = "Siliconflow"
    api_key_env: ClassVar[str | None] = "SILICONFLOW_API_KEY"
    base_url_env: ClassVar[str | None] = "SILICONFLOW_BASE_URL"
    default_base_url: ClassVar[str | None] = _BASE_URL
    default_id: ClassVar[str] = "Qwen/QwQ-32B"
    sends_stream_options: ClassVar[bool] = False

    def __init__(
        self,
        id: str | None = None,
        *,
        enable_thinking: bool | None = None,
        thinking_budget: int | None = None,
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
        if thinking_budget is not None and thinking_budget not in _THINKING_BUDGET_RANGE:
            raise ConfigurationError(f"thinking_budget must be within 128..32768, got {thinking_budget}")
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
        self.enable_thinking = enable_thinking
        self.thinking_budget = thinking_budget

    def request_body(self, messages: Sequence[Message], tools: Sequence[Tool]) -> dict[str, Any]:
        body = super().request_body(messages, tools)
        if self.enable_thinking is not None:
            body["enable_thinking"] = self.enable_thinking
        if self.thinking_budget is not None:
            body["thinking_budget"] = self.thinking_budget
        return body


class SiliconflowEmbedder(OpenAILikeEmbedder):
    """SiliconFlow embeddings [S3]; see `OpenAILikeEmbedder` for the arguments.

    Reads SILICONFLOW_API_KEY and SILICONFLOW_BASE_URL; default model `BAAI/bge-m3` (8192 input tokens
    [S3]). `dimensions` is accepted only by Qwen3-Embedding models [S3]. The batch limit is not documented,
    so the default batch is a conservative 32 texts.
    """

    provider: ClassVar[str] = "Siliconflow"
    api_key_env: ClassVar[str | None] = "SILICONFLOW_API_KEY"
    base_url_env: ClassVar[str | None] = "SILICONFLOW_BASE_URL"
    default_base_url: ClassVar[str | None] = _BASE_URL
    default_id: ClassVar[str] = "BAAI/bge-m3"
    default_batch_size: ClassVar[int] = 32
