"""Cerebras against fixtures written to providers.md §5, replayed on loopback (see fixtures/providers/cerebras/)."""

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
    collect_until_error,
    get_weather,
    load,
    split,
)

from adapters.errors import (
    ContextLengthExceededError,
    InvalidRequestError,
    ModelAuthError,
    ModelRateLimitedError,
    ModelServerError,
)
from adapters.models import cerebras
from adapters.models.cerebras import Cerebras, CerebrasEmbedder
from engine import ConfigurationError, Tool


class TestCerebrasContract(ChatContract):
    model_class = Cerebras
    fixtures = "cerebras"
    text_deltas = ["Hi", " there,", " from Cerebras."]
    text_usage = (37, 7, 44)
    response_id = "chatcmpl-a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
    completion_text = "Hi there, from Cerebras."
    completion_usage = (37, 7, 44)
    tool_call = Call("0a1b2c3d4", "get_weather", {"city": "Paris", "units": "c"})
    parallel_calls = (
        Call("9f8e7d6c5", "get_weather", {"city": "Paris"}),
        Call("5c6d7e8f9", "get_time", {"timezone": "Asia/Tokyo"}),
    )
    error_cases = [
        ErrorCase("error_401_wrong_api_key.json", 401, ModelAuthError, "Wrong API Key"),
        ErrorCase("error_400_wrong_api_format.json", 400, InvalidRequestError, "type: Input should be 'text'"),
        ErrorCase(
            "error_400_context_length.json",
            400,
            ContextLengthExceededError,
            "Current length is 42328 while limit is 40000",
        ),
        ErrorCase("error_402_payment_required.json", 402, InvalidRequestError, "Payment required"),
        ErrorCase("error_429_rate_limit.json", 429, ModelRateLimitedError, "Requests per minute limit exceeded"),
        ErrorCase("error_503_service_unavailable.json", 503, ModelServerError, "Service temporarily unavailable"),
    ]


async def test_request_body_quirks(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(body=load("cerebras", "stream_text.sse")))
    weather = Tool.from_callable(get_weather)
    model = Cerebras(
        api_key="csk-test", base_url=fixture_server.base_url(), http_client=http_client, temperature=0.5, max_tokens=9
    )
    await collect(model, CONVERSATION, [weather])
    body = fixture_server.requests[0].json()
    assert body["messages"][2] == {
        "role": "assistant",
        "content": "",  # not null: agno's CerebrasOpenAI sends no None values
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
        ],
    }
    assert body["max_completion_tokens"] == 9
    assert body["temperature"] == 0.5
    assert set(body) == {"model", "messages", "stream", "tools", "temperature", "max_completion_tokens"}


async def test_stream_without_done_after_finish_reason_is_complete(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    assert not load("cerebras", "stream_text.sse").rstrip().endswith(b"[DONE]")
    fixture_server.queue(Reply(body=load("cerebras", "stream_text.sse")))
    _, final = split(await collect(Cerebras(api_key="k", base_url=fixture_server.base_url(), http_client=http_client)))
    assert final.content == "Hi there, from Cerebras."


async def test_bare_host_base_url_gets_v1(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(body=load("cerebras", "stream_text.sse")))
    await collect(Cerebras(api_key="k", base_url=fixture_server.root, http_client=http_client))
    assert fixture_server.requests[0].path == "/v1/chat/completions"


async def test_context_overflow_text_is_recognised_mid_stream(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    payload = (
        b'{"error": {"message": "Please reduce the length of the messages or completion.",'
        b' "type": "invalid_request_error"}}'
    )
    fixture_server.queue(Reply(body=b"data: " + payload + b"\n\n"))
    _, error = await collect_until_error(
        Cerebras(api_key="k", base_url=fixture_server.base_url(), http_client=http_client)
    )
    assert type(error) is ContextLengthExceededError


def test_no_embeddings() -> None:
    assert cerebras.EMBEDDINGS_SUPPORTED is False
    with pytest.raises(ConfigurationError, match=r"^embeddings are not supported by Cerebras; use one of: OpenAI, "):
        CerebrasEmbedder("any-model")


def test_identity_labels() -> None:
    assert (Cerebras.provider, Cerebras.default_id) == ("Cerebras", "llama-4-scout-17b-16e-instruct")
