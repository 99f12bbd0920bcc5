"""The agent-run state machine: `decide(session, input, ctx)` and `evolve(session, event)`.

The aggregate is the session: one session's runs share a partition (key = session_id), and a new run
reads the session's history. `SessionState` is the fold of the session's run events; `decide` turns
one input (a command, or a worker's answer) into decision events and work items.

Law (tested with hypothesis): folding the events `decide` returned gives the state `decide` saw next,
and `evolve` never raises on sequences `decide` produced. `evolve` is idempotent on redelivery: a
decision event at or below the run's `seq`, or a worker answer for a decision no longer pending, is
ignored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .agent import Agent
from .commands import CancelRun, Command, StartRun
from .errors import EventSequenceError
from .events import (
    ModelRequestCompleted,
    ModelRequested,
    ModelRequestFailed,
    RunCancelled,
    RunCompleted,
    RunContentCompleted,
    RunError,
    RunEvent,
    RunStarted,
    ToolCallCompleted,
    ToolCallError,
    ToolCallRequested,
)
from .messages import Message, ToolCall, ToolExecution
from .work import ModelWork, ToolWork, WorkItem

__all__ = [
    "MAX_HISTORY_RUNS",
    "CompletedRun",
    "Decision",
    "DecisionContext",
    "RunState",
    "RunStatus",
    "SessionState",
    "decide",
    "evolve",
    "message_id",
]

MAX_HISTORY_RUNS = 100
"""Completed runs a session state keeps for history; agents asking for more get this many."""

TOOL_CALL_LIMIT_MESSAGE = "Tool call limit reached. Tool call {name} not executed. Don't try to execute it again."
"""agno's tool message for calls over `tool_call_limit` (agno `models/base.py`)."""

_NS = uuid.UUID("6f1d8a52-54a4-4d8f-9a4b-7f6c2a1d3e90")

RunStatus = Literal["RUNNING", "COMPLETED", "ERROR", "CANCELLED"]


def message_id(*parts: object) -> str:
    """Return a deterministic UUID string for a message derived from `parts` (run id, seq, ...)."""
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """What `decide` may know beyond the state: the clock and the agent registry.

    Attributes:
        now: epoch seconds (UTC) of the decision; in a replay check, the recorded decision's time.
        agents: registered agents by id.
    """

    now: float
    agents: Mapping[str, Agent]


@dataclass(frozen=True, slots=True)
class Decision:
    """The outputs of one `decide` call: events for the run-events topic, then work items.

    Both lists are empty when the input needs no decision (a duplicate, or a partial answer).
    """

    events: list[RunEvent] = field(default_factory=list)
    work: list[WorkItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CompletedRun:
    """A completed run as history: its id and its own messages (user, assistant, tool) in order."""

    run_id: str
    messages: tuple[Message, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunState:
    """State of one run, the fold of its events."""

    run_id: str
    session_id: str
    agent_id: str
    agent_name: str
    user_id: str | None
    model: str
    model_provider: str
    started_at: int
    status: RunStatus = "RUNNING"
    seq: int = 0
    """Highest decision seq applied."""
    system_message: Message | None = None
    history: tuple[Message, ...] = ()
    messages: tuple[Message, ...] = ()
    """This run's messages in order: user, then assistant / tool turns."""
    step: int = 0
    """Model requests decided so far."""
    pending_model_seq: int | None = None
    pending_tools: Mapping[str, int] = field(default_factory=dict)
    """Outstanding tool calls of the current batch: tool_call_id -> decision seq."""
    batch: tuple[ToolCall, ...] = ()
    """Tool calls of the current assistant turn, in the model's order."""
    batch_results: Mapping[str, Message] = field(default_factory=dict)
    tools_executed: int = 0
    """Tool calls decided for execution so far (for `tool_call_limit`)."""
    tools: tuple[ToolExecution, ...] = ()
    """Finished tool executions (agno `RunOutput.tools`), in completion order."""
    usage: tuple[ModelRequestCompleted, ...] = ()
    """Every model answer, for metrics."""

    def context(self) -> tuple[Message, ...]:
        """Messages to send to the model: system, history, this run's."""
        head = (self.system_message,) if self.system_message is not None else ()
        return head + self.history + self.messages


@dataclass(frozen=True, slots=True)
class SessionState:
    """State of one session: its runs in flight, finished run ids and completed-run history."""

    session_id: str
    runs: Mapping[str, RunState] = field(default_factory=dict)
    """Runs in flight (status RUNNING) by run id."""
    finished: frozenset[str] = frozenset()
    """Ids of runs that reached a terminal event."""
    history: tuple[CompletedRun, ...] = ()
    """Completed runs, oldest first, at most MAX_HISTORY_RUNS."""


# --------------------------------------------------------------------------------------------- decide


def decide(state: SessionState, item: Command | RunEvent, ctx: DecisionContext) -> Decision:
    """Decide the outputs for one input.

    Inputs that trigger decisions: `StartRun`, `CancelRun`, `ModelRequestCompleted`,
    `ModelRequestFailed`, `ToolCallCompleted`, `ToolCallError` (from the tool worker). Every other
    event, and any input for a run that is unknown or finished, yields an empty Decision.

    Raises:
        UnknownAgentError: never; an unknown agent yields a `RunError` event so the caller sees it.
    """
    if isinstance(item, StartRun):
        return _start(state, item, ctx)
    run = state.runs.get(item.run_id)
    if run is None:
        return Decision()
    builder = _Builder(state, run, ctx)
    if isinstance(item, CancelRun):
        builder.emit(RunCancelled, reason=item.reason or "Run cancelled")
    elif isinstance(item, ModelRequestCompleted):
        if item.seq == run.pending_model_seq and item.message is not None:
            builder.after_model(item)
    elif isinstance(item, ModelRequestFailed):
        if item.seq == run.pending_model_seq:
            builder.emit(RunError, content=item.error, error_type=item.error_type, error_id=item.error_code)
    elif isinstance(item, ToolCallCompleted | ToolCallError) and item.part == "done":
        builder.after_tool(item)
    return builder.decision


def _start(state: SessionState, cmd: StartRun, ctx: DecisionContext) -> Decision:
    if cmd.run_id in state.runs or cmd.run_id in state.finished:
        return Decision()
    now = int(ctx.now)
    agent = ctx.agents.get(cmd.agent_id)
    if agent is None:
        known = ", ".join(sorted(ctx.agents)) or "(none)"
        error = RunError(
            created_at=now,
            run_id=cmd.run_id,
            session_id=cmd.session_id,
            seq=0,
            agent_id=cmd.agent_id,
            content=f"unknown agent_id {cmd.agent_id!r}; registered agents: {known}",
            error_type="UnknownAgentError",
        )
        return Decision(events=[error])
    n = min(agent.history_runs, MAX_HISTORY_RUNS)
    history_ids = tuple(r.run_id for r in state.history[-n:]) if n else ()
    system = agent.system_message_content()
    started = RunStarted(
        created_at=now,
        run_id=cmd.run_id,
        session_id=cmd.session_id,
        seq=0,
        agent_id=agent.id,
        agent_name=agent.name,
        model=agent.model.id,
        model_provider=agent.model.provider,
        user_id=cmd.user_id,
        input=cmd.message,
        message=Message(id=message_id(cmd.run_id, 0, "user"), role="user", content=cmd.message, created_at=now),
        system_message=None
        if system is None
        else Message(id=message_id(cmd.run_id, 0, "system"), role="system", content=system, created_at=now),
        history_run_ids=history_ids,
    )
    state = evolve(state, started)
    builder = _Builder(state, state.runs[cmd.run_id], ctx)
    builder.decision.events.append(started)
    builder.request_model()
    return builder.decision


class _Builder:
    """Accumulates one decision, evolving a scratch state so each next event sees the previous ones."""

    def __init__(self, state: SessionState, run: RunState, ctx: DecisionContext) -> None:
        self.state = state
        self.run = run
        self.ctx = ctx
        self.decision = Decision()
        self.agent = ctx.agents.get(run.agent_id)

    def emit(self, cls: type[RunEvent], **fields: Any) -> RunEvent:
        event = cls(
            created_at=int(self.ctx.now),
            run_id=self.run.run_id,
            session_id=self.run.session_id,
            seq=self.run.seq + 1,
            agent_id=self.run.agent_id,
            agent_name=self.run.agent_name,
            **fields,
        )
        self.decision.events.append(event)
        self.state = evolve(self.state, event)
        self.run = self.state.runs.get(self.run.run_id, self.run)
        return event

    def request_model(self) -> None:
        context = self.run.context()
        event = self.emit(ModelRequested, step=self.run.step, message_ids=tuple(m.id for m in context))
        self.decision.work.append(
            ModelWork(
                run_id=self.run.run_id,
                session_id=self.run.session_id,
                agent_id=self.run.agent_id,
                seq=event.seq,
                created_at=event.created_at,
                step=self.run.step - 1,
                messages=context,
            )
        )

    def after_model(self, answer: ModelRequestCompleted) -> None:
        self.state = evolve(self.state, answer)
        self.run = self.state.runs[self.run.run_id]
        message = answer.message
        assert message is not None
        if not message.tool_calls:
            self.emit(RunContentCompleted)
            self.emit(
                RunCompleted,
                content=message.content,
                model_provider_data=message.provider_data,
                metrics=_run_metrics(self.run, self.ctx.now, self.agent),
            )
            return
        limit = self.agent.tool_call_limit if self.agent is not None else None
        for call in message.tool_calls:
            if limit is not None and self.run.tools_executed >= limit:
                self.emit(
                    ToolCallError,
                    tool=ToolExecution(
                        tool_call_id=call.id,
                        tool_name=call.name,
                        tool_args=_args_or_empty(call.arguments),
                        tool_call_error=True,
                        result=TOOL_CALL_LIMIT_MESSAGE.format(name=call.name),
                        created_at=int(self.ctx.now),
                    ),
                    error=TOOL_CALL_LIMIT_MESSAGE.format(name=call.name),
                )
                continue
            event = self.emit(ToolCallRequested, tool_call_id=call.id, tool_name=call.name, arguments=call.arguments)
            self.decision.work.append(
                ToolWork(
                    run_id=self.run.run_id,
                    session_id=self.run.session_id,
                    agent_id=self.run.agent_id,
                    seq=event.seq,
                    created_at=event.created_at,
                    tool_call_id=call.id,
                    tool_name=call.name,
                    arguments=call.arguments,
                )
            )
        if not self.run.pending_tools:
            self.request_model()

    def after_tool(self, answer: ToolCallCompleted | ToolCallError) -> None:
        if answer.tool is None or self.run.pending_tools.get(answer.tool.tool_call_id) != answer.seq:
            return
        self.state = evolve(self.state, answer)
        self.run = self.state.runs[self.run.run_id]
        if not self.run.pending_tools:
            self.request_model()


def _args_or_empty(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _run_metrics(run: RunState, now: float, agent: Agent | None) -> dict[str, Any]:
    """Agno `RunMetrics.to_dict()`: token sums, first time-to-first-token, duration, per-model details."""
    input_tokens = sum(u.input_tokens for u in run.usage)
    output_tokens = sum(u.output_tokens for u in run.usage)
    total_tokens = sum(u.total_tokens for u in run.usage)
    metrics: dict[str, Any] = {}
    if input_tokens:
        metrics["input_tokens"] = input_tokens
    if output_tokens:
        metrics["output_tokens"] = output_tokens
    if total_tokens:
        metrics["total_tokens"] = total_tokens
    ttft = next((u.time_to_first_token for u in run.usage if u.time_to_first_token is not None), None)
    if ttft is not None:
        metrics["time_to_first_token"] = ttft
    metrics["duration"] = max(0.0, round(now - run.started_at, 6))
    detail: dict[str, Any] = {}
    for key, value in (
        ("input_tokens", input_tokens),
        ("output_tokens", output_tokens),
        ("total_tokens", total_tokens),
    ):
        if value:
            detail[key] = value
    detail["id"] = run.model
    detail["provider"] = agent.model.name if agent is not None else run.model_provider
    metrics["details"] = {"model": [detail]}
    return metrics


# --------------------------------------------------------------------------------------------- evolve


def evolve(state: SessionState, event: RunEvent) -> SessionState:
    """Apply one event to the session state and return the new state.

    Worker progress events (ModelRequestStarted, RunContent, ToolCallStarted) change nothing.
    Events of unknown or finished runs are ignored (late or redelivered answers).

    Raises:
        EventSequenceError: a RunStarted for a session other than `state.session_id`.
    """
    if isinstance(event, RunStarted):
        return _evolve_started(state, event)
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
    if run.status == "RUNNING":
        return replace(state, runs={**state.runs, run.run_id: run})
    runs = {k: v for k, v in state.runs.items() if k != run.run_id}
    history = state.history
    if run.status == "COMPLETED":
        history = (*history, CompletedRun(run.run_id, run.messages))[-MAX_HISTORY_RUNS:]
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
    )
    return replace(state, runs={**state.runs, run.run_id: run})


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
        # The orchestrator's own ToolCallError (tool_call_limit): no work was pending.
        pending = dict(run.pending_tools)
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
    run = replace(run, pending_tools=pending, batch_results=results, tools=(*run.tools, tool))
    if pending or not all(c.id in results for c in run.batch):
        return run
    ordered = tuple(results[c.id] for c in run.batch if c.id in results)
    return replace(run, messages=(*run.messages, *ordered), batch=(), batch_results={})
