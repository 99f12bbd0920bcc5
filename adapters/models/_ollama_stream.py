"""Ollama native NDJSON answers → `TextDelta`s and one `ModelResponse`; no I/O.

Wire format: providers.md §3.1 (NDJSON lines, `message.content`, whole `message.tool_calls` with object
`arguments`, the last object `done: true` with `prompt_eval_count` / `eval_count`) [L4][L5][L6] and §3.3
(an `{"error": "..."}` object, also as a line inside a 200 stream) [L14][L15]. The caller feeds raw
objects (lines, or a whole `application/json` body) and clock readings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import orjson

from adapters.errors import ContextLengthExceededError, ModelServerError, UnexpectedModelBehaviorError
from engine import ModelUsage, ToolCall

from ._openai_errors import parse_error_body
from .base import ModelResponse, TextDelta

__all__ = [
    "CONTEXT_OVERFLOW",
    "NDJSONDecoder",
    "TurnAccumulator",
    "arguments_object",
    "count_tokens",
    "decode_object",
    "malformed",
]

CONTEXT_OVERFLOW = "exceeds the context length"
"""Substring of Ollama's context-overflow message "the input length exceeds the context length" [L15]."""


class NDJSONDecoder:
    """Split a byte stream into NDJSON lines, whatever the network chunking [L5].

    Lines are returned without their line break and surrounding whitespace; blank lines are dropped.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add `chunk`; return the lines it completed, in order (empty while a line is still open)."""
        self._buffer += chunk
        if b"\n" not in chunk:
            return []
        *lines, rest = self._buffer.split(b"\n")
        self._buffer = bytearray(rest)
        return [stripped for line in lines if (stripped := bytes(line).strip())]

    def flush(self) -> bytes | None:
        """Return the unterminated last line at end of stream, or None when nothing is left."""
        rest = bytes(self._buffer).strip()
        self._buffer.clear()
        return rest or None


def malformed(what: str, raw: bytes | str, *, provider: str, model_name: str) -> UnexpectedModelBehaviorError:
    """The error for an answer of the wrong shape; `raw` (the offending object) is kept as its body."""
    body = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return UnexpectedModelBehaviorError(
        f"{provider} response malformed: {what}", body=body, provider=provider, model_name=model_name
    )


def decode_object(raw: bytes, *, provider: str, model_name: str) -> Mapping[str, Any]:
    """Decode one JSON object of a 200 answer.

    Raises:
        UnexpectedModelBehaviorError: `raw` is not a JSON object.
        ContextLengthExceededError: it is an `{"error": ...}` object saying the input exceeds the context.
        ModelServerError: it is any other `{"error": ...}` object (the server failed after accepting the
            request; `retriable`, but the caller does not retry once output was yielded).
    """
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise malformed("not JSON", raw, provider=provider, model_name=model_name) from exc
    if not isinstance(decoded, dict):
        raise malformed("not a JSON object", raw, provider=provider, model_name=model_name)
    if decoded.get("error"):
        message = parse_error_body(decoded).message
        cls = ContextLengthExceededError if CONTEXT_OVERFLOW in message else ModelServerError
        raise cls(
            f"{provider} reported an error: {message}",
            status_code=200,
            body=raw.decode("utf-8", errors="replace"),
            provider=provider,
            model_name=model_name,
        )
    return decoded


class TurnAccumulator:
    """Fold the objects of one `/api/chat` answer, in order, into deltas and the final response.

    Args:
        provider: provider label for errors.
        model_name: model id for errors.
        call_id_seed: text hashed with a call's position to give an id to a tool call sent without one
            (servers before v0.12.10 [L12]); the request body's digest, so a request always yields the
            same ids and different turns of a run yield different ones.
    """

    def __init__(self, *, provider: str, model_name: str, call_id_seed: str) -> None:
        self._labels = {"provider": provider, "model_name": model_name}
        self._seed = call_id_seed
        self._texts: list[str] = []
        self._calls: list[ToolCall] = []
        self.done: Mapping[str, Any] | None = None
        """The `done: true` object once it arrived; later objects must not be fed."""
        self.first_token_at: float | None = None
        """Clock reading passed with the first object that carried text or a tool call."""

    def feed(self, raw: bytes, now: float) -> list[TextDelta]:
        """Apply one object.

        Args:
            raw: one JSON object (an NDJSON line, or a whole non-streamed body).
            now: clock reading in seconds (`time.perf_counter()`), kept if this is the first token.

        Returns:
            The object's text delta, or an empty list when it carried no text.

        Raises:
            UnexpectedModelBehaviorError: the object is malformed (not JSON, a tool call without a name).
            ModelServerError / ContextLengthExceededError: it is an `{"error": ...}` object.
        """
        obj = decode_object(raw, **self._labels)
        message = obj.get("message")
        deltas: list[TextDelta] = []
        if message is not None:
            if not isinstance(message, Mapping):
                raise malformed("message is not an object", raw, **self._labels)
            text = message.get("content")
            if isinstance(text, str) and text:
                self._texts.append(text)
                deltas.append(TextDelta(text))
                self._mark_first_token(now)
            calls = message.get("tool_calls") or []
            if not isinstance(calls, list):
                raise malformed("message.tool_calls is not a list", raw, **self._labels)
            for call in calls:
                self._calls.append(self._tool_call(call, raw))
                self._mark_first_token(now)
        if obj.get("done") is True:
            self.done = obj
        return deltas

    def finish(self, *, time_to_first_token: float | None, duration: float) -> ModelResponse:
        """Return the complete turn once the answer ended.

        Usage: `prompt_eval_count` → input, `eval_count` → output, total = their sum (as agno computes
        it) [L6]; Ollama's nanosecond durations are not used, `time_to_first_token` / `duration` are the
        caller's measurements in seconds.

        Raises:
            UnexpectedModelBehaviorError: no `done: true` object arrived (the stream was truncated).
        """
        if self.done is None:
            raise malformed("stream ended without a `done: true` object (truncated)", "", **self._labels)
        input_tokens = count_tokens(self.done.get("prompt_eval_count"))
        output_tokens = count_tokens(self.done.get("eval_count"))
        return ModelResponse(
            content="".join(self._texts) or None,
            tool_calls=tuple(self._calls),
            usage=ModelUsage(
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                total_tokens=input_tokens + output_tokens,
                time_to_first_token=time_to_first_token,
                duration=duration,
            ),
        )

    def _mark_first_token(self, now: float) -> None:
        if self.first_token_at is None:
            self.first_token_at = now

    def _tool_call(self, call: Any, raw: bytes) -> ToolCall:
        """One whole tool call `{id?, function: {index?, name, arguments: {...}}}` [L4][L10]."""
        function = call.get("function") if isinstance(call, Mapping) else None
        name = function.get("name") if isinstance(function, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(name, str) or not name:
            raise malformed("tool call without a function name", raw, **self._labels)
        arguments = function.get("arguments")
        if isinstance(arguments, Mapping):
            # json.dumps (not orjson) so the text is what agno stores for the same call.
            text = json.dumps(arguments)
        elif isinstance(arguments, str) or arguments is None:
            text = arguments or "{}"
        else:
            raise malformed("tool call arguments are not an object", raw, **self._labels)
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            digest = hashlib.sha256(f"{self._seed}:{len(self._calls)}".encode()).hexdigest()
            call_id = f"call_{digest[:24]}"
        return ToolCall(id=call_id, name=name, arguments=text)


def arguments_object(arguments: str) -> dict[str, Any]:
    """Decode `ToolCall.arguments` to the JSON object Ollama expects in history; `{}` if it is not one."""
    try:
        decoded = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def count_tokens(value: Any) -> int:
    """A token count from a provider field: a positive int, else 0 (missing, null or malformed)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
