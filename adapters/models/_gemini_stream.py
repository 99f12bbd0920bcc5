"""Gemini `GenerateContentResponse` chunks → `TextDelta`s and one `ModelResponse`.

Wire format: providers.md §2.3 (each SSE event is a whole response holding only the new parts; no
terminator; `finishReason` on the last candidate chunk; `usageMetadata` on every chunk, the last one
authoritative; function calls arrive whole with `args` as an object, without ids; `thoughtSignature`
beside a part) and §2.4 (finish reasons, usage fields, blocked prompts). Only candidate 0 is read (we
never ask for more). No I/O: the caller feeds payloads and clock readings.

Completion rules (never a silent partial answer):
- `STOP` and `MAX_TOKENS` end a turn normally (`STOP` also ends a function-call turn [G6]).
- Any other finish reason (`SAFETY`, `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII`,
  `MALFORMED_FUNCTION_CALL`, `OTHER`, ... [G11]) raises `UnexpectedModelBehaviorError` naming it: the
  model's output was withheld or unusable, and retrying the same request would not change that.
- A chunk with `promptFeedback.blockReason` (prompt blocked, no candidates [G14]) raises the same.
- A stream that ends with no finish reason raises it as truncated, or as "no candidate" when no chunk
  carried a candidate at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from adapters.errors import ModelProviderError, UnexpectedModelBehaviorError
from engine import ModelUsage, ToolCall

from .base import ModelResponse, TextDelta

__all__ = ["COMPLETE_FINISH_REASONS", "GeminiStreamAccumulator", "usage_from_gemini"]

COMPLETE_FINISH_REASONS = frozenset({"STOP", "MAX_TOKENS"})
"""Finish reasons after which the turn is complete (the text may be cut by the token limit, by request)."""

ErrorFactory = Callable[[Mapping[str, Any]], ModelProviderError]
"""Builds the error for an `{"error": ...}` payload."""


class GeminiStreamAccumulator:
    """Fold the data payloads of one response, in order, into deltas and the final response.

    Tool calls get the id Gemini gave (`functionCall.id`, optional [G11]) or, as the Gemini API sends
    none [G6], a deterministic one: `call_<call_id_seed>_<n>`, n counting calls of this turn from 0.

    `ModelResponse.provider_data` holds `id` (`responseId`) and, when present, what the next request
    must echo [G6][G11]: `thought_signature` (of a text part, agno's key), `tool_call_thought_signatures`
    (tool call id → signature) and `function_call_ids` (ids Gemini itself assigned).

    Args:
        provider: provider label for errors.
        model_name: model id for errors.
        call_id_seed: the stem of generated tool call ids; unique per request within a run.
        on_error: builds the error raised for a payload carrying an `error` object.
    """

    def __init__(self, *, provider: str, model_name: str, call_id_seed: str, on_error: ErrorFactory) -> None:
        self._provider = provider
        self._model_name = model_name
        self._seed = call_id_seed
        self._on_error = on_error
        self._texts: list[str] = []
        self._calls: list[ToolCall] = []
        self._call_signatures: dict[str, str] = {}
        self._provider_call_ids: list[str] = []
        self._text_signature: str | None = None
        self._usage: Mapping[str, Any] | None = None
        self._response_id: str | None = None
        self._has_candidate = False
        self.finish_reason: str | None = None
        """Candidate 0's `finishReason` once a chunk carried one, else None."""
        self.first_token_at: float | None = None
        """Clock reading passed with the first payload that carried text or a function call."""

    def feed(self, data: str, now: float) -> list[TextDelta]:
        """Apply one data payload (one `GenerateContentResponse` JSON object).

        Args:
            data: one SSE data payload.
            now: clock reading in seconds (`time.perf_counter()`), kept if this is the first token.

        Returns:
            The text deltas of this chunk, in order; empty when it carried no text.

        Raises:
            UnexpectedModelBehaviorError: the payload is not of the response shape, the prompt was
                blocked, or the candidate finished for a reason other than STOP / MAX_TOKENS.
            ModelProviderError: the payload is an `error` object (subclass chosen by `on_error`).
        """
        chunk = self._decode(data)
        if chunk.get("error"):
            raise self._on_error(chunk)
        if isinstance(chunk.get("responseId"), str) and self._response_id is None:
            self._response_id = chunk["responseId"]
        if isinstance(chunk.get("usageMetadata"), Mapping):
            self._usage = chunk["usageMetadata"]
        feedback = chunk.get("promptFeedback")
        if isinstance(feedback, Mapping) and feedback.get("blockReason"):
            raise self._malformed(f"Gemini blocked the prompt (blockReason {feedback['blockReason']})", data)
        candidate = self._candidate_zero(chunk, data)
        if candidate is None:
            return []
        self._has_candidate = True
        content = _or_default(candidate.get("content"), {})
        if not isinstance(content, Mapping):
            raise self._malformed("candidate content is not an object", data)
        parts = _or_default(content.get("parts"), [])
        if not isinstance(parts, list):
            raise self._malformed("candidate content.parts is not a list", data)
        deltas: list[TextDelta] = []
        for part in parts:
            if not isinstance(part, Mapping):
                raise self._malformed("content part is not an object", data)
            delta = self._apply_part(part, now, data)
            if delta is not None:
                deltas.append(delta)
        reason = candidate.get("finishReason")
        if isinstance(reason, str):
            self.finish_reason = reason
            if reason not in COMPLETE_FINISH_REASONS:
                raise self._malformed(f"Gemini stopped the answer with finishReason {reason}", data)
        return deltas

    def finish(self, *, time_to_first_token: float | None, duration: float) -> ModelResponse:
        """Return the complete turn once the stream ended.

        Args:
            time_to_first_token: seconds from sending the request to the first token, or None.
            duration: seconds from sending the request to the end of the stream.

        Raises:
            UnexpectedModelBehaviorError: no chunk carried a finish reason (truncated), or none carried
                a candidate.
        """
        if self.finish_reason is None:
            if not self._has_candidate:
                raise self._malformed("response has no candidate", "")
            raise self._malformed("stream ended without a finishReason (truncated)", "")
        return ModelResponse(
            content="".join(self._texts) or None,
            tool_calls=tuple(self._calls),
            usage=usage_from_gemini(self._usage, time_to_first_token=time_to_first_token, duration=duration),
            provider_data=self._provider_data(),
        )

    def _apply_part(self, part: Mapping[str, Any], now: float, data: str) -> TextDelta | None:
        """Record one part; return its text delta, if it is non-empty answer text."""
        if part.get("thought") is True:
            return None  # a thought summary [G11]: never part of the answer
        signature = part.get("thoughtSignature")
        call = part.get("functionCall")
        if call is not None:
            self._add_call(call, signature if isinstance(signature, str) else None, data)
            self._mark_first_token(now)
            return None
        if isinstance(signature, str) and signature:
            self._text_signature = signature
        text = part.get("text")
        if isinstance(text, str) and text:
            self._texts.append(text)
            self._mark_first_token(now)
            return TextDelta(text, self._delta_data())
        return None

    def _add_call(self, call: Any, signature: str | None, data: str) -> None:
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str) or not call["name"]:
            raise self._malformed("functionCall has no name", data)
        args = call.get("args")
        if args is None:
            args = {}
        if not isinstance(args, Mapping):
            raise self._malformed("functionCall.args is not an object", data)
        given = call.get("id")
        if isinstance(given, str) and given:
            call_id = given
            self._provider_call_ids.append(given)
        else:
            call_id = f"call_{self._seed}_{len(self._calls)}"
        self._calls.append(ToolCall(id=call_id, name=call["name"], arguments=orjson.dumps(args).decode()))
        if signature:
            self._call_signatures[call_id] = signature

    def _provider_data(self) -> dict[str, Any] | None:
        data: dict[str, Any] = self._delta_data() or {}
        if self._text_signature:
            data["thought_signature"] = self._text_signature
        if self._call_signatures:
            data["tool_call_thought_signatures"] = dict(self._call_signatures)
        if self._provider_call_ids:
            data["function_call_ids"] = list(self._provider_call_ids)
        return data or None

    def _delta_data(self) -> dict[str, Any] | None:
        return {"id": self._response_id} if self._response_id else None

    def _decode(self, data: str) -> Mapping[str, Any]:
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise self._malformed("stream data is not JSON", data) from exc
        if not isinstance(chunk, dict):
            raise self._malformed("stream data is not a JSON object", data)
        return chunk

    def _candidate_zero(self, chunk: Mapping[str, Any], data: str) -> Mapping[str, Any] | None:
        candidates = _or_default(chunk.get("candidates"), [])
        if not isinstance(candidates, list):
            raise self._malformed("candidates is not a list", data)
        for candidate in candidates:
            if isinstance(candidate, Mapping) and candidate.get("index", 0) == 0:
                return candidate
        return None

    def _mark_first_token(self, now: float) -> None:
        if self.first_token_at is None:
            self.first_token_at = now

    def _malformed(self, what: str, data: str) -> UnexpectedModelBehaviorError:
        return UnexpectedModelBehaviorError(
            f"{self._provider} response unusable: {what}",
            body=data,
            provider=self._provider,
            model_name=self._model_name,
        )


def usage_from_gemini(
    usage: Mapping[str, Any] | None, *, time_to_first_token: float | None, duration: float | None
) -> ModelUsage:
    """Map `usageMetadata` (§2.4 [G6][G11]) to `ModelUsage`; missing fields count 0.

    `promptTokenCount` → input, `candidatesTokenCount` → output (it excludes thinking, as agno counts
    it), `thoughtsTokenCount` → reasoning, `cachedContentTokenCount` → cache_read, `totalTokenCount` →
    total (prompt + candidates + thoughts when absent; Gemini's total includes thinking). Durations are
    seconds.
    """
    usage = usage or {}
    input_tokens = _count(usage.get("promptTokenCount"))
    output_tokens = _count(usage.get("candidatesTokenCount"))
    reasoning_tokens = _count(usage.get("thoughtsTokenCount"))
    return ModelUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=_count(usage.get("totalTokenCount")) or input_tokens + output_tokens + reasoning_tokens,
        reasoning_tokens=reasoning_tokens,
        cache_read_tokens=_count(usage.get("cachedContentTokenCount")),
        time_to_first_token=time_to_first_token,
        duration=duration,
    )


def _or_default(value: Any, default: Any) -> Any:
    """`value`, or `default` when it is absent (None); an empty value of the wrong type stays wrong."""
    return default if value is None else value


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
