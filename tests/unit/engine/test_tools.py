"""Tool definitions (from callables and schemas) and Agent validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional

import pytest

from engine import FRAMEWORK_INJECTED_PARAMS, Agent, ConfigurationError, ModelRef, Tool, tool


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


def get_weather(
    city: str,
    days: int,
    scale: float,
    metric: bool,
    hours: list[int],
    extra: dict[str, Any],
    note: Optional[str] = None,  # noqa: UP045 - Optional spelling is part of what is tested
    unit: Literal["c", "f"] = "c",
    *args: Any,
    agent: Any = None,
    run_context: Any = None,
    **kwargs: Any,
) -> str:
    """Get the weather for a city.

    Second summary line.

    Args:
        city: The city name,
            e.g. Paris.
        days (int): How many days.
        scale: A scale factor.
        metric: Use metric units.
        hours: Hours of the day.
        extra: Anything else.
        note: An optional note.
        unit: The unit.
        agent: Injected, never shown.

    Returns:
        The forecast.
    """
    return city


def test_from_callable_derives_the_schema_from_signature_and_docstring() -> None:
    # when
    t = Tool.from_callable(get_weather)

    # then
    assert t.name == "get_weather"
    assert t.description == "Get the weather for a city.\n\nSecond summary line."
    assert t.entrypoint is get_weather
    assert t.parameters["type"] == "object"
    props = t.parameters["properties"]
    assert list(props) == ["city", "days", "scale", "metric", "hours", "extra", "note", "unit"]
    assert props["city"] == {"type": "string", "description": "The city name, e.g. Paris."}
    assert props["days"] == {"type": "integer", "description": "How many days."}
    assert props["scale"]["type"] == "number"
    assert props["metric"]["type"] == "boolean"
    assert props["hours"] == {"type": "array", "items": {"type": "integer"}, "description": "Hours of the day."}
    assert props["extra"] == {"type": "object", "description": "Anything else."}
    assert props["note"] == {"type": ["string", "null"], "description": "An optional note."}
    assert props["unit"] == {"type": "string", "enum": ["c", "f"], "description": "The unit."}
    assert t.parameters["required"] == ["city", "days", "scale", "metric", "hours", "extra"]
    assert not FRAMEWORK_INJECTED_PARAMS & set(props)
    assert "args" not in props
    assert "kwargs" not in props


def many_types(  # type: ignore[no-untyped-def]
    a,
    b: Any,
    c: list,  # type: ignore[type-arg]
    d: tuple[str, ...],
    e: set[float],
    f: dict,  # type: ignore[type-arg]
    g: int | str,
    h: int | str | None,
    i: Literal[1, 2],
    j: bytes,
    k: Optional[list[str]] = None,  # noqa: UP045
) -> None:
    """No Args section."""


def test_from_callable_maps_other_type_hints() -> None:
    props = Tool.from_callable(many_types).parameters["properties"]

    assert props["a"] == {}
    assert props["b"] == {}
    assert props["c"] == {"type": "array", "items": {}}
    assert props["d"] == {"type": "array", "items": {"type": "string"}}
    assert props["e"] == {"type": "array", "items": {"type": "number"}}
    assert props["f"] == {"type": "object"}
    assert props["g"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    # (nullability of a multi-type Optional is not expressed: see the report; only the members are pinned here)
    assert props["h"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert props["i"] == {"type": "integer", "enum": [1, 2]}
    assert props["j"] == {}
    assert props["k"] == {"type": ["array", "null"], "items": {"type": "string"}}


def test_from_callable_with_unresolvable_hints_falls_back_to_raw_annotations() -> None:
    def broken(x: UndefinedName, y: int) -> None:  # type: ignore[name-defined]  # noqa: F821
        """Broken hints."""

    t = Tool.from_callable(broken)

    # the unresolvable annotation gives an unconstrained schema; the tool is still built
    assert t.parameters["properties"]["x"] == {}
    assert t.parameters["required"] == ["x", "y"]


def test_from_callable_without_a_docstring_and_with_overrides() -> None:
    def f(x: int = 1) -> int:
        return x

    t = Tool.from_callable(f, name="renamed", description="Custom.")

    assert (t.name, t.description) == ("renamed", "Custom.")
    assert t.parameters == {"type": "object", "properties": {"x": {"type": "integer"}}, "required": []}
    assert Tool.from_callable(f, description="").description == ""
    assert Tool.from_callable(f).description == ""


def test_from_callable_parses_other_google_sections_and_star_args() -> None:
    def f(query: str, limit: int = 5) -> list[str]:
        """Search.

        Arguments:
            query: What to look for.

            limit: Max results.
        Raises:
            ValueError: never an argument.
        Example:
            f("x")
        """
        return []

    t = Tool.from_callable(f)

    assert t.description == "Search."
    props = t.parameters["properties"]
    assert props["query"]["description"] == "What to look for."
    assert props["limit"]["description"] == "Max results."


def test_from_callable_of_a_callable_object_uses_the_default_name() -> None:
    class Adder:
        def __call__(self, x: int) -> int:
            return x + 1

    t = Tool.from_callable(Adder())

    assert t.name == "tool"
    assert list(t.parameters["properties"]) == ["x"]


def test_from_callable_rejects_a_non_callable() -> None:
    with pytest.raises(ConfigurationError, match="is not callable"):
        Tool.from_callable(42)  # type: ignore[arg-type]


def test_tool_decorator_with_and_without_arguments() -> None:
    @tool
    def plain(x: int) -> int:
        """Plain tool."""
        return x

    @tool(name="named", description="Named tool.")  # type: ignore[untyped-decorator]
    def other(y: str) -> str:
        return y

    assert isinstance(plain, Tool)
    assert (plain.name, plain.description) == ("plain", "Plain tool.")
    assert isinstance(other, Tool)
    assert (other.name, other.description) == ("named", "Named tool.")
    assert other.entrypoint is not None
    assert other.entrypoint("ok") == "ok"


def test_from_schema_plain_and_openai_wrapped() -> None:
    params = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    plain = Tool.from_schema({"name": "search", "description": "Search.", "parameters": params})
    wrapped = Tool.from_schema(
        {"type": "function", "function": {"name": "search", "description": "Search.", "parameters": params}}
    )
    bare = Tool.from_schema({"name": "ping"})

    assert plain == wrapped
    assert (plain.name, plain.description, plain.parameters) == ("search", "Search.", params)
    assert (bare.description, bare.parameters) == ("", {"type": "object", "properties": {}, "required": []})
    assert plain.entrypoint is None

    def entry() -> None:
        return None

    assert Tool.from_schema({"name": "ping"}, entrypoint=entry).entrypoint is entry


@pytest.mark.parametrize(
    "schema",
    [{}, {"name": ""}, {"name": 3}, {"type": "function", "function": {"description": "no name"}}],
)
def test_from_schema_without_a_name_raises(schema: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="needs a non-empty 'name'"):
        Tool.from_schema(schema)


@pytest.mark.parametrize("parameters", [{"type": "array"}, ["x"], "object"])
def test_from_schema_with_non_object_parameters_raises(parameters: Any) -> None:
    with pytest.raises(ConfigurationError, match="'parameters' must be a JSON-schema object"):
        Tool.from_schema({"name": "t", "parameters": parameters})


def test_to_openai() -> None:
    t = Tool.from_schema({"name": "t", "description": "D."})

    assert t.to_openai() == {
        "type": "function",
        "function": {
            "name": "t",
            "description": "D.",
            "parameters": {"type": "object", "properties": {}, "required": []},
        },
    }
    strict = Tool(name="s", strict=True)
    assert strict.to_openai()["function"]["strict"] is True
    assert "strict" not in t.to_openai()["function"]


# --------------------------------------------------------------------------------------------- Agent


def test_agent_normalises_callables_and_dicts_to_tools_and_defaults_the_name_to_the_id() -> None:
    explicit = Tool(name="explicit")

    agent = Agent(id="a", model=FakeModel(), tools=[get_weather, {"name": "search"}, explicit])

    assert [t.name for t in agent.tool_list] == ["get_weather", "search", "explicit"]
    assert all(isinstance(t, Tool) for t in agent.tool_list)
    assert agent.get_tool("explicit") is explicit
    assert agent.get_tool("missing") is None
    assert agent.name == "a"
    assert Agent(id="a", model=FakeModel(), name="Named").name == "Named"
    assert isinstance(agent.model, ModelRef)


def test_agent_validation_errors() -> None:
    class NoName:
        id = "m"
        provider = "P"

    with pytest.raises(ConfigurationError, match=r"Agent\.id must be a non-empty string"):
        Agent(id="", model=FakeModel())
    with pytest.raises(ConfigurationError, match="model must have id, provider and name"):
        Agent(id="a", model=NoName())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="two tools are named 'get_weather'"):
        Agent(id="a", model=FakeModel(), tools=[get_weather, {"name": "get_weather"}])
    with pytest.raises(ConfigurationError, match="tool_call_limit must be >= 0"):
        Agent(id="a", model=FakeModel(), tool_call_limit=-1)
    with pytest.raises(ConfigurationError, match="needs a non-empty 'name'"):
        Agent(id="a", model=FakeModel(), tools=[{"description": "x"}])


@pytest.mark.parametrize(
    ("add", "num", "expected"),
    [(False, None, 0), (False, 5, 0), (True, None, 3), (True, 0, 0), (True, 7, 7)],
)
def test_agent_history_runs(add: bool, num: int | None, expected: int) -> None:
    agent = Agent(id="a", model=FakeModel(), add_history_to_context=add, num_history_runs=num)

    assert agent.history_runs == expected


def test_agent_is_immutable_and_compares_by_configuration() -> None:
    a = Agent(id="a", model=FakeModel(), tools=[{"name": "t"}])
    b = Agent(id="a", model=FakeModel(), tools=[{"name": "t"}])

    assert a == b
    with pytest.raises(AttributeError):
        a.id = "b"  # type: ignore[misc]
