"""OpenAI Chat Completions: `OpenAIChat`, and `OpenAILike`, the base of OpenAI-compatible providers.

Wire format: providers.md §1 (endpoint and auth §1.1, streaming §1.3, non-streamed body §1.4, errors §1.6).
A request is `POST {base_url}/chat/completions` with `stream: true` and `stream_options.include_usage`;
the SSE stream is decoded by `_sse`, folded by `_openai_stream`, and errors are translated by
`_openai_errors` inside `_map_provider_errors()`, so no httpx or aiohttp exception leaves this module.
The request goes through the injected `http_client` (httpx) or the client's own connections (`_aiohttp`:
our HTTP/1.1 client, `_h1`, or an aiohttp session for a proxied host).

Subclassing for another OpenAI-compatible provider (Groq, Cerebras, OpenRouter, ...) sets the class
attributes `provider`, `name`, `api_key_env`, `base_url_env`, `default_base_url`, `default_id` and, for
quirks, `max_tokens_param` / `sends_stream_options`, or overrides `message_to_openai` / `request_body`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import httpx
import orjson

from adapters.errors import (
    ModelProviderError,
    UnexpectedModelBehaviorError,
)
from adapters.settings import ProviderKeys
from engine import Message, Tool

from . import _guard
from ._aiohttp import StreamedResponse
from ._h1 import H1Response
from ._http import DEFAULT_TIMEOUT
from ._openai_endpoint import OpenAICompatibleEndpoint
from ._openai_errors import error_from_response, error_from_stream_payload
from ._openai_stream import ChunkAccumulator, response_from_completion
from ._retry import retry_async
from ._sse import SSEDecoder
from .base import ModelResponse, StreamUpdate, TextDelta, text_read_interval

__all__ = ["DEFAULT_TIMEOUT", "OpenAIChat", "OpenAILike"]

_MAX_BARE_BODY_BYTES = 65_536
"""How much of a stream is kept, until its first SSE event, to recognise a bare JSON error body."""


class OpenAILike(OpenAICompatibleEndpoint):
    """A chat model behind an OpenAI-compatible Chat Completions endpoint (agno's `OpenAILike`).

    Implements `ModelClient`. Construction does no I/O and reads no environment; the key and base URL
    are resolved on the first request. Use as an async context manager (or call `aclose`) when no
    `http_client` was injected, so the client this object creates is closed.

    Args:
        id: model id sent as `model` (default `default_id`).
        api_key: bearer key; when None it is read from `api_key_env` via `adapters.settings`. With no key
            and no `api_key_env` (local servers) no Authorization header is sent.
        base_url: API root ending in `/v1` or similar; when None, `base_url_env` via settings, else
            `default_base_url`. A trailing `/` is ignored.
        temperature: sampling temperature, omitted from the request when None.
        max_tokens: output token bound, sent as `max_tokens_param`; omitted when None.
        timeout: per-request httpx timeout (an `httpx.Timeout` or seconds for every phase). When None:
            the injected client's own timeouts, else `DEFAULT_TIMEOUT`.
        max_retries: retries after the first attempt for retriable errors (429, 5xx, 408, timeouts,
            connection errors), only before any stream output; backoff per `adapters.models._retry`.
        http_client: httpx client to send with (not closed by this object); tests inject one. When None, the
            object streams through connections of its own (`_aiohttp`), closed by `aclose()`.
        extra_headers: headers added to every request (they may override the defaults).
        provider_keys: where keys and base URLs come from; `load_settings()` when None (tests inject).
        retry_sleep: awaited with each retry wait in seconds; `asyncio.sleep` when None (tests record).
    """

    provider: ClassVar[str] = "OpenAILike"
    """Provider label for events (`model_provider`)."""
    name: ClassVar[str] = "OpenAILike"
    """Model class label for metrics details."""
    accept: ClassVar[str] = "application/json, text/event-stream"
    missing_key_hint: ClassVar[str] = "set it or use the scripted model (adapters.models.scripted)"
    default_id: ClassVar[str] = "not-provided"
    """Model id used when `id` is not given (agno's OpenAILike default)."""
    max_tokens_param: ClassVar[str] = "max_tokens"
    """Request field carrying `max_tokens` (some servers accept only `max_tokens`, §10.7)."""
    sends_stream_options: ClassVar[bool] = True
    """Whether to send `stream_options: {"include_usage": true}` (usage chunk, §1.3 [O4])."""
    system_role: ClassVar[str] = "system"
    """Wire role of system messages (agno's `default_role_map["system"]`: `system` for OpenAILike)."""
    tool_calls_only_content: ClassVar[str | None] = None
    """`content` of an assistant message that only calls tools: None sends JSON null (agno's OpenAIChat sends "")."""
    tool_call_id_format: ClassVar[tuple[str, int] | None] = None
    """(prefix, max length) tool call ids must have on the wire, or None to send ids as they are.

    Ids that do not fit (e.g. `toolu_...` from another provider) are replaced, consistently within one request,
    by `<prefix><counter as hex>` filling the max length (agno `utils/message.py:reformat_tool_call_ids`).
    """

    def __init__(
        self,
        id: str | None = None,
        *,
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
        self._init_connection(
            id or self.default_id,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            extra_headers=extra_headers,
            provider_keys=provider_keys,
            retry_sleep=retry_sleep,
        )
        self._base_url = base_url
        self.temperature = temperature
        self.max_tokens = max_tokens

    # -- request mapping -------------------------------------------------------------------------

    def message_to_openai(self, message: Message) -> dict[str, Any]:
        """Map one engine `Message` to a Chat Completions message (§1.2), as agno's `_format_message` does.

        system → `{role: system_role, content}`; user → `{role, content}`; assistant → `{role, content,
        tool_calls}` with `tool_calls` omitted when empty and a missing content sent as
        `tool_calls_only_content`; tool → `{role: "tool", tool_call_id, content}`.
        """
        if message.role == "assistant":
            content = message.content if message.content is not None else self.tool_calls_only_content
            out: dict[str, Any] = {"role": "assistant", "content": content}
            if message.tool_calls:
                out["tool_calls"] = [call.to_dict() for call in message.tool_calls]
            return out
        if message.role == "tool":
            return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content or ""}
        role = self.system_role if message.role == "system" else message.role
        return {"role": role, "content": message.content or ""}

    def request_body(self, messages: Sequence[Message], tools: Sequence[Tool]) -> dict[str, Any]:
        """Return the JSON body of a streaming Chat Completions request; `tools` only when non-empty.

        Tools are sorted by name, as agno sorts them for every provider (`Model._format_tools`, so that
        prompt caching sees a stable prefix).
        """
        body: dict[str, Any] = {
            "model": self._id,
            "messages": [self.message_to_openai(m) for m in self._wire_tool_call_ids(messages)],
            "stream": True,
        }
        if self.sends_stream_options:
            body["stream_options"] = {"include_usage": True}
        if tools:
            body["tools"] = [t.to_openai() for t in sorted(tools, key=lambda t: t.name)]
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body[self.max_tokens_param] = self.max_tokens
        return body

    def _wire_tool_call_ids(self, messages: Sequence[Message]) -> Sequence[Message]:
        """Apply `tool_call_id_format` to the ids of assistant tool calls and the tool messages answering them."""
        if self.tool_call_id_format is None:
            return messages
        prefix, max_length = self.tool_call_id_format
        renamed: dict[str, str] = {}
        for message in messages:
            for call in message.tool_calls if message.role == "assistant" else ():
                if call.id and (not call.id.startswith(prefix) or len(call.id) > max_length):
                    renamed.setdefault(call.id, f"{prefix}{len(renamed):0{max_length - len(prefix)}x}")
        if not renamed:
            return messages
        return [_renamed_tool_call_ids(message, renamed) for message in messages]

    # -- streaming -------------------------------------------------------------------------------

    async def stream(self, messages: Sequence[Message], tools: Sequence[Tool]) -> AsyncIterator[StreamUpdate]:
        """Stream one assistant turn: `TextDelta`s in order, then exactly one `ModelResponse`.

        `usage.time_to_first_token` and `usage.duration` are seconds from sending the first attempt
        (retry waits included, as agno measures around the SDK's own retries) to the first text or
        tool-call delta, and to the end of the stream.

        Raises:
            ModelAuthError: no key is configured (names `api_key_env`), or HTTP 401/403.
            ModelRateLimitedError: HTTP 429 after `max_retries` retries.
            ModelServerError: HTTP 5xx after retries, or a server error inside the stream.
            ContextLengthExceededError: the prompt does not fit the model's context window.
            InvalidRequestError: other HTTP 4xx.
            ModelTimeoutError: connect/read timeout (after retries if before any output).
            ModelConnectionError: the host could not be reached or the connection broke.
            UnexpectedModelBehaviorError: the stream was truncated or carried an undecodable payload.
            ModelRequestsBlockedError: `_guard.ALLOW_MODEL_REQUESTS` is False and the host is not loopback.
            ConfigurationError: no base URL is configured, or it is not an http(s) URL.
        """
        url = f"{self._resolve_base_url()}/chat/completions"
        headers = self._request_headers()
        content = orjson.dumps(self.request_body(messages, tools))
        started = time.perf_counter()
        response = await retry_async(
            lambda: self._send(url, headers, content), max_retries=self.max_retries, sleep=self._retry_sleep
        )
        try:
            if _is_json(response):
                final = await self._read_completion(response, started)
                if final.content:
                    yield TextDelta(final.content)
            else:
                accumulator = ChunkAccumulator(
                    provider=self.provider, model_name=self._id, on_error=self._stream_error_factory(response)
                )
                interval = text_read_interval.get()
                unpaced = (
                    response if interval and isinstance(response, H1Response) else None
                )  # see `text_read_interval`
                async with contextlib.aclosing(self._payloads(response)) as payloads:
                    async for data in payloads:
                        if accumulator.is_done:
                            # Read on to the end of the body, as openai-python's Stream does: a response
                            # closed before its last chunk takes its keep-alive connection with it, and every
                            # request then pays a new TCP connect.
                            continue
                        deltas = accumulator.feed(data, time.perf_counter())
                        for delta in deltas:
                            yield delta
                        if deltas and unpaced is not None:  # the turn streams text: read once per interval from now on
                            unpaced.pace(interval)
                            unpaced = None
                first = accumulator.first_token_at
                final = accumulator.finish(
                    time_to_first_token=None if first is None else first - started,
                    duration=time.perf_counter() - started,
                )
        finally:
            await response.aclose()
        yield final

    async def _send(self, url: str, headers: dict[str, str], content: bytes) -> StreamedResponse:
        """One attempt: send the request and return the open response when its status is 2xx."""
        _guard.check_allowed(url)
        with self._map_provider_errors():
            response = await self._post_streamed(url, headers, content)
            if response.is_success:
                return response
            try:
                body = (await response.aread()).decode("utf-8", errors="replace")
            finally:
                await response.aclose()
        raise error_from_response(
            response.status_code,
            body,
            response.headers,
            provider=self.provider,
            model_name=self._id,
            api_key_env=self.api_key_env,
        )

    async def _payloads(self, response: StreamedResponse) -> AsyncGenerator[str, None]:
        """The SSE data payloads of `response`, in order.

        A body with no SSE event at all that is a JSON error envelope (checklist §10.3: some servers send
        one under `Content-Type: text/event-stream`) raises the mapped error.
        """
        decoder = SSEDecoder()
        head = bytearray()
        has_payload = False
        with self._map_provider_errors():
            async for chunk in response.aiter_bytes():
                if not has_payload and len(head) < _MAX_BARE_BODY_BYTES:
                    head += chunk
                for data in decoder.feed(chunk):
                    has_payload = True
                    yield data
        if not has_payload and head.lstrip().startswith(b"{"):
            try:
                body = orjson.loads(head)
            except orjson.JSONDecodeError:
                return
            if isinstance(body, dict) and body.get("error"):
                raise self._stream_error_factory(response)(body)

    async def _read_completion(self, response: StreamedResponse, started: float) -> ModelResponse:
        """Read a whole JSON body (a server that ignored `stream: true`, or an error envelope)."""
        with self._map_provider_errors():
            raw = await response.aread()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise self._malformed("response body is not JSON", raw) from exc
        if not isinstance(body, dict):
            raise self._malformed("response body is not a JSON object", raw)
        if body.get("error"):
            raise self._stream_error_factory(response)(body)
        return response_from_completion(
            body, provider=self.provider, model_name=self._id, duration=time.perf_counter() - started
        )

    def _stream_error_factory(self, response: StreamedResponse) -> Callable[[Mapping[str, Any]], ModelProviderError]:
        def build(payload: Mapping[str, Any]) -> ModelProviderError:
            return error_from_stream_payload(
                payload,
                status_code=response.status_code,
                provider=self.provider,
                model_name=self._id,
                api_key_env=self.api_key_env,
            )

        return build

    # -- configuration ---------------------------------------------------------------------------

    def _malformed(self, what: str, raw: bytes) -> UnexpectedModelBehaviorError:
        return UnexpectedModelBehaviorError(
            f"{self.provider} response malformed: {what}",
            body=raw.decode("utf-8", errors="replace"),
            provider=self.provider,
            model_name=self._id,
        )


class OpenAIChat(OpenAILike):
    """OpenAI's Chat Completions API (agno's `OpenAIChat`); see `OpenAILike` for the arguments.

    Reads OPENAI_API_KEY and OPENAI_BASE_URL (through `adapters.settings`) when `api_key` / `base_url`
    are not given; the default base URL is https://api.openai.com/v1 [O1]. `max_tokens` is sent as
    `max_completion_tokens`, because `max_tokens` is deprecated and rejected by o-series models [O5].

    Messages are encoded as agno's OpenAIChat encodes them (checked by `tests/parity/`): the system
    message goes out with role `developer`, a tool-call-only assistant message with `content: ""`, and
    tool call ids that are not `call_...` of at most 40 characters are renamed on the wire.
    """

    provider: ClassVar[str] = "OpenAI"
    name: ClassVar[str] = "OpenAI Chat"
    api_key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    base_url_env: ClassVar[str | None] = "OPENAI_BASE_URL"
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"
    default_id: ClassVar[str] = "gpt-4o-mini"
    max_tokens_param: ClassVar[str] = "max_completion_tokens"
    system_role: ClassVar[str] = "developer"
    tool_calls_only_content: ClassVar[str | None] = ""
    tool_call_id_format: ClassVar[tuple[str, int] | None] = ("call_", 40)


def _renamed_tool_call_ids(message: Message, renamed: Mapping[str, str]) -> Message:
    if message.role == "assistant" and message.tool_calls:
        calls = tuple(replace(c, id=renamed.get(c.id, c.id)) for c in message.tool_calls)
        return replace(message, tool_calls=calls)
    if message.role == "tool" and message.tool_call_id is not None and message.tool_call_id in renamed:
        return replace(message, tool_call_id=renamed[message.tool_call_id])
    return message


def _is_json(response: StreamedResponse) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";")[0].strip().lower() == "application/json"
