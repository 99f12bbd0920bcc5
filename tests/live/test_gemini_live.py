"""Live smoke test against the real Gemini API: a streamed answer, a tool call round trip, and embeddings.

Runs only when GOOGLE_API_KEY is set (read through `adapters.settings`), otherwise skips with the reason.
Select with `pytest -m live tests/live`. Costs a few hundred tokens of gemini-2.5-flash per run.
"""

from __future__ import annotations

import json

import pytest

from adapters.models import _guard
from adapters.models.base import ModelResponse, TextDelta
from adapters.models.gemini import Gemini
from adapters.models.gemini_embedder import GeminiEmbedder
from adapters.settings import ProviderKeys
from engine import Message, Tool

pytestmark = pytest.mark.live


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The real key, or a skip; also lifts the test suite's block on non-loopback model requests."""
    key = ProviderKeys().secret("GOOGLE_API_KEY")
    if key is None:
        pytest.skip("GOOGLE_API_KEY is not set (live Gemini test)")
    monkeypatch.setattr(_guard, "ALLOW_MODEL_REQUESTS", True)
    return key


async def test_streamed_text(api_key: str) -> None:
    async with Gemini(api_key=api_key, max_tokens=50, temperature=0, thinking_budget=0) as chat:
        updates = [u async for u in chat.stream([Message(id="m1", role="user", content="Say: hello")], [])]
    *deltas, final = updates
    assert isinstance(final, ModelResponse)
    assert all(isinstance(d, TextDelta) for d in deltas)
    assert final.content == "".join(d.text for d in deltas if isinstance(d, TextDelta))
    assert final.content
    assert final.usage.input_tokens > 0
    assert final.usage.output_tokens > 0
    assert final.usage.total_tokens >= final.usage.input_tokens + final.usage.output_tokens
    assert final.usage.time_to_first_token is not None
    assert final.provider_data is not None
    assert final.provider_data["id"]


def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: Name of the city.
    """
    return "sunny"


async def test_tool_call_round_trip(api_key: str) -> None:
    question = Message(id="m1", role="user", content="What is the weather in Paris? Use the tool.")
    tools = [Tool.from_callable(get_weather)]
    async with Gemini(api_key=api_key, temperature=0) as chat:
        first = [u async for u in chat.stream([question], tools)][-1]
        assert isinstance(first, ModelResponse)
        assert [c.name for c in first.tool_calls] == ["get_weather"]
        call = first.tool_calls[0]
        assert json.loads(call.arguments)["city"].lower() == "paris"
        assistant = Message(id="m2", role="assistant", tool_calls=first.tool_calls, provider_data=first.provider_data)
        result = Message(id="m3", role="tool", content="sunny, 21C", tool_call_id=call.id, tool_name=call.name)
        final = [u async for u in chat.stream([question, assistant, result], tools)][-1]
    assert isinstance(final, ModelResponse)
    assert final.content
    assert "21" in final.content or "sunny" in final.content.lower()


async def test_embeddings(api_key: str) -> None:
    async with GeminiEmbedder(api_key=api_key, dimensions=768) as embedder:
        one = await embedder.embed(["hello"])
        many = await embedder.embed(["hello", "world"])
    assert [len(v) for v in one.vectors] == [768]
    assert [len(v) for v in many.vectors] == [768, 768]
