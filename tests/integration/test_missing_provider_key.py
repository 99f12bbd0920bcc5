"""A missing provider key disables only that provider: the server starts, other agents run, and a run on
the keyless provider ends with a `RunError` naming the variable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.models.openai import OpenAIChat
from adapters.runtime import Runtime
from adapters.settings import ProviderKeys
from engine import Agent, decode_event
from projections import SqliteViewStore
from streams import MemoryLog, Topics

from ..conftest import capture_agent
from .test_http_agentos import parse_sse


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """Two agents: the scripted capture agent, and one on OpenAIChat with no key configured at all."""
    keyless = OpenAIChat(provider_keys=ProviderKeys.model_construct())  # explicitly empty: env and .env ignored
    agents = {"a1": capture_agent(), "oai": Agent(id="oai", name="OpenAI Agent", model=keyless)}
    rt = Runtime(
        MemoryLog(tmp_path / "log.db", default_partitions=4),
        Topics(partitions=4),
        agents,
        view_store=SqliteViewStore(tmp_path / "views.db"),
    )
    await rt.start()
    yield rt
    await rt.stop()


async def run_events(runtime: Runtime, agent_id: str, message: str) -> list[dict[str, Any]]:
    _command, subscription = await runtime.start_run(agent_id, message)
    return [decode_event(value).to_agno() async for value in subscription]


async def test_keyless_provider_fails_its_run_only(runtime: Runtime) -> None:
    failed = await run_events(runtime, "oai", "Hello")
    ok = await run_events(runtime, "a1", "What's the weather in Paris?")

    error = failed[-1]
    assert error["event"] == "RunError"
    assert error["error_type"] == "ModelAuthError"
    assert "OPENAI_API_KEY" in error["content"]
    assert error["error_id"] == "auth"  # the telemetry error_code
    assert failed[0]["event"] == "RunStarted"
    assert failed[0]["model_provider"] == "OpenAI"
    assert ok[-1]["event"] == "RunCompleted"
    assert ok[-1]["content"] == "The weather in Paris is sunny and 21C. "


async def test_server_serves_both_agents(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        agents = (await client.get("/agents")).json()
        failed = await client.post("/agents/oai/runs", data={"message": "Hello"})
        ok = await client.post("/agents/a1/runs", data={"message": "What's the weather in Paris?"})
    assert [agent["id"] for agent in agents] == ["a1", "oai"]
    name, error = parse_sse(failed.text)[-1]
    assert (name, error["error_type"]) == ("RunError", "ModelAuthError")
    assert "OPENAI_API_KEY is not set" in error["content"]
    assert parse_sse(ok.text)[-1][0] == "RunCompleted"
