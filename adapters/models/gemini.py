"""Google Gemini over its native Generative Language API v1beta (agno's `Gemini`), with httpx.

Wire format: providers.md §2. A turn is `POST {base}/models/{id}:streamGenerateContent?alt=sse` (§2.1)
with a lowerCamelCase body (§2.2); the SSE stream is decoded by `_sse`, folded by `_gemini_stream`,
and failures are translated by `_gemini_http` (key, retries, error envelope), so no httpx exception
leaves this package.

Message mapping (engine → Gemini, §2.2, §2.7):
- system messages → top-level `systemInstruction.parts` (one text part each, in order);
- user → `{"role": "user", "parts": [{"text"}]}`; assistant → role `model` with a text part (if any) then
  one `functionCall {name, args}` part per tool call (`args` is the decoded JSON object; arguments that
  are not a JSON object are sent as `{}`);
- tool results → `functionResponse {name, response}` parts in a `user` turn, `response` being
  `{"output": content}` or, when the tool failed, `{"error": content}` (the keys the SDK documents [G11]);
- consecutive turns of one role are merged into one `contents` entry, so the results of parallel calls
  form one turn with as many `functionResponse` parts as the model turn had `functionCall`s [G19];
- messages that would have no parts (empty user/assistant text) are left out;
- `thoughtSignature`s and Gemini-assigned call ids kept in the assistant message's `provider_data` (see
  `_gemini_stream.GeminiStreamAccumulator`) are echoed on the parts they came with [G6][G11].

Tools → `tools: [{"functionDeclarations": [{name, description, parametersJsonSchema}]}]`: the tool's JSON
schema goes in unchanged as `parametersJsonSchema` (plain JSON Schema [G8]), so no conversion to the
upper-case OpenAPI subset of `parameters` is needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
import orjson

from adapters.settings import ProviderKeys
from engine import Message, Tool

from ._gemini_http import GeminiHTTP, error_from_payload
from ._gemini_stream import GeminiStreamAccumulator
from ._sse import SSEDecoder
from .base import StreamUpdate

__all__ = ["Gemini", "function_declaration", "request_contents"]

_MAX_BARE_BODY_BYTES = 1_048_576
"""How much of an SSE-typed body is kept, until its first event, to read it as plain JSON instead."""


class Gemini(GeminiHTTP):
    """A Gemini chat model (agno's `Gemini`: provider "Google", name "Gemini"); implements `ModelClient`.

    Args:
        id: model id (default `gemini-2.5-flash`, a model with recorded API traffic in §2.4; agno 3.1's own
            default id could not be confirmed as a released model).
        temperature: `generationConfig.temperature`, omitted when None.
        max_tokens: output token bound, sent as `generationConfig.maxOutputTokens` [G9]; omitted when None.
        thinking_budget: `generationConfig.thinkingConfig.thinkingBudget` [G9], omitted when None.
        **kwargs: key, base URL, timeout, retries, client and settings; see `GeminiHTTP`.
    """

    name: ClassVar[str] = "Gemini"
    """Model class label for metrics details (agno's `Gemini.name`)."""
    default_id: ClassVar[str] = "gemini-2.5-flash"

    def __init__(
        self,
        id: str | None = None,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        thinking_budget: int | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        extra_headers: Mapping[str, str] | None = None,
        provider_keys: ProviderKeys | None = None,
        retry_sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            id,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            extra_headers=extra_headers,
            provider_keys=provider_keys,
            retry_sleep=retry_sleep,
        )
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.thinking_budget = thinking_budget

    async def __aenter__(self) -> Gemini:
        return self

    def request_body(self, messages: Sequence[Message], tools: Sequence[Tool]) -> dict[str, Any]:
        """Return the JSON body of a `streamGenerateContent` request (§2.2); optional keys only when set."""
        system, contents = request_contents(messages)
        body: dict[str, Any] = {}
        if system:
            body["systemInstruction"] = {"parts": system}
        body["contents"] = contents
        if tools:
            body["tools"] = [{"functionDeclarations": [function_declaration(t) for t in tools]}]
        config: dict[str, Any] = {}
        if self.temperature is not None:
            config["temperature"] = self.temperature
        if self.max_tokens is not None:
            config["maxOutputTokens"] = self.max_tokens
        if self.thinking_budget is not None:
            config["thinkingConfig"] = {"thinkingBudget": self.thinking_budget}
        if config:
            body["generationConfig"] = config
        return body

    async def stream(self, messages: Sequence[Message], tools: Sequence[Tool]) -> AsyncIterator[StreamUpdate]:
        """Stream one assistant turn: `TextDelta`s in order, then exactly one `ModelResponse`.

        `usage.time_to_first_token` / `usage.duration` are seconds from sending the first attempt (retry
        waits included) to the first text or function-call part, and to the end of the stream. A 200
        answered with a JSON body instead of SSE (one response object, or an array of them) is folded the
        same way. Generated tool call ids are `call_<h>_<n>`, `h` a digest of the request body.

        Raises:
            ModelAuthError: GOOGLE_API_KEY is not set (the message names it), or HTTP 401/403.
            ModelRateLimitedError: HTTP 429 `RESOURCE_EXHAUSTED` after `max_retries` retries.
            ModelServerError: HTTP 5xx after retries, or an error object inside the stream.
            ContextLengthExceededError: the prompt does not fit the model's context window.
            InvalidRequestError: other HTTP 4xx (`INVALID_ARGUMENT`, `NOT_FOUND`, ...).
            ModelTimeoutError: connect/read timeout (after retries if before any output).
            ModelConnectionError: the host could not be reached or the connection broke.
            UnexpectedModelBehaviorError: the stream was truncated or undecodable, had no candidate, the
                prompt was blocked, or the answer stopped for SAFETY, RECITATION or another non-STOP reason.
            ModelRequestsBlockedError: `_guard.ALLOW_MODEL_REQUESTS` is False and the host is not loopback.
            ConfigurationError: the base URL is not an http(s) URL.
        """
        url = self._method_url("streamGenerateContent") + "?alt=sse"
        content = orjson.dumps(self.request_body(messages, tools))
        started = time.perf_counter()
        response = await self._open(url, content)
        accumulator = GeminiStreamAccumulator(
            provider=self.provider,
            model_name=self._id,
            call_id_seed=hashlib.sha256(content).hexdigest()[:16],
            on_error=lambda payload: error_from_payload(
                payload, status_code=response.status_code, provider=self.provider, model_name=self._id
            ),
        )
        try:
            async with contextlib.aclosing(self._payloads(response)) as payloads:
                async for data in payloads:
                    for delta in accumulator.feed(data, time.perf_counter()):
                        yield delta
            first = accumulator.first_token_at
            final = accumulator.finish(
                time_to_first_token=None if first is None else first - started,
                duration=time.perf_counter() - started,
            )
        finally:
            await response.aclose()
        yield final

    async def _payloads(self, response: httpx.Response) -> AsyncGenerator[str, None]:
        """The response objects of `response` as JSON texts, in order.

        SSE events are yielded as they arrive. A body with no SSE event (a JSON content type, or a JSON
        error envelope under `text/event-stream`, checklist §10.3) is read whole as JSON instead.
        """
        is_json = response.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"
        decoder = SSEDecoder()
        head = bytearray()
        has_payload = False
        with self._map_provider_errors():
            async for chunk in response.aiter_bytes():
                if is_json or (not has_payload and len(head) < _MAX_BARE_BODY_BYTES):
                    head += chunk
                if is_json:
                    continue
                for data in decoder.feed(chunk):
                    has_payload = True
                    yield data
        if not has_payload:
            for data in _json_body_payloads(bytes(head)):
                yield data


def request_contents(messages: Sequence[Message]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Map engine messages to (`systemInstruction.parts`, `contents`) as the module docstring describes."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> tool name, for tool messages without `tool_name`
    echoed_ids: set[str] = set()  # call ids Gemini assigned: echoed as `functionResponse.id`
    for message in messages:
        if message.role == "system":
            if message.content:
                system.append({"text": message.content})
            continue
        if message.role == "assistant":
            role, parts = "model", _model_parts(message, names, echoed_ids)
        elif message.role == "tool":
            role, parts = "user", [_function_response(message, names, echoed_ids)]
        else:
            role, parts = "user", [{"text": message.content}] if message.content else []
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def function_declaration(tool: Tool) -> dict[str, Any]:
    """Return the `functionDeclarations` entry for `tool`: name, description (when set), `parametersJsonSchema`."""
    declaration: dict[str, Any] = {"name": tool.name}
    if tool.description:
        declaration["description"] = tool.description
    declaration["parametersJsonSchema"] = dict(tool.parameters)
    return declaration


def _model_parts(message: Message, names: dict[str, str], echoed_ids: set[str]) -> list[dict[str, Any]]:
    data = message.provider_data or {}
    signatures = data.get("tool_call_thought_signatures")
    signatures = signatures if isinstance(signatures, Mapping) else {}
    given_ids = data.get("function_call_ids")
    given_ids = set(given_ids) if isinstance(given_ids, list) else set()
    parts: list[dict[str, Any]] = []
    if message.content:
        text: dict[str, Any] = {"text": message.content}
        if isinstance(data.get("thought_signature"), str):
            text["thoughtSignature"] = data["thought_signature"]
        parts.append(text)
    for call in message.tool_calls:
        names[call.id] = call.name
        function_call: dict[str, Any] = {"name": call.name, "args": _args_object(call.arguments)}
        if call.id in given_ids:
            function_call["id"] = call.id
            echoed_ids.add(call.id)
        part: dict[str, Any] = {"functionCall": function_call}
        if isinstance(signatures.get(call.id), str):
            part["thoughtSignature"] = signatures[call.id]
        parts.append(part)
    return parts


def _function_response(message: Message, names: Mapping[str, str], echoed_ids: set[str]) -> dict[str, Any]:
    call_id = message.tool_call_id or ""
    key = "error" if message.tool_call_error else "output"
    function_response: dict[str, Any] = {
        "name": message.tool_name or names.get(call_id, ""),
        "response": {key: message.content or ""},
    }
    if call_id in echoed_ids:
        function_response["id"] = call_id
    return {"functionResponse": function_response}


def _args_object(arguments: str) -> Any:
    """Decode tool call arguments for `functionCall.args`, which must be a JSON object (§2.3)."""
    try:
        decoded = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _json_body_payloads(raw: bytes) -> list[str]:
    """Split a whole JSON body into response texts: an object is one, an array gives its items.

    A body that looks like JSON but does not decode is returned as one payload, so the accumulator
    reports it as malformed; an empty body gives none (the accumulator then reports truncation).
    """
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        return []
    try:
        decoded = orjson.loads(text)
    except orjson.JSONDecodeError:
        return [text]
    if isinstance(decoded, list):
        return [orjson.dumps(item).decode() for item in decoded]
    return [text]
