"""Chat Completions stream chunks (and whole completions) → `TextDelta`s and one `ModelResponse`.

Wire format: providers.md §1.3 (chunks, tool-call fragments keyed by `index`, `finish_reason`, the
`choices: []` usage chunk, `[DONE]`) and §1.4 (non-streamed completion, usage fields) [O3][O4][O7][O8][O11].
Only choice 0 is read (we never request `n > 1`). No I/O: the caller feeds payloads and clock readings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from adapters.errors import ModelProviderError, UnexpectedModelBehaviorError
from engine import ModelUsage, ToolCall

from .base import ModelResponse, TextDelta

__all__ = ["DONE", "ChunkAccumulator", "response_from_completion", "usage_from_openai"]

DONE = "[DONE]"
"""The data payload that ends an OpenAI-style stream [O3]."""

StreamErrorFactory = Callable[[Mapping[str, Any]], ModelProviderError]
"""Builds the error for an `{"error": ...}` payload received mid-stream."""


@dataclass(slots=True)
class _PendingCall:
    """A tool call being assembled from fragments of one `index`."""

    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


class _MalformedError(ValueError):
    """Raised inside this module for a payload of the wrong shape; translated by the caller."""


class _ToolCallAssembler:
    """Assemble tool calls from `tool_calls[i]` fragments keyed by `index` [O8]."""

    def __init__(self) -> None:
        self._calls: dict[int, _PendingCall] = {}

    def add(self, fragment: Any) -> None:
        """Merge one fragment: the first id and name win, argument strings are concatenated."""
        if not isinstance(fragment, Mapping):
            raise _MalformedError("tool_calls entry is not an object")
        index = fragment.get("index")
        if not isinstance(index, int):
            # Some OpenAI-compatible servers omit `index`: a new id starts a new call.
            is_new = fragment.get("id") and all(p.id != fragment["id"] for p in self._calls.values())
            index = len(self._calls) if is_new or not self._calls else max(self._calls)
        pending = self._calls.setdefault(index, _PendingCall())
        if isinstance(fragment.get("id"), str) and fragment["id"] and pending.id is None:
            pending.id = fragment["id"]
        function = fragment.get("function") or {}
        if not isinstance(function, Mapping):
            raise _MalformedError("tool_calls entry function is not an object")
        if isinstance(function.get("name"), str) and function["name"] and pending.name is None:
            pending.name = function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            pending.arguments.append(arguments)
        elif isinstance(arguments, Mapping):
            # Checklist §10.1: some servers send a JSON object instead of string fragments.
            pending.arguments.append(orjson.dumps(arguments).decode())

    def build(self) -> tuple[ToolCall, ...]:
        """Return the calls ordered by `index`; arguments `"{}"` when none arrived."""
        calls: list[ToolCall] = []
        for index, pending in sorted(self._calls.items()):
            if not pending.name:
                raise _MalformedError(f"tool call at index {index} never received a function name")
            arguments = "".join(pending.arguments) or "{}"
            calls.append(ToolCall(id=pending.id or _synthetic_call_id(), name=pending.name, arguments=arguments))
        return tuple(calls)


class ChunkAccumulator:
    """Fold the data payloads of one stream, in order, into deltas and the final response.

    Args:
        provider: provider label for errors.
        model_name: model id for errors.
        on_error: builds the error raised for a payload carrying an `error` object.
    """

    def __init__(self, *, provider: str, model_name: str, on_error: StreamErrorFactory) -> None:
        self._provider = provider
        self._model_name = model_name
        self._on_error = on_error
        self._texts: list[str] = []
        self._calls = _ToolCallAssembler()
        self._usage: Mapping[str, Any] | None = None
        self._response_id: str | None = None
        self.finish_reason: str | None = None
        """Choice 0's `finish_reason` once a chunk carried one, else None."""
        self.is_done = False
        """True once the `[DONE]` payload arrived; later payloads must not be fed."""
        self.first_token_at: float | None = None
        """Clock reading passed with the first payload that carried text or a tool-call fragment."""

    def feed(self, data: str, now: float) -> list[TextDelta]:
        """Apply one data payload.

        Args:
            data: one SSE data payload (a JSON chunk, or `[DONE]`).
            now: clock reading in seconds (`time.perf_counter()`), kept if this is the first token.

        Returns:
            The text deltas of this chunk, in order; empty when it carried no text.

        Raises:
            UnexpectedModelBehaviorError: the payload is not a JSON object of the chunk shape.
            ModelProviderError: the payload is an `error` object (subclass chosen by `on_error`).
        """
        if data == DONE:
            self.is_done = True
            return []
        chunk = self._decode(data)
        if chunk.get("error"):
            raise self._on_error(chunk)
        response_id = chunk.get("id")
        if response_id and isinstance(response_id, str):
            self._response_id = response_id
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        choice = self._choice_zero(chunk, data)
        if choice is None:
            return []
        delta = choice.get("delta") or {}
        if type(delta) is not dict:
            raise self._malformed("chunk delta is not an object", data)
        deltas: list[TextDelta] = []
        content = delta.get("content")
        if content and isinstance(content, str):
            self._texts.append(content)
            deltas.append(TextDelta(content))
            self._mark_first_token(now)
        fragments = delta.get("tool_calls")
        if fragments:
            if not isinstance(fragments, list):
                raise self._malformed("delta.tool_calls is not a list", data)
            for fragment in fragments:
                try:
                    self._calls.add(fragment)
                except _MalformedError as exc:
                    raise self._malformed(str(exc), data) from exc
                self._mark_first_token(now)
        finish_reason = choice.get("finish_reason")
        if isinstance(finish_reason, str):
            self.finish_reason = finish_reason
        return deltas

    def finish(self, *, time_to_first_token: float | None, duration: float) -> ModelResponse:
        """Return the complete turn once the stream ended.

        Args:
            time_to_first_token: seconds from sending the request to the first token, or None.
            duration: seconds from sending the request to the end of the stream.

        Raises:
            UnexpectedModelBehaviorError: the stream ended with neither `[DONE]` nor a `finish_reason`
                (truncated), or a tool call never received its function name.
        """
        if not self.is_done and self.finish_reason is None:
            raise self._malformed("stream ended before [DONE] and without a finish_reason (truncated)", "")
        try:
            calls = self._calls.build()
        except _MalformedError as exc:
            raise self._malformed(str(exc), "") from exc
        return ModelResponse(
            content="".join(self._texts) or None,
            tool_calls=calls,
            usage=usage_from_openai(self._usage, time_to_first_token=time_to_first_token, duration=duration),
            provider_data={"id": self._response_id} if self._response_id else None,
        )

    def _decode(self, data: str) -> Mapping[str, Any]:
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise self._malformed("stream data is not JSON", data) from exc
        if not isinstance(chunk, dict):
            raise self._malformed("stream data is not a JSON object", data)
        return chunk

    def _choice_zero(self, chunk: Mapping[str, Any], data: str) -> Mapping[str, Any] | None:
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise self._malformed("chunk choices is not a list", data)
        for choice in choices:
            if type(choice) is dict and choice.get("index", 0) == 0:
                return choice
        return None

    def _mark_first_token(self, now: float) -> None:
        if self.first_token_at is None:
            self.first_token_at = now

    def _malformed(self, what: str, data: str) -> UnexpectedModelBehaviorError:
        return UnexpectedModelBehaviorError(
            f"{self._provider} stream malformed: {what}",
            body=data,
            provider=self._provider,
            model_name=self._model_name,
        )


def response_from_completion(
    body: Mapping[str, Any], *, provider: str, model_name: str, duration: float
) -> ModelResponse:
    """Read a whole (non-streamed) `chat.completion` object [O9b] into a `ModelResponse`.

    Args:
        body: the decoded response body.
        provider: provider label for errors.
        model_name: model id for errors.
        duration: seconds from sending the request to receiving the body.

    Raises:
        UnexpectedModelBehaviorError: `choices[0].message` is missing or not an object.
    """
    choices = body.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, Mapping) else None
    if not isinstance(message, Mapping):
        raise UnexpectedModelBehaviorError(
            f"{provider} completion has no choices[0].message",
            body=orjson.dumps(body).decode(),
            provider=provider,
            model_name=model_name,
        )
    assembler = _ToolCallAssembler()
    try:
        for index, call in enumerate(message.get("tool_calls") or []):
            assembler.add({**call, "index": index} if isinstance(call, Mapping) else call)
        calls = assembler.build()
    except _MalformedError as exc:
        raise UnexpectedModelBehaviorError(
            f"{provider} completion malformed: {exc}",
            body=orjson.dumps(body).decode(),
            provider=provider,
            model_name=model_name,
        ) from exc
    content = message.get("content")
    usage = body.get("usage")
    usage = usage if isinstance(usage, Mapping) else None
    return ModelResponse(
        content=content if isinstance(content, str) and content else None,
        tool_calls=calls,
        usage=usage_from_openai(usage, time_to_first_token=None, duration=duration),
        provider_data={"id": body["id"]} if isinstance(body.get("id"), str) else None,
    )


def usage_from_openai(
    usage: Mapping[str, Any] | None, *, time_to_first_token: float | None, duration: float | None
) -> ModelUsage:
    """Map an OpenAI `usage` object [O11] to `ModelUsage`; missing fields count 0.

    `prompt_tokens` → input, `completion_tokens` → output, `total_tokens` → total (input + output when
    absent), `prompt_tokens_details.cached_tokens` → cache_read, `completion_tokens_details.reasoning_tokens`
    → reasoning. Durations are seconds.
    """
    usage = usage or {}
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    input_tokens = _count(usage.get("prompt_tokens"))
    output_tokens = _count(usage.get("completion_tokens"))
    return ModelUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=_count(usage.get("total_tokens")) or input_tokens + output_tokens,
        reasoning_tokens=_count(completion_details.get("reasoning_tokens"))
        if isinstance(completion_details, Mapping)
        else 0,
        cache_read_tokens=_count(prompt_details.get("cached_tokens")) if isinstance(prompt_details, Mapping) else 0,
        time_to_first_token=time_to_first_token,
        duration=duration,
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _synthetic_call_id() -> str:
    """An id for a tool call the provider sent without one (checklist §10.2), shaped like OpenAI's."""
    return f"call_{uuid.uuid4().hex[:24]}"
