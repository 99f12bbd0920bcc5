"""Ollama (native /api/chat, /api/embed) against recorded wire fixtures, replayed by a loopback HTTP server.

Both directions are checked: the request the client sends (path, headers, JSON body: messages, tools,
stream flag, options) and the normalised result (deltas, tool calls, usage), plus error translation,
retries, host resolution and the request guard. Fixture sources: fixtures/providers/ollama/README.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import conftest as loopback
import httpx
import pytest
from conftest import FixtureServer

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
from adapters.models._ollama_stream import NDJSONDecoder
from adapters.models.base import Embedder, ModelClient, ModelResponse, StreamUpdate, TextDelta
from adapters.models.ollama import Ollama, parse_host
from adapters.models.ollama_embedder import OllamaEmbedder
from adapters.settings import ProviderKeys
from engine import ConfigurationError, Message, Tool, ToolCall

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "ollama"
NDJSON = "application/x-ndjson"
JSON = "application/json"
HI = [Message(id="m1", role="user", content="Hi")]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class StaticKeys(ProviderKeys):
    """Provider variables given directly, so no test reads the environment or `.env`."""

    values: dict[str, str] = {}

    def secret(self, env_name: str) -> str | None:
        return self.values.get(env_name) or None


def keys(**values: str) -> StaticKeys:
    return StaticKeys(values=values, _env_file=None)


# -- a loopback HTTP/1.1 server that replays queued replies -------------------------------------------------


@dataclass
class Reply(loopback.Reply):
    content_type: str = NDJSON  # Ollama streams NDJSON


@pytest.fixture
async def ollama_server() -> AsyncIterator[FixtureServer]:
    async with FixtureServer(chunk_bytes=61) as s:
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


def model(server: FixtureServer, http: httpx.AsyncClient, **kwargs: Any) -> Ollama:
    kwargs.setdefault("retry_sleep", SleepRecorder())
    kwargs.setdefault("provider_keys", keys())
    return Ollama(host=server.root, http_client=http, **kwargs)


def mock_client(
    body: bytes, sent: list[httpx.Request], *, content_type: str = NDJSON, size: int = 0
) -> httpx.AsyncClient:
    """A client whose transport records requests and answers 200 with `body` in `size`-byte pieces."""

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(body), size or len(body) or 1):
            yield body[i : i + (size or len(body))]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, headers={"content-type": content_type}, content=pieces())

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def collect(
    client: ModelClient, messages: Sequence[Message] = HI, tools: Sequence[Tool] = ()
) -> list[StreamUpdate]:
    return [update async for update in client.stream(messages, tools)]


async def collect_until_error(client: ModelClient) -> tuple[list[StreamUpdate], BaseException]:
    updates: list[StreamUpdate] = []
    try:
        async for update in client.stream(HI, []):
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


async def test_request_path_headers_and_body(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(Reply(body=fixture("stream_text.ndjson")))
    weather = Tool.from_callable(get_weather)
    calls = (
        ToolCall(id="call_k3x9q2ab", name="get_weather", arguments='{"city": "Paris"}'),
        ToolCall(id="call_bad", name="get_weather", arguments='{"city": '),
    )
    messages = [
        Message(id="m0", role="system", content="Be brief."),
        Message(id="m1", role="user", content="Weather in Paris?"),
        Message(id="m2", role="assistant", tool_calls=calls),
        Message(id="m3", role="tool", content="sunny", tool_call_id="call_k3x9q2ab", tool_name="get_weather"),
        Message(id="m4", role="tool", content="invalid JSON", tool_call_id="call_bad", tool_name="get_weather"),
        Message(id="m5", role="assistant", content="It is sunny."),
        Message(id="m6", role="user", content="Thanks"),
    ]
    chat = model(
        ollama_server,
        http,
        id="qwen3:8b",
        temperature=0.2,
        max_tokens=50,
        options={"num_ctx": 8192, "temperature": 0.9},
        keep_alive="10m",
        extra_headers={"X-Trace": "t1"},
    )
    await collect(chat, messages, [weather])

    (seen,) = ollama_server.requests
    assert (seen.method, seen.path) == ("POST", "/api/chat")
    assert seen.headers["content-type"] == JSON
    assert seen.headers["x-trace"] == "t1"
    assert "authorization" not in seen.headers
    assert seen.json() == {
        "model": "qwen3:8b",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": "call_k3x9q2ab", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                    {"id": "call_bad", "function": {"name": "get_weather", "arguments": {}}},
                ],
            },
            {"role": "tool", "content": "sunny", "tool_name": "get_weather", "tool_call_id": "call_k3x9q2ab"},
            {"role": "tool", "content": "invalid JSON", "tool_name": "get_weather", "tool_call_id": "call_bad"},
            {"role": "assistant", "content": "It is sunny."},
            {"role": "user", "content": "Thanks"},
        ],
        "stream": True,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Get the weather.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "city": {"type": "string", "description": "City name."},
                            "units": {"type": "string", "description": "c or f."},
                        },
                        "required": ["city"],
                    },
                },
            }
        ],
        "options": {"num_ctx": 8192, "temperature": 0.2, "num_predict": 50},
        "keep_alive": "10m",
    }


async def test_optional_fields_are_omitted(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(Reply(body=fixture("stream_text.ndjson")))
    await collect(model(ollama_server, http))
    body = ollama_server.requests[0].json()
    assert body == {"model": "llama3.1", "messages": [{"role": "user", "content": "Hi"}], "stream": True}


async def test_strict_tools_are_sent_without_the_openai_only_flag(
    ollama_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    ollama_server.queue(Reply(body=fixture("stream_text.ndjson")))
    strict = Tool(name="noop", description="No-op.", strict=True)
    await collect(model(ollama_server, http), HI, [strict])
    assert ollama_server.requests[0].json()["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "noop",
                "description": "No-op.",
                "parameters": {"type": "object", "properties": {}, "required": []},
            },
        }
    ]


# -- the normalised result ----------------------------------------------------------------------------------


async def test_streamed_text(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(Reply(body=fixture("stream_text.ndjson")))
    deltas, final = split(await collect(model(ollama_server, http)))
    assert deltas == ["The", " sky", " is", " blue."]
    assert final.content == "The sky is blue."
    assert final.tool_calls == ()
    assert final.provider_data is None
    usage = final.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (26, 282, 308)
    assert (usage.reasoning_tokens, usage.cache_read_tokens) == (0, 0)
    assert isinstance(usage.time_to_first_token, float)
    assert usage.time_to_first_token > 0
    assert isinstance(usage.duration, float)
    assert usage.duration >= usage.time_to_first_token
    assert usage.duration < 60  # seconds measured here, not Ollama's nanosecond total_duration


async def test_non_streamed_json_body(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(Reply(body=fixture("chat_text.json"), content_type=JSON))
    deltas, final = split(await collect(model(ollama_server, http)))
    assert deltas == ["Hello! How are you today?"]
    assert final.content == deltas[0]
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens) == (26, 298, 324)


async def test_tool_call_without_id_gets_a_deterministic_id(
    ollama_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    ollama_server.queue(*[Reply(body=fixture("stream_tool_call.ndjson")) for _ in range(3)])
    chat = model(ollama_server, http)
    _, first = split(await collect(chat))
    _, again = split(await collect(chat))
    _, other = split(await collect(chat, [*HI, Message(id="m2", role="user", content="Tokyo?")]))

    (call,) = first.tool_calls
    assert (call.name, call.arguments) == ("get_weather", '{"city": "Tokyo"}')  # agno's json.dumps text
    assert call.id.startswith("call_")
    assert len(call.id) == len("call_") + 24
    assert again.tool_calls[0].id == call.id  # same request, same id
    assert other.tool_calls[0].id != call.id  # another turn, another id
    assert first.content is None
    assert (first.usage.input_tokens, first.usage.output_tokens, first.usage.total_tokens) == (169, 15, 184)
    assert first.usage.time_to_first_token is not None


PARALLEL_CALLS = [
    ("call_k3x9q2ab", "get_weather", {"city": "Paris"}),
    ("call_p7m4z8cd", "get_time", {"timezone": "Asia/Tokyo"}),
]


def assert_parallel(final: ModelResponse) -> None:
    assert [(c.id, c.name, json.loads(c.arguments)) for c in final.tool_calls] == PARALLEL_CALLS
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens) == (210, 38, 248)
    assert final.content is None


async def test_parallel_tool_calls_in_one_line(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(Reply(body=fixture("stream_parallel_tool_calls.ndjson")))
    deltas, final = split(await collect(model(ollama_server, http)))
    assert deltas == []
    assert_parallel(final)


async def test_parallel_tool_calls_on_separate_lines() -> None:
    first, done = fixture("stream_parallel_tool_calls.ndjson").splitlines()
    line = json.loads(first)
    calls = line["message"].pop("tool_calls")
    body = b"".join(
        json.dumps({**line, "message": {**line["message"], "tool_calls": [call]}}).encode() + b"\n" for call in calls
    )
    sent: list[httpx.Request] = []
    async with mock_client(body + done + b"\n", sent) as client:
        _, final = split(await collect(Ollama(host="127.0.0.1:9", http_client=client, provider_keys=keys())))
    assert_parallel(final)


@pytest.mark.parametrize("size", [1, 7, 512])
async def test_any_network_chunking_gives_the_same_result(size: int) -> None:
    sent: list[httpx.Request] = []
    async with mock_client(fixture("stream_parallel_tool_calls.ndjson"), sent, size=size) as client:
        _, final = split(await collect(Ollama(host="127.0.0.1:9", http_client=client, provider_keys=keys())))
    assert_parallel(final)


async def test_last_line_without_a_line_break_is_read() -> None:
    sent: list[httpx.Request] = []
    async with mock_client(fixture("stream_text.ndjson").rstrip(b"\n"), sent, size=5) as client:
        deltas, final = split(await collect(Ollama(host="127.0.0.1:9", http_client=client, provider_keys=keys())))
    assert final.content == "".join(deltas) == "The sky is blue."


def test_ndjson_decoder_splits_lines_across_chunks() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a":') == []
    assert decoder.feed(b'1}\r\n\n{"b"') == [b'{"a":1}']
    assert decoder.feed(b":2}\n") == [b'{"b":2}']
    assert decoder.feed(b"  ") == []
    assert decoder.flush() is None
    decoder.feed(b'{"c":3}')
    assert decoder.flush() == b'{"c":3}'


# -- malformed and truncated answers ------------------------------------------------------------------------


async def test_truncated_stream_raises_and_never_yields_a_response(
    ollama_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    ollama_server.queue(Reply(body=fixture("stream_truncated.ndjson")))
    updates, error = await collect_until_error(model(ollama_server, http))
    assert type(error) is UnexpectedModelBehaviorError
    assert "truncated" in str(error)
    assert not error.retriable
    assert updates == [TextDelta("The"), TextDelta(" sky"), TextDelta(" is")]
    assert len(ollama_server.requests) == 1


async def test_empty_body_is_truncated(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(Reply(body=b""))
    updates, error = await collect_until_error(model(ollama_server, http))
    assert type(error) is UnexpectedModelBehaviorError
    assert updates == []


@pytest.mark.parametrize(
    ("line", "what"),
    [
        (b'{"model":"llama3.2","message":{"content":"The"', "not JSON"),
        (b'["not", "an", "object"]', "not a JSON object"),
        (b'{"message": "text"}', "message is not an object"),
        (b'{"message": {"tool_calls": {"function": {}}}}', "not a list"),
        (b'{"message": {"tool_calls": [{"function": {"arguments": {}}}]}}', "function name"),
        (b'{"message": {"tool_calls": [{"function": {"name": "f", "arguments": [1]}}]}}', "not an object"),
    ],
)
async def test_malformed_lines_raise(line: bytes, what: str) -> None:
    sent: list[httpx.Request] = []
    async with mock_client(line + b"\n" + fixture("stream_text.ndjson"), sent) as client:
        updates, error = await collect_until_error(Ollama(host="127.0.0.1:9", http_client=client, provider_keys=keys()))
    assert type(error) is UnexpectedModelBehaviorError
    assert what in str(error)
    assert line.decode() in error.body
    assert updates == []


async def test_error_line_mid_stream_is_a_server_error_and_not_retried(
    ollama_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    ollama_server.queue(Reply(body=fixture("stream_error_midstream.ndjson")))
    updates, error = await collect_until_error(model(ollama_server, http))
    assert type(error) is ModelServerError
    assert error.retriable
    assert "an error was encountered while running the model" in str(error)
    assert updates == [TextDelta("The")]
    assert len(ollama_server.requests) == 1  # output was already yielded: no retry


async def test_context_overflow_line_mid_stream() -> None:
    sent: list[httpx.Request] = []
    async with mock_client(fixture("error_400_context_length.json"), sent) as client:
        _, error = await collect_until_error(Ollama(host="127.0.0.1:9", http_client=client, provider_keys=keys()))
    assert type(error) is ContextLengthExceededError
    assert not error.retriable


# -- errors and retries -------------------------------------------------------------------------------------


def error_reply(status: int, name: str, **headers: str) -> Reply:
    return Reply(status=status, body=fixture(name), content_type=JSON, headers=headers)


async def test_404_names_the_model_and_hints_ollama_pull(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(error_reply(404, "error_404_model_not_found.json"))
    sleep = SleepRecorder()
    _, error = await collect_until_error(model(ollama_server, http, retry_sleep=sleep))
    assert type(error) is InvalidRequestError
    assert (error.retriable, error.status_code) == (False, 404)
    assert "'llama3.1'" in str(error)
    assert "`ollama pull llama3.1`" in str(error)
    assert 'model "llama3.1" not found, try pulling it first' in str(error)
    assert ollama_server.root in str(error)
    assert (error.provider, error.model_name) == ("Ollama", "llama3.1")
    assert (len(ollama_server.requests), sleep.waits) == (1, [])


async def test_400_context_length(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(error_reply(400, "error_400_context_length.json"))
    _, error = await collect_until_error(model(ollama_server, http))
    assert type(error) is ContextLengthExceededError
    assert (error.retriable, error.status_code) == (False, 400)
    assert "the input length exceeds the context length" in str(error)
    assert len(ollama_server.requests) == 1


async def test_other_4xx_is_an_invalid_request(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(Reply(status=400, body=b'{"error":"invalid options"}', content_type=JSON))
    _, error = await collect_until_error(model(ollama_server, http))
    assert type(error) is InvalidRequestError
    assert "invalid options" in str(error)
    assert "ollama pull" not in str(error)


async def test_401_is_an_auth_error_naming_the_env_var(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(error_reply(401, "error_401_unauthorized.json"))
    _, error = await collect_until_error(model(ollama_server, http, api_key="secret-key"))
    assert type(error) is ModelAuthError
    assert not error.retriable
    assert "OLLAMA_API_KEY" in str(error)
    assert "secret-key" not in str(error)
    assert ollama_server.requests[0].headers["authorization"] == "Bearer secret-key"
    assert len(ollama_server.requests) == 1


async def test_5xx_is_retried_with_backoff(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(
        *[error_reply(500, "error_500_server_error.json") for _ in range(2)], Reply(body=fixture("stream_text.ndjson"))
    )
    sleep = SleepRecorder()
    _, final = split(await collect(model(ollama_server, http, retry_sleep=sleep)))
    assert final.content == "The sky is blue."
    assert len(sleep.waits) == 2
    assert all(w > 0 for w in sleep.waits)
    assert len(ollama_server.requests) == 3


async def test_5xx_gives_up_with_a_server_error(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(*[error_reply(502, "error_500_server_error.json") for _ in range(2)])
    _, error = await collect_until_error(model(ollama_server, http, max_retries=1))
    assert type(error) is ModelServerError
    assert (error.retriable, error.status_code) == (True, 502)
    assert "llama runner process has terminated" in str(error)
    assert len(ollama_server.requests) == 2


async def test_429_is_retried(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(
        error_reply(429, "error_429_rate_limit.json", **{"Retry-After": "2"}),
        error_reply(429, "error_429_rate_limit.json"),
        error_reply(429, "error_429_rate_limit.json"),
    )
    sleep = SleepRecorder()
    _, error = await collect_until_error(model(ollama_server, http, retry_sleep=sleep))
    assert type(error) is ModelRateLimitedError
    assert error.retriable
    assert "too many concurrent requests" in str(error)
    assert sleep.waits[0] == 2.0  # a Retry-After, if a server sends one, is honoured
    assert len(sleep.waits) == 2
    assert len(ollama_server.requests) == 3


async def test_connection_refused_hints_at_starting_ollama(http: httpx.AsyncClient) -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    sleep = SleepRecorder()
    chat = Ollama(host=f"127.0.0.1:{port}", http_client=http, provider_keys=keys(), retry_sleep=sleep)
    _, error = await collect_until_error(chat)
    assert type(error) is ModelConnectionError
    assert error.retriable
    assert f"http://127.0.0.1:{port}" in str(error)
    assert "ollama serve" in str(error)
    assert "OLLAMA_HOST" in str(error)
    assert len(sleep.waits) == 2


async def test_timeouts_are_translated_and_retried() -> None:
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    sleep = SleepRecorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        chat = Ollama(host="127.0.0.1:9", http_client=client, provider_keys=keys(), retry_sleep=sleep, timeout=3)
        _, error = await collect_until_error(chat)
    assert type(error) is ModelTimeoutError
    assert isinstance(error.__cause__, httpx.ReadTimeout)
    assert (len(attempts), len(sleep.waits)) == (3, 2)
    assert attempts[0].extensions["timeout"]["read"] == 3


# -- host, key and the request guard ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "http://localhost:11434"),
        ("127.0.0.1", "http://127.0.0.1:11434"),
        (":56789", "http://localhost:56789"),
        ("1.2.3.4:56789", "http://1.2.3.4:56789"),
        ("0.0.0.0", "http://0.0.0.0:11434"),
        ("http://example.com", "http://example.com:80"),
        ("https://example.com", "https://example.com:443"),
        ("HTTPS://example.com:56789/path/", "https://example.com:56789/path"),
        ("example.com:56789/path", "http://example.com:56789/path"),
        ("[::1]", "http://[::1]:11434"),
        ("[::1]:56789", "http://[::1]:56789"),
        ("  localhost:11434 ", "http://localhost:11434"),
    ],
)
def test_parse_host(value: str, expected: str) -> None:
    assert parse_host(value) == expected


@pytest.mark.parametrize("value", ["ftp://example.com", "localhost:notaport", "localhost:99999"])
def test_parse_host_rejects(value: str) -> None:
    with pytest.raises(ConfigurationError, match="Ollama host"):
        parse_host(value)


@pytest.fixture
def requests_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_guard, "ALLOW_MODEL_REQUESTS", False)


@pytest.mark.usefixtures("requests_blocked")
async def test_default_host_is_local_and_allowed_by_the_guard() -> None:
    sent: list[httpx.Request] = []
    async with mock_client(fixture("stream_text.ndjson"), sent) as client:
        _, final = split(await collect(Ollama(http_client=client, provider_keys=keys())))
    assert str(sent[0].url) == "http://localhost:11434/api/chat"
    assert "authorization" not in sent[0].headers
    assert final.content == "The sky is blue."


async def test_host_and_key_come_from_provider_settings(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(Reply(body=fixture("stream_text.ndjson")))
    port = ollama_server.root.rsplit(":", 1)[1]
    chat = Ollama(http_client=http, provider_keys=keys(OLLAMA_HOST=f"127.0.0.1:{port}", OLLAMA_API_KEY="k-1"))
    await collect(chat)
    assert ollama_server.requests[0].path == "/api/chat"
    assert ollama_server.requests[0].headers["authorization"] == "Bearer k-1"


async def test_ollama_variables_of_the_real_settings_are_read(
    ollama_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    ollama_server.queue(Reply(body=fixture("stream_text.ndjson")))
    settings = ProviderKeys(OLLAMA_HOST=ollama_server.root, OLLAMA_API_KEY="k-2", _env_file=None)
    await collect(Ollama(http_client=http, provider_keys=settings))
    assert ollama_server.requests[0].headers["authorization"] == "Bearer k-2"


@pytest.mark.usefixtures("requests_blocked")
async def test_key_without_host_means_ollama_cloud_which_is_blocked_in_tests() -> None:
    sent: list[httpx.Request] = []
    async with mock_client(b"", sent) as client:
        _, error = await collect_until_error(Ollama(api_key="k-1", http_client=client, provider_keys=keys()))
    assert type(error) is ModelRequestsBlockedError
    assert "ollama.com" in str(error)
    assert sent == []


@pytest.mark.usefixtures("requests_blocked")
async def test_non_loopback_host_is_blocked() -> None:
    sent: list[httpx.Request] = []
    async with mock_client(b"", sent) as client:
        _, error = await collect_until_error(Ollama(host="10.0.0.5", http_client=client, provider_keys=keys()))
    assert type(error) is ModelRequestsBlockedError
    assert "10.0.0.5" in str(error)
    assert sent == []


@pytest.mark.usefixtures("requests_blocked")
async def test_loopback_fixture_server_is_allowed_while_blocked(
    ollama_server: FixtureServer, http: httpx.AsyncClient
) -> None:
    ollama_server.queue(Reply(body=fixture("stream_text.ndjson")))
    _, final = split(await collect(model(ollama_server, http)))
    assert final.content is not None


async def test_invalid_host_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        await collect(Ollama(host="ftp://x", provider_keys=keys()))
    with pytest.raises(ConfigurationError):
        Ollama(max_retries=-1)


async def test_owned_client_is_created_and_closed(ollama_server: FixtureServer) -> None:
    ollama_server.queue(Reply(body=fixture("stream_text.ndjson")))
    async with Ollama(host=ollama_server.root, provider_keys=keys()) as chat:
        _, final = split(await collect(chat))
    assert final.content is not None
    assert chat._owned_client is None


def test_identity_and_protocols() -> None:
    chat = Ollama()
    assert isinstance(chat, ModelClient)
    assert (chat.id, chat.provider, chat.name) == ("llama3.1", "Ollama", "Ollama")
    assert repr(Ollama("qwen3:8b")) == "Ollama(id='qwen3:8b')"
    embedder = OllamaEmbedder()
    assert isinstance(embedder, Embedder)
    assert (embedder.id, embedder.provider) == ("openhermes", "Ollama")


# -- embeddings ---------------------------------------------------------------------------------------------


def embedder(server: FixtureServer, http: httpx.AsyncClient, **kwargs: Any) -> OllamaEmbedder:
    kwargs.setdefault("retry_sleep", SleepRecorder())
    kwargs.setdefault("provider_keys", keys())
    return OllamaEmbedder(host=server.root, http_client=http, **kwargs)


async def test_embed_request_and_result(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(Reply(body=fixture("embed.json"), content_type=JSON))
    result = await embedder(ollama_server, http, id="all-minilm", dimensions=5, truncate=False).embed(
        ["Why is the sky blue?", "Why is the grass green?"]
    )
    (seen,) = ollama_server.requests
    assert (seen.method, seen.path) == ("POST", "/api/embed")
    assert seen.json() == {
        "model": "all-minilm",
        "input": ["Why is the sky blue?", "Why is the grass green?"],
        "dimensions": 5,
        "truncate": False,
    }
    assert len(result.vectors) == 2
    assert result.vectors[0][:2] == [0.010071029, -0.0017594862]
    assert all(len(v) == 5 and all(isinstance(x, float) for x in v) for v in result.vectors)
    assert result.input_tokens == 8


async def test_embed_defaults(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    body = json.loads(fixture("embed.json"))
    body["embeddings"] = body["embeddings"][:1]
    ollama_server.queue(Reply(body=json.dumps(body).encode(), content_type=JSON))
    await embedder(ollama_server, http, options={"num_ctx": 512}, keep_alive=0).embed(["one"])
    assert ollama_server.requests[0].json() == {
        "model": "openhermes",
        "input": ["one"],
        "options": {"num_ctx": 512},
        "keep_alive": 0,
    }


async def test_embed_nothing_sends_nothing(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    result = await embedder(ollama_server, http).embed([])
    assert (result.vectors, result.input_tokens) == ([], 0)
    assert ollama_server.requests == []


async def test_embed_missing_model(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(error_reply(404, "error_404_model_not_found.json"))
    with pytest.raises(InvalidRequestError, match="ollama pull nomic-embed-text"):
        await embedder(ollama_server, http, id="nomic-embed-text").embed(["x"])


async def test_embed_5xx_is_retried(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(
        error_reply(500, "error_500_server_error.json"), Reply(body=fixture("embed.json"), content_type=JSON)
    )
    result = await embedder(ollama_server, http).embed(["a", "b"])
    assert len(result.vectors) == 2
    assert len(ollama_server.requests) == 2


@pytest.mark.parametrize(
    "body",
    [
        b'{"model":"m","embeddings":[[0.1, 0.2]]}',
        b'{"model":"m","embeddings":[[0.1], ["x"]]}',
        b'{"model":"m"}',
        b"not json",
    ],
)
async def test_embed_malformed_answer(ollama_server: FixtureServer, http: httpx.AsyncClient, body: bytes) -> None:
    ollama_server.queue(Reply(body=body, content_type=JSON))
    with pytest.raises(UnexpectedModelBehaviorError):
        await embedder(ollama_server, http).embed(["a", "b"])


async def test_embed_error_object_under_200(ollama_server: FixtureServer, http: httpx.AsyncClient) -> None:
    ollama_server.queue(Reply(body=fixture("error_400_context_length.json"), content_type=JSON))
    with pytest.raises(ContextLengthExceededError):
        await embedder(ollama_server, http).embed(["a"])
