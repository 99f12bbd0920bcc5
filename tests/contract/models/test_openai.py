"""OpenAIChat against recorded OpenAI wire fixtures, replayed by a real HTTP server on loopback.

Both directions are checked: the request the client sends (path, auth header, JSON body) and the
normalised result (deltas, assembled tool calls, usage), plus error translation and retries.
Fixture sources: fixtures/providers/openai/README.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FixtureServer, Reply

from adapters.errors import (
    ContextLengthExceededError,
    InvalidRequestError,
    ModelAuthError,
    ModelConnectionError,
    ModelRateLimitedError,
    ModelRequestsBlockedError,
    ModelServerError,
    ModelTimeoutError,
    UnexpectedModelBehaviorError,
)
from adapters.models import _guard
from adapters.models._openai_errors import error_from_stream_payload, parse_retry_after
from adapters.models._openai_stream import ChunkAccumulator
from adapters.models.base import ModelClient, ModelResponse, StreamUpdate, TextDelta
from adapters.models.openai import OpenAIChat, OpenAILike
from adapters.settings import ProviderKeys
from engine import ConfigurationError, Message, Tool, ToolCall

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "openai"
SSE = "text/event-stream"
JSON = "application/json"
KEY = "sk-test-0123456789"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
async def openai_server() -> AsyncIterator[FixtureServer]:
    async with FixtureServer() as s:
        yield s


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def model(openai_server: FixtureServer, http: httpx.AsyncClient, **kwargs: Any) -> OpenAIChat:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("retry_sleep", SleepRecorder())
    return OpenAIChat(base_url=openai_server.base_url(), http_client=http, **kwargs)


async def collect(
    client: ModelClient, messages: Sequence[Message] = (), tools: Sequence[Tool] = ()
) -> list[StreamUpdate]:
    messages = messages or [Message(id="m1", role="user", content="Hi")]
    return [update async for update in client.stream(messages, tools)]


async def collect_until_error(client: ModelClient) -> tuple[list[StreamUpdate], BaseException]:
    """Drain the stream; return what was yielded before it raised, and the error (failing if it did not)."""
    updates: list[StreamUpdate] = []
    try:
        async for update in client.stream([Message(id="m1", role="user", content="Hi")], []):
            updates.append(update)
    except Exception as exc:
        return updates, exc
    pytest.fail(f"stream ended without an error after {updates!r}")


def split(updates: list[StreamUpdate]) -> tuple[list[str], ModelResponse]:
    *deltas, final = updates
    assert all(isinstance(d, TextDelta) for d in deltas)
    assert isinstance(final, ModelResponse)
    return [d.text for d in deltas if isinstance(d, TextDelta)], final


def get_weather(city: str, units: str = "c") -> str:
    """Get the weather.

    Args:
        city: City name.
        units: c or f.
    """
    return "sunny"


# -- the request we send ------------------------------------------------------------------------------------


async def test_request_path_auth_and_body(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(Reply(body=fixture("stream_text.sse")))
    weather = Tool.from_callable(get_weather)
    call = ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')
    messages = [
        Message(id="m0", role="system", content="Be brief."),
        Message(id="m1", role="user", content="Weather in Paris?"),
        Message(id="m2", role="assistant", tool_calls=(call,)),
        Message(id="m3", role="tool", content="sunny", tool_call_id="call_1", tool_name="get_weather"),
        Message(id="m4", role="assistant", content="It is sunny."),
        Message(id="m5", role="user", content="Thanks"),
    ]
    chat = model(openai_server, http, id="gpt-4o", temperature=0.2, max_tokens=50, extra_headers={"X-Trace": "t1"})
    await collect(chat, messages, [weather])

    (seen,) = openai_server.requests
    assert (seen.method, seen.path) == ("POST", "/v1/chat/completions")
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.headers["content-type"] == JSON
    assert seen.headers["x-trace"] == "t1"
    assert seen.json() == {
        "model": "gpt-4o",
        "messages": [
            # agno's OpenAIChat: system → "developer", a tool-call-only turn carries content "" (tests/parity/)
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "assistant", "content": "It is sunny."},
            {"role": "user", "content": "Thanks"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [weather.to_openai()],
        "temperature": 0.2,
        "max_completion_tokens": 50,
    }
    assert seen.json()["tools"][0]["function"]["parameters"]["required"] == ["city"]


async def test_optional_fields_are_omitted(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(Reply(body=fixture("stream_text.sse")))
    await collect(model(openai_server, http))
    body = openai_server.requests[0].json()
    assert set(body) == {"model", "messages", "stream", "stream_options"}
    assert body["model"] == "gpt-4o-mini"


def test_foreign_tool_call_ids_are_renamed_on_the_wire_as_agno_does() -> None:
    # agno's OpenAIChat (utils/message.py:reformat_tool_call_ids): ids not shaped `call_...` (at most 40
    # characters) get `call_<counter in hex, padded to 40>`, consistently for the call and its result.
    long_id = "call_" + "x" * 36
    messages = [
        Message(id="m1", role="user", content="Hi"),
        Message(
            id="m2",
            role="assistant",
            tool_calls=(
                ToolCall(id="toolu_01", name="a", arguments="{}"),
                ToolCall(id="call_ok", name="b", arguments="{}"),
                ToolCall(id=long_id, name="c", arguments="{}"),
            ),
        ),
        Message(id="m3", role="tool", content="1", tool_call_id="toolu_01"),
        Message(id="m4", role="tool", content="2", tool_call_id="call_ok"),
        Message(id="m5", role="tool", content="3", tool_call_id=long_id),
    ]
    first, second = "call_" + "0" * 35, "call_" + "0" * 34 + "1"

    body = OpenAIChat(api_key=KEY).request_body(messages, [])
    like = OpenAILike(api_key=KEY).request_body(messages, [])

    assert [c["id"] for c in body["messages"][1]["tool_calls"]] == [first, "call_ok", second]
    assert [m["tool_call_id"] for m in body["messages"][2:]] == [first, "call_ok", second]
    # OpenAILike sends ids as they are unless a subclass opts in (`tool_call_id_format`)
    assert [c["id"] for c in like["messages"][1]["tool_calls"]] == ["toolu_01", "call_ok", long_id]


def test_tools_are_sent_sorted_by_name() -> None:
    tools = [Tool(name="zeta"), Tool(name="alpha"), Tool(name="mid")]

    body = OpenAIChat(api_key=KEY).request_body([Message(id="m1", role="user", content="Hi")], tools)

    assert [t["function"]["name"] for t in body["tools"]] == ["alpha", "mid", "zeta"]


# -- the normalised result ----------------------------------------------------------------------------------


async def test_streamed_text(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(Reply(body=fixture("stream_text.sse")))
    deltas, final = split(await collect(model(openai_server, http)))
    assert deltas == ["Hello", "!", " How can I", " help you today?"]
    assert final.content == "".join(deltas) == "Hello! How can I help you today?"
    assert final.tool_calls == ()
    assert final.provider_data == {"id": "chatcmpl-123"}
    usage = final.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (19, 10, 29)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (8, 2)
    assert isinstance(usage.time_to_first_token, float)
    assert usage.time_to_first_token > 0
    assert isinstance(usage.duration, float)
    assert usage.duration >= usage.time_to_first_token


async def test_streamed_single_tool_call(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(Reply(body=fixture("stream_tool_call.sse")))
    deltas, final = split(await collect(model(openai_server, http)))
    assert deltas == []
    assert final.content is None
    assert final.tool_calls == (
        ToolCall(
            id="call_c91SqDXlYFuETYv8mUHzz6pp",
            name="GetWeatherArgs",
            arguments='{"city":"Edinburgh","country":"UK","units":"c"}',
        ),
    )
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens) == (76, 24, 100)
    assert final.usage.time_to_first_token is not None
    assert final.usage.time_to_first_token > 0


PARALLEL_CALLS = [
    ("call_weatherParis000000000", "get_weather", {"city": "Paris"}),
    ("call_timeTokyo00000000000", "get_time", {"timezone": "Asia/Tokyo"}),
]


def assert_parallel(final: ModelResponse) -> None:
    got = [(c.id, c.name, json.loads(c.arguments)) for c in final.tool_calls]
    assert got == PARALLEL_CALLS
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens) == (120, 46, 166)


async def test_parallel_interleaved_tool_calls(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(Reply(body=fixture("stream_parallel_tool_calls.sse")))
    deltas, final = split(await collect(model(openai_server, http)))
    assert deltas == []
    assert_parallel(final)


@pytest.mark.parametrize("size", [1, 7, 512])
async def test_any_network_chunking_gives_the_same_result(size: int) -> None:
    body = fixture("stream_parallel_tool_calls.sse")

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(body), size):
            yield body[i : i + size]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": SSE}, content=pieces())

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        chat = OpenAIChat(api_key=KEY, base_url="http://127.0.0.1:9/v1", http_client=client)
        _, final = split(await collect(chat))
    assert_parallel(final)


async def test_server_that_ignores_stream_true_returns_json(
    openai_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    openai_server.queue(Reply(body=fixture("completion_text.json"), content_type=JSON))
    deltas, final = split(await collect(model(openai_server, http)))
    assert deltas == ["Hello! How can I assist you today?"]
    assert final.content == deltas[0]
    assert final.provider_data == {"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"}
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens) == (19, 10, 29)


async def test_truncated_stream_raises_and_never_yields_a_response(
    openai_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    openai_server.queue(Reply(body=fixture("stream_truncated.sse")))
    updates, error = await collect_until_error(model(openai_server, http))
    assert isinstance(error, UnexpectedModelBehaviorError)
    assert "truncated" in str(error)
    assert updates == [TextDelta("Hello"), TextDelta("!")]
    assert len(openai_server.requests) == 1


async def test_undecodable_data_line_raises(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(Reply(body=b'data: {"id": "chatcmpl-1", "choices": [\n\ndata: [DONE]\n\n'))
    updates, error = await collect_until_error(model(openai_server, http))
    assert isinstance(error, UnexpectedModelBehaviorError)
    assert '{"id": "chatcmpl-1"' in error.body
    assert updates == []


async def test_error_object_mid_stream(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(Reply(body=fixture("stream_error_midstream.sse")))
    updates, error = await collect_until_error(model(openai_server, http))
    assert isinstance(error, ModelServerError)
    assert error.retriable
    assert "The server had an error while processing your request" in str(error)
    assert updates == [TextDelta("The answer")]
    assert len(openai_server.requests) == 1  # output was already yielded: no retry


async def test_bare_json_error_under_an_sse_content_type(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(Reply(body=fixture("error_400_context_length_exceeded.json")))
    updates, error = await collect_until_error(model(openai_server, http))
    assert type(error) is ContextLengthExceededError
    assert updates == []


def accumulator() -> ChunkAccumulator:
    def on_error(payload: Any) -> Exception:
        return error_from_stream_payload(payload, status_code=200, provider="OpenAI", model_name="m", api_key_env=None)

    return ChunkAccumulator(provider="OpenAI", model_name="m", on_error=on_error)


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
    return json.dumps({"id": "c1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]})


def test_finish_reason_without_done_or_usage_is_a_complete_turn() -> None:
    acc = accumulator()
    assert acc.feed(chunk({"content": "hi"}), 1.0) == [TextDelta("hi")]
    acc.feed(chunk({}, "stop"), 2.0)
    final = acc.finish(time_to_first_token=0.5, duration=1.5)
    assert (final.content, final.usage.total_tokens, final.usage.time_to_first_token) == ("hi", 0, 0.5)
    assert acc.first_token_at == 1.0


def test_fragments_without_index_or_id_get_slots_and_synthetic_ids() -> None:
    acc = accumulator()
    acc.feed(chunk({"tool_calls": [{"function": {"name": "a", "arguments": '{"x":'}}]}), 1.0)
    acc.feed(chunk({"tool_calls": [{"function": {"arguments": "1}"}}]}), 1.0)
    acc.feed(chunk({"tool_calls": [{"id": "call_b", "function": {"name": "b", "arguments": {"y": 2}}}]}), 1.0)
    acc.feed("[DONE]", 2.0)
    first, second = acc.finish(time_to_first_token=None, duration=1.0).tool_calls
    assert (first.name, first.arguments) == ("a", '{"x":1}')
    assert first.id.startswith("call_")
    assert (second.id, second.name, json.loads(second.arguments)) == ("call_b", "b", {"y": 2})


def test_tool_call_without_a_name_is_malformed() -> None:
    acc = accumulator()
    acc.feed(chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"arguments": "{}"}}]}), 1.0)
    acc.feed("[DONE]", 2.0)
    with pytest.raises(UnexpectedModelBehaviorError, match="function name"):
        acc.finish(time_to_first_token=None, duration=1.0)


@pytest.mark.parametrize(
    ("payload", "error_class"),
    [
        (
            {"error": {"message": "m", "type": "invalid_request_error", "code": "context_length_exceeded"}},
            ContextLengthExceededError,
        ),
        ({"error": {"message": "m", "type": "rate_limit_error", "code": None}}, ModelRateLimitedError),
        ({"error": {"message": "m", "type": "invalid_request_error", "code": None}}, InvalidRequestError),
        ({"error": {"message": "m", "code": 502, "metadata": {}}}, ModelServerError),
        ({"error": {"message": "m", "code": 401}}, ModelAuthError),
    ],
)
def test_mid_stream_error_objects_map_to_classes(payload: dict[str, Any], error_class: type[Exception]) -> None:
    with pytest.raises(error_class):
        accumulator().feed(json.dumps(payload), 1.0)


# -- errors and retries -------------------------------------------------------------------------------------


def error_reply(status: int, name: str, **headers: str) -> Reply:
    return Reply(status=status, body=fixture(name), content_type=JSON, headers=headers)


async def test_401_is_an_auth_error_naming_the_env_var_and_is_not_retried(
    openai_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    openai_server.queue(error_reply(401, "error_401_invalid_api_key.json"))
    sleep = SleepRecorder()
    _, error = await collect_until_error(model(openai_server, http, retry_sleep=sleep))
    assert type(error) is ModelAuthError
    assert not error.retriable
    assert "OPENAI_API_KEY" in str(error)
    assert "Incorrect API key provided" in str(error)
    assert KEY not in str(error)
    assert (error.provider, error.model_name) == ("OpenAI", "gpt-4o-mini")
    assert len(openai_server.requests) == 1
    assert sleep.waits == []


async def test_429_is_retried_honouring_retry_after(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(
        error_reply(429, "error_429_rate_limit.json", **{"Retry-After": "2"}), Reply(body=fixture("stream_text.sse"))
    )
    sleep = SleepRecorder()
    _, final = split(await collect(model(openai_server, http, retry_sleep=sleep)))
    assert final.content == "Hello! How can I help you today?"
    assert sleep.waits == [2.0]
    assert len(openai_server.requests) == 2


async def test_429_gives_up_after_max_retries(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(*[error_reply(429, "error_429_rate_limit.json", **{"Retry-After": "2"}) for _ in range(3)])
    sleep = SleepRecorder()
    _, error = await collect_until_error(model(openai_server, http, retry_sleep=sleep, max_retries=2))
    assert type(error) is ModelRateLimitedError
    assert error.retriable
    assert (error.status_code, error.retry_after) == (429, 2.0)
    assert "Rate limit reached" in str(error)
    assert sleep.waits == [2.0, 2.0]
    assert len(openai_server.requests) == 3


async def test_5xx_is_retried_with_backoff(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(
        *[error_reply(500, "error_500_server_error.json") for _ in range(2)], Reply(body=fixture("stream_text.sse"))
    )
    sleep = SleepRecorder()
    _, final = split(await collect(model(openai_server, http, retry_sleep=sleep)))
    assert final.content is not None
    assert len(sleep.waits) == 2
    assert all(w > 0 for w in sleep.waits)
    assert len(openai_server.requests) == 3


async def test_5xx_gives_up_with_a_server_error(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(*[error_reply(503, "error_500_server_error.json") for _ in range(2)])
    _, error = await collect_until_error(model(openai_server, http, max_retries=1))
    assert type(error) is ModelServerError
    assert (error.retriable, error.status_code) == (True, 503)
    assert len(openai_server.requests) == 2


async def test_context_length_exceeded(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(error_reply(400, "error_400_context_length_exceeded.json"))
    _, error = await collect_until_error(model(openai_server, http))
    assert type(error) is ContextLengthExceededError
    assert not error.retriable
    assert "maximum context length is 8192 tokens" in str(error)
    assert len(openai_server.requests) == 1


async def test_other_4xx_is_an_invalid_request(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(error_reply(404, "error_404_model_not_found.json"))
    _, error = await collect_until_error(model(openai_server, http))
    assert type(error) is InvalidRequestError
    assert (error.retriable, error.status_code) == (False, 404)
    assert "does not exist" in str(error)
    assert len(openai_server.requests) == 1


async def test_timeouts_are_translated_and_retried() -> None:
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    sleep = SleepRecorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        chat = OpenAIChat(api_key=KEY, base_url="http://127.0.0.1:9/v1", http_client=client, retry_sleep=sleep)
        _, error = await collect_until_error(chat)
    assert type(error) is ModelTimeoutError
    assert error.retriable
    assert isinstance(error.__cause__, httpx.ReadTimeout)
    assert (len(attempts), len(sleep.waits)) == (3, 2)


async def test_connection_refused_is_a_retried_connection_error(http: httpx.AsyncClient) -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    sleep = SleepRecorder()
    chat = OpenAIChat(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", http_client=http, retry_sleep=sleep)
    _, error = await collect_until_error(chat)
    assert type(error) is ModelConnectionError
    assert error.retriable
    assert len(sleep.waits) == 2


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, 30.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after(httpx.Headers(headers), now=now) == expected


# -- configuration, key resolution and the request guard ----------------------------------------------------


async def test_missing_key_is_an_auth_error_at_request_time(
    openai_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    chat = model(openai_server, http, api_key=None, provider_keys=ProviderKeys(OPENAI_API_KEY=None, _env_file=None))
    _, error = await collect_until_error(chat)
    assert type(error) is ModelAuthError
    assert str(error) == "OPENAI_API_KEY is not set; set it or use the scripted model (adapters.models.scripted)"
    assert openai_server.requests == []


async def test_key_and_base_url_come_from_provider_settings(
    openai_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    openai_server.queue(Reply(body=fixture("stream_text.sse")))
    keys = ProviderKeys(
        OPENAI_API_KEY="sk-from-settings", OPENAI_BASE_URL=openai_server.base_url() + "/", _env_file=None
    )
    await collect(OpenAIChat(http_client=http, provider_keys=keys))
    assert openai_server.requests[0].headers["authorization"] == "Bearer sk-from-settings"
    assert openai_server.requests[0].path == "/v1/chat/completions"


async def test_owned_client_is_created_and_closed(openai_server: FixtureServer) -> None:
    openai_server.queue(Reply(body=fixture("stream_text.sse")))
    async with OpenAIChat(api_key=KEY, base_url=openai_server.base_url()) as chat:
        _, final = split(await collect(chat))
    assert final.content is not None


async def test_openai_like_needs_a_base_url_and_sends_no_auth_without_a_key(
    openai_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    with pytest.raises(ConfigurationError):
        await collect(OpenAILike("local-model", http_client=http))
    openai_server.queue(Reply(body=fixture("stream_text.sse")))
    await collect(OpenAILike("local-model", base_url=openai_server.base_url(), http_client=http, max_tokens=5))
    seen = openai_server.requests[0]
    assert "authorization" not in seen.headers
    assert seen.json()["max_tokens"] == 5


def test_identity_and_protocol() -> None:
    chat = OpenAIChat()
    assert isinstance(chat, ModelClient)
    assert (chat.id, chat.provider, chat.name) == ("gpt-4o-mini", "OpenAI", "OpenAI Chat")
    assert OpenAIChat("gpt-4o").id == "gpt-4o"


@pytest.fixture
def requests_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_guard, "ALLOW_MODEL_REQUESTS", False)


@pytest.mark.usefixtures("requests_blocked")
async def test_non_loopback_host_is_blocked() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        chat = OpenAIChat(api_key=KEY, base_url="https://api.openai.com/v1", http_client=client)
        _, error = await collect_until_error(chat)
    assert type(error) is ModelRequestsBlockedError
    assert "api.openai.com" in str(error)
    assert sent == []


@pytest.mark.usefixtures("requests_blocked")
async def test_loopback_host_is_allowed_while_blocked(openai_server: FixtureServer, http: httpx.AsyncClient) -> None:
    openai_server.queue(Reply(body=fixture("stream_text.sse")))
    _, final = split(await collect(model(openai_server, http)))
    assert final.content is not None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("10.0.0.1", False),
        ("api.openai.com", False),
        ("localhost.evil.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert _guard.is_loopback(host) is expected
