"""Field-spec driven dict conversion shared by events and commands (no class-path lookups).

Each record class declares, per field, whether it is public (agno wire field) or internal (engine-only),
and how nested values convert. `to_dict` is on the hot path (every RunContent delta), so the spec is
computed once per class and the loop is plain attribute access.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from .errors import SchemaError

__all__ = ["Converter", "FieldSpec", "build_specs", "from_fields", "nested", "nested_tuple"]

Converter = tuple[Callable[[Any], Any], Callable[[Any], Any]]
"""(to_json, from_json) for a nested value."""


def nested(cls: Any) -> Converter:
    """Converter for a field holding one object with `to_dict` / `from_dict` (None passes through)."""
    return (
        lambda v: None if v is None else v.to_dict(),
        lambda d: None if d is None else cls.from_dict(d),
    )


def nested_tuple(cls: Any) -> Converter:
    """Converter for a tuple of objects with `to_dict` / `from_dict`."""
    return (lambda v: [x.to_dict() for x in v], lambda d: tuple(cls.from_dict(x) for x in d or ()))


@dataclasses.dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one dataclass field travels: its name, whether it is agno-public, and its converter."""

    name: str
    key: str
    """The field's name on the wire (the record dict and agno's dict); `name` unless the class renames it."""
    is_internal: bool
    keep_none: bool
    to_json: Callable[[Any], Any] | None
    from_json: Callable[[Any], Any] | None
    has_default: bool


def build_specs(
    cls: type,
    codecs: dict[str, Converter],
    internal: frozenset[str],
    keep_none: frozenset[str],
    renames: dict[str, str] | None = None,
) -> tuple[FieldSpec, ...]:
    """Compute the field specs of dataclass `cls` in declaration order; `renames` maps field -> wire name."""
    specs = []
    for f in dataclasses.fields(cls):
        conv = codecs.get(f.name)
        if conv is None and str(f.type).startswith("tuple["):
            conv = (list, tuple)  # JSON has no tuples: restore them on decode
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        specs.append(
            FieldSpec(
                name=f.name,
                key=(renames or {}).get(f.name, f.name),
                is_internal=f.name in internal,
                keep_none=f.name in keep_none,
                to_json=conv[0] if conv else None,
                from_json=conv[1] if conv else None,
                has_default=has_default,
            )
        )
    return tuple(specs)


def from_fields(cls: type, specs: tuple[FieldSpec, ...], d: dict[str, Any], tag: str) -> Any:
    """Build `cls` from dict `d` using `specs`; unknown keys are ignored (forward compatibility).

    Raises:
        SchemaError: a required field is missing or a nested value does not decode; names tag and field.
    """
    kwargs: dict[str, Any] = {}
    for spec in specs:
        if spec.key in d:
            value = d[spec.key]
            if spec.from_json is not None:
                try:
                    value = spec.from_json(value)
                except SchemaError:
                    raise
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise SchemaError(f"{tag}.{spec.name}: cannot decode ({exc})") from exc
            kwargs[spec.name] = value
        elif not spec.has_default:
            raise SchemaError(f"{tag}: missing required field {spec.name!r}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise SchemaError(f"{tag}: {exc}") from exc
