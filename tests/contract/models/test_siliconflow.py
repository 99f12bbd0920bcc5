"""SiliconFlow against fixtures written to providers.md §7, replayed on loopback (fixtures/providers/siliconflow/)."""

from __future__ import annotations

import httpx
import pytest
from conftest import (
    CONVERSATION,
    Call,
    ChatContract,
    EmbedderContract,
    ErrorCase,
    FixtureServer,
    Reply,
    collect,
    get_weather,
    load,
)

from adapters.errors import InvalidRequestError, ModelAuthError, ModelRateLimitedError, ModelServerError
from adapters.models import siliconflow
from adapters.models.siliconflow import Siliconflow, SiliconflowEmbedder
from engine import ConfigurationError, Tool


class TestSiliconflowContract(ChatContract):
    model_class = Siliconflow
    fixtures = "siliconflow"
    text_deltas = ["你好", ", SiliconFlow here."]
    text_usage = (14, 11, 25)
    response_id = "0195a1b2c3d4e5f6a7b8c9d0e1f2a3b4"
    completion_text = "你好, SiliconFlow here."
    completion_usage = (14, 11, 25)
    tool_call = Call("0195a1b2c3d4call0001", "get_weather", {"city": "Paris", "units": "c"})
    parallel_calls = (
        Call("0195a1b2c3d4weather01", "get_weather", {"city": "Paris"}),
        Call("0195a1b2c3d4time0001", "get_time", {"timezone": "Asia/Tokyo"}),
    )
    error_cases = [
        ErrorCase("error_401_invalid_token.json", 401, ModelAuthError, "Invalid token"),
        ErrorCase("error_403_real_name.json", 403, ModelAuthError, "real-name verification"),
        ErrorCase(
            "error_400_model_not_found.json",
            400,
            InvalidRequestError,
            "Model does not exist. Please check it carefully.",
        ),
        ErrorCase("error_429_rate_limit.json", 429, ModelRateLimitedError, "rate limiting"),
        ErrorCase("error_503_overloaded.json", 503, ModelServerError, "overloaded"),
        ErrorCase("error_503_overloaded.json", 504, ModelServerError, "overloaded"),
    ]


class TestSiliconflowEmbedderContract(EmbedderContract):
    embedder_class = SiliconflowEmbedder
    fixtures = "siliconflow"
    vectors = [[-0.0247, 0.0131, -0.0498, 0.0062], [0.0317, -0.0221, 0.0045, 0.0189]]
    input_tokens = 11


async def test_request_body_quirks(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(body=load("siliconflow", "stream_text.sse")))
    weather = Tool.from_callable(get_weather)
    model = Siliconflow(
        "deepseek-ai/DeepSeek-V3.1",
        api_key="sf-test",
        base_url=fixture_server.base_url(),
        http_client=http_client,
        max_tokens=256,
        enable_thinking=False,
        thinking_budget=1024,
    )
    await collect(model, CONVERSATION, [weather])
    body = fixture_server.requests[0].json()
    assert body["model"] == "deepseek-ai/DeepSeek-V3.1"
    assert (body["max_tokens"], body["enable_thinking"], body["thinking_budget"]) == (256, False, 1024)
    assert not {"stream_options", "max_completion_tokens"} & set(body)


async def test_thinking_switches_are_omitted_by_default(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(body=load("siliconflow", "stream_text.sse")))
    await collect(Siliconflow(api_key="k", base_url=fixture_server.base_url(), http_client=http_client))
    assert set(fixture_server.requests[0].json()) == {"model", "messages", "stream"}


@pytest.mark.parametrize("budget", [127, 32769])
def test_thinking_budget_range(budget: int) -> None:
    with pytest.raises(ConfigurationError, match="thinking_budget"):
        Siliconflow(thinking_budget=budget)


async def test_business_code_is_quoted_in_the_error(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(400, load("siliconflow", "error_400_model_not_found.json"), "application/json"))
    model = Siliconflow("no/such-model", api_key="k", base_url=fixture_server.base_url(), http_client=http_client)
    with pytest.raises(InvalidRequestError, match=r"\(20012\): Model does not exist"):
        await collect(model)


async def test_embedder_dimensions_and_default_model(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(body=load("siliconflow", "embeddings.json"), content_type="application/json"))
    embedder = SiliconflowEmbedder(
        "Qwen/Qwen3-Embedding-0.6B",
        api_key="k",
        base_url=fixture_server.base_url(),
        http_client=http_client,
        dimensions=1024,
    )
    await embedder.embed(["a", "b"])
    assert fixture_server.requests[0].json()["dimensions"] == 1024
    assert SiliconflowEmbedder().id == "BAAI/bge-m3"
    assert SiliconflowEmbedder().batch_size == 32


def test_embeddings_supported_and_labels() -> None:
    assert siliconflow.EMBEDDINGS_SUPPORTED is True
    assert (Siliconflow.provider, Siliconflow.name, Siliconflow.default_id) == (
        "Siliconflow",
        "Siliconflow",
        "Qwen/QwQ-32B",
    )
    assert Siliconflow.default_base_url == "https://api.siliconflow.cn/v1"
