"""GeminiEmbedder against Gemini embedding fixtures, replayed in-process by an `httpx.MockTransport`.

Checks the request (`:embedContent` for one text, `:batchEmbedContents` for several, key header, body)
and the vectors returned, plus errors. Fixture sources: fixtures/providers/gemini/README.md.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.errors import (
    ModelAuthError,
    ModelRateLimitedError,
    ModelRequestsBlockedError,
    UnexpectedModelBehaviorError,
)
from adapters.models import _guard
from adapters.models.base import Embedder
from adapters.models.gemini_embedder import GeminiEmbedder
from adapters.settings import ProviderKeys
from engine import ConfigurationError

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "gemini"
JSON = "application/json"
KEY = "AIza-test-0123456789"
BASE_URL = "http://127.0.0.1:9/v1beta"
EMBED_PATH = "/v1beta/models/gemini-embedding-001:embedContent"
BATCH_PATH = "/v1beta/models/gemini-embedding-001:batchEmbedContents"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""


class FixtureServer:
    """An in-process transport answering each request with the next queued `Reply`, recording requests."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[httpx.Request] = []

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.popleft()
        return httpx.Response(reply.status, headers={"content-type": JSON}, content=reply.body)


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


@pytest.fixture
def gemini_server() -> FixtureServer:
    return FixtureServer()


@pytest.fixture
async def http(gemini_server: FixtureServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(gemini_server.handle)) as client:
        yield client


def embedder(server: FixtureServer, http: httpx.AsyncClient, **kwargs: Any) -> GeminiEmbedder:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("retry_sleep", SleepRecorder())
    return GeminiEmbedder(base_url=BASE_URL, http_client=http, **kwargs)


def json_reply(name: str, status: int = 200) -> Reply:
    return Reply(status=status, body=fixture(name))


async def test_one_text_uses_embed_content(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(json_reply("embed_content.json"))
    result = await embedder(gemini_server, http).embed(["hello"])
    assert result.vectors == [[0.0123, -0.0456, 0.0789, 0.1011]]
    assert result.input_tokens == 0
    (seen,) = gemini_server.requests
    assert (seen.method, seen.url.path) == ("POST", EMBED_PATH)
    assert seen.headers["x-goog-api-key"] == KEY
    assert body_of(seen) == {
        "content": {"parts": [{"text": "hello"}]},
        "taskType": "RETRIEVAL_QUERY",
        "outputDimensionality": 1536,
    }


async def test_several_texts_use_batch_embed_contents(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(json_reply("batch_embed_contents.json"))
    emb = embedder(gemini_server, http, task_type="RETRIEVAL_DOCUMENT", title="Doc", dimensions=None)
    result = await emb.embed(["a", "b", "c"])
    assert result.vectors == [[0.0123, -0.0456, 0.0789, 0.1011], [-0.2, 0.3, -0.4, 0.5], [0.6, 0.0, -0.7, 0.8]]
    (seen,) = gemini_server.requests
    assert seen.url.path == BATCH_PATH
    assert body_of(seen) == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": text}]},
                "taskType": "RETRIEVAL_DOCUMENT",
                "title": "Doc",
            }
            for text in ("a", "b", "c")
        ]
    }


async def test_batches_are_split_by_batch_size(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    two = json.dumps({"embeddings": [{"values": [1.0]}, {"values": [2.0]}]}).encode()
    one = json.dumps({"embeddings": [{"values": [3]}]}).encode()
    gemini_server.queue(Reply(body=two), Reply(body=one))
    result = await embedder(gemini_server, http, batch_size=2, id="models/text-embedding-004").embed(["a", "b", "c"])
    assert result.vectors == [[1.0], [2.0], [3.0]]
    assert [len(body_of(r)["requests"]) for r in gemini_server.requests] == [2, 1]
    assert gemini_server.requests[0].url.path == "/v1beta/models/text-embedding-004:batchEmbedContents"
    assert body_of(gemini_server.requests[0])["requests"][0]["model"] == "models/text-embedding-004"


async def test_no_texts_send_no_request(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    assert (await embedder(gemini_server, http).embed([])).vectors == []
    assert gemini_server.requests == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"embeddings": [{"values": [1.0]}]}',
        b'{"embeddings": [{"values": [1.0]}, {"values": "x"}, {"values": []}]}',
    ],
)
async def test_malformed_batch_responses(gemini_server: FixtureServer, http: httpx.AsyncClient, body: bytes) -> None:
    gemini_server.queue(Reply(body=body))
    with pytest.raises(UnexpectedModelBehaviorError, match="Gemini embeddings response malformed"):
        await embedder(gemini_server, http).embed(["a", "b", "c"])


async def test_embed_content_without_values_is_malformed(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(Reply(body=b'{"embedding": {}}'))
    with pytest.raises(UnexpectedModelBehaviorError, match="values"):
        await embedder(gemini_server, http).embed(["a"])


async def test_errors_map_and_retry_like_chat(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    gemini_server.queue(*[json_reply("error_429_resource_exhausted.json", 429) for _ in range(2)])
    sleep = SleepRecorder()
    with pytest.raises(ModelRateLimitedError) as caught:
        await embedder(gemini_server, http, max_retries=1, retry_sleep=sleep).embed(["a"])
    assert caught.value.retriable
    assert len(sleep.waits) == 1
    gemini_server.queue(json_reply("error_403_permission_denied.json", 403))
    with pytest.raises(ModelAuthError, match="GOOGLE_API_KEY"):
        await embedder(gemini_server, http).embed(["a"])


async def test_missing_key_names_google_api_key(gemini_server: FixtureServer, http: httpx.AsyncClient) -> None:
    keys = ProviderKeys(GOOGLE_API_KEY=None, _env_file=None)
    with pytest.raises(ModelAuthError, match=r"^GOOGLE_API_KEY is not set"):
        await embedder(gemini_server, http, api_key=None, provider_keys=keys).embed(["a"])
    assert gemini_server.requests == []


async def test_non_loopback_host_is_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_guard, "ALLOW_MODEL_REQUESTS", False)
    keys = ProviderKeys(GEMINI_BASE_URL=None, _env_file=None)
    async with GeminiEmbedder(api_key=KEY, provider_keys=keys) as emb:
        with pytest.raises(ModelRequestsBlockedError, match=r"generativelanguage\.googleapis\.com"):
            await emb.embed(["a"])


def test_identity_protocol_and_configuration() -> None:
    emb = GeminiEmbedder()
    assert isinstance(emb, Embedder)
    assert (emb.id, emb.provider, emb.dimensions, emb.task_type) == (
        "gemini-embedding-001",
        "Google",
        1536,
        "RETRIEVAL_QUERY",
    )
    with pytest.raises(ConfigurationError):
        GeminiEmbedder(batch_size=0)
    with pytest.raises(ConfigurationError):
        GeminiEmbedder(max_retries=-1)
