"""Event schema snapshot: any change to a stored event's fields needs a new event type or an upcaster."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson

from engine import COMMAND_TYPES, EVENT_TYPES, ModelWork, StepWork, ToolWork

SNAPSHOT = Path(__file__).resolve().parents[2] / "fixtures" / "schemas" / "events.schema.json"


def current_schema() -> dict[str, dict[str, str]]:
    classes = {**EVENT_TYPES, **{f"command:{k}": v for k, v in COMMAND_TYPES.items()}}
    classes |= {"work:model": ModelWork, "work:tool": ToolWork, "work:step": StepWork}
    return {
        name: {f.name: str(f.type) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        for name, cls in sorted(classes.items())
    }


def test_event_schema_matches_snapshot() -> None:
    expected = orjson.loads(SNAPSHOT.read_bytes())
    assert current_schema() == expected, (
        "stored event shapes changed: add a new event type or an upcaster, then regenerate "
        "fixtures/schemas/events.schema.json"
    )
