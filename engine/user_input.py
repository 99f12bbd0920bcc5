"""`requires_user_input` tools: the argument list agno shows the user (`UserInputField`s).

agno (`tools/function.py`) lists every parameter of such a tool, with its type's name and the
docstring text, and leaves the `user_input_fields` out of the schema the model sees; the model's
proposed values fill the fields when the run pauses, the user's values replace them on continue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .messages import UserInputField

__all__ = ["field_for_parameter", "hide_fields", "schema_from_properties"]

_PY_NAMES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list", "object": "dict"}
"""JSON-schema type -> the Python type name agno shows in `UserInputField.field_type`."""


def field_for_parameter(name: str, hint: Any, doc: tuple[str | None, str] | None) -> UserInputField:
    """The field of one Python parameter: the hint's `__name__` (`str` without a hint) and the docstring text."""
    field_type = "str" if hint is None else hint.__name__ if isinstance(hint, type) else str(hint)
    return UserInputField(name=name, field_type=field_type, description=doc[1] if doc is not None else None)


def schema_from_properties(parameters: Mapping[str, Any]) -> tuple[UserInputField, ...]:
    """The fields of a JSON-schema tool: one per property, its JSON type mapped to agno's Python type name."""
    props: Mapping[str, Any] = parameters.get("properties") or {}
    fields = []
    for name, prop in props.items():
        spec: Mapping[str, Any] = prop if isinstance(prop, Mapping) else {}
        fields.append(
            UserInputField(
                name=name, field_type=_PY_NAMES.get(str(spec.get("type")), "str"), description=spec.get("description")
            )
        )
    return tuple(fields)


def hide_fields(parameters: Mapping[str, Any], hidden: Sequence[str]) -> Mapping[str, Any]:
    """`parameters` without the properties (and required entries) the user alone provides."""
    props: Mapping[str, Any] = parameters.get("properties") or {}
    if not set(hidden) & set(props):
        return parameters
    out = dict(parameters)
    out["properties"] = {k: v for k, v in props.items() if k not in hidden}
    out["required"] = [r for r in parameters.get("required") or [] if r not in hidden]
    return out
