"""Tool definitions (from callables and schemas) and Agent validation."""

from __future__ import annotations

import enum
import functools
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, Union

import pytest
from pydantic import BaseModel

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
    # every expected value below is what agno 3.1.10's Function.from_callable derives for this function
    assert t.description == "Get the weather for a city.\nSecond summary line."
    assert t.entrypoint is get_weather
    assert t.parameters["type"] == "object"
    props = t.parameters["properties"]
    assert list(props) == ["city", "days", "scale", "metric", "hours", "extra", "note", "unit"]
    assert props["city"] == {"type": "string", "description": "The city name,\ne.g. Paris."}
    assert props["days"] == {"type": "integer", "description": "(int) How many days."}
    assert props["scale"]["type"] == "number"
    assert props["metric"]["type"] == "boolean"
    assert props["hours"] == {"type": "array", "items": {"type": "integer"}, "description": "Hours of the day."}
    assert props["extra"] == {
        "type": "object",
        "propertyNames": {"type": "string"},
        "additionalProperties": {"type": "object", "properties": {}, "additionalProperties": False},
        "description": "Anything else.",
    }
    assert props["note"] == {"type": "string", "description": "An optional note."}  # typing.Optional is unwrapped
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

    # agno 3.1.10's schemas for these hints, quirks included (Any and bytes become a closed empty object)
    closed_object = {"type": "object", "properties": {}, "additionalProperties": False}
    assert props["a"] == {}
    assert props["b"] == closed_object
    assert props["c"] == {"type": "array"}
    assert props["d"] == {"type": "array", "items": {"type": "string"}}
    assert props["e"] == {"type": "array", "items": {"type": "number"}}
    assert props["f"] == {"type": "object", "additionalProperties": True}
    assert props["g"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert props["h"] == {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}
    assert props["i"] == {"type": "integer", "enum": [1, 2]}
    assert props["j"] == closed_object
    assert props["k"] == {"type": "array", "items": {"type": "string"}}


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


# --------------------------------------------------------------------------------------------- agno parity
# Unless a test says otherwise, expected values were produced by agno 3.1.10's `Function.from_callable` on the
# same definitions (see also tests/parity/).


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Point:
    x: int
    label: Optional[str] = None  # noqa: UP045
    tags: list[str] | None = None
    weird: Union[None, None] = None  # noqa: UP007


class Address(BaseModel):
    city: str
    zip_code: Optional[str] = None  # noqa: UP045


class Person(BaseModel):
    name: str
    home: Address
    friends: list[Person] = []


class Opaque:
    pass


def probe(
    color: Color,
    point: Point,
    person: Person,
    count: Annotated[int, "a count"],
    flags: Literal[True, False],
    ratio: Literal[1.5, 2],
    mixed: Literal["a", 1],
    bare_list: typing.List,  # type: ignore[type-arg]  # noqa: UP006
    bare_dict: typing.Dict,  # type: ignore[type-arg]  # noqa: UP006
    nested: dict[str, list[int]],
    frozen: frozenset[str],
    nothing: None,
    maybe_num: float | None,
    opaque: Opaque,
    call: Callable[[int], str],
    seq: Sequence[str],
    only_none: Optional[None] = None,  # noqa: UP045
) -> str:
    """Probe.

    Args:
        color (Color, optional): A colour.
        point (Point?): A point.
        person : Someone.
        count: How many.

            More about the count.
        flags: Yes or no.
    Note:
        ratio: not a parameter doc.
    """
    return ""


def test_from_callable_matches_agno_for_enums_dataclasses_pydantic_models_and_more() -> None:
    t = Tool.from_callable(probe)

    assert t.description == "Probe."
    assert t.parameters == PROBE_PARAMETERS


PROBE_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "color": {"type": "string", "enum": ["red", "blue"], "description": "(Color) A colour."},
        "point": {
            "type": "object",
            "properties": {
                "x": {"type": "integer"},
                "label": {"type": "string"},
                "tags": {"type": "array"},
                "weird": {"type": "null"},
            },
            "additionalProperties": False,
            "required": ["x", "weird"],
            "description": "(Point) A point.",
        },
        "person": {
            "properties": {
                "name": {"title": "Name", "type": "string"},
                "home": {
                    "properties": {
                        "city": {"title": "City", "type": "string"},
                        "zip_code": {
                            "anyOf": [{"type": "string"}, {"type": "null"}],
                            "default": None,
                            "title": "Zip Code",
                        },
                    },
                    "required": ["city"],
                    "title": "Address",
                    "type": "object",
                },
                "friends": {
                    "default": [],
                    "items": {"type": "object", "description": "A nested Person object of this same shape."},
                    "title": "Friends",
                    "type": "array",
                },
            },
            "required": ["name", "home"],
            "title": "Person",
            "type": "object",
        },
        "count": {"type": "integer", "description": "How many.\nMore about the count."},
        "flags": {"type": "boolean", "enum": [True, False], "description": "Yes or no."},
        "ratio": {"type": "number", "enum": [1.5, 2]},
        "mixed": {"enum": ["a", 1]},
        "bare_list": {"type": "array", "items": {"type": "string"}},
        "bare_dict": {
            "type": "object",
            "propertyNames": {"type": "string"},
            "additionalProperties": {"type": "string"},
        },
        "nested": {
            "type": "object",
            "propertyNames": {"type": "string"},
            "additionalProperties": {"type": "array", "items": {"type": "integer"}},
        },
        "frozen": {"type": "array", "items": {"type": "string"}},
        "nothing": {"type": "null"},
        "maybe_num": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "opaque": {"type": "object", "properties": {}, "additionalProperties": False},
        "call": {"type": "object", "properties": {}, "additionalProperties": False},
        "seq": {"type": "object", "properties": {}, "additionalProperties": False},
        "only_none": {"type": "null"},
    },
    "required": [
        "color",
        "point",
        "person",
        "count",
        "flags",
        "ratio",
        "mixed",
        "bare_list",
        "bare_dict",
        "nested",
        "frozen",
        "nothing",
        "maybe_num",
        "opaque",
        "call",
        "seq",
    ],
}


NO_NAME = functools.partial(int)
"""A hint without `__name__`, which agno's schema code cannot describe."""


def test_a_hint_without_a_schema_drops_the_parameter_and_its_union_member() -> None:
    # agno's schema code drops such a parameter too (and a failing union member), but agno then fails to
    # build the tool at all (pydantic's validate_call rejects the hint); we keep the tool.
    def f(a: NO_NAME, b: list[NO_NAME], c: dict[str, NO_NAME], d: Union[NO_NAME, int], e: int) -> None:  # type: ignore[valid-type]  # noqa: UP007
        """F."""

    params = Tool.from_callable(f).parameters

    assert params["properties"] == {"d": {"anyOf": [{"type": "integer"}]}, "e": {"type": "integer"}}
    assert params["required"] == ["d", "e"]


@pytest.mark.parametrize(
    ("doc", "description", "arg_docs"),
    [
        ("One line.", "One line.", {}),
        ("Summary spanning\ntwo lines.\n\nArgs:\n    a: an a.", "Summary spanning\ntwo lines.", {"a": "an a."}),
        (
            "Title.\n\n\nLong para one.\n\nLong para two.\n\nArgs:\n    a (int): x.\n"
            "    b (str, optional): y\n        continued\n\n        after blank.\n    c: z.\n\nReturns:\n    r.",
            "Title.\nLong para one.\n\nLong para two.",
            {"a": "(int) x.", "b": "(str) y\ncontinued\n\nafter blank.", "c": "z."},
        ),
        (
            "Title.\n\nArgs:\n  a: two-space indent.\n  b:\n    desc on next line.\nRaises:\n  ValueError: bad.",
            "Title.",
            {"a": "two-space indent.", "b": "desc on next line."},
        ),
        (
            "Title.\n\nParams:\n    a: via Params.\nExamples:\n    >>> f(1)\n\nArgs:\n    b: second args block.",
            "Title.",
            {"a": "via Params.", "b": "second args block."},
        ),
        (
            "Title.\n\nArgs:\n    a: first.\nUnindented text ends section.\n    b: not parsed.",
            "Title.",
            {"a": "first."},
        ),
        ("Title.\nArgs:\n    a: directly after title.", "Title.", {"a": "directly after title."}),
        ("", "", {}),
        ("Title.\n\nNote:\n    Before args.\n\nArgs:\n    a: x.", "Title.\nNote:\n    Before args.", {"a": "x."}),
        (
            "Title.\n\nArgs:\n    a -- no colon here\n    b: has colon.",
            "Title.\nArgs:\n    a -- no colon here\n    b: has colon.",
            {},
        ),
        (
            "Title.\n\nArgs:\n    a (list[int]): typed generic.\n    b (int?): question.",
            "Title.",
            {"a": "(list[int]) typed generic.", "b": "(int) question."},
        ),
        ("Title.\n\nArgs:\n\nReturns:\n    x.", "Title.\nArgs:\n\nReturns:\n    x.", {}),
        (
            "Title.\n\nArgs:\n    a: fine.\nRaises:\n    ValueError",
            "Title.\nArgs:\n    a: fine.\nRaises:\n    ValueError",
            {},
        ),
        ("Title.\n\nReturns:\n    just text without colon.\nArgs:\n    a: ok.", "Title.", {"a": "ok."}),
        ("Title.\n\nArgs:\n    a: one.\n\nArgs:\n    b: two.", "Title.", {"b": "two."}),
        ("Title.\n\nAttributes:\n    x: y.\n\nArgs:\n    c: see.", "Title.", {"c": "see."}),
    ],
)
def test_docstrings_are_read_as_agno_reads_them(doc: str, description: str, arg_docs: dict[str, str]) -> None:
    def f(a: Any = None, b: Any = None, c: Any = None) -> None:
        pass

    f.__doc__ = doc
    t = Tool.from_callable(f)

    assert t.description == description
    assert {k: v["description"] for k, v in t.parameters["properties"].items() if "description" in v} == arg_docs


# -- corner cases of agno's schema derivation (engine coverage) ------------------------------------------------


@dataclass
class _AllOptional:
    note: str | None = None
    pick: Literal["a", 1] | None = None


@dataclass
class _Unresolvable:
    thing: UndefinedName  # type: ignore[name-defined]  # noqa: F821


def test_schema_corner_cases_follow_agno() -> None:
    from engine.tools import _arg_schema, _inline_refs, _literal_schema

    assert _literal_schema(()) == {"type": "string"}
    assert _arg_schema(Literal[1.5, 2]) == {"type": "number", "enum": [1.5, 2]}
    assert _arg_schema(Literal["a", 1]) == {"enum": ["a", 1]}
    optional = _arg_schema(_AllOptional)
    assert optional is not None
    assert "required" not in optional
    assert optional["properties"]["note"] == {"type": "string"}
    assert "anyOf" in optional["properties"]["pick"]  # no typed member to keep: the union stays
    assert _arg_schema(_Unresolvable) == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
        "required": ["thing"],
    }
    inlined = _inline_refs(
        {
            "type": "object",
            "properties": {
                "a": {"$ref": "https://example.com/x"},
                "b": {"$ref": "#/$defs/Missing"},
                "c": {"type": "array", "items": [{"type": "string"}], "additionalProperties": True},
            },
        }
    )
    assert inlined["properties"]["a"] == inlined["properties"]["b"] == {"type": "object"}
    assert inlined["properties"]["c"] == {"type": "array", "items": [{"type": "string"}], "additionalProperties": True}
