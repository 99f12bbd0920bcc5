"""The conversations both sides of the OpenAI request-parity check run: agents, inputs and scripted replies.

This module is the single source of truth for `scripts/capture_agno_requests.py` (run with agno installed,
in its own venv) and `tests/parity/test_openai_request_parity.py` (run with agnostream). It imports only the
standard library and pydantic (a dependency of both), so both interpreters can load it.

A scenario is a plain dict:

- `agent`: constructor arguments shared by agno's `Agent` and agnostream's `engine.Agent` (`id`, `name`,
  `description`, `instructions`, `markdown`, `add_history_to_context`) plus `tools`, a list of names
  from `TOOLS`.
- `runs`: runs in one session, in order; each has an `input` and the scripted `replies` the stub model
  returns to that run's requests, in order. A reply is `{"text": str}` or
  `{"tool_calls": [{"id", "name", "arguments"}]}` with `arguments` as JSON text, or both keys.
"""

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel

__all__ = ["SCENARIOS", "TOOLS", "chat_completion", "sse_chunks"]


def get_weather(city: str) -> str:
    """Get the weather for a city.

    Args:
        city: Name of the city.
    """
    return f"Sunny, 21C in {city}"


def search_flights(
    origin: str,
    max_stops: int,
    budget: float,
    refundable: bool,
    airlines: list[str],
    cabin: Optional[str] = None,  # noqa: UP045 - typing.Optional on purpose: the common spelling in agno code
    seat: str | None = None,
    sort_by: Literal["price", "duration"] = "price",
) -> str:
    """Search flights leaving from an airport.

    Args:
        origin: IATA code of the departure airport.
        max_stops: Maximum number of stops.
        budget: Maximum price in EUR.
        refundable: Only show refundable fares.
        airlines: Airlines to include.
        cabin: Cabin class, if any.
        seat: Seat preference, if any.
        sort_by: Sort order of the results.

    Returns:
        A summary of the matching flights.
    """
    return f"2 flights from {origin} under {budget} EUR"


class Units(enum.Enum):
    METRIC = "metric"
    IMPERIAL = "imperial"


@dataclass
class Traveller:
    name: str
    age: Optional[int] = None  # noqa: UP045


class Budget(BaseModel):
    amount: float
    currency: str = "EUR"


def plan_trip(
    destination,  # unannotated on purpose
    nights: Annotated[int, "nights"],
    tags: list,
    daily_caps: dict[str, float],
    mode: Union[str, int],  # noqa: UP007
    options: dict,
    extra: Any,
    when: Optional[Literal["am", "pm"]] = None,  # noqa: UP045
    seats: list[Optional[int]] | None = None,  # noqa: UP045
    units: Units = Units.METRIC,
    traveller: Optional[Traveller] = None,  # noqa: UP045
    budget: Optional[Budget] = None,  # noqa: UP045
    agent: Any = None,
) -> str:
    """Plan a trip.

    Builds an itinerary for the destination.
    Uses cached prices when available.

    Args:
        destination (str): Where to go.
        nights: Number of nights,
            at least one.
        tags: Free-form tags.
        daily_caps: Spending cap per category.
        mode: Travel mode name or id.
        options: Extra options.
        extra: Anything else.
        when: Preferred departure time.
        seats: Seat numbers.
        units: Unit system.
        traveller: Who travels.
        budget: The budget.
        agent: Injected by the framework, never shown to the model.

    Returns:
        The plan.
    """
    return f"{nights} nights in {destination}"


def current_time():
    return "12:00"


TOOLS: dict[str, Callable[..., Any]] = {
    "get_weather": get_weather,
    "search_flights": search_flights,
    "plan_trip": plan_trip,
    "current_time": current_time,
}


def _call(call_id: str, name: str, **arguments: Any) -> dict[str, str]:
    return {"id": call_id, "name": name, "arguments": json.dumps(arguments)}


SCENARIOS: list[dict[str, Any]] = [
    {
        "name": "history_one_tool",
        "about": "no instructions, one tool from a plain function, two runs in one session with history",
        "agent": {
            "id": "weather-agent",
            "name": "Weather Agent",
            "description": None,
            "instructions": None,
            "markdown": False,
            "add_history_to_context": True,
            "tools": ["get_weather"],
        },
        "runs": [
            {
                "input": "What is the weather in Paris?",
                "replies": [
                    {"tool_calls": [_call("call_paris_1", "get_weather", city="Paris")]},
                    {"text": "It is sunny and 21C in Paris."},
                ],
            },
            {
                "input": "And is that warm?",
                "replies": [{"text": "Yes, 21C is pleasantly warm."}],
            },
        ],
    },
    {
        "name": "prompt_and_typed_tool",
        "about": "description + instructions list + markdown, a tool with several typed params, no history",
        "agent": {
            "id": "travel-agent",
            "name": "Travel Agent",
            "description": "You are a travel assistant.",
            "instructions": ["Be concise.", "Always state prices in EUR."],
            "markdown": True,
            "add_history_to_context": False,
            "tools": ["search_flights"],
        },
        "runs": [
            {
                "input": "Find me a cheap refundable flight from CDG with at most one stop.",
                "replies": [
                    {
                        "tool_calls": [
                            _call(
                                "call_flights_1",
                                "search_flights",
                                origin="CDG",
                                max_stops=1,
                                budget=300.0,
                                refundable=True,
                                airlines=["AF", "KL"],
                            )
                        ]
                    },
                    {"text": "I found **2 flights** from CDG under 300 EUR."},
                ],
            },
        ],
    },
    {
        "name": "parallel_tool_calls",
        "about": "two tool calls in one assistant turn",
        "agent": {
            "id": "weather-agent-2",
            "name": "Weather Agent",
            "description": None,
            "instructions": "Answer in one sentence.",
            "markdown": False,
            "add_history_to_context": False,
            "tools": ["get_weather"],
        },
        "runs": [
            {
                "input": "Compare the weather in Paris and London.",
                "replies": [
                    {
                        "tool_calls": [
                            _call("call_paris_2", "get_weather", city="Paris"),
                            _call("call_london_2", "get_weather", city="London"),
                        ]
                    },
                    {"text": "Both Paris and London are sunny at 21C."},
                ],
            },
        ],
    },
    {
        "name": "schema_and_prompt_edge_cases",
        "about": (
            "tool schemas for unannotated, Any, bare list/dict, dict[K, V], Union, nested Optional, Enum, dataclass,"
            " pydantic model and Annotated params; a docstring-less tool declared after another (tool order); a"
            " multi-paragraph docstring with typed and multi-line Args; multi-line and padded instructions;"
            " an assistant turn with both text and a tool call, whose id is not OpenAI-shaped (agno renames it)"
        ),
        "agent": {
            "id": "trip-agent",
            "name": "Trip Agent",
            "description": "You plan trips.",
            "instructions": ["Plan carefully.", "Rules:\n- no red-eyes\n- at most 2 stops", "  Be nice.  "],
            "markdown": False,
            "add_history_to_context": False,
            "tools": ["plan_trip", "current_time"],
        },
        "runs": [
            {
                "input": "Plan a weekend in Rome.",
                "replies": [
                    {"text": "Let me check the time first.", "tool_calls": [_call("toolu_time_1", "current_time")]},
                    {"text": "Here is your plan for Rome."},
                ],
            },
        ],
    },
]

_USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def chat_completion(reply: dict[str, Any], model: str, index: int) -> dict[str, Any]:
    """The non-streamed Chat Completions body answering with `reply`."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("text")}
    if "tool_calls" in reply:
        message["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in reply["tool_calls"]
        ]
    return {
        "id": f"chatcmpl-{index}",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if "tool_calls" in reply else "stop"}
        ],
        "usage": _USAGE,
    }


def sse_chunks(reply: dict[str, Any], model: str, index: int) -> list[dict[str, Any]]:
    """The `chat.completion.chunk` payloads streaming `reply` (a usage chunk last; `[DONE]` not included)."""
    base = {"id": f"chatcmpl-{index}", "object": "chat.completion.chunk", "created": 1700000000, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": None if "tool_calls" in reply else ""})]
    text = reply.get("text")
    if text:
        half = len(text) // 2
        chunks += [chunk({"content": text[:half]}), chunk({"content": text[half:]})]
    if "tool_calls" in reply:
        for i, c in enumerate(reply["tool_calls"]):
            head = {"index": i, "id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": ""}}
            chunks.append(chunk({"tool_calls": [head]}))
            chunks.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": c["arguments"]}}]}))
        chunks.append(chunk({}, "tool_calls"))
    else:
        chunks.append(chunk({}, "stop"))
    chunks.append({**base, "choices": [], "usage": _USAGE})
    return chunks
