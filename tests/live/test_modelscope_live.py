"""Live smoke test against the real ModelScope API: one short streamed answer and one tool call.

Runs only when MODELSCOPE_API_KEY is set (read through `adapters.settings`), otherwise skips with the reason.
Select with `pytest -m live tests/live`. Uses the default model id of `ModelScope`; costs a few hundred tokens.
"""

from __future__ import annotations

import pytest
from live_checks import check_streamed_text, check_tool_call, key_or_skip

from adapters.models.modelscope import ModelScope

pytestmark = pytest.mark.live


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    return key_or_skip(monkeypatch, "MODELSCOPE_API_KEY", "ModelScope")


async def test_streamed_text(api_key: str) -> None:
    async with ModelScope(api_key=api_key, max_tokens=40, temperature=0.2) as chat:
        await check_streamed_text(chat)


async def test_tool_call(api_key: str) -> None:
    async with ModelScope(api_key=api_key, temperature=0.2) as chat:
        await check_tool_call(chat)
