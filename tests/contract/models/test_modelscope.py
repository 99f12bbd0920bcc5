"""ModelScope against fixtures written to providers.md §8, replayed on loopback (see fixtures/providers/modelscope/).

ModelScope documents neither its stream details nor its error bodies (UNCONFIRMED), so the error cases
use an assumed OpenAI envelope and a plain-text body, and assert only what the HTTP status implies.
"""

from __future__ import annotations

import httpx
import pytest
from conftest import (
    CONVERSATION,
    Call,
    ChatContract,
    ErrorCase,
    FixtureServer,
    Reply,
    collect,
    get_weather,
    load,
    split,
    tokens,
)

from adapters.errors import InvalidRequestError, ModelAuthError, ModelRateLimitedError, ModelServerError
from adapters.models import modelscope
from adapters.models.modelscope import ModelScope, ModelScopeEmbedder
from engine import ConfigurationError, Tool


class TestModelScopeContract(ChatContract):
    model_class = ModelScope
    fixtures = "modelscope"
    text_deltas = ["Hello", " from ModelScope", "!"]
    text_usage = (20, 6, 26)
    response_id = "chatcmpl-ms-5b9c0d1e2f3a4b5c"
    completion_text = "Hello from ModelScope!"
    completion_usage = (20, 6, 26)
    tool_call = Call("call_ms_weather0001", "get_weather", {"city": "Paris", "units": "c"})
    parallel_calls = (
        Call("call_ms_weather0002", "get_weather", {"city": "Paris"}),
        Call("call_ms_time00000002", "get_time", {"timezone": "Asia/Tokyo"}),
    )
    error_cases = [
        ErrorCase("error_401_assumed_envelope.json", 401, ModelAuthError, "Invalid access token"),
        ErrorCase("error_400_assumed_envelope.json", 400, InvalidRequestError, "Invalid request"),
        ErrorCase("error_429_assumed_envelope.json", 429, ModelRateLimitedError, "Request limit exceeded"),
        ErrorCase("error_500_plain.txt", 500, ModelServerError, "Internal Server Error", content_type="text/plain"),
    ]


async def test_request_body_and_extra_body(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(body=load("modelscope", "stream_text.sse")))
    weather = Tool.from_callable(get_weather)
    model = ModelScope(
        "Qwen/Qwen3-32B",
        api_key="ms-token",
        base_url=fixture_server.base_url(),
        http_client=http_client,
        max_tokens=128,
        extra_body={"enable_thinking": False},
    )
    await collect(model, CONVERSATION, [weather])
    seen = fixture_server.requests[0]
    assert seen.headers["authorization"] == "Bearer ms-token"
    body = seen.json()
    assert body["model"] == "Qwen/Qwen3-32B"
    assert (body["max_tokens"], body["enable_thinking"]) == (128, False)
    assert not {"stream_options", "max_completion_tokens", "tool_choice", "parallel_tool_calls"} & set(body)


def test_extra_body_may_not_replace_standard_fields() -> None:
    with pytest.raises(ConfigurationError, match="extra_body may not set messages, model"):
        ModelScope(extra_body={"model": "x", "messages": []})


async def test_stream_without_usage_counts_zero(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(body=load("modelscope", "stream_tool_call.sse")))
    model = ModelScope(api_key="k", base_url=fixture_server.base_url(), http_client=http_client)
    _, final = split(await collect(model, tools=[Tool.from_callable(get_weather)]))
    assert tokens(final) == (0, 0, 0)
    assert final.usage.duration is not None


def test_no_embeddings() -> None:
    assert modelscope.EMBEDDINGS_SUPPORTED is False
    with pytest.raises(ConfigurationError, match=r"^embeddings are not supported by ModelScope; use one of: OpenAI"):
        ModelScopeEmbedder()


def test_labels() -> None:
    assert ModelScope.default_base_url == "https://api-inference.modelscope.cn/v1"
    assert (ModelScope.provider, ModelScope.api_key_env) == ("ModelScope", "MODELSCOPE_API_KEY")
