"""`evolve_workflow(session, event)`: fold one workflow event into the session state (called by `evolve`).

Idempotent like the agent-run fold: a decision at or below the run's `seq` is ignored, and the tool
worker's answers (StepExecuted, part "done") change nothing here; `decide` turns them into StepCompleted.
The run's session state starts as WorkflowStarted recorded it and changes with SessionStateUpdated; when
the run ends (whatever its end), it becomes the session's stored state (`workflow_session_state`).
"""

from __future__ import annotations

from ._replace import replace
from .errors import EventSequenceError
from .state import SessionState
from .workflow_events import (
    ConditionExecutionCompleted,
    ConditionExecutionStarted,
    LoopExecutionCompleted,
    LoopExecutionStarted,
    LoopIterationCompleted,
    LoopIterationStarted,
    ParallelExecutionCompleted,
    ParallelExecutionStarted,
    RouterExecutionCompleted,
    RouterExecutionStarted,
    SessionStateUpdated,
    StepCompleted,
    StepExecutionRequested,
    StepOutputEvent,
    StepsExecutionCompleted,
    StepsExecutionStarted,
    StepSkipped,
    StepStarted,
    WorkflowEvent,
    WorkflowStarted,
)
from .workflow_state import WorkflowRunState
from .workflow_types import StepOutput

__all__ = ["evolve_workflow"]

_STARTED = (StepStarted, StepsExecutionStarted, ParallelExecutionStarted, LoopExecutionStarted, LoopIterationStarted)
_CONTAINER_DONE = (
    StepsExecutionCompleted,
    ParallelExecutionCompleted,
    ConditionExecutionCompleted,
    RouterExecutionCompleted,
    LoopExecutionCompleted,
)


def evolve_workflow(state: SessionState, event: WorkflowEvent) -> SessionState:
    """Apply a workflow event to the session state.

    Raises:
        EventSequenceError: a WorkflowStarted for a session other than `state.session_id`.
    """
    if isinstance(event, WorkflowStarted):
        return _started(state, event)
    run = state.workflows.get(event.run_id)
    if run is None:
        if event.is_terminal and event.run_id not in state.finished:
            return replace(state, finished=state.finished | {event.run_id})
        return state
    if event.part:
        return state  # a worker's answer: decide reacts to it
    if event.seq <= run.seq:
        return state
    if event.is_terminal:
        workflows = {k: v for k, v in state.workflows.items() if k != run.run_id}
        return replace(
            state,
            workflows=workflows,
            finished=state.finished | {run.run_id},
            workflow_session_state=run.session_state,
        )
    run = _apply(replace(run, seq=event.seq), event)
    return replace(state, workflows={**state.workflows, run.run_id: run})


def _started(state: SessionState, event: WorkflowStarted) -> SessionState:
    if event.session_id != state.session_id:
        raise EventSequenceError(
            f"WorkflowStarted of session {event.session_id!r} applied to session {state.session_id!r}"
        )
    if event.run_id in state.workflows or event.run_id in state.finished:
        return state
    run = WorkflowRunState(
        run_id=event.run_id,
        session_id=event.session_id,
        workflow_id=event.workflow_id or "",
        workflow_name=event.workflow_name,
        user_id=event.user_id,
        input=event.input,
        additional_data=event.additional_data,
        started_at=event.created_at,
        seq=event.seq,
        session_state=event.session_state or {},
    )
    return replace(state, workflows={**state.workflows, run.run_id: run})


def _apply(run: WorkflowRunState, event: WorkflowEvent) -> WorkflowRunState:
    path = event.path
    if isinstance(event, _STARTED):
        return replace(run, started=run.started | {path})
    if isinstance(event, ConditionExecutionStarted):
        return replace(run, started=run.started | {path}, decisions={**run.decisions, path: event.condition_result})
    if isinstance(event, RouterExecutionStarted):
        return replace(run, started=run.started | {path}, decisions={**run.decisions, path: event.selected_steps})
    if isinstance(event, StepExecutionRequested):
        return replace(run, requested={**run.requested, path: event.seq})
    if isinstance(event, SessionStateUpdated):
        return replace(run, session_state=event.session_state)
    if isinstance(event, LoopIterationCompleted):
        return replace(run, decisions={**run.decisions, path: event.should_continue})
    if isinstance(event, StepOutputEvent):
        return _output(run, path, event.step_output)
    if isinstance(event, StepCompleted):
        return _output(run, path, event.step_response)
    if isinstance(event, (StepSkipped, *_CONTAINER_DONE)):
        return _output(run, path, event.output)
    return run


def _output(run: WorkflowRunState, path: str, output: StepOutput | None) -> WorkflowRunState:
    requested = {k: v for k, v in run.requested.items() if k != path} if path in run.requested else run.requested
    return replace(run, outputs={**run.outputs, path: output}, requested=requested)
