"""Ollama's native chat API over httpx: `Ollama` (agno's class name), NDJSON streaming with tools.

Wire format: providers.md §3 (native `/api/chat` §3.1, errors §3.3; `/api/embed` §3.2 is in
`ollama_embedder`). A request is `POST {host}/api/chat` with `stream: true`; the answer is NDJSON, one
JSON object per line: text in `message.content`, tool calls whole in `message.tool_calls` with
`function.arguments` as a JSON object, and a last object with `done: true` carrying `prompt_eval_count`
and `eval_count` [L4][L5][L6] (folded by `_ollama_stream`). A stream that ends without that object raises
`UnexpectedModelBehaviorError`, never a partial answer; no httpx exception leaves this module.

Host: `host=`, else OLLAMA_HOST (through `adapters.settings`; `host[:port]` or a URL, read as
ollama-python's `_parse_host` reads it, default port 11434) [L3], else http://localhost:11434 [L1]. No key
is needed locally; `api_key` (else OLLAMA_API_KEY) is sent as a bearer token, and with a key but no host
the client talks to Ollama's cloud https://ollama.com, as agno's `Ollama` does [L1][L2].
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import urllib.parse
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
import orjson

from adapters.errors import (
    ContextLengthExceededError,
    InvalidRequestError,
    ModelHTTPError,
    ModelProviderError,
)
from adapters.settings import ProviderKeys
from engine import ConfigurationError, Message, Tool

from . import _guard
from ._http import DEFAULT_TIMEOUT, HTTPConnection
from ._ollama_stream import CONTEXT_OVERFLOW, NDJSONDecoder, TurnAccumulator, arguments_object
from ._openai_errors import error_from_response, parse_error_body
from ._retry import retry_async
from .base import StreamUpdate

__all__ = ["CLOUD_HOST", "DEFAULT_HOST", "DEFAULT_TIMEOUT", "Ollama", "parse_host"]

DEFAULT_HOST = "http://localhost:11434"
"""Where a local Ollama server listens by default [L1]."""
CLOUD_HOST = "https://ollama.com"
"""Ollama's cloud API root, used when a key is configured but no host (agno's behaviour) [L1][L2]."""
"""600 s per read/write/pool wait (a local model may take minutes to load), 5 s to connect."""


def parse_host(value: str) -> str:
    """Normalise an OLLAMA_HOST-style value to a base URL without a trailing slash.

    `host`, `host:port`, `:port`, `[v6]:port` and `http(s)://host[:port][/path]` are accepted. Without a
    scheme the scheme is http and the port 11434; with `http://` / `https://` the port defaults to 80 / 443
    (ollama-python's `_parse_host` rules [L3]). An empty host means `localhost`.

    Raises:
        ConfigurationError: the scheme is not http(s) or the port is not a number in 0-65535.
    """
    scheme, sep, rest = value.strip().partition("://")
    port = 11434
    if not sep:
        scheme, rest = "http", value.strip()
    elif scheme.lower() in ("http", "https"):
        scheme = scheme.lower()
        port = 80 if scheme == "http" else 443
    else:
        raise ConfigurationError(f"Ollama host {value!r} must be host[:port] or an http(s):// URL")
    split = urllib.parse.urlsplit(f"{scheme}://{rest}")
    try:
        port = split.port or port
    except ValueError as exc:
        raise ConfigurationError(f"Ollama host {value!r} has an invalid port") from exc
    host = split.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    path = split.path.strip("/")
    return f"{scheme}://{host}:{port}" + (f"/{path}" if path else "")


class _OllamaHTTP(HTTPConnection):
    """Host, auth, request sending, retries and error translation shared by `Ollama` and `OllamaEmbedder`."""

    provider: ClassVar[str] = "Ollama"
    """Provider label for events (`model_provider`)."""
    url_setting: ClassVar[str] = "host"
    host_env: ClassVar[str] = "OLLAMA_HOST"
    """Provider variable giving the host (read through `ProviderKeys`)."""
    api_key_env: ClassVar[str] = "OLLAMA_API_KEY"
    """Provider variable giving the optional bearer key (Ollama's cloud) [L2]."""
    default_id: ClassVar[str] = "llama3.1"

    def __init__(
        self,
        id: str | None,
        *,
        host: str | None,
        api_key: str | None,
        timeout: httpx.Timeout | float | None,
        max_retries: int,
        http_client: httpx.AsyncClient | None,
        extra_headers: Mapping[str, str] | None,
        provider_keys: ProviderKeys | None,
        retry_sleep: Callable[[float], Awaitable[None]] | None,
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
        self._host = host
        self._base_url: str | None = None

    async def _post(self, path: str, content: bytes) -> httpx.Response:
        """POST `content` to `path` with retries; return the open 2xx response (the caller closes it)."""
        url = f"{self._resolve_base_url()}{path}"
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson, application/json"}
        api_key = self._resolve_api_key()
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        headers.update(self._extra_headers)
        client = self._client()
        return await retry_async(
            lambda: self._send(client, url, headers, content), max_retries=self.max_retries, sleep=self._retry_sleep
        )

    async def _send(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], content: bytes
    ) -> httpx.Response:
        _guard.check_allowed(url)
        with self._map_provider_errors():
            timeout = self._timeout if self._timeout is not None else httpx.USE_CLIENT_DEFAULT
            request = client.build_request("POST", url, headers=headers, content=content, timeout=timeout)
            response = await client.send(request, stream=True)
            if response.is_success:
                return response
            try:
                body = (await response.aread()).decode("utf-8", errors="replace")
            finally:
                await response.aclose()
        raise self._error_from_status(response.status_code, body, response.headers)

    def _error_from_status(self, status_code: int, body: str, headers: Mapping[str, str]) -> ModelProviderError:
        """Map an error response (`{"error": "..."}` [L14]); 404 is a missing model, with a pull hint."""
        message = parse_error_body(body).message
        cls: type[ModelHTTPError] | None = None
        if status_code == 404:
            cls = InvalidRequestError
            text = (
                f"Ollama has no model {self._id!r} at {self._base_url}: HTTP 404: {message or 'not found'}; "
                f"pull it with `ollama pull {self._id}` (or check {self.host_env})"
            )
        elif CONTEXT_OVERFLOW in message:
            cls, text = ContextLengthExceededError, f"Ollama returned HTTP {status_code}: {message}"
        if cls is None:
            return error_from_response(
                status_code, body, headers, provider=self.provider, model_name=self._id, api_key_env=self.api_key_env
            )
        return cls(text, status_code=status_code, body=body, provider=self.provider, model_name=self._id)

    def _unreachable(self, exc: Exception) -> str | None:
        return (
            f"Ollama could not be reached at {self._base_url}: {exc}; start it with `ollama serve`, "
            f"or set {self.host_env} to where it runs"
        )

    def _resolve_api_key(self) -> str | None:
        return self._api_key if self._api_key is not None else self._keys().secret(self.api_key_env)

    def _resolve_base_url(self) -> str:
        if self._base_url is None:
            host = self._host if self._host is not None else self._keys().secret(self.host_env)
            if host:
                self._base_url = parse_host(host)
            else:
                self._base_url = CLOUD_HOST if self._resolve_api_key() else DEFAULT_HOST
        return self._base_url


class Ollama(_OllamaHTTP):
    """A chat model served by Ollama's native API (agno's `Ollama`). Implements `ModelClient`.

    Construction does no I/O and reads no environment; host and key are resolved on the first request.
    Use as an async context manager (or call `aclose`) when no `http_client` was injected.

    Args:
        id: model name sent as `model` (default "llama3.1", agno's default).
        host: server root (`host[:port]` or URL, see `parse_host`); when None OLLAMA_HOST via settings,
            else `CLOUD_HOST` if a key is configured, else `DEFAULT_HOST`.
        api_key: bearer key for Ollama's cloud; when None OLLAMA_API_KEY via settings; none locally.
        temperature: sent as `options.temperature`; omitted when None.
        max_tokens: output token bound, sent as `options.num_predict` (there is no `max_tokens`) [L4].
        options: further `options` (e.g. `num_ctx`, `seed`); `temperature` / `max_tokens` win over them.
        keep_alive: how long the model stays loaded (e.g. "5m", or seconds); omitted when None [L4].
        timeout: per-request `httpx.Timeout` or seconds; None: the injected client's, else `DEFAULT_TIMEOUT`.
        max_retries: retries of retriable errors (429, 5xx, timeouts, connection), before any output.
        http_client: client to send with (not closed by this object); tests inject one.
        extra_headers: headers added to every request (they may override the defaults).
        provider_keys: where host and key come from; `load_settings()` when None (tests inject).
        retry_sleep: awaited with each retry wait in seconds; `asyncio.sleep` when None.
    """

    name: ClassVar[str] = "Ollama"
    """Model class label for metrics details (agno's `Ollama.name`)."""

    def __init__(
        self,
        id: str | None = None,
        *,
        host: str | None = None,
        api_key: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: str | float | None = None,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        extra_headers: Mapping[str, str] | None = None,
        provider_keys: ProviderKeys | None = None,
        retry_sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            id,
            host=host,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            extra_headers=extra_headers,
            provider_keys=provider_keys,
            retry_sleep=retry_sleep,
        )
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.options = dict(options or {})
        self.keep_alive = keep_alive

    def message_to_ollama(self, message: Message) -> dict[str, Any]:
        """Map one engine `Message` to an `/api/chat` message [L4][L10].

        system/user → `{role, content}`; assistant → `{role, content, tool_calls: [{id, function: {name,
        arguments}}]}` with `arguments` decoded to the JSON object Ollama expects (`{}` when the model's
        text was not a JSON object: the tool message already reported that call as failed); tool →
        `{role: "tool", content, tool_name, tool_call_id}`, each name/id omitted when unknown.
        """
        out: dict[str, Any] = {"role": message.role, "content": message.content or ""}
        if message.role == "assistant" and message.tool_calls:
            out["tool_calls"] = [
                {"id": call.id, "function": {"name": call.name, "arguments": arguments_object(call.arguments)}}
                for call in message.tool_calls
            ]
        if message.role == "tool":
            if message.tool_name:
                out["tool_name"] = message.tool_name
            if message.tool_call_id:
                out["tool_call_id"] = message.tool_call_id
        return out

    def request_body(self, messages: Sequence[Message], tools: Sequence[Tool]) -> dict[str, Any]:
        """Return the JSON body of a streaming `/api/chat` request; empty `tools`/`options` are omitted."""
        body: dict[str, Any] = {
            "model": self._id,
            "messages": [self.message_to_ollama(m) for m in messages],
            "stream": True,
        }
        if tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
                }
                for t in tools
            ]
        options = dict(self.options)
        if self.temperature is not None:
            options["temperature"] = self.temperature
        if self.max_tokens is not None:
            options["num_predict"] = self.max_tokens
        if options:
            body["options"] = options
        if self.keep_alive is not None:
            body["keep_alive"] = self.keep_alive
        return body

    async def stream(self, messages: Sequence[Message], tools: Sequence[Tool]) -> AsyncIterator[StreamUpdate]:
        """Stream one assistant turn: `TextDelta`s in order, then exactly one `ModelResponse`.

        Usage tokens come from the `done` object (`prompt_eval_count` → input, `eval_count` → output, total
        = their sum, as agno computes it) [L6]; `time_to_first_token` and `duration` are seconds measured
        here from sending the first attempt, like every provider (Ollama's own nanosecond durations are not
        used). Tool calls without an `id` (servers before v0.12.10 [L12]) get `call_` + a hash of the
        request body and the call's position, so the same request always yields the same ids.

        Raises:
            InvalidRequestError: HTTP 404 (the model is not pulled; the message says `ollama pull <id>`)
                or another 4xx.
            ContextLengthExceededError: the input exceeds the model's context length [L15].
            ModelAuthError: HTTP 401/403 (names OLLAMA_API_KEY).
            ModelRateLimitedError / ModelServerError: HTTP 429 / 5xx after `max_retries` retries, or an
                `{"error": ...}` line inside the stream (`ModelServerError`, not retried here).
            ModelTimeoutError / ModelConnectionError: the server timed out or could not be reached (the
                message says to start Ollama or set OLLAMA_HOST), after retries.
            UnexpectedModelBehaviorError: the stream ended without `done: true`, or a line was malformed.
            ModelRequestsBlockedError: `_guard.ALLOW_MODEL_REQUESTS` is False and the host is not loopback.
            ConfigurationError: the host is not a valid http(s) host or URL.
        """
        content = orjson.dumps(self.request_body(messages, tools))
        started = time.perf_counter()
        response = await self._post("/api/chat", content)
        turn = TurnAccumulator(
            provider=self.provider, model_name=self._id, call_id_seed=hashlib.sha256(content).hexdigest()
        )
        try:
            async with contextlib.aclosing(self._objects(response)) as objects:
                async for raw in objects:
                    if turn.done is not None:
                        continue  # read to the end of the body so the keep-alive connection is reused
                    for delta in turn.feed(raw, time.perf_counter()):
                        yield delta
            first = turn.first_token_at
            final = turn.finish(
                time_to_first_token=None if first is None else first - started,
                duration=time.perf_counter() - started,
            )
        finally:
            await response.aclose()
        yield final

    async def _objects(self, response: httpx.Response) -> AsyncGenerator[bytes, None]:
        """The raw JSON objects of `response`: NDJSON lines, or the whole body when it is `application/json`."""
        if response.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json":
            with self._map_provider_errors():
                raw = await response.aread()
            if raw.strip():
                yield raw
            return
        decoder = NDJSONDecoder()
        with self._map_provider_errors():
            async for chunk in response.aiter_bytes():
                for line in decoder.feed(chunk):
                    yield line
        last = decoder.flush()
        if last is not None:
            yield last
