"""GLM (Zhipu BigModel / Z.ai) OpenAI-compatible chat and embeddings APIs (`GLM`; not in agno).

Wire format: providers.md §9. What differs from OpenAI (`openai.OpenAILike`) and is handled here:

- Base URL `https://open.bigmodel.cn/api/paas/v4` (BigModel); Z.ai is `https://api.z.ai/api/paas/v4`
  via ZHIPUAI_BASE_URL [Z1]. The key is sent raw as `Authorization: Bearer <key>`, the zhipuai SDK's
  default; the optional HS256 JWT form is not used [Z2]. Variables ZHIPUAI_API_KEY / ZHIPUAI_BASE_URL are
  the zhipuai SDK's [Z2] (the zai SDK's ZAI_* names are not read).
- `max_tokens` is the only length field [Z3]; no `stream_options`, `parallel_tool_calls` (UNCONFIRMED)
  or `tool_choice` (historically "only auto" [Z6]) is sent.
- `temperature` is clamped into the open interval (0, 1) as the SDKs do: <= 0 sends `do_sample: false`
  with 0.01, >= 1 sends 0.99 [Z2][Z3][Z7].
- Options `thinking` (`{"type": "enabled" | "disabled"}`) [Z3][Z8] and `tool_stream` (stream tool
  arguments, GLM-4.6+) [Z11], sent only when set. Tool calls are assembled whole or in fragments.
- `finish_reason: "network_error"` (an inference failure [Z10]) raises `ModelServerError` instead of
  ending the turn with a partial answer; `sensitive` (safety stop) ends it like OpenAI's `content_filter`.
- Errors: `{"error": {"code": "<business code as a string>", "message"}}` with an HTTP status [Z14][Z15].
  The status decides the class, except a 429 whose code is an account error (1110-1121, e.g. 1113 "in
  arrears" [Z15]): retrying cannot help, so it becomes a non-retried `InvalidRequestError`. Inside a
  stream (no useful status) the business code decides [Z4b][Z14]. The context-length code (often cited
  as 1261) is UNCONFIRMED and not mapped, so an over-long prompt surfaces as `InvalidRequestError`.
- Usage is read from any chunk that carries it (which one is UNCONFIRMED [Z5]).

Embeddings: `POST /embeddings`, model `embedding-3`, OpenAI-shaped answer [Z9][Z13]; the allowed
`dimensions` values are UNCONFIRMED, so none is sent unless given.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
import orjson

from adapters.errors import (
    InvalidRequestError,
    ModelAuthError,
    ModelHTTPError,
    ModelProviderError,
    ModelRateLimitedError,
    ModelServerError,
)
from adapters.settings import ProviderKeys
from engine import Message, Tool

from ._aiohttp import StreamedResponse
from ._openai_errors import parse_error_body
from .openai import OpenAILike
from .openai_embedder import OpenAILikeEmbedder

__all__ = ["EMBEDDINGS_SUPPORTED", "GLM", "GLMEmbedder"]

EMBEDDINGS_SUPPORTED = True
"""GLM serves `POST /embeddings` (`embedding-3`) [Z9]."""

_BASE_URL = "https://open.bigmodel.cn/api/paas/v4"
_MIN_TEMPERATURE = 0.01
_MAX_TEMPERATURE = 0.99
_AUTH_CODES = range(1000, 1004 + 1)
_ACCOUNT_CODES = range(1110, 1121 + 1)
_CALL_CODES = range(1210, 1234 + 1)
_UNSAFE_CONTENT = 1301
_HIGH_CONCURRENCY = 1302


class GLM(OpenAILike):
    """GLM chat (Zhipu BigModel / Z.ai); see `OpenAILike` for the common arguments.

    Reads ZHIPUAI_API_KEY and ZHIPUAI_BASE_URL (through `adapters.settings`); default model `glm-4-flash`.

    Args:
        temperature: clamped into (0, 1) on the wire as described in the module docstring.
        thinking: True/False send `thinking: {"type": "enabled"/"disabled"}` [Z8]; None sends nothing.
        tool_stream: send `tool_stream: true` with tools, to stream tool arguments (GLM-4.6+) [Z11].
    """

    provider: ClassVar[str] = "GLM"
    name: ClassVar[str] = "GLM"
    api_key_env: ClassVar[str | None] = "ZHIPUAI_API_KEY"
    base_url_env: ClassVar[str | None] = "ZHIPUAI_BASE_URL"
    default_base_url: ClassVar[str | None] = _BASE_URL
    default_id: ClassVar[str] = "glm-4-flash"
    sends_stream_options: ClassVar[bool] = False

    def __init__(
        self,
        id: str | None = None,
        *,
        thinking: bool | None = None,
        tool_stream: bool = False,
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
        self.thinking = thinking
        self.tool_stream = tool_stream

    def request_body(self, messages: Sequence[Message], tools: Sequence[Tool]) -> dict[str, Any]:
        body = super().request_body(messages, tools)
        if self.temperature is not None:
            if self.temperature <= 0:
                body["do_sample"] = False
            body["temperature"] = min(max(self.temperature, _MIN_TEMPERATURE), _MAX_TEMPERATURE)
        if self.thinking is not None:
            body["thinking"] = {"type": "enabled" if self.thinking else "disabled"}
        if self.tool_stream and tools:
            body["tool_stream"] = True
        return body

    async def _send(self, url: str, headers: dict[str, str], content: bytes) -> StreamedResponse:
        try:
            return await super()._send(url, headers, content)
        except ModelRateLimitedError as exc:
            refined = _refine(exc)
            if refined is exc:
                raise
            raise refined from exc

    def _stream_error_factory(self, response: StreamedResponse) -> Callable[[Mapping[str, Any]], ModelProviderError]:
        def build(payload: Mapping[str, Any]) -> ModelProviderError:
            return _from_business_code(
                payload, status_code=response.status_code, model_name=self.id, api_key_env=self.api_key_env
            )

        return build

    async def _payloads(self, response: StreamedResponse) -> AsyncGenerator[str, None]:
        async with contextlib.aclosing(super()._payloads(response)) as payloads:
            async for data in payloads:
                if '"network_error"' in data:
                    self._raise_on_network_error(data, response.status_code)
                yield data

    def _raise_on_network_error(self, data: str, status_code: int) -> None:
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return  # the accumulator reports the undecodable payload
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        first = choices[0] if isinstance(choices, list) and choices else None
        if isinstance(first, Mapping) and first.get("finish_reason") == "network_error":
            raise ModelServerError(
                f"{self.provider} stopped with finish_reason network_error (inference failed); answer incomplete",
                status_code=status_code,
                body=data,
                provider=self.provider,
                model_name=self.id,
            )


class GLMEmbedder(OpenAILikeEmbedder):
    """GLM embeddings [Z9]; see `OpenAILikeEmbedder` for the arguments.

    Reads ZHIPUAI_API_KEY and ZHIPUAI_BASE_URL; default model `embedding-3`. The per-request input limit
    is not in the reference (UNCONFIRMED), so the default batch is a conservative 64 texts.
    """

    provider: ClassVar[str] = "GLM"
    api_key_env: ClassVar[str | None] = "ZHIPUAI_API_KEY"
    base_url_env: ClassVar[str | None] = "ZHIPUAI_BASE_URL"
    default_base_url: ClassVar[str | None] = _BASE_URL
    default_id: ClassVar[str] = "embedding-3"
    default_batch_size: ClassVar[int] = 64

    def refine_error(self, error: ModelProviderError) -> ModelProviderError:
        return _refine(error)


def _business_code(body: str | Mapping[str, Any]) -> int | None:
    code = parse_error_body(body).code
    return int(code) if code is not None and code.isdigit() else None


def _refine(error: ModelProviderError) -> ModelProviderError:
    """A 429 carrying an account business code (1110-1121, e.g. 1113 in arrears) is not worth retrying [Z14]."""
    if not isinstance(error, ModelRateLimitedError):
        return error
    code = _business_code(error.body)
    if code is None or code not in _ACCOUNT_CODES:
        return error
    return InvalidRequestError(
        f"{error} (account problem; retrying will not help)",
        status_code=error.status_code,
        body=error.body,
        provider=error.provider,
        model_name=error.model_name,
    )


def _from_business_code(
    payload: Mapping[str, Any], *, status_code: int, model_name: str, api_key_env: str | None
) -> ModelProviderError:
    """Classify an `{"error": {code, message}}` chunk received inside a 200 stream by its business code [Z14]."""
    info = parse_error_body(payload)
    code = _business_code(payload)
    detail = f" ({info.code}): {info.message}" if info.code else f": {info.message}"
    if code in _AUTH_CODES:
        hint = f" (check {api_key_env})" if api_key_env else ""
        return ModelAuthError(
            f"GLM rejected the credentials{hint}{detail}", provider=GLM.provider, model_name=model_name
        )
    cls: type[ModelHTTPError]
    if code == _HIGH_CONCURRENCY:
        cls = ModelRateLimitedError
    elif code in _ACCOUNT_CODES or code in _CALL_CODES or code == _UNSAFE_CONTENT:
        cls = InvalidRequestError
    else:
        cls = ModelServerError
    body = orjson.dumps(payload).decode()
    return cls(
        f"GLM reported an error mid-stream{detail}",
        status_code=status_code,
        body=body,
        provider=GLM.provider,
        model_name=model_name,
    )
