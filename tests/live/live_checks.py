"""The checks every live provider smoke test makes (not collected: no `test_` prefix).

Each `test_<provider>_live.py` keeps its own module (the providers report maps test modules to
providers) and calls these with its provider's client.
"""

from __future__ import annotations

import json

import pytest

from adapters.models import _guard
from adapters.models.base import Embedder, ModelClient, ModelResponse, TextDelta
from adapters.settings import ProviderKeys
from engine import Message, Tool


def key_or_skip(monkeypatch: pytest.MonkeyPatch, env: str, label: str) -> str:
    """The real key from `env`, or a skip naming it; also lifts the suite's block on non-loopback requests."""
    key = ProviderKeys().secret(env)
    if key is None:
        pytest.skip(f"{env} is not set (live {label} test)")
    monkeypatch.setattr(_guard, "ALLOW_MODEL_REQUESTS", True)
    return key


async def check_streamed_text(chat: ModelClient) -> None:
    """A short streamed answer: text deltas that add up to the final content, with a duration."""
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


async def check_tool_call(chat: ModelClient) -> None:
    """The model calls `get_weather` for Paris, with an id."""
    messages = [Message(id="m1", role="user", content="What is the weather in Paris? Use the tool.")]
    updates = [u async for u in chat.stream(messages, [Tool.from_callable(get_weather)])]
    final = updates[-1]
    assert isinstance(final, ModelResponse)
    assert [c.name for c in final.tool_calls] == ["get_weather"]
    assert json.loads(final.tool_calls[0].arguments)["city"].lower() == "paris"
    assert final.tool_calls[0].id


async def check_embeddings(model: Embedder) -> None:
    """Two texts give two different vectors of the same, non-zero size."""
    result = await model.embed(["hello", "world"])
    assert len(result.vectors) == 2
    assert len(result.vectors[0]) == len(result.vectors[1]) > 0
    assert result.vectors[0] != result.vectors[1]
