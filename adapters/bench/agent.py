"""The benchmark agents, served by `agnostream serve --agents adapters.bench.agent`.

Two agents on agno's `OpenAIChat` pointed at the fake model: `bench` (no tools) and `bench-tools` (one
tool, `get_weather`, which the fake model calls once per run). The model reads its base URL and key
from OPENAI_BASE_URL / OPENAI_API_KEY (through `adapters.settings`); the benchmark sets them to the fake
model and a dummy key. `scripts/bench_agno_server.py` builds the same agents in agno from `AGENT_SPEC`
(passed to it as JSON), so both runtimes send the fake model the same requests.
"""

from __future__ import annotations

from typing import Any

from adapters.models.openai import OpenAIChat
from engine import Agent

__all__ = ["AGENT_ID", "AGENT_SPEC", "MODEL_ID", "TOOLS_AGENT_ID", "agent_id_for", "get_agents", "get_weather"]

AGENT_ID = "bench"
"""The agent without tools."""
TOOLS_AGENT_ID = "bench-tools"
"""The agent with `get_weather` (one tool call per run)."""
MODEL_ID = "fake-model"
"""Model id sent to the fake model."""
_DESCRIPTION = "You are a concise assistant answering benchmark questions."
_INSTRUCTIONS = ("Answer in a few sentences.", "Use the tools when they help.")

AGENT_SPEC: dict[str, Any] = {
    "agents": [
        {"id": AGENT_ID, "name": "Bench Agent", "tools": []},
        {"id": TOOLS_AGENT_ID, "name": "Bench Tools Agent", "tools": ["get_weather"]},
    ],
    "model": MODEL_ID,
    "description": _DESCRIPTION,
    "instructions": list(_INSTRUCTIONS),
}
"""The agents as plain data, for the agno server script (which cannot import agnostream)."""


def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: Name of the city, e.g. "Paris".
    """
    return f"Sunny, 21C in {city}"


def agent_id_for(tools: bool) -> str:
    """The agent id of a tool mode: `bench-tools` with a tool call per run, else `bench`."""
    return TOOLS_AGENT_ID if tools else AGENT_ID


def get_agents() -> list[Agent]:
    """The two benchmark agents (see module docstring); called by `agents_loader`."""
    tools = {"get_weather": get_weather}
    return [
        Agent(
            id=spec["id"],
            name=spec["name"],
            model=OpenAIChat(MODEL_ID),
            description=_DESCRIPTION,
            instructions=list(_INSTRUCTIONS),
            tools=[tools[name] for name in spec["tools"]],
        )
        for spec in AGENT_SPEC["agents"]
    ]
