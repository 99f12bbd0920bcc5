"""Demo agents: a weather agent with two tools, driven by a deterministic scripted model.

It needs no API key: the `FunctionModel` reads the user's message, calls `get_weather` (and
`get_local_time` in parallel when the message asks for the time), then answers from the tool results,
streaming word by word like a real model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from adapters.models.scripted import FunctionModel, ScriptedCall, Turn, step_of
from engine import Agent, Message, Tool

__all__ = ["agents", "get_local_time", "get_weather"]

_WEATHER = {"paris": "Sunny, 21C", "london": "Light rain, 14C", "tokyo": "Cloudy, 18C", "berlin": "Windy, 12C"}
_OFFSETS = {"paris": 1, "london": 0, "tokyo": 9, "berlin": 1}


def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: Name of the city, e.g. "Paris".
    """
    return f"{_WEATHER.get(city.lower(), 'Clear, 20C')} in {city}"


def get_local_time(city: str) -> str:
    """Get the UTC offset of a city's local time.

    Args:
        city: Name of the city.
    """
    return f"UTC+{_OFFSETS.get(city.lower(), 0)} in {city}"


def _city(text: str) -> str:
    match = re.search(r"\b(?:in|for|at)\s+([A-Z][a-zA-Z]+)", text)
    return match.group(1) if match else "Paris"


def _weather_turn(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
    user = next((m.content or "" for m in reversed(messages) if m.role == "user"), "")
    if step_of(messages) == 0:
        city = _city(user)
        calls = [ScriptedCall("get_weather", {"city": city})]
        if "time" in user.lower():
            calls.append(ScriptedCall("get_local_time", {"city": city}))
        return Turn(tool_calls=tuple(calls))
    results = [m.content or "" for m in messages if m.role == "tool" and not m.from_history][-2:]
    return Turn(text=f"Here is what I found: {'; '.join(results)}. Anything else?")


agents = [
    Agent(
        id="weather",
        name="Weather Agent",
        description="You are a concise weather assistant.",
        instructions=["Use the tools to answer.", "Answer in one sentence."],
        model=FunctionModel(_weather_turn, id="demo-weather", provider="Scripted", token_delay_s=0.01),
        tools=[get_weather, get_local_time],
        add_history_to_context=True,
    ),
]
