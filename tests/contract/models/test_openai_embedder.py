"""OpenAIEmbedder / OpenAILikeEmbedder on loopback: request shape, vector order, usage, errors and retries.

The OpenAI body below is the documented example of providers.md §1.5 [O9] with a second vector added; the
provider-specific embedders are tested in their providers' modules.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from conftest import JSON, KEY, EmbedderContract, FixtureServer, Reply, SleepRecorder

from adapters.errors import (
    InvalidRequestError,
    ModelAuthError,
    ModelRateLimitedError,
    ModelServerError,
    ModelTimeoutError,
    UnexpectedModelBehaviorError,
)
from adapters.models.openai_embedder import (
    EMBEDDING_PROVIDERS,
    OpenAIEmbedder,
    OpenAILikeEmbedder,
    UnsupportedEmbedder,
    embeddings_not_supported,
)
from adapters.settings import ProviderKeys
from engine import ConfigurationError

OPENAI_EMBEDDINGS = {
    "object": "list",
    "data": [
        {"object": "embedding", "embedding": [0.0023064255, -0.009327292, -0.0028842222], "index": 0},
        {"object": "embedding", "embedding": [0.0110, 0.0220, -0.0330], "index": 1},
    ],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}


def body(obj: Any) -> Reply:
    return Reply(body=json.dumps(obj).encode(), content_type=JSON)


def embedder(server: FixtureServer, http: httpx.AsyncClient, **kwargs: Any) -> OpenAIEmbedder:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("retry_sleep", SleepRecorder())
    return OpenAIEmbedder(base_url=server.base_url(), http_client=http, **kwargs)


class TestOpenAIEmbedderContract(EmbedderContract):
    embedder_class = OpenAIEmbedder
    fixtures = "openai"
    vectors = [[0.0023064255, -0.009327292, -0.0028842222], [0.0110, 0.0220, -0.0330]]
    input_tokens = 8

    def reply(self) -> Reply:
        return body(OPENAI_EMBEDDINGS)


async def test_vectors_are_put_back_in_input_order(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    shuffled = {**OPENAI_EMBEDDINGS, "data": list(reversed(OPENAI_EMBEDDINGS["data"]))}
    fixture_server.queue(body(shuffled))
    result = await embedder(fixture_server, http_client).embed(["a", "b"])
    assert result.vectors == [[0.0023064255, -0.009327292, -0.0028842222], [0.0110, 0.0220, -0.0330]]


async def test_429_is_retried_honouring_retry_after(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    limited = Reply(
        429, b'{"error": {"message": "Rate limit reached", "type": "requests"}}', JSON, {"retry-after": "2"}
    )
    fixture_server.queue(limited, body(OPENAI_EMBEDDINGS))
    sleep = SleepRecorder()
    result = await embedder(fixture_server, http_client, retry_sleep=sleep).embed(["a", "b"])
    assert len(result.vectors) == 2
    assert sleep.waits == [2.0]


async def test_5xx_gives_up_after_max_retries(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    failure = Reply(500, b'{"error": {"message": "server error", "type": "server_error"}}', JSON)
    fixture_server.queue(failure, failure)
    with pytest.raises(ModelServerError) as raised:
        await embedder(fixture_server, http_client, max_retries=1).embed(["a"])
    assert raised.value.retriable
    assert len(fixture_server.requests) == 2


async def test_400_is_an_invalid_request_not_retried(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(
        Reply(400, b'{"error": {"message": "$.input is invalid", "type": "invalid_request_error"}}', JSON)
    )
    with pytest.raises(InvalidRequestError, match=r"\$\.input is invalid"):
        await embedder(fixture_server, http_client).embed([""])
    assert len(fixture_server.requests) == 1


async def test_error_object_in_a_200_body(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    fixture_server.queue(body({"error": {"message": "slow down", "type": "rate_limit_error"}}))
    with pytest.raises(ModelRateLimitedError):
        await embedder(fixture_server, http_client, max_retries=0).embed(["a"])


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (json.dumps({"data": []}).encode(), "expected 1 embeddings in data, got 0"),
        (json.dumps({"data": [{"embedding": "AAAA", "index": 0}]}).encode(), "not a list of numbers"),
        (json.dumps({"data": [{"embedding": [1.0], "index": 5}]}).encode(), "index values"),
    ],
)
async def test_malformed_answers(
    payload: bytes, what: str, fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    fixture_server.queue(Reply(body=payload, content_type=JSON))
    with pytest.raises(UnexpectedModelBehaviorError, match=what):
        await embedder(fixture_server, http_client).embed(["a"])


async def test_missing_key_names_the_env_var(fixture_server: FixtureServer, http_client: httpx.AsyncClient) -> None:
    keys = ProviderKeys(_env_file=None, OPENAI_API_KEY=None)
    with pytest.raises(ModelAuthError, match=r"^OPENAI_API_KEY is not set"):
        await embedder(fixture_server, http_client, api_key=None, provider_keys=keys).embed(["a"])
    assert fixture_server.requests == []


async def test_timeouts_are_translated_and_retried() -> None:
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    sleep = SleepRecorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        model = OpenAIEmbedder(api_key=KEY, base_url="http://127.0.0.1:9/v1", http_client=client, retry_sleep=sleep)
        with pytest.raises(ModelTimeoutError):
            await model.embed(["a"])
    assert (len(attempts), len(sleep.waits)) == (3, 2)


async def test_openai_like_embedder_needs_a_base_url_and_sends_no_auth_without_a_key(
    fixture_server: FixtureServer, http_client: httpx.AsyncClient
) -> None:
    with pytest.raises(ConfigurationError, match="needs a base URL"):
        await OpenAILikeEmbedder("local", http_client=http_client).embed(["a"])
    fixture_server.queue(body({**OPENAI_EMBEDDINGS, "data": OPENAI_EMBEDDINGS["data"][:1]}))
    await OpenAILikeEmbedder("local", base_url=fixture_server.base_url(), http_client=http_client).embed(["a"])
    assert "authorization" not in fixture_server.requests[0].headers


@pytest.mark.parametrize(("kwargs", "what"), [({"batch_size": 0}, "batch_size"), ({"max_retries": -1}, "max_retries")])
def test_bad_arguments(kwargs: dict[str, int], what: str) -> None:
    with pytest.raises(ConfigurationError, match=what):
        OpenAIEmbedder(**kwargs)


def test_unsupported_embedder_message() -> None:
    class NoEmbeddings(UnsupportedEmbedder):
        provider = "Example"

    with pytest.raises(ConfigurationError) as raised:
        NoEmbeddings("any", dimensions=3)
    assert str(raised.value) == str(embeddings_not_supported("Example"))
    assert str(raised.value).endswith("use one of: " + ", ".join(EMBEDDING_PROVIDERS))


def test_defaults() -> None:
    model = OpenAIEmbedder()
    assert (model.id, model.provider, model.batch_size) == ("text-embedding-3-small", "OpenAI", 100)
    assert OpenAIEmbedder.default_base_url == "https://api.openai.com/v1"
