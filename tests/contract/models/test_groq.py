"""Groq against fixtures written to providers.md §4, replayed on loopback (sources: fixtures/providers/groq/)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from conftest import (
    CONVERSATION,
    JSON,
    Call,
    ChatContract,
    ErrorCase,
    FixtureServer,
    Reply,
    collect,
    collect_until_error,
    get_weather,
    load,
    split,
    tokens,
)

from adapters.errors import (
    ContextLengthExceededError,
    InvalidRequestError,
    ModelAuthError,
    ModelRateLimitedError,
    ModelServerError,
)
from adapters.models import groq
from adapters.models._openai_stream import ChunkAccumulator
from adapters.models.groq import Groq, GroqEmbedder, _lift_x_groq_usage
from engine import ConfigurationError, Tool, ToolCall


class TestGroqContract(ChatContract):
    model_class = Groq
    fixtures = "groq"
    path_prefix = "/openai/v1"
    text_deltas = ["Hello", " from", " Groq!"]
    text_usage = (41, 9, 50)
    response_id = "chatcmpl-5f2b8c1e-9d4a-4b7e-a1c3-0e6d2f8a9b10"
    completion_text = "Hello from Groq!"
    completion_usage = (41, 5, 46)
    tool_call = Call("call_7kq2", "get_weather", {"city": "Paris", "units": "c"})
    parallel_calls = (
        Call("call_w1pa", "get_weather", {"city": "Paris"}),
        Call("call_t2to", "get_time", {"timezone": "Asia/Tokyo"}),
    )
    error_cases = [
        ErrorCase("error_401_invalid_api_key.json", 401, ModelAuthError, "Invalid API Key"),
        ErrorCase(
            "error_429_rate_limit.json",
            429,
            ModelRateLimitedError,
            "Please try again in 6.78s",
            headers={"retry-after": "7"},
            retry_after=7.0,
        ),
        ErrorCase(
            "error_400_context_length_exceeded.json",
            400,
            ContextLengthExceededError,
            "Please reduce the length of the messages or completion.",
        ),
        ErrorCase("error_498_flex_capacity_exceeded.json", 498, ModelServerError, "Flex tier capacity exceeded"),
        ErrorCase("error_503_service_unavailable.json", 503, ModelServerError, "Service Unavailable"),
    ]


async def test_request_body_quirks(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(body=load("groq", "stream_text.sse")))
    weather = Tool.from_callable(get_weather)
    model = Groq(
        "openai/gpt-oss-20b",
        api_key="gsk-test",
        base_url=fixture_server.base_url("/openai/v1"),
        http_client=http_client,
        temperature=0,
        max_tokens=100,
    )
    await collect(model, CONVERSATION, [weather])
    body = fixture_server.requests[0].json()
    assert body == {
        "model": "openai/gpt-oss-20b",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "user", "content": "Thanks"},
        ],
        "stream": True,
        "tools": [weather.to_openai()],
        "temperature": 0,
        "max_completion_tokens": 100,
    }
    assert not {"stream_options", "max_tokens", "n", "logprobs", "logit_bias"} & set(body)
    assert all("name" not in message for message in body["messages"])


async def test_bare_host_base_url_gets_the_sdk_path(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(body=load("groq", "stream_text.sse")), Reply(body=load("groq", "stream_text.sse")))
    await collect(Groq(api_key="k", base_url=fixture_server.root, http_client=http_client))
    await collect(Groq(api_key="k", base_url=fixture_server.root + "/", http_client=http_client))
    assert [seen.path for seen in fixture_server.requests] == ["/openai/v1/chat/completions"] * 2


async def test_usage_is_read_from_x_groq(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(body=load("groq", "stream_tool_call.sse")))
    model = Groq(api_key="k", base_url=fixture_server.base_url("/openai/v1"), http_client=http_client)
    _, final = split(await collect(model, tools=[Tool.from_callable(get_weather)]))
    assert tokens(final) == (236, 24, 260)


def test_lift_x_groq_usage_keeps_a_top_level_usage_and_other_payloads() -> None:
    both = json.dumps({"usage": {"prompt_tokens": 1}, "x_groq": {"usage": {"prompt_tokens": 2}}})
    assert _lift_x_groq_usage(both) == both
    assert _lift_x_groq_usage("[DONE]") == "[DONE]"
    assert _lift_x_groq_usage('{"x_groq": ') == '{"x_groq": '
    lifted = json.loads(_lift_x_groq_usage(json.dumps({"choices": [], "x_groq": {"usage": {"prompt_tokens": 3}}})))
    assert lifted["usage"] == {"prompt_tokens": 3}


def test_tool_call_arriving_whole_or_in_fragments_assembles_the_same() -> None:
    def assemble(fragments: list[dict[str, Any]]) -> tuple[ToolCall, ...]:
        acc = ChunkAccumulator(provider="Groq", model_name="m", on_error=lambda p: ModelServerError("x", status_code=0))
        for fragment in fragments:
            acc.feed(json.dumps({"choices": [{"index": 0, "delta": {"tool_calls": [fragment]}}]}), 1.0)
        acc.feed("[DONE]", 2.0)
        return acc.finish(time_to_first_token=None, duration=1.0).tool_calls

    whole = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a"'}}
    assert assemble([whole]) == assemble([first, {"index": 0, "function": {"arguments": ":1}"}}])


async def test_499_is_a_non_retried_invalid_request(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(499, b'{"error": {"message": "Request cancelled"}}', JSON))
    model = Groq(api_key="k", base_url=fixture_server.base_url("/openai/v1"), http_client=http_client)
    _, error = await collect_until_error(model)
    assert type(error) is InvalidRequestError
    assert (error.status_code, error.retriable) == (499, False)
    assert len(fixture_server.requests) == 1


def test_no_embeddings() -> None:
    assert groq.EMBEDDINGS_SUPPORTED is False
    with pytest.raises(ConfigurationError) as raised:
        GroqEmbedder()
    assert str(raised.value) == (
        "embeddings are not supported by Groq; use one of: OpenAI, Gemini, Ollama, OpenRouter, SiliconFlow, GLM"
    )


def test_identity_labels() -> None:
    assert (Groq.provider, Groq.name, Groq.default_id) == ("Groq", "Groq", "llama-3.3-70b-versatile")
