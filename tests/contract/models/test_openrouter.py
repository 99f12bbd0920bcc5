"""OpenRouter against fixtures written to providers.md §6, replayed on loopback (see fixtures/providers/openrouter/)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import (
    CONVERSATION,
    JSON,
    Call,
    ChatContract,
    EmbedderContract,
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
from adapters.models import openrouter
from adapters.models.base import TextDelta
from adapters.models.openrouter import OpenRouter, OpenRouterEmbedder
from adapters.settings import ProviderKeys
from engine import Tool


class TestOpenRouterContract(ChatContract):
    model_class = OpenRouter
    fixtures = "openrouter"
    path_prefix = "/api/v1"
    text_deltas = ["Hello", " via OpenRouter", "."]
    text_usage = (12, 5, 17)
    response_id = "gen-1750000000-AbCdEfGhIjKlMnOpQrSt"
    completion_text = "Hello via OpenRouter."
    completion_usage = (12, 5, 17)
    tool_call = Call("call_Or1Weather00000000001", "get_weather", {"city": "Paris", "units": "c"})
    parallel_calls = (
        Call("call_OrWeatherParis0000001", "get_weather", {"city": "Paris"}),
        Call("call_OrTimeTokyo000000001", "get_time", {"timezone": "Asia/Tokyo"}),
    )
    error_cases = [
        ErrorCase("error_401_no_auth.json", 401, ModelAuthError, "No auth credentials found"),
        ErrorCase("error_402_insufficient_credits.json", 402, InvalidRequestError, "Insufficient credits"),
        ErrorCase(
            "error_429_rate_limit.json",
            429,
            ModelRateLimitedError,
            "Rate limit exceeded",
            headers={"Retry-After": "3"},
            retry_after=3.0,
        ),
        ErrorCase(
            "error_400_context_length_exceeded.json",
            400,
            ContextLengthExceededError,
            "maximum context length is 128000",
        ),
        ErrorCase("error_503_provider_overloaded.json", 503, ModelServerError, "Provider overloaded"),
    ]


class TestOpenRouterEmbedderContract(EmbedderContract):
    embedder_class = OpenRouterEmbedder
    fixtures = "openrouter"
    path_prefix = "/api/v1"
    vectors = [[0.0023064255, -0.009327292, 0.015797347], [-0.0057660464, 0.0204781, -0.0031293337]]
    input_tokens = 9


def model(server: FixtureServer, http: httpx.AsyncClient, **kwargs: Any) -> OpenRouter:
    keys = ProviderKeys(_env_file=None, OPENROUTER_SITE_URL=None, OPENROUTER_APP_TITLE=None)
    kwargs.setdefault("provider_keys", keys)
    return OpenRouter(api_key="sk-or-test", base_url=server.base_url("/api/v1"), http_client=http, **kwargs)


async def test_request_body_quirks(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(body=load("openrouter", "stream_text.sse")))
    weather = Tool.from_callable(get_weather)
    await collect(model(fixture_server, http_client, max_tokens=32), CONVERSATION, [weather])
    body = fixture_server.requests[0].json()
    assert body["model"] == "openai/gpt-4o-mini"
    assert body["max_tokens"] == 32
    assert "stream_options" not in body  # deprecated, no effect: usage is always sent [R5]
    assert body["messages"][2]["content"] is None


async def test_attribution_headers_are_absent_unless_configured(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(body=load("openrouter", "stream_text.sse")))
    await collect(model(fixture_server, http_client))
    headers = fixture_server.requests[0].headers
    assert not {"http-referer", "x-title", "x-openrouter-title"} & set(headers)


async def test_attribution_headers_from_arguments(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(body=load("openrouter", "stream_text.sse")))
    await collect(model(fixture_server, http_client, site_url="https://example.test", app_title="Agnostream Demo"))
    headers = fixture_server.requests[0].headers
    assert headers["http-referer"] == "https://example.test"
    assert headers["x-openrouter-title"] == headers["x-title"] == "Agnostream Demo"
    assert headers["authorization"] == "Bearer sk-or-test"


async def test_attribution_headers_from_settings_and_extra_headers_win(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(body=load("openrouter", "stream_text.sse")))
    keys = ProviderKeys(
        _env_file=None, OPENROUTER_SITE_URL="https://from-settings.test", OPENROUTER_APP_TITLE="From Settings"
    )
    chat = model(fixture_server, http_client, provider_keys=keys, extra_headers={"X-Title": "Override"})
    await collect(chat)
    headers = fixture_server.requests[0].headers
    assert headers["http-referer"] == "https://from-settings.test"
    assert headers["x-openrouter-title"] == "From Settings"
    assert headers["x-title"] == "Override"


async def test_processing_comments_are_skipped_and_usage_chunk_read(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    assert load("openrouter", "stream_text.sse").startswith(b": OPENROUTER PROCESSING")
    fixture_server.queue(Reply(body=load("openrouter", "stream_text.sse")))
    _, final = split(await collect(model(fixture_server, http_client)))
    assert tokens(final) == (12, 5, 17)
    assert (final.usage.cache_read_tokens, final.usage.reasoning_tokens) == (4, 1)


async def test_mid_stream_error_chunk_takes_the_class_of_its_code(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(body=load("openrouter", "stream_error_midstream.sse")))
    updates, error = await collect_until_error(model(fixture_server, http_client))
    assert type(error) is ModelRateLimitedError
    assert error.status_code == 429
    assert "Rate limit exceeded" in str(error)
    assert updates == [TextDelta("The answer")]
    assert len(fixture_server.requests) == 1  # output was already yielded: no retry


async def test_context_length_metadata_mid_stream(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    payload = load("openrouter", "error_400_context_length_exceeded.json").replace(b"\n", b"")
    fixture_server.queue(Reply(body=b"data: " + payload + b"\n\n"))
    _, error = await collect_until_error(model(fixture_server, http_client))
    assert type(error) is ContextLengthExceededError


async def test_embedder_context_length_metadata(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(400, load("openrouter", "error_400_context_length_exceeded.json"), JSON))
    embedder = OpenRouterEmbedder(api_key="k", base_url=fixture_server.base_url("/api/v1"), http_client=http_client)
    with pytest.raises(ContextLengthExceededError, match="maximum context length"):
        await embedder.embed(["x" * 10])
    assert len(fixture_server.requests) == 1


def test_embeddings_supported() -> None:
    assert openrouter.EMBEDDINGS_SUPPORTED is True
    assert OpenRouterEmbedder().id == "openai/text-embedding-3-small"
