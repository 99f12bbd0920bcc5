"""Tool definitions: a name, a description, a JSON-schema of parameters and an optional entrypoint.

Tools come from plain Python callables (schema derived from the signature and the Google-style
docstring exactly as agno's `@tool` / `Function.from_callable` derive it, checked against agno in
`tests/parity/`) or from an explicit JSON schema (`Tool.from_schema`). The engine only reads names and
schemas; the tool worker calls `entrypoint`.

Human in the loop (agno's `@tool` flags): a tool with `requires_confirmation`, `requires_user_input`
(optionally naming `user_input_fields`, which the model then never sees) or `external_execution` is not
executed when the model calls it: the run pauses until `POST .../continue` resolves the call.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._docstrings import parse_docstring, schema_description
from .errors import ConfigurationError
from .messages import UserInputField
from .user_input import field_for_parameter, hide_fields, schema_from_properties

__all__ = ["FRAMEWORK_INJECTED_PARAMS", "Tool", "tool"]

FRAMEWORK_INJECTED_PARAMS = frozenset(
    {
        "agent",
        "team",
        "run_context",
        "images",
        "videos",
        "audios",
        "files",
        "self",
        "_agno_agent",
        "_agno_team",
        "_agno_run_context",
    }
)
"""Parameters agno injects and never shows the model (agno `utils/schema.py`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    """A tool the model may call.

    `parameters` is a JSON-schema object (`{"type": "object", "properties": ..., "required": [...]}`).
    `entrypoint` is called by the tool worker with the decoded arguments as keyword arguments; it may be
    sync or async and return any value (non-strings are JSON-encoded for the model).
    """

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}, "required": []})
    entrypoint: Callable[..., Any] | None = None
    strict: bool = False
    requires_confirmation: bool = False
    """Pause the run until a human confirms (or rejects) each call."""
    requires_user_input: bool = False
    """Pause the run until a human fills in the arguments (`user_input_schema[].value`)."""
    user_input_fields: tuple[str, ...] = ()
    """Arguments only the user provides: left out of the schema the model sees. Empty: the model proposes all."""
    user_input_schema: tuple[UserInputField, ...] = ()
    """Every argument as agno's `UserInputField` (derived when empty and `requires_user_input` is set)."""
    external_execution: bool = False
    """Never executed here: the run pauses until the caller supplies the call's result."""

    def __post_init__(self) -> None:
        if self.requires_user_input:
            if not self.user_input_schema:
                object.__setattr__(self, "user_input_schema", schema_from_properties(self.parameters))
            object.__setattr__(self, "parameters", hide_fields(self.parameters, self.user_input_fields))

    @property
    def pauses(self) -> bool:
        """True when a call of this tool pauses the run (confirmation, user input or external execution)."""
        return self.requires_confirmation or self.requires_user_input or self.external_execution

    def to_openai(self) -> dict[str, Any]:
        """Return the OpenAI chat `tools` entry: `{"type": "function", "function": {name, description, parameters}}`."""
        fn: dict[str, Any] = {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}
        if self.strict:
            fn["strict"] = True
        return {"type": "function", "function": fn}

    @classmethod
    def from_callable(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        requires_confirmation: bool = False,
        requires_user_input: bool = False,
        user_input_fields: tuple[str, ...] | list[str] = (),
        external_execution: bool = False,
    ) -> Tool:
        """Derive a tool from a callable's signature and docstring, giving the schema agno's `Function` gives.

        The mapping of type hints is agno's (`utils/json_schema.py`), quirks included, so an agent sends
        the same `tools` as under agno: str/int/float/bool → their JSON type; `list[X]`/`tuple`/`set` →
        `array` of X (bare `list` has no `items`); `dict[K, V]` → `object` with `propertyNames` and
        `additionalProperties`; bare `dict` → an open `object`; `Literal` → `enum` with the common type;
        `Enum` → string `enum` of its values; a pydantic model or a dataclass → its object schema;
        `Annotated[X, ...]` → X; a top-level `typing.Optional[X]` → X (no null), while `X | None` and
        other unions → `anyOf`; `Any`, `bytes` and unknown classes → `{"type": "object", "properties": {},
        "additionalProperties": false}`; no annotation → `{}`. `Args:` entries of the Google docstring
        become parameter descriptions (`name (type): text` → `"(type) text"`); parameters without a
        default are required. Framework-injected parameters (`agent`, `run_context`, ...) are left out.
        With `requires_user_input`, `user_input_schema` lists every parameter (agno: the type's name and the
        docstring text) and `user_input_fields` are left out of the model's schema.

        Differences from agno, on purpose: `*args` / `**kwargs` are left out (agno lists them as
        required properties the model cannot fill), and when the hints cannot be resolved the tool
        keeps the raw annotations (agno sends no properties at all).

        Raises:
            ConfigurationError: `fn` is not callable.
        """
        if not callable(fn):
            raise ConfigurationError(f"tool {fn!r} is not callable; pass a function or a Tool")
        summary, arg_docs = parse_docstring(inspect.getdoc(fn) or "")
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except (NameError, TypeError):
            hints = {}
        properties: dict[str, Any] = {}
        required: list[str] = []
        user_inputs: list[UserInputField] = []
        for pname, param in inspect.signature(fn).parameters.items():
            if pname in FRAMEWORK_INJECTED_PARAMS or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if requires_user_input:
                user_inputs.append(field_for_parameter(pname, hints.get(pname), arg_docs.get(pname)))
            hint = hints.get(pname, param.annotation)
            if hint is inspect.Parameter.empty or isinstance(hint, str):
                hint = None  # unannotated, or an annotation that could not be resolved
            schema = _param_schema(hint)
            if schema is None:
                continue  # agno leaves out a parameter whose type it cannot describe
            if pname in arg_docs and schema_description(arg_docs[pname]):
                schema["description"] = schema_description(arg_docs[pname])
            properties[pname] = schema
            if param.default is inspect.Parameter.empty:
                required.append(pname)
        return cls(
            name=name or str(getattr(fn, "__name__", "tool")),
            description=description if description is not None else summary,
            parameters={"type": "object", "properties": properties, "required": required},
            entrypoint=fn,
            requires_confirmation=requires_confirmation,
            requires_user_input=requires_user_input,
            user_input_fields=tuple(user_input_fields),
            user_input_schema=tuple(user_inputs),
            external_execution=external_execution,
        )

    @classmethod
    def from_schema(
        cls,
        schema: Mapping[str, Any],
        entrypoint: Callable[..., Any] | None = None,
        *,
        requires_confirmation: bool = False,
        requires_user_input: bool = False,
        user_input_fields: tuple[str, ...] | list[str] = (),
        external_execution: bool = False,
    ) -> Tool:
        """Build a tool from an explicit definition `{"name", "description", "parameters"}`.

        Also accepts the OpenAI wrapper `{"type": "function", "function": {...}}`. The human-in-the-loop
        flags are those of `from_callable`.

        Raises:
            ConfigurationError: `name` is missing or `parameters` is not a JSON-schema object.
        """
        body = schema.get("function", schema) if schema.get("type") == "function" else schema
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"tool schema needs a non-empty 'name', got {dict(schema)!r:.200}")
        parameters = body.get("parameters") or {"type": "object", "properties": {}, "required": []}
        if not isinstance(parameters, Mapping) or parameters.get("type") != "object":
            raise ConfigurationError(f"tool {name!r}: 'parameters' must be a JSON-schema object with type 'object'")
        return cls(
            name=name,
            description=str(body.get("description") or ""),
            parameters=parameters,
            entrypoint=entrypoint,
            requires_confirmation=requires_confirmation,
            requires_user_input=requires_user_input,
            user_input_fields=tuple(user_input_fields),
            external_execution=external_execution,
        )


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    requires_confirmation: bool = False,
    requires_user_input: bool = False,
    user_input_fields: tuple[str, ...] | list[str] = (),
    external_execution: bool = False,
) -> Any:
    """Decorator turning a function into a `Tool` (`@tool`, `@tool(name=...)`, `@tool(requires_confirmation=True)`)."""

    def wrap(f: Callable[..., Any]) -> Tool:
        return Tool.from_callable(
            f,
            name=name,
            description=description,
            requires_confirmation=requires_confirmation,
            requires_user_input=requires_user_input,
            user_input_fields=user_input_fields,
            external_execution=external_execution,
        )

    return wrap(fn) if fn is not None else wrap


# -- JSON schema from type hints: a port of agno's `utils/json_schema.py` (get_json_schema[_for_arg]) ----------

_TYPE_NAMES: dict[str, str] = {
    "int": "integer",
    "float": "number",
    "complex": "number",
    "Decimal": "number",
    "str": "string",
    "bool": "boolean",
    "NoneType": "null",
    "list": "array",
    "tuple": "array",
    "set": "array",
    "frozenset": "array",
    "dict": "object",
}
"""agno's `get_json_type_for_py_type`, keyed by the hint's `__name__`; any other name maps to "object"."""


def _param_schema(hint: Any) -> dict[str, Any] | None:
    """The schema of one parameter (agno `get_json_schema`), or None when agno leaves the parameter out.

    Only a top-level `typing.Optional[X]` / `Union[X, None]` is unwrapped to X's schema; a PEP 604
    `X | None` keeps its `{"type": "null"}` member in `anyOf` (agno checks `get_origin(...) is Union`).
    An unannotated parameter gets the unconstrained `{}`.
    """
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Union and len(args) == 2 and type(None) in args:
        hint = args[0] if args[1] is type(None) else args[1]
    return _arg_schema(hint) if hint is not None else {}


def _arg_schema(hint: Any) -> dict[str, Any] | None:
    """The schema of a type hint as agno's `get_json_schema_for_arg` builds it; None if agno cannot describe it."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return _arg_schema(args[0]) if args else None
    if origin is typing.Literal:
        return _literal_schema(args)
    if origin in (list, tuple, set, frozenset):
        items = _arg_schema(args[0]) if args else {"type": "string"}
        return None if items is None else {"type": "array", "items": items}
    if origin is dict:
        keys = _arg_schema(args[0]) if args else {"type": "string"}
        values = _arg_schema(args[1]) if len(args) > 1 else {"type": "string"}
        if keys is None or values is None:
            return None
        return {"type": "object", "propertyNames": keys, "additionalProperties": values}
    if origin in (typing.Union, types.UnionType):
        members = [m for m in (_arg_schema(a) for a in args) if m]
        return {"anyOf": members} if members else None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"type": "string", "enum": [member.value for member in hint]}
    model_json_schema = getattr(hint, "model_json_schema", None) if isinstance(hint, type) else None
    if callable(model_json_schema):
        # a pydantic model, recognised by duck typing so the engine does not import pydantic
        return _inline_refs(model_json_schema())
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_schema(hint)
    if hint is dict:
        return {"type": "object", "additionalProperties": True}
    name = getattr(hint, "__name__", None)
    if not isinstance(name, str):
        return None
    json_type = _TYPE_NAMES.get(name, "object")
    if json_type == "object":
        # agno's schema for an unknown class, `Any` and `bytes` included: an object with no properties
        return {"type": "object", "properties": {}, "additionalProperties": False}
    return {"type": json_type}


def _literal_schema(values: tuple[Any, ...]) -> dict[str, Any]:
    """`Literal[...]`: the JSON type common to all values (bool before int, as bool is an int) plus `enum`."""
    if not values:
        return {"type": "string"}
    enum_values = list(values)
    if all(isinstance(v, str) for v in values):
        return {"type": "string", "enum": enum_values}
    if all(isinstance(v, bool) for v in values):
        return {"type": "boolean", "enum": enum_values}
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return {"type": "integer", "enum": enum_values}
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return {"type": "number", "enum": enum_values}
    return {"enum": enum_values}


def _dataclass_schema(cls: type) -> dict[str, Any]:
    """A dataclass as a closed object; a field whose schema admits null is optional and loses the null."""
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):
        hints = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        schema = _arg_schema(hints.get(f.name, f.type))
        members: list[dict[str, Any]] = (schema or {}).get("anyOf", [])
        if any(m.get("type") == "null" for m in members):
            non_null = next((m["type"] for m in members if m.get("type") not in (None, "null")), None)
            if schema is not None and non_null is not None:
                schema = {k: v for k, v in schema.items() if k != "anyOf"} | {"type": non_null}
        else:
            required.append(f.name)
        if schema:
            properties[f.name] = schema
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Port of agno's `inline_pydantic_schema`: replace `#/$defs/...` references by the definitions, drop `$defs`.

    A reference to a definition already being inlined on the current path (a recursive model) becomes
    `{"type": "object", "description": "A nested <Name> object of this same shape."}`.
    """
    definitions: dict[str, Any] = schema.get("$defs", {})

    def walk(node: Any, active: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [walk(item, active) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = str(node["$ref"])
            name = ref.rsplit("/", 1)[-1]
            if not ref.startswith("#/$defs/"):
                return {"type": "object"}
            if name in active:
                return {"type": "object", "description": f"A nested {name} object of this same shape."}
            if name not in definitions:
                return {"type": "object"}
            return walk(definitions[name], active | {name})
        out = {k: v for k, v in node.items() if k != "$defs"}
        for key in ("items", "additionalProperties", "propertyNames"):
            if key in out:
                out[key] = walk(out[key], active)
        if "properties" in out:
            out["properties"] = {k: walk(v, active) for k, v in out["properties"].items()}
        for key in ("anyOf", "allOf", "oneOf"):
            if key in out:
                out[key] = [walk(sub, active) for sub in out[key]]
        return out

    result: dict[str, Any] = walk(schema, frozenset())
    return result
