"""Demo agents: a weather agent with two tools, driven by a deterministic scripted model by default.

By default it needs no API key: the `FunctionModel` reads the user's message, calls `get_weather` (and
`get_local_time` in parallel when the message asks for the time), then answers from the tool results,
streaming word by word like a real model.

Configuration alone switches it to a real provider: `AGNOSTREAM_DEMO_PROVIDER=<provider key>` (e.g.
`openai`, `gemini`, `ollama`; see `agnostream providers`) and optionally `AGNOSTREAM_DEMO_MODEL=<model id>`
make the agent use that provider's chat model, built through `adapters.models.registry`, with the
provider's key and base URL from the usual variables. `agents_loader` calls `get_agents()` and
`get_teams()`: the demo team (`weather-team`, coordinate mode) has its scripted leader delegate the question
to its forecaster member and answer from the member's reply. `get_workflows()`: the demo workflow
(`weather-report`) asks a reporter agent for the weather while a function step reads the local time (a
Parallel), then a function step joins both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from adapters.models.base import ModelClient
from adapters.models.registry import PROVIDERS, build_model
from adapters.models.scripted import FunctionModel, ScriptedCall, Turn, step_of
from adapters.settings import ProviderKeys, Settings, load_settings
from engine import Agent, ConfigurationError, Message, Parallel, Step, StepInput, Team, Tool, Workflow

__all__ = ["SCRIPTED", "demo_model", "get_agents", "get_local_time", "get_teams", "get_weather", "get_workflows"]

SCRIPTED = "scripted"
"""`AGNOSTREAM_DEMO_PROVIDER` value (the default) selecting the keyless scripted model."""

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


def demo_model(settings: Settings, keys: ProviderKeys | None = None) -> ModelClient:
    """The demo's model: scripted by default, else `settings.demo_provider`'s chat model via the registry.

    Raises:
        ConfigurationError: `demo_provider` is neither `scripted` nor a known provider key.
    """
    provider = settings.demo_provider.strip().lower()
    if provider in ("", SCRIPTED):
        return FunctionModel(_weather_turn, id="demo-weather", provider="Scripted", token_delay_s=0.01)
    if provider not in {info.key for info in PROVIDERS}:
        known = ", ".join([SCRIPTED, *(info.key for info in PROVIDERS)])
        raise ConfigurationError(f"AGNOSTREAM_DEMO_PROVIDER={settings.demo_provider!r} is unknown; use one of: {known}")
    return build_model(provider, settings.demo_model, keys)


def get_agents(settings: Settings | None = None, keys: ProviderKeys | None = None) -> list[Agent]:
    """The demo agents, on the model `settings` select (`load_settings()` when not given).

    Args:
        settings: runtime settings; `demo_provider` / `demo_model` choose the model.
        keys: provider keys passed to a real provider's model; when None the model reads them through
            `load_settings()` on its first request.
    """
    if settings is None:
        settings = load_settings()[0]
    return [
        Agent(
            id="weather",
            name="Weather Agent",
            description="You are a concise weather assistant.",
            instructions=["Use the tools to answer.", "Answer in one sentence."],
            model=demo_model(settings, keys),
            tools=[get_weather, get_local_time],
            add_history_to_context=True,
        ),
    ]


def _lead_turn(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
    user = next((m.content or "" for m in reversed(messages) if m.role == "user"), "")
    if step_of(messages) == 0:
        return Turn(tool_calls=(ScriptedCall("delegate_task_to_member", {"member_id": "forecaster", "task": user}),))
    answer = next((m.content or "" for m in reversed(messages) if m.role == "tool"), "")
    return Turn(text=f"Our forecaster says: {answer}")


def get_teams(settings: Settings | None = None, keys: ProviderKeys | None = None) -> list[Team]:
    """The demo team: a leader that delegates weather questions to its forecaster member (see module docstring)."""
    if settings is None:
        settings = load_settings()[0]
    scripted = settings.demo_provider.strip().lower() in ("", SCRIPTED)
    leader = FunctionModel(_lead_turn, id="demo-lead", provider="Scripted", token_delay_s=0.01)
    forecaster = Agent(
        id="forecaster",
        name="Forecaster",
        role="Answers weather questions with the weather tools",
        model=demo_model(settings, keys),
        tools=[get_weather, get_local_time],
    )
    return [
        Team(
            id="weather-team",
            name="Weather Team",
            members=[forecaster],
            model=leader if scripted else demo_model(settings, keys),
            instructions="Delegate weather questions to the forecaster, then answer in one sentence.",
        )
    ]


def _clock(step_input: StepInput) -> str:
    return get_local_time(_city(str(step_input.input)))


def _report(step_input: StepInput) -> str:
    return f"{step_input.get_step_content('forecast')} Local time: {step_input.get_step_content('clock')}."


def get_workflows(settings: Settings | None = None, keys: ProviderKeys | None = None) -> list[Workflow]:
    """The demo workflow `weather-report` (see module docstring)."""
    if settings is None:
        settings = load_settings()[0]
    reporter = Agent(
        id="reporter",
        name="Weather Reporter",
        instructions="Answer in one sentence.",
        model=demo_model(settings, keys),
        tools=[get_weather],
    )
    steps = [
        Parallel(Step(name="forecast", agent=reporter), Step(name="clock", executor=_clock), name="gather"),
        Step(name="report", executor=_report),
    ]
    return [Workflow(id="weather-report", name="Weather Report", steps=steps)]
