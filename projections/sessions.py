"""The sessions/runs read model: folds run events into agno's `agno_sessions` / `agno_runs` rows.

Pure functions over plain dicts, so the same fold runs in the live projection, in a rebuild from a
log file, and in tests. A run row's `run_data` is agno's stored `RunOutput.to_dict()` (the run's own
messages, not history: agno's default `store_history_messages=False`). The fold is idempotent on
duplicated worker answers (same message id / tool_call_id are applied once). A paused run's row has status
PAUSED, agno's paused `content`, the held calls in `tools` and their `requirements`; RunContinued makes it
RUNNING again and resolves those calls in place (team runs: see `projections.teams`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from engine import (
    ModelRequestCompleted,
    RunCancelled,
    RunCompleted,
    RunContinued,
    RunError,
    RunEvent,
    RunPaused,
    RunStarted,
    TeamRunCompleted,
    TeamRunContinued,
    TeamRunPaused,
    TeamRunStarted,
    ToolCallCompleted,
    ToolCallError,
    ToolExecution,
    WorkflowEvent,
    message_id,
)

from .teams import as_team_run, fold_team_pause, rewrite_member_results, team_session_fields
from .workflows import add_step_run, fold_workflow_event, step_run

__all__ = ["SessionsView", "fold_event", "run_messages"]


@dataclass(slots=True)
class SessionsView:
    """Rows of the two tables, keyed by id; `dirty_*` name the rows changed since the last `clear_dirty`.

    Attributes:
        sessions: session_id -> agno_sessions row (dict of column -> value; JSON columns as dicts).
        runs: run_id -> agno_runs row.
    """

    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    dirty_sessions: set[str] = field(default_factory=set)
    dirty_runs: set[str] = field(default_factory=set)

    def clear_dirty(self) -> None:
        """Forget which rows changed (after they were written)."""
        self.dirty_sessions.clear()
        self.dirty_runs.clear()


def run_messages(run_data: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored messages of a run, in order."""
    messages: list[dict[str, Any]] = run_data.get("messages") or []
    return messages


def fold_event(view: SessionsView, event: RunEvent) -> None:
    """Apply one run event to the view (in place). Events of runs never started are ignored.

    Workflow events and the events of workflow steps' agent runs go to the workflow run's row
    (`projections.workflows`).
    """
    if isinstance(event, WorkflowEvent):
        fold_workflow_event(view, event)
        return
    if isinstance(event, RunStarted):
        _started(view, event)
        return
    row = view.runs.get(event.run_id)
    if row is not None:
        data = row["run_data"]
    else:
        found = step_run(view, event.run_id)
        if found is None:
            return
        row, data = found
    if data["status"] not in ("RUNNING", "PAUSED"):
        return  # a finished run is frozen: late worker answers are ignored, as the engine ignores them
    if not _apply(view, data, event):
        return
    if data is row["run_data"]:
        row["status"] = data["status"]
    elif isinstance(event, TeamRunCompleted):  # a team step's run: agno stores its members' runs in it
        data["member_responses"] = [dict(r) for r in event.member_responses]
    row["updated_at"] = event.created_at
    view.dirty_runs.add(row["run_id"])
    session = view.sessions.get(event.session_id)
    if session is not None:
        session["updated_at"] = max(session.get("updated_at") or 0, event.created_at)
        view.dirty_sessions.add(event.session_id)


def _apply(view: SessionsView, data: dict[str, Any], event: RunEvent) -> bool:
    """Apply `event` to the run's `run_data`; False when it changes nothing."""
    if isinstance(event, ModelRequestCompleted) and event.part == "done" and event.message is not None:
        message = event.message.to_dict()
        if any(m.get("id") == message["id"] for m in run_messages(data)):
            return False
        data["messages"].append(message)
    elif isinstance(event, ToolCallCompleted | ToolCallError) and event.tool is not None:
        # Dedupe by the tool message id (derived from the event id), not by tool_call_id: a provider may reuse
        # a tool_call_id in a later turn of the same run.
        tool_message_id = message_id(event.event_id, "tool")
        if event.part not in ("", "done") or any(m.get("id") == tool_message_id for m in run_messages(data)):
            return False
        _tool_result(data, event)
    elif isinstance(event, RunCompleted):
        if data["status"] == "COMPLETED":
            return False  # a redelivered RunCompleted must not add the run's tokens to the session twice
        data.update(status="COMPLETED", content=event.content, content_type=event.content_type)
        if event.model_provider_data is not None:
            data["model_provider_data"] = event.model_provider_data
        data["metrics"] = event.metrics or {}
        data["session_state"] = event.session_state
        if event.metadata is not None:
            data["metadata"] = event.metadata
        _add_session_metrics(view, event.session_id, event.metrics or {})
    elif isinstance(event, RunError):
        data.update(status="ERROR", content=event.content)
    elif isinstance(event, RunCancelled):
        data.update(status="CANCELLED", content=event.reason)
    elif isinstance(event, TeamRunPaused):
        return fold_team_pause(data, event)
    elif isinstance(event, RunPaused | RunContinued):
        changed = _pause_or_continue(data, event)
        if changed and isinstance(event, TeamRunContinued):
            rewrite_member_results(data, event)
        return changed
    else:
        return False
    return True


def _pause_or_continue(data: dict[str, Any], event: RunPaused | RunContinued) -> bool:
    """PAUSED with the held calls and their requirements; back to RUNNING with the calls resolved in place."""
    if isinstance(event, RunPaused):
        if data["status"] == "PAUSED":
            return False
        data.update(status="PAUSED", content=event.content)
        data["tools"].extend(tool.to_dict() for tool in event.tools if tool.is_paused)
        data["requirements"] = [*(data.get("requirements") or []), *(r.to_dict() for r in event.requirements)]
        return True
    if data["status"] != "PAUSED":
        return False
    data["status"] = "RUNNING"
    for tool in event.tools:
        _put_tool(data, tool)
    for tool_message in event.messages:
        _add_tool_message(data, tool_message.to_dict())
    return True


def _started(view: SessionsView, event: RunStarted) -> None:
    if event.run_id in view.runs:
        return
    if event.workflow_run_id is not None:
        add_step_run(view, event, _run_data(event))
        return
    session = view.sessions.get(event.session_id)
    if session is None:
        session = {
            "session_id": event.session_id,
            "session_type": "agent",
            "agent_id": event.agent_id,
            "team_id": None,
            "workflow_id": None,
            "user_id": event.user_id,
            "session_data": {"session_state": {}, "session_metrics": {}},
            "agent_data": {
                "name": event.agent_name,
                "agent_id": event.agent_id,
                "model": {"provider": event.model_provider, "id": event.model},
            },
            "team_data": None,
            "workflow_data": None,
            "metadata": None,
            "summary": None,
            "created_at": event.created_at,
            "updated_at": event.created_at,
            "run_count": 0,
        }
        if isinstance(event, TeamRunStarted):
            session.update(team_session_fields(event))
        view.sessions[event.session_id] = session
    view.runs[event.run_id] = {
        "run_id": event.run_id,
        "session_id": event.session_id,
        "run_type": "agent",
        "agent_id": event.agent_id,
        "team_id": None,
        "workflow_id": None,
        "user_id": event.user_id,
        "parent_run_id": event.parent_run_id,
        "status": "RUNNING",
        "run_index": session["run_count"],
        "run_data": _run_data(event),
        "created_at": event.created_at,
        "updated_at": event.created_at,
    }
    if isinstance(event, TeamRunStarted):
        as_team_run(view.runs[event.run_id])
    session["run_count"] += 1
    session["updated_at"] = max(session["updated_at"], event.created_at)
    view.dirty_runs.add(event.run_id)
    view.dirty_sessions.add(event.session_id)


def _run_data(event: RunStarted) -> dict[str, Any]:
    """The new run's agno `RunOutput.to_dict()`."""
    messages = []
    if event.system_message is not None:
        messages.append(event.system_message.to_dict())
    if event.message is not None:
        messages.append(event.message.to_dict())
    return {
        "run_id": event.run_id,
        "agent_id": event.agent_id,
        "agent_name": event.agent_name,
        "session_id": event.session_id,
        "user_id": event.user_id,
        "content": None,
        "content_type": "str",
        "model": event.model,
        "model_provider": event.model_provider,
        "session_state": {},
        "created_at": event.created_at,
        "status": "RUNNING",
        "metrics": {},
        "messages": messages,
        "tools": [],
        "input": {"input_content": event.input},
    }


def _tool_result(data: dict[str, Any], event: ToolCallCompleted | ToolCallError) -> None:
    tool = event.tool
    assert tool is not None
    is_error = isinstance(event, ToolCallError)
    _put_tool(data, tool)
    message = {
        "id": message_id(event.event_id, "tool"),
        "content": (event.error if isinstance(event, ToolCallError) and event.error is not None else tool.result),
        "from_history": False,
        "stop_after_tool_call": False,
        "role": "tool",
        "tool_call_id": tool.tool_call_id,
        "tool_name": tool.tool_name,
        "tool_args": tool.tool_args,
        "tool_call_error": is_error,
        "created_at": event.created_at,
    }
    _add_tool_message(data, message)


def _put_tool(data: dict[str, Any], tool: ToolExecution) -> None:
    """Record a tool execution: it replaces the held (paused) entry of the same call, else it is appended."""
    tools: list[dict[str, Any]] = data["tools"]
    for i in range(len(tools) - 1, -1, -1):
        entry = tools[i]
        if entry.get("tool_call_id") == tool.tool_call_id and entry.get("result") is None and _held(entry):
            tools[i] = tool.to_dict()
            return
    tools.append(tool.to_dict())


def _held(entry: dict[str, Any]) -> bool:
    """A call still waiting: held for a human, or resolved for execution (confirmed) but not yet executed."""
    keys = ("requires_confirmation", "requires_user_input", "external_execution_required", "confirmed")
    return any(entry.get(k) is True for k in keys)


def _add_tool_message(data: dict[str, Any], message: dict[str, Any]) -> None:
    """Append a tool message, keeping the tool results after an assistant turn in its tool_calls order."""
    messages = data["messages"]
    if any(m.get("id") == message["id"] for m in messages):
        return
    messages.append(message)
    # Keep the block of tool results after an assistant turn in the order of its tool_calls (agno's order),
    # whatever order parallel calls finished in.
    start = len(messages)
    while start > 0 and messages[start - 1].get("role") == "tool":
        start -= 1
    if start == 0:
        return
    order = {c["id"]: i for i, c in enumerate(messages[start - 1].get("tool_calls") or [])}
    messages[start:] = sorted(messages[start:], key=lambda m: order.get(m.get("tool_call_id"), len(order)))


def _add_session_metrics(view: SessionsView, session_id: str, metrics: dict[str, Any]) -> None:
    session = view.sessions.get(session_id)
    if session is None:
        return
    totals = session["session_data"].setdefault("session_metrics", {})
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        if metrics.get(key):
            totals[key] = totals.get(key, 0) + metrics[key]


def snapshot(view: SessionsView) -> SessionsView:
    """Deep copy of the view (for comparing a rebuild with a live projection)."""
    return SessionsView(copy.deepcopy(view.sessions), copy.deepcopy(view.runs))
