"""Workflow runs in the sessions view, stored as agno stores them (`WorkflowSession`, `WorkflowRunOutput`).

A workflow session row has `session_type` "workflow", its `workflow_id` and `workflow_data`
(`{workflow_id, name, steps}`); each workflow run is one `agno_runs` row with `run_type` "workflow" whose
`run_data` is agno's `WorkflowRunOutput.to_dict()`: input, content, step_results, metrics, and
`step_executor_runs`, the agno `RunOutput` dicts of the steps' agent runs (`TeamRunOutput` dicts, with
`member_responses`, for team steps). Those runs get no row of their own (agno stores none); their events
are folded into their entry of `step_executor_runs`, found from their run id (`<workflow run id>~<path>`).
A team step's member runs get no entry either (as in agno): they are in the team's `member_responses`.

The session's `session_data["session_state"]` is the workflow session state as the log records it: a
run's WorkflowStarted sets it (the state the run starts with), each SessionStateUpdated replaces it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import (
    STEP_RUN_SEPARATOR,
    RunStarted,
    SessionStateUpdated,
    StepCompleted,
    StepOutput,
    StepOutputEvent,
    TeamRunStarted,
    WorkflowCancelled,
    WorkflowCompleted,
    WorkflowError,
    WorkflowEvent,
    WorkflowStarted,
    owner_run_id,
)

if TYPE_CHECKING:
    from .sessions import SessionsView

__all__ = ["add_step_run", "fold_workflow_event", "step_run"]


def _new_session(event: WorkflowStarted) -> dict[str, Any]:
    return {
        "session_id": event.session_id,
        "session_type": "workflow",
        "agent_id": None,
        "team_id": None,
        "workflow_id": event.workflow_id,
        "user_id": event.user_id,
        "session_data": {"session_state": dict(event.session_state or {}), "session_metrics": {}},
        "agent_data": None,
        "team_data": None,
        "workflow_data": {
            "workflow_id": event.workflow_id,
            "name": event.workflow_name,
            "steps": [dict(s) for s in event.workflow_steps],
        },
        "metadata": {},
        "summary": None,
        "created_at": event.created_at,
        "updated_at": event.created_at,
        "run_count": 0,
    }


def _started(view: SessionsView, event: WorkflowStarted) -> None:
    if event.run_id in view.runs:
        return
    session = view.sessions.get(event.session_id)
    if session is None:
        session = view.sessions[event.session_id] = _new_session(event)
    session["session_data"]["session_state"] = dict(event.session_state or {})
    run_data: dict[str, Any] = {
        "input": event.input,
        "content": None,
        "content_type": "str",
        "workflow_id": event.workflow_id,
        "workflow_name": event.workflow_name,
        "run_id": event.run_id,
        "session_id": event.session_id,
        "user_id": event.user_id,
        "created_at": event.created_at,
        "status": "RUNNING",
        "metadata": {},
        "images": [],
        "videos": [],
        "audio": [],
        "files": [],
        "step_results": [],
        "step_executor_runs": [],
        "metrics": {},
    }
    view.runs[event.run_id] = {
        "run_id": event.run_id,
        "session_id": event.session_id,
        "run_type": "workflow",
        "agent_id": None,
        "team_id": None,
        "workflow_id": event.workflow_id,
        "user_id": event.user_id,
        "parent_run_id": None,
        "status": "RUNNING",
        "run_index": session["run_count"],
        "run_data": run_data,
        "created_at": event.created_at,
        "updated_at": event.created_at,
    }
    session["run_count"] += 1
    session["updated_at"] = max(session["updated_at"], event.created_at)
    view.dirty_runs.add(event.run_id)
    view.dirty_sessions.add(event.session_id)


def _put_result(data: dict[str, Any], output: StepOutput | None) -> bool:
    """Record a top-level step's output in `step_results` (in place of an earlier one of the same step)."""
    if output is None:
        return False
    results: list[dict[str, Any]] = data["step_results"]
    entry = output.to_dict()
    for i, existing in enumerate(results):
        if existing.get("step_id") == output.step_id:
            results[i] = entry
            return True
    results.append(entry)
    return True


def _apply(data: dict[str, Any], event: WorkflowEvent) -> bool:
    if isinstance(event, WorkflowCompleted):
        data.update(status="COMPLETED", content=event.content, content_type=event.content_type)
        data["step_results"] = [o.to_dict() for o in event.step_results]
        data["metrics"] = event.metrics or {}
        data["metadata"] = event.metadata
        return True
    if isinstance(event, WorkflowError):
        data.update(status="ERROR", content=f"Workflow execution failed: {event.error}")
        return True
    if isinstance(event, WorkflowCancelled):
        data.update(status="CANCELLED", content=event.content)
        return True
    if event.path and "." not in event.path and not event.part:
        if isinstance(event, StepOutputEvent):
            return _put_result(data, event.step_output)
        if isinstance(event, StepCompleted):
            return _put_result(data, event.step_response)
        output = getattr(event, "output", None)  # StepSkipped and the containers' Completed events
        return _put_result(data, output if isinstance(output, StepOutput) else None)
    return False


def fold_workflow_event(view: SessionsView, event: WorkflowEvent) -> None:
    """Apply a workflow event to the workflow run's row (and its session's `updated_at`)."""
    if isinstance(event, WorkflowStarted):
        _started(view, event)
        return
    if isinstance(event, SessionStateUpdated):
        _state_updated(view, event)
    row = view.runs.get(event.run_id)
    if row is None or row["run_data"]["status"] != "RUNNING" or not _apply(row["run_data"], event):
        return
    row["status"] = row["run_data"]["status"]
    row["updated_at"] = event.created_at
    view.dirty_runs.add(event.run_id)
    session = view.sessions.get(event.session_id)
    if session is not None:
        session["updated_at"] = max(session.get("updated_at") or 0, event.created_at)
        view.dirty_sessions.add(event.session_id)


def _state_updated(view: SessionsView, event: SessionStateUpdated) -> None:
    row = view.runs.get(event.run_id)
    session = view.sessions.get(event.session_id)
    if session is None or row is None or row["run_data"]["status"] != "RUNNING":
        return  # a redelivered update of an ended run must not undo a later run's state
    session["session_data"]["session_state"] = dict(event.session_state)
    view.dirty_sessions.add(event.session_id)


def step_run(view: SessionsView, run_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The row of the workflow run holding step agent run `run_id`, and that run's `step_executor_runs` entry."""
    if STEP_RUN_SEPARATOR not in run_id:
        return None
    row = view.runs.get(owner_run_id(run_id))
    if row is None:
        return None
    entry = next((r for r in row["run_data"].get("step_executor_runs") or () if r.get("run_id") == run_id), None)
    return None if entry is None else (row, entry)


def add_step_run(view: SessionsView, event: RunStarted, run_data: dict[str, Any]) -> None:
    """Add a step's agent or team run's `RunOutput` dict to its workflow run's `step_executor_runs` (once).

    A team step's member runs (their RunStarted carries the step's fields too) get no entry.
    """
    row = view.runs.get(event.workflow_run_id or "")
    if row is None or event.parent_run_id is not None or step_run(view, event.run_id) is not None:
        return
    run_data.update(parent_run_id=event.workflow_run_id, workflow_step_id=event.step_id)
    if isinstance(event, TeamRunStarted):  # agno's TeamRunOutput.to_dict(): team_id / team_name, no metadata
        team = {"run_id": run_data.pop("run_id"), "team_id": run_data.pop("agent_id")}
        run_data = {**team, "team_name": run_data.pop("agent_name"), **run_data}
    else:
        run_data["metadata"] = {}
    row["run_data"]["step_executor_runs"].append(run_data)
    row["updated_at"] = max(row["updated_at"], event.created_at)
    view.dirty_runs.add(row["run_id"])
