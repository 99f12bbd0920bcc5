"""Live smoke test against the real OpenRouter API: one short streamed answer and one tool call, and two embeddings.

Runs only when OPENROUTER_API_KEY is set (read through `adapters.settings`), otherwise skips with the reason.
Select with `pytest -m live tests/live`. Uses the default model id of `OpenRouter`; costs a few hundred tokens.
"""

from __future__ import annotations

import json

import pytest

from adapters.models import _guard
from adapters.models.base import ModelResponse, TextDelta
from adapters.models.openrouter import OpenRouter, OpenRouterEmbedder
from adapters.settings import ProviderKeys
from engine import Message, Tool

pytestmark = pytest.mark.live


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The real key, or a skip; also lifts the test suite's block on non-loopback model requests."""
    key = ProviderKeys().secret("OPENROUTER_API_KEY")
    if key is None:
        pytest.skip("OPENROUTER_API_KEY is not set (live OpenRouter test)")
    monkeypatch.setattr(_guard, "ALLOW_MODEL_REQUESTS", True)
    return key


async def test_streamed_text(api_key: str) -> None:
    async with OpenRouter(api_key=api_key, max_tokens=40, temperature=0.2) as chat:
        updates = [u async for u in chat.stream([Message(id="m1", role="user", content="Say: hello")], [])]
    *deltas, final = updates
    assert isinstance(final, ModelResponse)
    assert all(isinstance(d, TextDelta) for d in deltas)
    assert final.content
    assert final.content == "".join(d.text for d in deltas if isinstance(d, TextDelta))
    assert final.usage.duration is not None


def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: Name of the city.
    """
    return "sunny"


async def test_tool_call(api_key: str) -> None:
    messages = [Message(id="m1", role="user", content="What is the weather in Paris? Use the tool.")]
    async with OpenRouter(api_key=api_key, temperature=0.2) as chat:
        updates = [u async for u in chat.stream(messages, [Tool.from_callable(get_weather)])]
    final = updates[-1]
    assert isinstance(final, ModelResponse)
    assert [c.name for c in final.tool_calls] == ["get_weather"]
    assert json.loads(final.tool_calls[0].arguments)["city"].lower() == "paris"
    assert final.tool_calls[0].id


async def test_embeddings(api_key: str) -> None:
    async with OpenRouterEmbedder(api_key=api_key) as model:
        result = await model.embed(["hello", "world"])
    assert len(result.vectors) == 2
    assert len(result.vectors[0]) == len(result.vectors[1]) > 0
    assert result.vectors[0] != result.vectors[1]
