"""Gemini (native v1beta) against Gemini wire fixtures, replayed by a real HTTP server on loopback.

Both directions are checked: the request the client sends (URL, method, `x-goog-api-key`, JSON body with
`systemInstruction`, `contents` roles, `functionCall`/`functionResponse`, `functionDeclarations`) and the
normalised result (deltas, tool calls, usage), plus error translation and retries.
Fixture sources: fixtures/providers/gemini/README.md.
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
from adapters.models._gemini_http import error_from_response, parse_gemini_error
from adapters.models._gemini_stream import GeminiStreamAccumulator
from adapters.models.base import ModelClient, ModelResponse, StreamUpdate, TextDelta
from adapters.models.gemini import Gemini
from adapters.settings import ProviderKeys
from engine import Message, Tool, ToolCall

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "gemini"
SSE = "text/event-stream"
JSON = "application/json"
KEY = "AIza-test-0123456789"
STREAM_PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# -- a loopback HTTP/1.1 server that replays queued replies -------------------------------------------------


@pytest.fixture
async def gemini_server() -> AsyncIterator[FixtureServer]:
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


def model(server: FixtureServer, http: httpx.AsyncClient, **kwargs: Any) -> Gemini:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("retry_sleep", SleepRecorder())
    return Gemini(base_url=server.base_url("/v1beta"), http_client=http, **kwargs)


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


async def test_request_url_auth_and_body(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_text.sse")))
    weather = Tool.from_callable(get_weather)
    calls = (
        ToolCall(id="call_a", name="get_weather", arguments='{"city": "Paris"}'),
        ToolCall(id="call_b", name="get_weather", arguments='{"city": "Rome", "units": "f"}'),
    )
    messages = [
        Message(id="m0", role="system", content="Be brief."),
        Message(id="m1", role="user", content="Weather in Paris and Rome?"),
        Message(id="m2", role="assistant", content="Checking.", tool_calls=calls),
        Message(id="m3", role="tool", content="sunny", tool_call_id="call_a", tool_name="get_weather"),
        Message(
            id="m4", role="tool", content="boom", tool_call_id="call_b", tool_name="get_weather", tool_call_error=True
        ),
        Message(id="m5", role="assistant", content="Sunny in Paris."),
        Message(id="m6", role="user", content="Thanks"),
    ]
    chat = model(
        gemini_server, http, temperature=0.2, max_tokens=50, thinking_budget=0, extra_headers={"X-Trace": "t1"}
    )
    await collect(chat, messages, [weather])

    (seen,) = gemini_server.requests
    assert (seen.method, seen.path) == ("POST", STREAM_PATH)
    assert seen.headers["x-goog-api-key"] == KEY
    assert "authorization" not in seen.headers
    assert KEY not in seen.path
    assert seen.headers["content-type"] == JSON
    assert seen.headers["x-trace"] == "t1"
    assert seen.json() == {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris and Rome?"}]},
            {
                "role": "model",
                "parts": [
                    {"text": "Checking."},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Rome", "units": "f"}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"output": "sunny"}}},
                    {"functionResponse": {"name": "get_weather", "response": {"error": "boom"}}},
                ],
            },
            {"role": "model", "parts": [{"text": "Sunny in Paris."}]},
            {"role": "user", "parts": [{"text": "Thanks"}]},
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "Get the weather.",
                        "parametersJsonSchema": {
                            "type": "object",
                            "properties": {
                                "city": {"type": "string", "description": "City name."},
                                "units": {"type": "string", "description": "c or f."},
                            },
                            "required": ["city"],
                        },
                    }
                ]
            }
        ],
        "generationConfig": {"temperature": 0.2, "maxOutputTokens": 50, "thinkingConfig": {"thinkingBudget": 0}},
    }


async def test_optional_fields_are_omitted(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_text.sse")))
    await collect(model(gemini_server, http))
    assert gemini_server.requests[0].json() == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


async def test_function_call_round_trip_echoes_signatures_and_given_ids(
    gemini_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    """What the model returned (calls, thought signatures) goes back unchanged in the next request."""
    gemini_server.queue(Reply(body=fixture("stream_parallel_function_calls.sse")))
    chat = model(gemini_server, http)
    question = Message(id="m1", role="user", content="Weather in Paris and time in Tokyo?")
    _, first = split(await collect(chat, [question], [Tool.from_callable(get_weather)]))
    weather, clock = first.tool_calls
    # a Gemini-assigned id (optional in the API) is echoed in both functionCall and functionResponse
    provider_data = {**(first.provider_data or {}), "function_call_ids": [clock.id]}
    assistant = Message(id="m2", role="assistant", tool_calls=first.tool_calls, provider_data=provider_data)
    results = [
        Message(id="m3", role="tool", content="sunny", tool_call_id=weather.id, tool_name="get_weather"),
        Message(id="m4", role="tool", content="09:00", tool_call_id=clock.id),  # name recovered from the call
    ]
    gemini_server.queue(Reply(body=fixture("stream_text.sse")))
    await collect(chat, [question, assistant, *results])

    contents = gemini_server.requests[1].json()["contents"]
    assert contents[1:] == [
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": "c2lnLXdlYXRoZXItMQ==",
                },
                {"functionCall": {"name": "get_time", "args": {"timezone": "Asia/Tokyo"}, "id": clock.id}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"output": "sunny"}}},
                {"functionResponse": {"name": "get_time", "response": {"output": "09:00"}, "id": clock.id}},
            ],
        },
    ]


async def test_message_edge_cases(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_text.sse")))
    messages = [
        Message(id="s1", role="system", content="One."),
        Message(id="u1", role="user", content="a"),
        Message(id="s2", role="system", content="Two."),
        Message(id="u2", role="user", content="b"),
        Message(id="x1", role="assistant", content=""),
        Message(id="x2", role="assistant", tool_calls=(ToolCall(id="c1", name="f", arguments="not json"),)),
        Message(
            id="x3",
            role="assistant",
            content="text",
            provider_data={"id": "r1", "thought_signature": "dGV4dA=="},
            tool_calls=(ToolCall(id="c2", name="g", arguments="[1, 2]"),),
        ),
    ]
    await collect(model(gemini_server, http, id="models/gemini-2.0-flash"), messages)
    seen = gemini_server.requests[0]
    assert seen.path == "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    assert seen.json() == {
        "systemInstruction": {"parts": [{"text": "One."}, {"text": "Two."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
            {
                "role": "model",
                "parts": [
                    {"functionCall": {"name": "f", "args": {}}},
                    {"text": "text", "thoughtSignature": "dGV4dA=="},
                    {"functionCall": {"name": "g", "args": {}}},
                ],
            },
        ],
    }


async def test_tool_without_parameters(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_text.sse")))

    def now() -> str:
        return "noon"

    await collect(model(gemini_server, http), tools=[Tool.from_callable(now)])
    (declaration,) = gemini_server.requests[0].json()["tools"][0]["functionDeclarations"]
    assert declaration == {"name": "now", "parametersJsonSchema": {"type": "object", "properties": {}, "required": []}}


# -- the normalised result ----------------------------------------------------------------------------------


async def test_streamed_text(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_text.sse")))
    updates = await collect(model(gemini_server, http))
    deltas, final = split(updates)
    assert deltas == [
        "The",
        " sky is blue",
        " because of a phenomenon called **Rayleigh scattering**. Here's a breakdown:",
    ]
    assert all(u.provider_data == {"id": "qNSfaN6BAtWknvgPjZf02AQ"} for u in updates)
    assert final.content == "".join(deltas)
    assert final.tool_calls == ()
    usage = final.usage
    # the last chunk's usage is authoritative (its promptTokenCount differs from the interim ones)
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens, usage.reasoning_tokens) == (6, 20, 26, 0)
    assert isinstance(usage.time_to_first_token, float)
    assert usage.time_to_first_token > 0
    assert isinstance(usage.duration, float)
    assert usage.duration >= usage.time_to_first_token


async def test_usage_with_cache_and_thinking(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_usage.sse")))
    _, final = split(await collect(model(gemini_server, http)))
    usage = final.usage
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens) == (1200, 12, 30)
    assert (usage.cache_read_tokens, usage.total_tokens) == (1024, 1242)


async def test_function_call(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_function_call.sse")))
    deltas, final = split(await collect(model(gemini_server, http)))
    assert deltas == []
    assert final.content is None
    (call,) = final.tool_calls
    assert call.name == "customDivide"
    assert json.loads(call.arguments) == {"denominator": 2, "numerator": 100}
    assert call.id.startswith("call_")
    assert call.id.endswith("_0")
    assert final.provider_data == {"id": "xtSfaIRs8_Sf2Q-skYe5Dg"}
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens) == (21, 6, 27)
    assert final.usage.time_to_first_token is not None


async def test_parallel_function_calls(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_parallel_function_calls.sse")))
    chat = model(gemini_server, http)
    _, final = split(await collect(chat))
    got = [(c.name, json.loads(c.arguments)) for c in final.tool_calls]
    assert got == [("get_weather", {"city": "Paris"}), ("get_time", {"timezone": "Asia/Tokyo"})]
    first, second = final.tool_calls
    assert first.id != second.id
    assert (first.id.rsplit("_", 1)[0], first.id[-2:], second.id[-2:]) == (second.id.rsplit("_", 1)[0], "_0", "_1")
    assert final.provider_data == {
        "id": "pArAlLeLcAlLs0000000001",
        "tool_call_thought_signatures": {first.id: "c2lnLXdlYXRoZXItMQ=="},
    }
    assert (final.usage.output_tokens, final.usage.reasoning_tokens, final.usage.total_tokens) == (24, 40, 122)
    # ids are deterministic for the same request, and differ for another request (a later turn of the run)
    gemini_server.queue(Reply(body=fixture("stream_parallel_function_calls.sse")))
    _, again = split(await collect(chat))
    assert again.tool_calls == final.tool_calls
    gemini_server.queue(Reply(body=fixture("stream_parallel_function_calls.sse")))
    _, later = split(await collect(chat, [Message(id="m9", role="user", content="again")]))
    assert {c.id for c in later.tool_calls}.isdisjoint(c.id for c in final.tool_calls)


@pytest.mark.parametrize("size", [1, 7, 512])
async def test_any_network_chunking_gives_the_same_result(size: int) -> None:
    body = fixture("stream_usage.sse")

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(body), size):
            yield body[i : i + size]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": SSE}, content=pieces())

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        chat = Gemini(api_key=KEY, base_url="http://127.0.0.1:9/v1beta", http_client=client)
        deltas, final = split(await collect(chat))
    assert (deltas, final.content, final.usage.total_tokens) == (["Cached", " answer."], "Cached answer.", 1242)


async def test_non_streamed_json_body_is_folded_the_same_way(
    gemini_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    gemini_server.queue(Reply(body=fixture("generate_content_text.json"), content_type=JSON))
    deltas, final = split(await collect(model(gemini_server, http)))
    assert deltas == ["The sky is blue because ..."]
    assert final.content == deltas[0]
    assert final.provider_data == {"id": "jy77aN2dK5v_1e8PlvqtsQ8"}
    usage = final.usage
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens, usage.total_tokens) == (7, 149, 48, 204)


async def test_json_array_body_is_folded_as_chunks(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    chunks = [json.loads(line[6:]) for line in fixture("stream_text.sse").decode().splitlines() if line]
    gemini_server.queue(Reply(body=json.dumps(chunks).encode(), content_type=JSON))
    deltas, final = split(await collect(model(gemini_server, http)))
    assert len(deltas) == 3
    assert final.usage.total_tokens == 26


# -- malformed, truncated, blocked and stopped answers ------------------------------------------------------


async def test_truncated_stream_raises_and_never_yields_a_response(
    gemini_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    gemini_server.queue(Reply(body=fixture("stream_truncated.sse")))
    updates, error = await collect_until_error(model(gemini_server, http))
    assert type(error) is UnexpectedModelBehaviorError
    assert "truncated" in str(error)
    assert not error.retriable
    assert [u.text for u in updates if isinstance(u, TextDelta)] == ["The", " sky is blue"]
    assert not any(isinstance(u, ModelResponse) for u in updates)
    assert len(gemini_server.requests) == 1


async def test_empty_stream_has_no_candidate(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=b""))
    updates, error = await collect_until_error(model(gemini_server, http))
    assert type(error) is UnexpectedModelBehaviorError
    assert "no candidate" in str(error)
    assert updates == []


async def test_chunks_without_candidates_are_a_missing_candidate_error(
    gemini_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    gemini_server.queue(Reply(body=b'data: {"usageMetadata": {"promptTokenCount": 3}, "responseId": "r"}\n\n'))
    _, error = await collect_until_error(model(gemini_server, http))
    assert type(error) is UnexpectedModelBehaviorError
    assert "no candidate" in str(error)


async def test_safety_stop_raises_after_the_partial_text(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_safety.sse")))
    updates, error = await collect_until_error(model(gemini_server, http))
    assert type(error) is UnexpectedModelBehaviorError
    assert "finishReason SAFETY" in str(error)
    assert not error.retriable
    assert [u.text for u in updates if isinstance(u, TextDelta)] == ["Here is how"]
    assert len(gemini_server.requests) == 1


async def test_blocked_prompt_raises(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_prompt_blocked.sse")))
    updates, error = await collect_until_error(model(gemini_server, http))
    assert type(error) is UnexpectedModelBehaviorError
    assert "blockReason SAFETY" in str(error)
    assert updates == []


async def test_undecodable_data_line_raises(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=b'data: {"candidates": [\n\n'))
    _, error = await collect_until_error(model(gemini_server, http))
    assert type(error) is UnexpectedModelBehaviorError
    assert '{"candidates": [' in error.body


async def test_error_object_mid_stream(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_error_midstream.sse")))
    updates, error = await collect_until_error(model(gemini_server, http))
    assert type(error) is ModelServerError
    assert (error.retriable, error.status_code) == (True, 500)
    assert "INTERNAL" in str(error)
    assert updates == [TextDelta("The answer", {"id": "eRrOrMiDsTrEaM000000001"})]
    assert len(gemini_server.requests) == 1  # output was already yielded: no retry


async def test_error_envelope_in_a_2xx_body(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("error_429_resource_exhausted.json"), content_type=JSON))
    _, error = await collect_until_error(model(gemini_server, http))
    assert type(error) is ModelRateLimitedError  # the envelope's code decides the class
    gemini_server.queue(Reply(body=b'data: {"error": {"message": "lost", "status": "UNKNOWN"}}\n\n'))
    _, error = await collect_until_error(model(gemini_server, http))
    assert type(error) is ModelServerError
    assert (error.status_code, str(error)) == (200, "Gemini reported an error mid-stream (UNKNOWN): lost")


def accumulator() -> GeminiStreamAccumulator:
    def on_error(payload: Any) -> Exception:
        raise AssertionError(payload)

    return GeminiStreamAccumulator(provider="Google", model_name="m", call_id_seed="seed", on_error=on_error)


def chunk(*parts: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}}
    if finish:
        candidate["finishReason"] = finish
    return json.dumps({"candidates": [candidate], **extra})


def test_parallel_calls_in_separate_chunks_keep_order_and_ids() -> None:
    acc = accumulator()
    acc.feed(chunk({"functionCall": {"name": "a", "args": {"x": 1}}}), 1.0)
    acc.feed(chunk({"functionCall": {"name": "b", "id": "given-1"}}, finish="STOP"), 2.0)
    final = acc.finish(time_to_first_token=0.1, duration=1.0)
    assert [(c.id, c.name, c.arguments) for c in final.tool_calls] == [
        ("call_seed_0", "a", '{"x":1}'),
        ("given-1", "b", "{}"),
    ]
    assert final.provider_data == {"function_call_ids": ["given-1"]}
    assert acc.first_token_at == 1.0


def test_thought_parts_are_not_content_and_text_signatures_are_kept() -> None:
    acc = accumulator()
    assert acc.feed(chunk({"text": "pondering", "thought": True}), 1.0) == []
    assert acc.feed(chunk({"text": "Hi", "thoughtSignature": "c2ln"}, {"text": ""}, finish="STOP"), 2.0) == [
        TextDelta("Hi")
    ]
    final = acc.finish(time_to_first_token=None, duration=1.0)
    assert (final.content, final.provider_data) == ("Hi", {"thought_signature": "c2ln"})
    assert acc.first_token_at == 2.0


@pytest.mark.parametrize("reason", ["RECITATION", "MALFORMED_FUNCTION_CALL", "OTHER", "SOMETHING_NEW"])
def test_finish_reasons_other_than_stop_and_max_tokens_raise(reason: str) -> None:
    with pytest.raises(UnexpectedModelBehaviorError, match=f"finishReason {reason}"):
        accumulator().feed(chunk({"text": "x"}, finish=reason), 1.0)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("[1]", "not a JSON object"),
        ('{"candidates": {}}', "candidates is not a list"),
        ('{"candidates": [{"content": []}]}', "content is not an object"),
        ('{"candidates": [{"content": {"parts": {}}}]}', "parts is not a list"),
        ('{"candidates": [{"content": {"parts": [1]}}]}', "part is not an object"),
        ('{"candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}}]}', "no name"),
        ('{"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": "x"}}]}}]}', "not an object"),
    ],
)
def test_malformed_chunks(data: str, match: str) -> None:
    with pytest.raises(UnexpectedModelBehaviorError, match=match):
        accumulator().feed(data, 1.0)


# -- errors and retries -------------------------------------------------------------------------------------


def error_reply(status: int, name: str, content_type: str = JSON, **headers: str) -> Reply:
    return Reply(status=status, body=fixture(name), content_type=content_type, headers=headers)


async def test_403_is_an_auth_error_naming_the_env_var_and_is_not_retried(
    gemini_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    gemini_server.queue(error_reply(403, "error_403_permission_denied.json"))
    sleep = SleepRecorder()
    _, error = await collect_until_error(model(gemini_server, http, retry_sleep=sleep))
    assert type(error) is ModelAuthError
    assert not error.retriable
    assert "GOOGLE_API_KEY" in str(error)
    assert "PERMISSION_DENIED" in str(error)
    assert KEY not in str(error)
    assert (error.provider, error.model_name) == ("Google", "gemini-2.5-flash")
    assert len(gemini_server.requests) == 1
    assert sleep.waits == []


def test_401_and_an_api_key_invalid_reason_are_auth_errors() -> None:
    labels = {"provider": "Google", "model_name": "m"}
    assert type(error_from_response(401, "", {}, **labels)) is ModelAuthError
    # Shape of google.rpc.ErrorInfo; that Gemini sends it for a bad key is UNCONFIRMED (fixtures README).
    body = json.dumps(
        {
            "error": {
                "code": 400,
                "message": "bad key",
                "status": "INVALID_ARGUMENT",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
            }
        }
    )
    error = error_from_response(400, body, {}, **labels)
    assert type(error) is ModelAuthError
    assert "GOOGLE_API_KEY" in str(error)


async def test_429_is_retried_then_gives_up_as_rate_limited(
    gemini_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    gemini_server.queue(*[error_reply(429, "error_429_resource_exhausted.json") for _ in range(3)])
    sleep = SleepRecorder()
    _, error = await collect_until_error(model(gemini_server, http, retry_sleep=sleep, max_retries=2))
    assert type(error) is ModelRateLimitedError
    assert (error.retriable, error.status_code, error.retry_after) == (True, 429, None)
    assert "RESOURCE_EXHAUSTED" in str(error)
    assert len(sleep.waits) == 2
    assert all(w > 0 for w in sleep.waits)
    assert len(gemini_server.requests) == 3


async def test_429_honours_a_retry_after_header_when_present(
    gemini_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    # Retry-After is not documented for Gemini (UNCONFIRMED); this checks only that we honour one if sent.
    gemini_server.queue(
        error_reply(429, "error_429_resource_exhausted.json", **{"Retry-After": "3"}),
        Reply(body=fixture("stream_text.sse")),
    )
    sleep = SleepRecorder()
    _, final = split(await collect(model(gemini_server, http, retry_sleep=sleep)))
    assert final.content is not None
    assert sleep.waits == [3.0]


def test_retry_info_detail_gives_retry_after_when_no_header() -> None:
    # google.rpc.RetryInfo shape; that Gemini sends it is UNCONFIRMED (fixtures README).
    detail = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7.5s"}
    body = json.dumps({"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED", "details": [detail]}})
    error = error_from_response(429, body, {}, provider="Google", model_name="m")
    assert type(error) is ModelRateLimitedError
    assert error.retry_after == 7.5
    header_wins = error_from_response(429, body, httpx.Headers({"retry-after": "2"}), provider="G", model_name="m")
    assert isinstance(header_wins, ModelRateLimitedError)
    assert header_wins.retry_after == 2.0


@pytest.mark.parametrize("name", ["error_500_internal.json", "error_503_unavailable.json"])
async def test_5xx_is_retried_with_backoff(gemini_server: FixtureServer, http: httpx.AsyncClient, name: str) -> None:
    status = int(name.split("_")[1])
    gemini_server.queue(*[error_reply(status, name) for _ in range(2)], Reply(body=fixture("stream_text.sse")))
    sleep = SleepRecorder()
    _, final = split(await collect(model(gemini_server, http, retry_sleep=sleep)))
    assert final.content is not None
    assert len(sleep.waits) == 2
    assert len(gemini_server.requests) == 3


async def test_5xx_gives_up_with_a_server_error(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(*[error_reply(503, "error_503_unavailable.json") for _ in range(2)])
    _, error = await collect_until_error(model(gemini_server, http, max_retries=1))
    assert type(error) is ModelServerError
    assert (error.retriable, error.status_code) == (True, 503)
    assert "UNAVAILABLE" in str(error)
    assert len(gemini_server.requests) == 2


async def test_context_length_exceeded(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(error_reply(400, "error_400_context_length.json"))
    _, error = await collect_until_error(model(gemini_server, http))
    assert type(error) is ContextLengthExceededError
    assert not error.retriable
    assert "exceeds the maximum number of tokens allowed (131072)" in str(error)
    assert len(gemini_server.requests) == 1


@pytest.mark.parametrize(
    ("status", "name", "content_type", "text"),
    [
        (400, "error_400_invalid_argument.json", JSON, "number of function response parts"),
        (404, "error_404_not_found.json", SSE, "is not found for API version v1beta"),
    ],
)
async def test_other_4xx_is_an_invalid_request(
    gemini_server: FixtureServer, http: httpx.AsyncClient, status: int, name: str, content_type: str, text: str
) -> None:
    gemini_server.queue(error_reply(status, name, content_type))
    _, error = await collect_until_error(model(gemini_server, http))
    assert type(error) is InvalidRequestError
    assert (error.retriable, error.status_code) == (False, status)
    assert text in str(error)
    assert len(gemini_server.requests) == 1


def test_error_body_that_is_not_the_envelope() -> None:
    info = parse_gemini_error("<html>Bad Gateway</html>")
    assert (info.code, info.status, info.message) == (None, None, "<html>Bad Gateway</html>")
    error = error_from_response(502, "<html>Bad Gateway</html>", {}, provider="Google", model_name="m")
    assert type(error) is ModelServerError
    assert type(error_from_response(408, "", {}, provider="Google", model_name="m")) is ModelTimeoutError


async def test_timeouts_are_translated_and_retried() -> None:
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    sleep = SleepRecorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        chat = Gemini(api_key=KEY, base_url="http://127.0.0.1:9/v1beta", http_client=client, retry_sleep=sleep)
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
    chat = Gemini(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1beta", http_client=http, retry_sleep=sleep)
    _, error = await collect_until_error(chat)
    assert type(error) is ModelConnectionError
    assert error.retriable
    assert len(sleep.waits) == 2


# -- configuration, key resolution and the request guard ----------------------------------------------------


async def test_missing_key_is_an_auth_error_naming_google_api_key(
    gemini_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    keys = ProviderKeys(GOOGLE_API_KEY=None, _env_file=None)
    _, error = await collect_until_error(model(gemini_server, http, api_key=None, provider_keys=keys))
    assert type(error) is ModelAuthError
    assert str(error) == "GOOGLE_API_KEY is not set; set it or use the scripted model (adapters.models.scripted)"
    assert gemini_server.requests == []


async def test_key_and_base_url_come_from_provider_settings(
    gemini_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    gemini_server.queue(Reply(body=fixture("stream_text.sse")))
    keys = ProviderKeys(
        GOOGLE_API_KEY="AIza-from-settings", GEMINI_BASE_URL=gemini_server.base_url("/v1beta") + "/", _env_file=None
    )
    await collect(Gemini(http_client=http, provider_keys=keys))
    assert gemini_server.requests[0].headers["x-goog-api-key"] == "AIza-from-settings"
    assert gemini_server.requests[0].path == STREAM_PATH


async def test_owned_client_is_created_and_closed(gemini_server: FixtureServer) -> None:
    gemini_server.queue(Reply(body=fixture("stream_text.sse")))
    async with Gemini(api_key=KEY, base_url=gemini_server.base_url("/v1beta")) as chat:
        _, final = split(await collect(chat))
    assert final.content is not None


def test_identity_and_protocol() -> None:
    chat = Gemini()
    assert isinstance(chat, ModelClient)
    assert (chat.id, chat.provider, chat.name) == ("gemini-2.5-flash", "Google", "Gemini")
    assert Gemini("models/gemini-2.0-flash").id == "gemini-2.0-flash"
    assert repr(chat) == "Gemini(id='gemini-2.5-flash')"


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
        keys = ProviderKeys(GEMINI_BASE_URL=None, _env_file=None)  # the default, real endpoint
        _, error = await collect_until_error(Gemini(api_key=KEY, http_client=client, provider_keys=keys))
    assert type(error) is ModelRequestsBlockedError
    assert "generativelanguage.googleapis.com" in str(error)
    assert sent == []


@pytest.mark.usefixtures("requests_blocked")
async def test_loopback_host_is_allowed_while_blocked(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=fixture("stream_text.sse")))
    _, final = split(await collect(model(gemini_server, http)))
    assert final.content is not None
