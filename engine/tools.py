"""Tool definitions: a name, a description, a JSON-schema of parameters and an optional entrypoint.

Tools come from plain Python callables (schema derived from the signature and the Google-style
docstring, like agno's `@tool` / `Function.from_callable`) or from an explicit JSON schema
(`Tool.from_schema`). The engine only reads names and schemas; the tool worker calls `entrypoint`.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError

__all__ = ["FRAMEWORK_INJECTED_PARAMS", "Tool", "tool"]

FRAMEWORK_INJECTED_PARAMS = frozenset(
    {"agent", "team", "run_context", "images", "videos", "audios", "files", "self", "_agno_agent", "_agno_team"}
)
"""Parameters agno injects and never shows the model (agno `utils/schema.py`)."""

_SIMPLE_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")


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

    def to_openai(self) -> dict[str, Any]:
        """Return the OpenAI chat `tools` entry: `{"type": "function", "function": {name, description, parameters}}`."""
        fn: dict[str, Any] = {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}
        if self.strict:
            fn["strict"] = True
        return {"type": "function", "function": fn}

    @classmethod
    def from_callable(cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> Tool:
        """Derive a tool from a callable's signature and docstring.

        Type hints become JSON-schema types (str, int, float, bool, list[X], dict, Literal, Optional);
        `Args:` entries of the docstring become parameter descriptions; parameters without a default are
        required. Framework-injected parameters (`agent`, `run_context`, ...) are left out.

        Raises:
            ConfigurationError: `fn` is not callable.
        """
        if not callable(fn):
            raise ConfigurationError(f"tool {fn!r} is not callable; pass a function or a Tool")
        summary, arg_docs = _parse_docstring(inspect.getdoc(fn) or "")
        try:
            hints = typing.get_type_hints(fn)
        except (NameError, TypeError):
            hints = {}
        properties: dict[str, Any] = {}
        required: list[str] = []
        for pname, param in inspect.signature(fn).parameters.items():
            if pname in FRAMEWORK_INJECTED_PARAMS or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            schema = _json_schema(hints.get(pname, param.annotation))
            if pname in arg_docs:
                schema["description"] = arg_docs[pname]
            properties[pname] = schema
            if param.default is inspect.Parameter.empty:
                required.append(pname)
        return cls(
            name=name or str(getattr(fn, "__name__", "tool")),
            description=description if description is not None else summary,
            parameters={"type": "object", "properties": properties, "required": required},
            entrypoint=fn,
        )

    @classmethod
    def from_schema(cls, schema: Mapping[str, Any], entrypoint: Callable[..., Any] | None = None) -> Tool:
        """Build a tool from an explicit definition `{"name", "description", "parameters"}`.

        Also accepts the OpenAI wrapper `{"type": "function", "function": {...}}`.

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
            name=name, description=str(body.get("description") or ""), parameters=parameters, entrypoint=entrypoint
        )


def tool(fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None) -> Any:
    """Decorator turning a function into a `Tool` (usable as `@tool` or `@tool(name=...)`)."""

    def wrap(f: Callable[..., Any]) -> Tool:
        return Tool.from_callable(f, name=name, description=description)

    return wrap(fn) if fn is not None else wrap


def _json_schema(annotation: Any) -> dict[str, Any]:
    """Map a Python type hint to a JSON schema (unknown types give an unconstrained schema)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    if annotation in _SIMPLE_TYPES:
        return {"type": _SIMPLE_TYPES[annotation]}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        non_null = [a for a in args if a is not type(None)]
        inner = _json_schema(non_null[0]) if len(non_null) == 1 else {"anyOf": [_json_schema(a) for a in non_null]}
        if len(non_null) < len(args) and "type" in inner:
            inner = {**inner, "type": [inner["type"], "null"]}
        return inner
    if origin is typing.Literal:
        return {"type": _SIMPLE_TYPES.get(type(args[0]), "string"), "enum": list(args)}
    if annotation in (list, tuple, set) or origin in (list, tuple, set, frozenset):
        return {"type": "array", "items": _json_schema(args[0]) if args else {}}
    if annotation is dict or origin is dict:
        return {"type": "object"}
    return {}


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (description, {arg name: description})."""
    lines = doc.splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        if stripped.rstrip(":") in (
            "Args",
            "Arguments",
            "Parameters",
            "Returns",
            "Raises",
            "Yields",
            "Example",
            "Examples",
        ):
            section = stripped.rstrip(":")
            current = None
            continue
        if section is None:
            summary.append(line)
        elif section in ("Args", "Arguments", "Parameters"):
            match = _ARG_LINE.match(line)
            if match and not line.startswith(" " * 8):
                current = match.group(1).lstrip("*")
                args[current] = match.group(3).strip()
            elif current and stripped:
                args[current] = f"{args[current]} {stripped}".strip()
    return "\n".join(summary).strip(), args
