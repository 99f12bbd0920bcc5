"""Pre-encoded Chat Completions payloads of the fake model (OpenAI's streamed and whole shapes).

Shapes follow `fixtures/providers/openai/` (providers.md §1.3/§1.4): a streamed answer is a role chunk,
one `delta.content` chunk per token, a `finish_reason` chunk, the `choices: []` usage chunk when the
request asked for `stream_options.include_usage`, and `data: [DONE]`. A tool call streams its id and
name first, then the arguments in fragments, and ends with `finish_reason: "tool_calls"`.

Everything that does not depend on the request is encoded once (`Payloads`), with its HTTP/1.1 chunked
transfer framing, so serving a token costs one `transport.write` of ready bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["CREATED", "RESPONSE_ID", "Payloads", "frame", "sse"]

CREATED = 1_800_000_000
"""`created` of every chunk (Unix seconds; a constant keeps the chunks pre-encodable)."""
RESPONSE_ID = "chatcmpl-bench"
"""`id` of every response."""

_WORDS = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do")


def sse(payload: dict[str, Any] | str) -> bytes:
    """One SSE `data:` event: a chunk object (compact JSON) or a literal such as `[DONE]`."""
    data = payload.encode() if isinstance(payload, str) else orjson.dumps(payload)
    return b"data: " + data + b"\n\n"


def frame(body: bytes) -> bytes:
    """`body` as one HTTP/1.1 chunk of a `Transfer-Encoding: chunked` response."""
    return b"%x\r\n%s\r\n" % (len(body), body)


def _chunk(model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": RESPONSE_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


@dataclass(frozen=True, slots=True)
class Payloads:
    """The fake model's answers for one configuration, pre-encoded.

    Attributes:
        model: `model` field of every chunk.
        tokens: completion tokens of a text answer (>= 1).
        text_pieces: the framed chunks of a streamed text answer, one per token; the first also carries
            the role chunk. The finish chunk, usage and `[DONE]` are added by `text_tail`.
        text: the whole answer (the concatenated token contents).
    """

    model: str
    tokens: int
    text_pieces: tuple[bytes, ...]
    text: str

    @classmethod
    def build(cls, *, model: str, tokens: int) -> Payloads:
        """Encode the text answer of `tokens` tokens (each a word with a leading space, the first without)."""
        words = [(_WORDS[i % len(_WORDS)] if i == 0 else " " + _WORDS[i % len(_WORDS)]) for i in range(max(1, tokens))]
        role = sse(_chunk(model, {"role": "assistant", "content": "", "refusal": None}))
        pieces = [frame((role if i == 0 else b"") + sse(_chunk(model, {"content": w}))) for i, w in enumerate(words)]
        return cls(model=model, tokens=len(words), text_pieces=tuple(pieces), text="".join(words))

    def tail(self, finish_reason: str, usage: tuple[int, int] | None) -> bytes:
        """The framed end of a stream: the finish chunk, the usage chunk (when asked) and `[DONE]`."""
        body = sse(_chunk(self.model, {}, finish_reason))
        if usage is not None:
            body += sse({**_chunk(self.model, {}), "choices": [], "usage": _usage(*usage)})
        return frame(body + sse("[DONE]")) + b"0\r\n\r\n"

    def tool_call_pieces(self, call_id: str, name: str, arguments: str) -> tuple[bytes, ...]:
        """The framed chunks of a streamed tool call: id and name first, then 3 argument fragments."""
        head = {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
        first = sse(_chunk(self.model, {"role": "assistant", "content": None, "tool_calls": [head], "refusal": None}))
        cut = max(1, len(arguments) // 3)
        fragments = [arguments[:cut], arguments[cut : 2 * cut], arguments[2 * cut :]]
        rest = [
            sse(_chunk(self.model, {"tool_calls": [{"index": 0, "function": {"arguments": f}}]})) for f in fragments
        ]
        return (frame(first), *(frame(r) for r in rest))

    def completion(self, usage: tuple[int, int], tool_call: tuple[str, str, str] | None = None) -> bytes:
        """A whole (non-streamed) completion body: the text answer, or the tool call (id, name, arguments)."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text, "refusal": None}
        finish = "stop"
        if tool_call is not None:
            call_id, name, arguments = tool_call
            function = {"name": name, "arguments": arguments}
            message = {"role": "assistant", "content": None, "refusal": None}
            message["tool_calls"] = [{"id": call_id, "type": "function", "function": function}]
            finish = "tool_calls"
        return orjson.dumps(
            {
                "id": RESPONSE_ID,
                "object": "chat.completion",
                "created": CREATED,
                "model": self.model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": _usage(*usage),
            }
        )
