"""Shared pieces of the provider contract tests: a loopback fixture server and two reusable test classes.

`FixtureServer` replays queued replies over real HTTP/1.1 on 127.0.0.1 and records every request.
`ChatContract` and `EmbedderContract` are base classes (not collected here): a provider's test module
subclasses them with its class, fixture directory and expected values, and inherits the checks every
OpenAI-compatible provider must pass, in both directions (the request we send, the normalised result).
Provider-specific quirks are tested in the provider's own module. Test modules import from here with
`from conftest import ...` (pytest puts this directory on `sys.path`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from adapters.errors import ModelAuthError, ModelRequestsBlockedError
from adapters.models import _guard
from adapters.models.base import Embedder, ModelClient, ModelResponse, StreamUpdate, TextDelta
from adapters.models.openai import OpenAILike
from adapters.models.openai_embedder import OpenAILikeEmbedder
from adapters.settings import ProviderKeys
from engine import Message, Tool, ToolCall

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers"
SSE = "text/event-stream"
JSON = "application/json"
NDJSON = "application/x-ndjson"
STREAMED = frozenset({SSE, NDJSON})
KEY = "sk-test-0123456789"


def load(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


# -- the loopback server ------------------------------------------------------------------------------------


StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
"""Serves one raw connection of `loopback`."""


@contextlib.asynccontextmanager
async def loopback(handler: StreamHandler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """Serve `handler` per connection on a free 127.0.0.1 port (yielded); on exit, end every connection it holds.

    For tests that write raw HTTP/1.1 bytes (stalls, broken framing, keep-alive counts); `FixtureServer`
    below replays queued replies.
    """
    tasks: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except asyncio.CancelledError:
            pass  # ended at exit: a cancelled task here makes 3.11's start_server log an error
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = SSE
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FixtureServer:
    """Answers each request with the next queued `Reply` (then closes the connection) and records it.

    Streamed replies (SSE, NDJSON) are sent close-delimited (no Content-Length) in `chunk_bytes`-sized
    writes, so events straddle reads; other replies carry a Content-Length.
    """

    def __init__(self, *, chunk_bytes: int = 97) -> None:
        self.chunk_bytes = chunk_bytes
        self.replies: deque[Reply] = deque()
        self.requests: list[Seen] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    @property
    def root(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def base_url(self, prefix: str = "/v1") -> str:
        return self.root + prefix

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def __aenter__(self) -> FixtureServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Seen(method, path, headers, body))
            reply = self.replies.popleft()
            extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
            length = "" if reply.content_type in STREAMED else f"Content-Length: {len(reply.body)}\r\n"
            writer.write(
                f"HTTP/1.1 {reply.status} X\r\nContent-Type: {reply.content_type}\r\n{length}{extra}"
                "Connection: close\r\n\r\n".encode()
            )
            for i in range(0, len(reply.body), self.chunk_bytes):
                writer.write(reply.body[i : i + self.chunk_bytes])
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._handlers.discard(task)


@pytest.fixture
async def fixture_server() -> AsyncIterator[FixtureServer]:
    async with FixtureServer() as server:
        yield server


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture
def requests_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_guard, "ALLOW_MODEL_REQUESTS", False)


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


# -- helpers ------------------------------------------------------------------------------------------------


def get_weather(city: str, units: str = "c") -> str:
    """Get the weather.

    Args:
        city: City name.
        units: c or f.
    """
    return "sunny"


def get_time(timezone: str) -> str:
    """Get the local time.

    Args:
        timezone: IANA timezone name.
    """
    return "12:00"


HI = [Message(id="m1", role="user", content="Hi")]

CONVERSATION = [
    Message(id="m0", role="system", content="Be brief."),
    Message(id="m1", role="user", content="Weather in Paris?"),
    Message(
        id="m2",
        role="assistant",
        tool_calls=(ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}'),),
    ),
    Message(id="m3", role="tool", content="sunny", tool_call_id="call_1", tool_name="get_weather"),
    Message(id="m4", role="user", content="Thanks"),
]
"""A conversation exercising every role, including an assistant turn that only calls a tool."""


async def collect(
    client: ModelClient, messages: Sequence[Message] = HI, tools: Sequence[Tool] = ()
) -> list[StreamUpdate]:
    return [update async for update in client.stream(messages, tools)]


async def collect_until_error(client: ModelClient) -> tuple[list[StreamUpdate], BaseException]:
    """Drain the stream; return what was yielded before it raised, and the error (failing if it did not)."""
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


def tokens(response: ModelResponse) -> tuple[int, int, int]:
    return response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens


# -- the chat contract --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """An expected assembled tool call."""

    id: str
    name: str
    arguments: dict[str, Any]

    def matches(self, call: ToolCall) -> bool:
        return (call.id, call.name, json.loads(call.arguments)) == (self.id, self.name, self.arguments)


@dataclass(frozen=True)
class ErrorCase:
    """One documented (or assumed) error body and what it must become."""

    fixture: str
    status: int
    error_class: type[Exception]
    message: str
    """A substring of the provider's message that the error must quote."""
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float | None = None
    """Seconds every retry must wait (from the headers); None means backoff (any positive wait)."""
    content_type: str = JSON

    @property
    def retriable(self) -> bool:
        return bool(getattr(self.error_class, "retriable", False))

    def reply(self, provider: str) -> Reply:
        return Reply(self.status, load(provider, self.fixture), self.content_type, dict(self.headers))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize `error_case` with the test class's own `error_cases`."""
    if "error_case" in metafunc.fixturenames and metafunc.cls is not None:
        cases = metafunc.cls.error_cases
        metafunc.parametrize("error_case", cases, ids=[case.fixture for case in cases])


class ChatContract:
    """What every OpenAI-compatible chat provider must do; subclasses fill in the class attributes."""

    model_class: ClassVar[type[OpenAILike]]
    fixtures: ClassVar[str]
    """Directory under fixtures/providers/."""
    path_prefix: ClassVar[str] = "/v1"
    """Path of the provider's API root (the part of the default base URL after the host)."""
    text_deltas: ClassVar[list[str]]
    text_usage: ClassVar[tuple[int, int, int]]
    response_id: ClassVar[str]
    completion_text: ClassVar[str]
    completion_usage: ClassVar[tuple[int, int, int]]
    tool_call: ClassVar[Call]
    parallel_calls: ClassVar[tuple[Call, Call]]
    error_cases: ClassVar[list[ErrorCase]]

    @pytest.fixture(params=["httpx", "aiohttp"])
    async def http_client(self, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient | None]:
        """Every check runs twice: through an injected httpx client, and through the client's own aiohttp
        session (what a provider built without `http_client` streams with: `adapters.models._aiohttp`)."""
        self.opened: list[OpenAILike] = []
        if request.param == "httpx":
            async with httpx.AsyncClient(trust_env=False) as client:
                yield client
        else:
            yield None
        for model in self.opened:
            await model.aclose()

    def model(self, server: FixtureServer, http: httpx.AsyncClient | None, **kwargs: Any) -> OpenAILike:
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("retry_sleep", SleepRecorder())
        model = self.model_class(base_url=server.base_url(self.path_prefix), http_client=http, **kwargs)
        self.opened.append(model)
        return model

    def reply(self, name: str, content_type: str = SSE) -> Reply:
        return Reply(body=load(self.fixtures, name), content_type=content_type)

    # -- the request we send

    async def test_request_path_auth_tools_and_common_body(
        self, fixture_server: FixtureServer, http_client: httpx.AsyncClient
    ) -> None:
        fixture_server.queue(self.reply("stream_text.sse"))
        tools = [Tool.from_callable(get_weather), Tool.from_callable(get_time)]
        await collect(self.model(fixture_server, http_client, max_tokens=64), CONVERSATION, tools)
        (seen,) = fixture_server.requests
        assert (seen.method, seen.path) == ("POST", f"{self.path_prefix}/chat/completions")
        assert seen.headers["authorization"] == f"Bearer {KEY}"
        assert seen.headers["content-type"] == JSON
        body = seen.json()
        assert body["model"] == self.model_class.default_id
        assert body["stream"] is True
        assert ("stream_options" in body) is self.model_class.sends_stream_options
        # sorted by name, as agno's Model._format_tools sends them (tests/parity/)
        assert body["tools"] == [tool.to_openai() for tool in sorted(tools, key=lambda t: t.name)]
        assert body["tools"][1]["function"]["parameters"]["required"] == ["city"]
        assert body[self.model_class.max_tokens_param] == 64
        assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool", "user"]
        assert body["messages"][2]["tool_calls"] == [CONVERSATION[2].tool_calls[0].to_dict()]
        assert body["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}

    # -- the normalised result

    async def test_streamed_text_and_usage(self, fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
        fixture_server.queue(self.reply("stream_text.sse"))
        deltas, final = split(await collect(self.model(fixture_server, http_client)))
        assert deltas == self.text_deltas
        assert final.content == "".join(self.text_deltas)
        assert final.tool_calls == ()
        assert tokens(final) == self.text_usage
        assert final.provider_data == {"id": self.response_id}
        assert final.usage.time_to_first_token is not None
        assert final.usage.duration is not None

    async def test_non_streamed_completion(self, fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
        fixture_server.queue(self.reply("completion_text.json", JSON))
        deltas, final = split(await collect(self.model(fixture_server, http_client)))
        assert deltas == [self.completion_text]
        assert final.content == self.completion_text
        assert tokens(final) == self.completion_usage

    async def test_tool_call(self, fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
        fixture_server.queue(self.reply("stream_tool_call.sse"))
        deltas, final = split(
            await collect(self.model(fixture_server, http_client), HI, [Tool.from_callable(get_weather)])
        )
        assert deltas == []
        assert final.content is None
        assert len(final.tool_calls) == 1
        assert self.tool_call.matches(final.tool_calls[0]), final.tool_calls

    async def test_parallel_tool_calls_with_split_arguments(
        self, fixture_server: FixtureServer, http_client: httpx.AsyncClient
    ) -> None:
        fixture_server.queue(self.reply("stream_parallel_tool_calls.sse"))
        tools = [Tool.from_callable(get_weather), Tool.from_callable(get_time)]
        _, final = split(await collect(self.model(fixture_server, http_client), HI, tools))
        assert len(final.tool_calls) == 2
        for expected, call in zip(self.parallel_calls, final.tool_calls, strict=True):
            assert expected.matches(call), final.tool_calls

    # -- errors

    async def test_error_body(
        self, error_case: ErrorCase, fixture_server: FixtureServer, http_client: httpx.AsyncClient
    ) -> None:
        attempts = 2 if error_case.retriable else 1
        fixture_server.queue(*[error_case.reply(self.fixtures) for _ in range(attempts)])
        sleep = SleepRecorder()
        _, error = await collect_until_error(self.model(fixture_server, http_client, max_retries=1, retry_sleep=sleep))
        assert type(error) is error_case.error_class, error
        assert bool(getattr(error, "retriable", False)) is error_case.retriable
        assert error_case.message in str(error)
        assert KEY not in str(error)
        assert len(fixture_server.requests) == attempts
        if error_case.retriable:
            assert len(sleep.waits) == 1
            if error_case.retry_after is None:
                assert sleep.waits[0] > 0
            else:
                assert sleep.waits == [error_case.retry_after]
        else:
            assert sleep.waits == []
        if isinstance(error, ModelAuthError):
            assert str(self.model_class.api_key_env) in str(error)
        else:
            assert getattr(error, "status_code", error_case.status) == error_case.status

    async def test_retriable_error_then_success(
        self, fixture_server: FixtureServer, http_client: httpx.AsyncClient
    ) -> None:
        case = next(case for case in self.error_cases if case.retriable)
        fixture_server.queue(case.reply(self.fixtures), self.reply("stream_text.sse"))
        _, final = split(await collect(self.model(fixture_server, http_client)))
        assert final.content == "".join(self.text_deltas)
        assert len(fixture_server.requests) == 2

    # -- configuration

    async def test_missing_key_names_the_env_var(
        self, fixture_server: FixtureServer, http_client: httpx.AsyncClient
    ) -> None:
        keys = ProviderKeys(_env_file=None, **{str(self.model_class.api_key_env): None})
        _, error = await collect_until_error(self.model(fixture_server, http_client, api_key=None, provider_keys=keys))
        assert type(error) is ModelAuthError
        assert str(error).startswith(f"{self.model_class.api_key_env} is not set")
        assert fixture_server.requests == []

    async def test_key_and_base_url_come_from_settings(
        self, fixture_server: FixtureServer, http_client: httpx.AsyncClient
    ) -> None:
        fixture_server.queue(self.reply("stream_text.sse"))
        env = {
            str(self.model_class.api_key_env): "sk-from-settings",
            str(self.model_class.base_url_env): fixture_server.base_url(self.path_prefix) + "/",
        }
        keys = ProviderKeys(_env_file=None, **env)
        model = self.model_class(http_client=http_client, provider_keys=keys)
        self.opened.append(model)
        await collect(model)
        (seen,) = fixture_server.requests
        assert seen.headers["authorization"] == "Bearer sk-from-settings"
        assert seen.path == f"{self.path_prefix}/chat/completions"

    @pytest.mark.usefixtures("requests_blocked")
    async def test_default_endpoint_is_blocked_in_tests(self) -> None:
        sent: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(500)

        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            _, error = await collect_until_error(self.model_class(api_key=KEY, http_client=client))
        assert type(error) is ModelRequestsBlockedError
        assert str(httpx.URL(str(self.model_class.default_base_url)).host) in str(error)
        assert sent == []

    def test_identity(self) -> None:
        model = self.model_class()
        assert isinstance(model, ModelClient)
        assert model.id == self.model_class.default_id
        assert self.model_class("other-model").id == "other-model"


# -- the embeddings contract --------------------------------------------------------------------------------


class EmbedderContract:
    """What every OpenAI-compatible embedder must do; subclasses fill in the class attributes."""

    embedder_class: ClassVar[type[OpenAILikeEmbedder]]
    fixtures: ClassVar[str]
    path_prefix: ClassVar[str] = "/v1"
    vectors: ClassVar[list[list[float]]]
    """The vectors of `embeddings.json`, in input order."""
    input_tokens: ClassVar[int]

    def embedder(self, server: FixtureServer, http: httpx.AsyncClient, **kwargs: Any) -> OpenAILikeEmbedder:
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("retry_sleep", SleepRecorder())
        return self.embedder_class(base_url=server.base_url(self.path_prefix), http_client=http, **kwargs)

    def reply(self) -> Reply:
        return Reply(body=load(self.fixtures, "embeddings.json"), content_type=JSON)

    async def test_embeddings_request_and_vectors(
        self, fixture_server: FixtureServer, http_client: httpx.AsyncClient
    ) -> None:
        fixture_server.queue(self.reply())
        result = await self.embedder(fixture_server, http_client).embed(["first text", "second text"])
        (seen,) = fixture_server.requests
        assert (seen.method, seen.path) == ("POST", f"{self.path_prefix}/embeddings")
        assert seen.headers["authorization"] == f"Bearer {KEY}"
        assert seen.json() == {
            "model": self.embedder_class.default_id,
            "input": ["first text", "second text"],
            "encoding_format": "float",
        }
        assert result.vectors == self.vectors
        assert result.input_tokens == self.input_tokens

    async def test_embeddings_are_batched_in_order(
        self, fixture_server: FixtureServer, http_client: httpx.AsyncClient
    ) -> None:
        fixture_server.queue(self.reply(), self.reply())
        texts = ["a", "b", "c", "d"]
        result = await self.embedder(fixture_server, http_client, batch_size=2, dimensions=4).embed(texts)
        assert [seen.json()["input"] for seen in fixture_server.requests] == [["a", "b"], ["c", "d"]]
        assert all(seen.json()["dimensions"] == 4 for seen in fixture_server.requests)
        assert result.vectors == self.vectors * 2
        assert result.input_tokens == 2 * self.input_tokens

    async def test_embeddings_auth_error_names_the_env_var(
        self, fixture_server: FixtureServer, http_client: httpx.AsyncClient
    ) -> None:
        fixture_server.queue(Reply(401, b'{"error": {"message": "bad key"}}', JSON))
        with pytest.raises(ModelAuthError, match=str(self.embedder_class.api_key_env)):
            await self.embedder(fixture_server, http_client).embed(["x"])
        assert len(fixture_server.requests) == 1

    async def test_no_texts_no_request(self, fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
        result = await self.embedder(fixture_server, http_client).embed([])
        assert (result.vectors, result.input_tokens, fixture_server.requests) == ([], 0, [])

    @pytest.mark.usefixtures("requests_blocked")
    async def test_default_endpoint_is_blocked_in_tests(self) -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500))) as client:
            with pytest.raises(ModelRequestsBlockedError):
                await self.embedder_class(api_key=KEY, http_client=client).embed(["x"])

    def test_identity(self) -> None:
        embedder = self.embedder_class()
        assert isinstance(embedder, Embedder)
        assert embedder.id == self.embedder_class.default_id
