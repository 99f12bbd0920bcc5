"""The model interface every provider adapter implements, and its stream updates.

A `ModelClient` streams one assistant turn: zero or more `TextDelta` updates, then exactly one
`ModelResponse` (the complete turn: content, tool calls in the model's order, usage, provider data).
A stream that ends without a `ModelResponse` is a provider error, never a partial answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from engine import Message, ModelUsage, Tool, ToolCall

__all__ = [
    "Embedder",
    "EmbeddingResult",
    "ModelClient",
    "ModelResponse",
    "StreamUpdate",
    "TextDelta",
    "text_read_interval",
]

text_read_interval: ContextVar[float] = ContextVar("text_read_interval", default=0.0)
"""Seconds a provider may let pass between two reads of a turn's response once the turn streams text; 0 (the
default): read every piece as it arrives.

The model worker sets it around each turn to its RunContent window (`AGNOSTREAM_CONTENT_FLUSH_MS`): the text
goes out at most that often anyway, so reading the socket once a window instead of once a token costs the
client nothing but the end of the turn, seen up to one interval later. Until the first text, a turn is read as
it arrives (its first token, or a tool call that the run waits for, is never held). The OpenAI-compatible
providers on agnostream's own HTTP client apply it (`_h1.H1Response.pace`); the others ignore it."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of streamed assistant text, in order; concatenated they form `ModelResponse.content`.

    `provider_data` is what agno puts in `RunContent.model_provider_data` (e.g. `{"id": "chatcmpl-..."}`),
    or None when the provider has not identified the response yet.
    """

    text: str
    provider_data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelResponse:
    """One complete assistant turn.

    Attributes:
        content: the text, or None when the turn only calls tools.
        tool_calls: calls in the order the model emitted them (arguments fully assembled); empty if none.
        usage: tokens from the provider's usage field; `time_to_first_token` / `duration` in seconds
            measured by the client from sending the request.
        provider_data: what agno keeps from the provider response (e.g. `{"id": "chatcmpl-..."}`).
    """

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: ModelUsage = field(default_factory=ModelUsage)
    provider_data: dict[str, Any] | None = None


StreamUpdate = TextDelta | ModelResponse


@runtime_checkable
class ModelClient(Protocol):
    """A chat model: named for events (`id`, `provider`, `name`) and streamable."""

    @property
    def id(self) -> str:
        """Model id sent to the provider."""
        ...

    @property
    def provider(self) -> str:
        """Provider label for events (`model_provider`), e.g. "OpenAI"."""
        ...

    @property
    def name(self) -> str:
        """Model class label for metrics details, e.g. "OpenAI Chat"."""
        ...

    def stream(self, messages: Sequence[Message], tools: Sequence[Tool]) -> AsyncIterator[StreamUpdate]:
        """Stream one assistant turn for `messages` with `tools` offered.

        Raises:
            ModelProviderError: the provider failed (subclass says how; `retriable` says whether to retry).
            UnexpectedModelBehaviorError: the stream was truncated or malformed.
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbeddingResult:
    """Vectors for a batch of texts.

    Attributes:
        vectors: one vector per input text, in input order (floats, provider's dimension).
        input_tokens: tokens billed for the batch as the provider reports it (0 when it reports none).
    """

    vectors: list[list[float]]
    input_tokens: int = 0


@runtime_checkable
class Embedder(Protocol):
    """An embeddings model."""

    @property
    def id(self) -> str:
        """Embedding model id sent to the provider."""
        ...

    @property
    def provider(self) -> str:
        """Provider label, e.g. "OpenAI"."""
        ...

    async def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        """Embed `texts` (batched as the provider allows).

        Raises:
            ModelProviderError: the provider failed (same error mapping as chat).
        """
        ...
