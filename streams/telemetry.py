"""Telemetry envelopes: one record per finished run on the telemetry topic, keyed by session id.

Like agno's run telemetry, an envelope carries ids, the runtime tag, status, latency and tokens, and for
failures the error type and a stable `error_code` — never prompts, content, tool arguments or results,
so nothing secret can leak through it.
"""

from __future__ import annotations

from typing import Any

import orjson

from engine import (
    TEAM_EVENT_TYPES,
    RunCancelled,
    RunCompleted,
    RunError,
    RunEvent,
    WorkflowCancelled,
    WorkflowCompleted,
    WorkflowError,
    WorkflowEvent,
)

from .transport import OutRecord

__all__ = ["TELEMETRY_VERSION", "telemetry_envelope", "telemetry_record"]

TELEMETRY_VERSION = 1


def telemetry_envelope(event: RunEvent) -> dict[str, Any] | None:
    """The telemetry envelope for a terminal run event, or None for any other event.

    Shape: `{version, runtime, type: "agent", run_id, session_id, agent_id, status, created_at,
    latency_s, input_tokens, output_tokens, total_tokens, error_type, error_code}` (None fields dropped); a
    team run's has `type: "team"` and `team_id` instead of `agent_id`; a workflow run's `type: "workflow"` and
    `workflow_id` (its latency, no tokens: its steps' agent runs report theirs).
    """
    if isinstance(event, WorkflowEvent):
        return _workflow_envelope(event)
    is_team = isinstance(event, TEAM_EVENT_TYPES)
    base: dict[str, Any] = {
        "version": TELEMETRY_VERSION,
        "runtime": "agnostream",
        "type": "team" if is_team else "agent",
        "run_id": event.run_id,
        "session_id": event.session_id,
        "team_id" if is_team else "agent_id": event.agent_id,
        "created_at": event.created_at,
    }
    if isinstance(event, RunCompleted):
        metrics = event.metrics or {}
        base |= {
            "status": "COMPLETED",
            "latency_s": metrics.get("duration"),
            "input_tokens": metrics.get("input_tokens", 0),
            "output_tokens": metrics.get("output_tokens", 0),
            "total_tokens": metrics.get("total_tokens", 0),
        }
    elif isinstance(event, RunError):
        base |= {"status": "ERROR", "error_type": event.error_type, "error_code": event.error_id or "run_error"}
    elif isinstance(event, RunCancelled):
        base |= {"status": "CANCELLED"}
    else:
        return None
    return {k: v for k, v in base.items() if v is not None}


def _workflow_envelope(event: WorkflowEvent) -> dict[str, Any] | None:
    base: dict[str, Any] = {
        "version": TELEMETRY_VERSION,
        "runtime": "agnostream",
        "type": "workflow",
        "run_id": event.run_id,
        "session_id": event.session_id,
        "workflow_id": event.workflow_id,
        "created_at": event.created_at,
    }
    if isinstance(event, WorkflowCompleted):
        base |= {"status": "COMPLETED", "latency_s": (event.metrics or {}).get("duration")}
    elif isinstance(event, WorkflowError):
        base |= {"status": "ERROR", "error_type": event.error_type, "error_code": event.error_id or "workflow_error"}
    elif isinstance(event, WorkflowCancelled):
        base |= {"status": "CANCELLED"}
    else:
        return None
    return {k: v for k, v in base.items() if v is not None}


def telemetry_record(topic: str, event: RunEvent) -> OutRecord | None:
    """Encode the envelope of `event` for the telemetry topic, or None when it has none."""
    envelope = telemetry_envelope(event)
    if envelope is None:
        return None
    return OutRecord(topic, event.session_id.encode(), orjson.dumps(envelope), (("telemetry", b"run"),))
