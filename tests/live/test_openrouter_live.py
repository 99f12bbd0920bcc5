"""Live smoke test against the real OpenRouter API: one short streamed answer and one tool call, and two embeddings.

Runs only when OPENROUTER_API_KEY is set (read through `adapters.settings`), otherwise skips with the reason.
Select with `pytest -m live tests/live`. Uses the default model id of `OpenRouter`; costs a few hundred tokens.
"""

from __future__ import annotations

import pytest
from live_checks import check_embeddings, check_streamed_text, check_tool_call, key_or_skip

from adapters.models.openrouter import OpenRouter, OpenRouterEmbedder

pytestmark = pytest.mark.live


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    return key_or_skip(monkeypatch, "OPENROUTER_API_KEY", "OpenRouter")


async def test_streamed_text(api_key: str) -> None:
    async with OpenRouter(api_key=api_key, max_tokens=40, temperature=0.2) as chat:
        await check_streamed_text(chat)


async def test_tool_call(api_key: str) -> None:
    async with OpenRouter(api_key=api_key, temperature=0.2) as chat:
        await check_tool_call(chat)


async def test_embeddings(api_key: str) -> None:
    async with OpenRouterEmbedder(api_key=api_key) as model:
        await check_embeddings(model)
