"""Live smoke test against the real OpenAI API: one short streamed answer and one tool call.

Runs only when OPENAI_API_KEY is set (read through `adapters.settings`), otherwise skips with the reason.
Select with `pytest -m live tests/live`. Costs a few hundred tokens of gpt-4o-mini per run.
"""

from __future__ import annotations

import json

import pytest

from adapters.models import _guard
from adapters.models.base import ModelResponse, TextDelta
from adapters.models.openai import OpenAIChat
from adapters.settings import ProviderKeys
from engine import Message, Tool

pytestmark = pytest.mark.live


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The real key, or a skip; also lifts the test suite's block on non-loopback model requests."""
    key = ProviderKeys().secret("OPENAI_API_KEY")
    if key is None:
        pytest.skip("OPENAI_API_KEY is not set (live OpenAI test)")
    monkeypatch.setattr(_guard, "ALLOW_MODEL_REQUESTS", True)
    return key


async def test_streamed_text(api_key: str) -> None:
    async with OpenAIChat(api_key=api_key, max_tokens=20, temperature=0) as chat:
        updates = [u async for u in chat.stream([Message(id="m1", role="user", content="Say: hello")], [])]
    *deltas, final = updates
    assert isinstance(final, ModelResponse)
    assert all(isinstance(d, TextDelta) for d in deltas)
    assert final.content == "".join(d.text for d in deltas if isinstance(d, TextDelta))
    assert final.content
    assert final.usage.input_tokens > 0
    assert final.usage.output_tokens > 0
    assert final.usage.time_to_first_token is not None
    assert final.provider_data is not None
    assert str(final.provider_data["id"]).startswith("chatcmpl-")


def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: Name of the city.
    """
    return "sunny"


async def test_tool_call(api_key: str) -> None:
    messages = [Message(id="m1", role="user", content="What is the weather in Paris? Use the tool.")]
    async with OpenAIChat(api_key=api_key, temperature=0) as chat:
        updates = [u async for u in chat.stream(messages, [Tool.from_callable(get_weather)])]
    final = updates[-1]
    assert isinstance(final, ModelResponse)
    assert [c.name for c in final.tool_calls] == ["get_weather"]
    assert json.loads(final.tool_calls[0].arguments)["city"].lower() == "paris"
    assert final.tool_calls[0].id
