"""Scripted models: deterministic fakes that play given turns (text and/or tool calls).

For the demo, tests and the BFCL harness, like pydantic-ai's TestModel / FunctionModel. They are
stateless: the turn played is chosen from the conversation itself (the number of assistant turns since
the last user message), so a model request redelivered after a crash plays the same turn again.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from engine import Message, ModelUsage, Tool, ToolCall

from .base import ModelResponse, StreamUpdate, TextDelta

__all__ = ["FunctionModel", "ScriptedCall", "ScriptedModel", "Turn", "step_of"]


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    """A tool call the scripted model makes: tool name and arguments (a JSON-serialisable mapping)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Turn:
    """One scripted assistant turn: optional text, then tool calls (several = parallel calls)."""

    text: str | None = None
    tool_calls: tuple[ScriptedCall, ...] = ()


def step_of(messages: Sequence[Message]) -> int:
    """Return the index of the turn being requested: assistant messages after the last user message."""
    step = 0
    for message in reversed(messages):
        if message.role == "user":
            break
        if message.role == "assistant":
            step += 1
    return step


class FunctionModel:
    """A model whose turn comes from `fn(messages, tools) -> Turn` (sync or async).

    Text is streamed in word-sized pieces, `first_token_delay_s` before the first and `token_delay_s`
    between pieces (seconds; 0 by default). Usage counts words as tokens.
    """

    def __init__(
        self,
        fn: Callable[[Sequence[Message], Sequence[Tool]], Turn | Awaitable[Turn]],
        *,
        id: str = "scripted-model",
        provider: str = "Scripted",
        name: str = "Scripted Model",
        first_token_delay_s: float = 0.0,
        token_delay_s: float = 0.0,
    ) -> None:
        self._fn = fn
        self._id = id
        self._provider = provider
        self._name = name
        self._first_delay = first_token_delay_s
        self._delay = token_delay_s

    @property
    def id(self) -> str:
        """Model id shown in events."""
        return self._id

    @property
    def provider(self) -> str:
        """Provider label shown in events."""
        return self._provider

    @property
    def name(self) -> str:
        """Model label in metrics details."""
        return self._name

    async def stream(self, messages: Sequence[Message], tools: Sequence[Tool]) -> AsyncIterator[StreamUpdate]:
        """Play the turn `fn` returns: text pieces, then the complete `ModelResponse`."""
        started = time.perf_counter()
        turn = self._fn(messages, tools)
        if inspect.isawaitable(turn):
            turn = await turn
        ttft: float | None = None
        if self._first_delay:
            await asyncio.sleep(self._first_delay)
        pieces = _pieces(turn.text or "")
        step = step_of(messages)
        provider_data = {"id": f"scripted-{step}"}
        for i, piece in enumerate(pieces):
            if i and self._delay:
                await asyncio.sleep(self._delay)
            if ttft is None:
                ttft = time.perf_counter() - started
            yield TextDelta(piece, provider_data)
        calls = tuple(
            ToolCall(id=f"call_{step + 1}_{i + 1}", name=c.name, arguments=orjson.dumps(dict(c.arguments)).decode())
            for i, c in enumerate(turn.tool_calls)
        )
        input_tokens = sum(len((m.content or "").split()) for m in messages)
        output_tokens = len(pieces) + sum(1 + len(c.arguments) // 8 for c in calls)
        yield ModelResponse(
            content=turn.text,
            tool_calls=calls,
            usage=ModelUsage(
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                total_tokens=input_tokens + output_tokens,
                time_to_first_token=ttft,
                duration=time.perf_counter() - started,
            ),
            provider_data=provider_data,
        )


class ScriptedModel(FunctionModel):
    """Plays `turns[k]` for the k-th model request of each run (the last turn repeats if the run goes on).

    Args:
        turns: the script, e.g. `[Turn(tool_calls=(ScriptedCall("get_weather", {"city": "Paris"}),)),
            Turn(text="It is sunny.")]`.
    """

    def __init__(self, turns: Sequence[Turn], **kwargs: Any) -> None:
        script = tuple(turns) or (Turn(text=""),)
        super().__init__(lambda messages, _tools: script[min(step_of(messages), len(script) - 1)], **kwargs)


def _pieces(text: str) -> list[str]:
    """Split text into word pieces that keep their trailing space, like a tokenizer's stream."""
    if not text:
        return []
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + ([words[-1]] if words[-1] else [])
