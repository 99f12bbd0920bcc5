"""Shared fixtures: capture-equivalent agents, a runtime on the embedded log, a real uvicorn server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from adapters.http import create_app
from adapters.models import _guard
from adapters.models.scripted import ScriptedCall, ScriptedModel, Turn
from adapters.runtime import Runtime
from engine import Agent
from projections import SqliteViewStore
from streams import MemoryLog, Topics

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures"
"""The repo's copy of the reference captures (`fixtures/agno-sse`: agno 3.1.10's AgentOS wire, copied from the
project's shared `reference/agno-sse`), so a clone runs the suite on its own; `tests/unit/test_reference_copy.py`
checks the copy against the original when the shared directory sits next to the repo."""

# No test may reach a real model API: requests to non-loopback hosts raise ModelRequestsBlockedError.
# Live tests (tests/live, marker `live`) lift this only when their key is set.
_guard.ALLOW_MODEL_REQUESTS = False


def get_weather(city: str) -> str:
    """Get the weather for a city.

    Args:
        city: Name of the city.
    """
    return f"Sunny, 21C in {city}"


def capture_agent(agent_id: str = "a1") -> Agent:
    """The agent of `reference/agno-sse/agent_run_tool_call.sse`: one get_weather call, then a sentence."""
    model = ScriptedModel(
        [
            Turn(tool_calls=(ScriptedCall("get_weather", {"city": "Paris"}),)),
            Turn(text="The weather in Paris is sunny and 21C. "),
        ],
        id="fake-model",
        provider="OpenAI",
        name="OpenAI Chat",
    )
    return Agent(id=agent_id, name="Weather Agent", model=model, tools=[get_weather], add_history_to_context=True)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    rt = Runtime(
        MemoryLog(tmp_path / "log.db", default_partitions=4),
        Topics(partitions=4),
        {"a1": capture_agent()},
        view_store=SqliteViewStore(tmp_path / "views.db"),
    )
    await rt.start()
    yield rt
    await rt.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def server(runtime: Runtime) -> AsyncIterator[str]:
    """A real uvicorn server on loopback serving `runtime`; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(create_app(runtime, manage_runtime=False), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    while not srv.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task
