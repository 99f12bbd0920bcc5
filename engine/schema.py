"""EVENT_TYPES: the explicit registry of stored event tags (agno's event strings) -> event classes."""

from __future__ import annotations

from typing import Any

from .errors import SchemaError
from .events import (
    ModelRequestCompleted,
    ModelRequested,
    ModelRequestFailed,
    ModelRequestStarted,
    RunCancelled,
    RunCompleted,
    RunContent,
    RunContentCompleted,
    RunContinued,
    RunError,
    RunEvent,
    RunPaused,
    RunStarted,
    ToolCallCompleted,
    ToolCallError,
    ToolCallPaused,
    ToolCallRequested,
    ToolCallStarted,
)
from .team_events import TEAM_EVENT_TYPES
from .workflow_events import WORKFLOW_EVENT_TYPES

__all__ = ["EVENT_TYPES", "decode_event"]

EVENT_TYPES: dict[str, type[RunEvent]] = {
    cls.event: cls
    for cls in (
        RunStarted,
        ModelRequested,
        ModelRequestStarted,
        RunContent,
        ModelRequestCompleted,
        ModelRequestFailed,
        ToolCallRequested,
        ToolCallStarted,
        ToolCallCompleted,
        ToolCallError,
        ToolCallPaused,
        RunContentCompleted,
        RunCompleted,
        RunError,
        RunCancelled,
        RunPaused,
        RunContinued,
    )
} | {cls.event: cls for cls in (*WORKFLOW_EVENT_TYPES, *TEAM_EVENT_TYPES)}
"""Registry: event string -> class. Explicit; a class rename never changes stored data."""


def decode_event(d: dict[str, Any]) -> RunEvent:
    """Decode a run-events record value.

    Raises:
        SchemaError: the `event` tag is missing or unknown, or a field does not decode.
    """
    tag = d.get("event")
    cls = EVENT_TYPES.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise SchemaError(f"unknown event type {tag!r}; known: {', '.join(sorted(EVENT_TYPES))}")
    return cls.from_dict(d)
