"""`evolve(session, event)`: fold one run event into the session state.

Law (tested with hypothesis): folding the events `decide` returned gives the state `decide` saw next,
and `evolve` never raises on sequences `decide` produced. `evolve` is idempotent on redelivery: a
decision event at or below the run's `seq`, or a worker answer for a decision no longer pending, is
ignored.
"""

from __future__ import annotations

from ._replace import replace
from .errors import EventSequenceError
from .events import (
    ModelRequestCompleted,
    ModelRequested,
    RunCancelled,
    RunCompleted,
    RunContinued,
    RunError,
    RunEvent,
    RunPaused,
    RunStarted,
    ToolCallCompleted,
    ToolCallError,
    ToolCallPaused,
    ToolCallRequested,
    is_progress_part,
)
from .messages import Message
from .state import CompletedRun, RunState, SessionState, message_id
from .team_fold import evolve_team_run, record_member_end, record_member_hitl, team_of
from .workflow_events import WorkflowEvent
from .workflow_fold import evolve_workflow
from .workflow_state import StepContext

__all__ = ["evolve"]


def evolve(state: SessionState, event: RunEvent) -> SessionState:
    """Apply one event to the session state and return the new state.

    Worker progress events (ModelRequestStarted, RunContent, ToolCallStarted) change nothing.
    Events of unknown or finished runs are ignored (late or redelivered answers). A paused run stays in
    `runs` (it is in flight) until it ends.

    Raises:
        EventSequenceError: a RunStarted for a session other than `state.session_id`.
    """
    if is_progress_part(event.part):  # a worker's progress (see the docstring): nothing to fold
        return state
    if isinstance(event, RunStarted):
        return _evolve_started(state, event)
    if isinstance(event, WorkflowEvent):
        return evolve_workflow(state, event)
    run = state.runs.get(event.run_id)
    if run is None:
        if event.is_terminal and event.run_id not in state.finished:
            return replace(state, finished=state.finished | {event.run_id})
        return state
    if not event.part:
        if event.seq <= run.seq:
            return state
        run = replace(run, seq=event.seq)
    run = _evolve_run(run, event)
    if run.team is not None:
        run = evolve_team_run(run, event)
    if run.is_active:
        runs = {**state.runs, run.run_id: run}
        if run.parent_run_id is not None and isinstance(event, RunPaused | RunContinued):
            runs = dict(record_member_hitl(runs, run, event))  # a member run paused or continued
        return replace(state, runs=runs)
    runs = {k: v for k, v in state.runs.items() if k != run.run_id}
    if run.parent_run_id is not None:
        runs = dict(record_member_end(runs, run, event))
    history = state.history
    if run.status == "COMPLETED" and state.history_limit:
        completed = CompletedRun(run.run_id, run.messages, agent_id=run.agent_id, parent_run_id=run.parent_run_id)
        history = (*history, completed)[-state.history_limit :]
    return replace(state, runs=runs, finished=state.finished | {run.run_id}, history=history)


def _evolve_started(state: SessionState, event: RunStarted) -> SessionState:
    if event.session_id != state.session_id:
        raise EventSequenceError(f"RunStarted of session {event.session_id!r} applied to session {state.session_id!r}")
    if event.run_id in state.runs or event.run_id in state.finished:
        return state
    wanted = set(event.history_run_ids)
    history = tuple(m.as_history() for r in state.history if r.run_id in wanted for m in r.messages)
    run = RunState(
        run_id=event.run_id,
        session_id=event.session_id,
        agent_id=event.agent_id,
        agent_name=event.agent_name,
        user_id=event.user_id,
        model=event.model,
        model_provider=event.model_provider,
        started_at=event.created_at,
        seq=event.seq,
        system_message=event.system_message,
        history=history,
        messages=(event.message,) if event.message is not None else (),
        parent_run_id=event.parent_run_id,
        team=team_of(event),
        workflow_step=_step_context(event),
    )
    return replace(state, runs={**state.runs, run.run_id: run})


def _step_context(event: RunStarted) -> StepContext | None:
    """The workflow fields of a step's agent run (None for other runs)."""
    if event.workflow_run_id is None:
        return None
    return StepContext(
        workflow_id=event.workflow_id or "",
        workflow_run_id=event.workflow_run_id,
        step_id=event.step_id or "",
        step_name=event.step_name or "",
        step_index=event.step_index if event.step_index is not None else 0,
    )


def _evolve_run(run: RunState, event: RunEvent) -> RunState:
    if isinstance(event, ModelRequested):
        return replace(run, step=run.step + 1, pending_model_seq=event.seq)
    if isinstance(event, ModelRequestCompleted):
        if event.seq != run.pending_model_seq or event.message is None:
            return run
        message = event.message
        return replace(
            run,
            pending_model_seq=None,
            messages=(*run.messages, message),
            usage=(*run.usage, event),
            batch=message.tool_calls,
            batch_results={},
        )
    if isinstance(event, ToolCallRequested):
        return replace(
            run,
            pending_tools={**run.pending_tools, event.tool_call_id: event.seq},
            tools_executed=run.tools_executed + 1,
        )
    if isinstance(event, ToolCallCompleted | ToolCallError):
        return _evolve_tool_result(run, event)
    if isinstance(event, ToolCallPaused):
        return run if event.tool is None else replace(run, held=(*run.held, event.tool))
    if isinstance(event, RunPaused):
        return replace(run, status="PAUSED")
    if isinstance(event, RunContinued):
        return _evolve_continued(run, event)
    if isinstance(event, RunCompleted):
        return replace(run, status="COMPLETED")
    if isinstance(event, RunError):
        return replace(run, status="ERROR")
    if isinstance(event, RunCancelled):
        return replace(run, status="CANCELLED")
    return run


def _evolve_tool_result(run: RunState, event: ToolCallCompleted | ToolCallError) -> RunState:
    tool = event.tool
    if tool is None:
        return run
    if event.part:
        # A worker's answer: accept only for the pending decision it answers (redelivery-safe).
        if event.part != "done" or run.pending_tools.get(tool.tool_call_id) != event.seq:
            return run
        pending = {k: v for k, v in run.pending_tools.items() if k != tool.tool_call_id}
    else:
        # The orchestrator's own answer (a tool_call_limit ToolCallError: nothing was pending; a team tool
        # call's completion: pending since its TeamToolCallStarted).
        pending = {k: v for k, v in run.pending_tools.items() if k != tool.tool_call_id}
    is_error = isinstance(event, ToolCallError)
    content = event.error if isinstance(event, ToolCallError) and event.error is not None else tool.result
    message = Message(
        id=message_id(event.event_id, "tool"),
        role="tool",
        content=content,
        tool_call_id=tool.tool_call_id,
        tool_name=tool.tool_name,
        tool_args=tool.tool_args,
        tool_call_error=is_error,
        created_at=event.created_at,
    )
    results = {**run.batch_results, tool.tool_call_id: message}
    return _close_batch(replace(run, pending_tools=pending, batch_results=results, tools=(*run.tools, tool)))


def _evolve_continued(run: RunState, event: RunContinued) -> RunState:
    """Resume: the held calls answered without execution (rejected, external result) become tool messages."""
    answered = {m.tool_call_id for m in event.messages}
    results = {**run.batch_results, **{m.tool_call_id: m for m in event.messages if m.tool_call_id is not None}}
    done = tuple(t for t in event.tools if t.tool_call_id in answered)
    run = replace(run, status="RUNNING", held=(), batch_results=results, tools=(*run.tools, *done))
    return _close_batch(run)


def _close_batch(run: RunState) -> RunState:
    """Once every call of the batch has its result, append the tool messages in the model's call order."""
    results = run.batch_results
    if run.pending_tools or run.held or not all(c.id in results for c in run.batch):
        return run
    ordered = tuple(results[c.id] for c in run.batch if c.id in results)
    return replace(run, messages=(*run.messages, *ordered), batch=(), batch_results={})
