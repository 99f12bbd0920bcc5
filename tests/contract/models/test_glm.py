"""GLM (Zhipu) against fixtures written to providers.md §9, replayed on loopback (see fixtures/providers/glm/)."""

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
    get_time,
    get_weather,
    load,
)

from adapters.errors import (
    InvalidRequestError,
    ModelAuthError,
    ModelRateLimitedError,
    ModelServerError,
)
from adapters.models import glm
from adapters.models.base import TextDelta
from adapters.models.glm import GLM, GLMEmbedder
from engine import Tool


class TestGLMContract(ChatContract):
    model_class = GLM
    fixtures = "glm"
    path_prefix = "/api/paas/v4"
    text_deltas = ["你好", "\uff01我是", "GLM。"]  # \uff01: fullwidth exclamation mark
    text_usage = (8, 6, 14)
    response_id = "2025041512000012345678901234567890"
    completion_text = "你好\uff01我是GLM。"
    completion_usage = (8, 6, 14)
    tool_call = Call("call_2025041512000112345678", "get_weather", {"city": "Paris", "units": "c"})
    parallel_calls = (
        Call("call_glmWeatherParis00001", "get_weather", {"city": "Paris"}),
        Call("call_glmTimeTokyo0000001", "get_time", {"timezone": "Asia/Tokyo"}),
    )
    error_cases = [
        ErrorCase("error_401_auth.json", 401, ModelAuthError, "身份验证失败"),
        ErrorCase("error_429_arrears.json", 429, InvalidRequestError, "(1113): 您的账户已欠费"),
        ErrorCase("error_429_concurrency.json", 429, ModelRateLimitedError, "(1302)"),
        ErrorCase("error_400_invalid_field.json", 400, InvalidRequestError, "(1214)"),
        ErrorCase("error_500_internal.json", 500, ModelServerError, "Internal Error"),
    ]


class TestGLMEmbedderContract(EmbedderContract):
    embedder_class = GLMEmbedder
    fixtures = "glm"
    path_prefix = "/api/paas/v4"
    vectors = [[-0.0207, 0.0166, 0.0068, -0.0011], [0.0135, -0.0098, 0.0221, 0.0047]]
    input_tokens = 7


def model(server: FixtureServer, http: httpx.AsyncClient, **kwargs: Any) -> GLM:
    return GLM(api_key="zhipu.test-key", base_url=server.base_url("/api/paas/v4"), http_client=http, **kwargs)


async def test_request_body_quirks(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(body=load("glm", "stream_text.sse")))
    tools = [Tool.from_callable(get_weather), Tool.from_callable(get_time)]
    chat = model(fixture_server, http_client, temperature=0.3, max_tokens=512, thinking=False, tool_stream=True)
    await collect(chat, CONVERSATION, tools)
    seen = fixture_server.requests[0]
    assert seen.headers["authorization"] == "Bearer zhipu.test-key"  # the raw key, not a JWT
    body = seen.json()
    assert body == {
        "model": "glm-4-flash",
        "messages": body["messages"],
        "stream": True,
        "tools": [tool.to_openai() for tool in sorted(tools, key=lambda t: t.name)],  # agno sorts tools by name
        "temperature": 0.3,
        "max_tokens": 512,
        "thinking": {"type": "disabled"},
        "tool_stream": True,
    }
    assert body["messages"][2]["content"] is None


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [
        (0.0, {"temperature": 0.01, "do_sample": False}),
        (-1.0, {"temperature": 0.01, "do_sample": False}),
        (1.0, {"temperature": 0.99}),
        (1.7, {"temperature": 0.99}),
        (0.5, {"temperature": 0.5}),
    ],
)
async def test_temperature_is_clamped_into_the_open_interval(
    temperature: float, expected: dict[str, object], fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(body=load("glm", "stream_text.sse")))
    await collect(model(fixture_server, http_client, temperature=temperature))
    body = fixture_server.requests[0].json()
    assert {k: body[k] for k in ("temperature", "do_sample") if k in body} == expected


async def test_optional_fields_are_omitted(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(body=load("glm", "stream_text.sse")))
    await collect(model(fixture_server, http_client, tool_stream=True))  # tool_stream only with tools
    assert set(fixture_server.requests[0].json()) == {"model", "messages", "stream"}


async def test_network_error_finish_reason_is_an_error_not_a_partial_answer(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(body=load("glm", "stream_network_error.sse")))
    updates, error = await collect_until_error(model(fixture_server, http_client))
    assert type(error) is ModelServerError
    assert "network_error" in str(error)
    assert updates == [TextDelta("The answer")]
    assert len(fixture_server.requests) == 1


async def test_mid_stream_business_code(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(body=load("glm", "stream_error_midstream.sse")))
    updates, error = await collect_until_error(model(fixture_server, http_client))
    assert type(error) is InvalidRequestError
    assert "(1301)" in str(error)
    assert updates == [TextDelta("The answer")]


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        ("1001", ModelAuthError),
        ("1113", InvalidRequestError),
        ("1211", InvalidRequestError),
        ("1302", ModelRateLimitedError),
        ("1234", InvalidRequestError),
        ("9999", ModelServerError),
    ],
)
async def test_mid_stream_business_code_classes(
    code: str, error_class: type[Exception], fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(body=b'data: {"error": {"code": "%s", "message": "m"}}\n\n' % code.encode()))
    _, error = await collect_until_error(model(fixture_server, http_client))
    assert type(error) is error_class
    if error_class is ModelAuthError:
        assert "ZHIPUAI_API_KEY" in str(error)


async def test_embedder_arrears_is_not_retried(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(Reply(429, load("glm", "error_429_arrears.json"), JSON))
    embedder = GLMEmbedder(api_key="k", base_url=fixture_server.base_url("/api/paas/v4"), http_client=http_client)
    with pytest.raises(InvalidRequestError, match="1113"):
        await embedder.embed(["x"])
    assert len(fixture_server.requests) == 1


def test_embeddings_supported_and_labels() -> None:
    assert glm.EMBEDDINGS_SUPPORTED is True
    assert (GLMEmbedder.default_id, GLMEmbedder.default_batch_size) == ("embedding-3", 64)
    assert (GLM.provider, GLM.api_key_env, GLM.base_url_env) == ("GLM", "ZHIPUAI_API_KEY", "ZHIPUAI_BASE_URL")
    assert GLM.default_base_url == "https://open.bigmodel.cn/api/paas/v4"
