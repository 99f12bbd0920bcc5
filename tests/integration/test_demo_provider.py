"""The demo agent switches provider by configuration alone (AGNOSTREAM_DEMO_PROVIDER / AGNOSTREAM_DEMO_MODEL).

With `demo_provider="openai"` and OPENAI_BASE_URL pointing at an OpenAI-compatible stub on loopback, a demo
run goes end to end through the real `OpenAIChat` client: tool call, tool execution, streamed answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.agents_loader import load_agents
from adapters.demo.agents import get_agents
from adapters.models.openai import OpenAIChat
from adapters.runtime import Runtime
from adapters.settings import ProviderKeys, Settings
from engine import ConfigurationError, decode_event
from streams import MemoryLog, Topics

ANSWER = ["It is cloudy", " and 18C", " in Tokyo."]


def sse(*payloads: dict[str, Any]) -> bytes:
    frames = [f"data: {json.dumps(p)}\n\n" for p in payloads]
    return ("".join(frames) + "data: [DONE]\n\n").encode()


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "model": "stub-model",
        "choices": choices,
        **extra,
    }


USAGE = chunk(usage={"prompt_tokens": 30, "completion_tokens": 7, "total_tokens": 37})
TOOL_TURN = sse(
    chunk({"role": "assistant", "content": None, "tool_calls": [
        {"index": 0, "id": "call_stub1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    ]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Tokyo"}'}}]}),
    chunk({}, "tool_calls"),
    USAGE,
)  # fmt: skip
TEXT_TURN = sse(*(chunk({"content": piece}) for piece in ANSWER), chunk({}, "stop"), USAGE)


class OpenAIStub:
    """A loopback OpenAI-compatible server: a tool call first, then (once a tool result is sent) the answer."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        path = head[0].split(" ")[1]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        body = json.loads(await reader.readexactly(int(headers["content-length"])))
        self.requests.append((path, headers, body))
        answer = TEXT_TURN if any(m["role"] == "tool" for m in body["messages"]) else TOOL_TURN
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + answer)
        await writer.drain()
        writer.close()


@pytest.fixture
async def stub() -> AsyncIterator[OpenAIStub]:
    stub = OpenAIStub()
    server = await asyncio.start_server(stub.handle, "127.0.0.1", 0)
    stub.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    yield stub
    server.close()
    with contextlib.suppress(Exception):
        await server.wait_closed()


async def test_demo_runs_on_the_configured_provider(stub: OpenAIStub, tmp_path: Path) -> None:
    settings = Settings.model_construct(demo_provider="openai", demo_model="stub-model")
    keys = ProviderKeys.model_construct(OPENAI_API_KEY=SecretStr("sk-stub"), OPENAI_BASE_URL=stub.url)
    agents = {agent.id: agent for agent in get_agents(settings, keys)}
    assert isinstance(agents["weather"].model, OpenAIChat)
    runtime = Runtime(MemoryLog(tmp_path / "log.db", default_partitions=2), Topics(partitions=2), agents)
    await runtime.start()
    try:
        _command, subscription = await runtime.start_run("weather", "What's the weather in Tokyo?")
        events = [decode_event(value).to_agno() async for value in subscription]
    finally:
        await runtime.stop()

    names = [e["event"] for e in events]
    assert names[0] == "RunStarted"
    assert (events[0]["model"], events[0]["model_provider"]) == ("stub-model", "OpenAI")
    tool_done = next(e for e in events if e["event"] == "ToolCallCompleted")
    assert tool_done["tool"]["result"] == "Cloudy, 18C in Tokyo"
    streamed = "".join(e["content"] for e in events if e["event"] == "RunContent")
    assert streamed == "".join(ANSWER)
    assert names[-1] == "RunCompleted"
    assert events[-1]["content"] == "".join(ANSWER)

    assert len(stub.requests) == 2
    (path, headers, first), (_, _, second) = stub.requests
    assert path == "/v1/chat/completions"
    assert headers["authorization"] == "Bearer sk-stub"
    assert first["model"] == "stub-model"
    assert {t["function"]["name"] for t in first["tools"]} == {"get_weather", "get_local_time"}
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "call_stub1", "content": "Cloudy, 18C in Tokyo"}


def test_demo_defaults_to_the_scripted_model() -> None:
    (agent,) = get_agents(Settings.model_construct())
    assert (agent.model.provider, agent.model.id) == ("Scripted", "demo-weather")
    (agent,) = get_agents(Settings.model_construct(demo_provider=""))
    assert agent.model.provider == "Scripted"
    assert "weather" in load_agents("adapters.demo.agents")


def test_demo_provider_default_model_and_unknown_provider() -> None:
    keys = ProviderKeys.model_construct()
    (agent,) = get_agents(Settings.model_construct(demo_provider="Groq", demo_model=""), keys)
    assert (agent.model.provider, agent.model.id) == ("Groq", "llama-3.3-70b-versatile")
    with pytest.raises(
        ConfigurationError, match=r"AGNOSTREAM_DEMO_PROVIDER='claude' is unknown; use one of: scripted, "
    ):
        get_agents(Settings.model_construct(demo_provider="claude"), keys)
