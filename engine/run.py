"""The agent-run state machine: `decide(session, input, ctx)`; `evolve` (in `engine.fold`) folds events.

The aggregate is the session: one session's runs share a partition (key = session_id), and a new run
reads the session's history. `SessionState` (`engine.state`) is the fold of the session's run events;
`decide` turns one input (a command, or a worker's answer) into decision events and work items.
Human-in-the-loop pauses and continues are decided here with the helpers of `engine.hitl`.

Law (tested with hypothesis): folding the events `decide` returned gives the state `decide` saw next,
and `evolve` never raises on sequences `decide` produced.
"""

from __future__ import annotations

from typing import Any

from .agent import Agent
from .commands import CancelRun, Command, ContinueRun, ContinueTeamRun, StartRun, StartTeamRun, StartWorkflow
from .events import (
    ModelRequestCompleted,
    ModelRequested,
    ModelRequestFailed,
    RunCancelled,
    RunCompleted,
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
)
from .fold import evolve
from .hitl import (
    arguments_text,
    call_arguments,
    continue_problem,
    held_execution,
    paused_content,
    requirements,
    resolve,
)
from .messages import Message, ToolCall, ToolExecution
from .state import (
    MAX_HISTORY_RUNS,
    CompletedRun,
    Decision,
    DecisionContext,
    RunState,
    RunStatus,
    SessionState,
    message_id,
)
from .work import ModelWork, ToolWork
from .workflow_events import WorkflowEvent
from .workflow_state import StepContext

__all__ = [
    "MAX_HISTORY_RUNS",
    "TOOL_CALL_LIMIT_MESSAGE",
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

TOOL_CALL_LIMIT_MESSAGE = "Tool call limit reached. Tool call {name} not executed. Don't try to execute it again."
"""agno's tool message for calls over `tool_call_limit` (agno `models/base.py`)."""


# --------------------------------------------------------------------------------------------- decide


def decide(state: SessionState, item: Command | RunEvent, ctx: DecisionContext) -> Decision:
    """Decide the outputs for one input.

    Inputs that trigger decisions: `StartRun`, `StartTeamRun`, `CancelRun`, `ContinueRun`, `ContinueTeamRun`,
    `ModelRequestCompleted`, `ModelRequestFailed`, `ToolCallCompleted`, `ToolCallError` (from the tool
    worker). Every other
    event, any input for a run that is unknown or finished, and a ContinueRun for a run that is not
    paused (or that `hitl.continue_problem` refuses) yield an empty Decision.

    Raises:
        UnknownAgentError: never; an unknown agent yields a `RunError` event so the caller sees it.
    """
    if isinstance(item, StartRun):
        return _start(state, item, ctx)
    if isinstance(item, StartTeamRun):
        from .team_run import start_team_run  # here: engine.team_run builds on this module's _Builder

        return start_team_run(state, item, ctx)
    if isinstance(item, ContinueTeamRun):
        from .team_run import continue_team_run  # here: engine.team_run builds on this module's _Builder

        return continue_team_run(state, item, ctx)
    if isinstance(item, StartWorkflow | WorkflowEvent) or item.run_id in state.workflows:
        from .workflow_run import decide_workflow  # here: engine.workflow_run imports this module

        return decide_workflow(state, item, ctx)
    run = state.runs.get(item.run_id)
    if run is None:
        return Decision()
    builder = _builder(state, run, ctx)
    if isinstance(item, CancelRun):
        builder.cancel(item.reason or "Run cancelled")
    elif isinstance(item, ContinueRun):
        if run.parent_run_id is None:  # a team's member run continues through its team (ContinueTeamRun)
            builder.resume(item)
    elif isinstance(item, ModelRequestCompleted):
        if item.seq == run.pending_model_seq and item.message is not None:
            builder.after_model(item)
    elif isinstance(item, ModelRequestFailed):
        if item.seq == run.pending_model_seq:
            builder.emit(RunError, content=item.error, error_type=item.error_type, error_id=item.error_code)
    elif isinstance(item, ToolCallCompleted | ToolCallError) and item.part == "done":
        builder.after_tool(item)
    return _route_ends(builder.state, builder.decision, ctx)


def _route_ends(state: SessionState, decision: Decision, ctx: DecisionContext) -> Decision:
    """Add the reactions to the runs `decision` ended (or paused): their team runs', then their workflow runs'.

    `state` is the state after `decision`. A member's end may end its team run (route mode, a cancel), and
    a team run that is a workflow step ends that step: so the teams decide first, then the workflows.
    """
    if any((e.is_terminal or isinstance(e, RunPaused)) and e.parent_run_id for e in decision.events):
        from .team_run import route_member_ends  # here: engine.team_run builds on this module's _Builder

        routed = route_member_ends(state, decision, ctx)
        for event in routed.events[len(decision.events) :]:
            state = evolve(state, event)
        decision = routed
    if any(e.is_terminal and e.workflow_run_id for e in decision.events):  # a workflow step's run ended
        from .workflow_run import after_step_runs  # here: engine.workflow_run imports this module

        return after_step_runs(state, decision, ctx)
    return decision


def _builder(state: SessionState, run: RunState, ctx: DecisionContext) -> _Builder:
    """The decision builder of `run`; a team run's leader has its own (`engine.team_run.TeamBuilder`)."""
    if run.team is None:
        return _Builder(state, run, ctx)
    from .team_run import TeamBuilder  # here: engine.team_run builds on this module's _Builder

    return TeamBuilder(state, run, ctx)


def _start(
    state: SessionState,
    cmd: StartRun,
    ctx: DecisionContext,
    step: StepContext | None = None,
    parent_run_id: str | None = None,
) -> Decision:
    """RunStarted and the first model turn; with `parent_run_id` a team's member run (history: its own runs)."""
    if cmd.run_id in state.runs or cmd.run_id in state.finished:
        return Decision()
    now = int(ctx.now)
    agent = ctx.find_agent(cmd.agent_id)
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
    history = state.history if parent_run_id is None else tuple(r for r in state.history if r.agent_id == agent.id)
    history_ids = tuple(r.run_id for r in history[-n:]) if n else ()
    system = agent.system_message_content()
    started = RunStarted(
        created_at=now,
        run_id=cmd.run_id,
        parent_run_id=parent_run_id,
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
        **(step.fields() if step is not None else {}),
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
        self.agent = ctx.find_agent(run.agent_id)

    def emit(self, cls: type[RunEvent], **fields: Any) -> RunEvent:
        step = self.run.workflow_step
        if step is not None:
            fields.update(step.fields())
            if issubclass(cls, RunCompleted):  # agno's step runs report the workflow run as the current run
                fields["session_state"] = {
                    "current_session_id": self.run.session_id,
                    "current_run_id": step.workflow_run_id,
                }
                if cls is RunCompleted and self.run.parent_run_id is None:  # not on a team step's runs, as agno
                    fields["metadata"] = {}
        event = cls(
            created_at=int(self.ctx.now),
            run_id=self.run.run_id,
            parent_run_id=self.run.parent_run_id,
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
                parent_run_id=self.run.parent_run_id,
                step=self.run.step - 1,
                messages=context,
                is_team=self.run.team is not None,
            )
        )

    def after_model(self, answer: ModelRequestCompleted) -> None:
        self.state = evolve(self.state, answer)
        self.run = self.state.runs[self.run.run_id]
        message = answer.message
        assert message is not None
        if not message.tool_calls:
            self.finish(message)
            return
        limit = self.agent.tool_call_limit if self.agent is not None else None
        held = 0
        for call in message.tool_calls:
            if limit is not None and self.run.tools_executed + held >= limit:
                error = TOOL_CALL_LIMIT_MESSAGE.format(name=call.name)
                self.emit(ToolCallError, tool=self.failed_execution(call, error), error=error)
                continue
            held += self.call_tool(call)
        self.advance()

    def failed_execution(self, call: ToolCall, error: str) -> ToolExecution:
        """The ToolExecution of a call answered with `error` instead of being executed."""
        return ToolExecution(
            tool_call_id=call.id,
            tool_name=call.name,
            tool_args=call_arguments(call.arguments),
            tool_call_error=True,
            result=error,
            created_at=int(self.ctx.now),
        )

    def finish(self, message: Message) -> None:
        """The model answered without tool calls: the run completes with that answer."""
        self.emit(RunContentCompleted)
        self.emit(
            RunCompleted,
            content=message.content,
            model_provider_data=message.provider_data,
            metrics=_run_metrics(self.run, self.ctx.now, self.agent),
        )

    def call_tool(self, call: ToolCall) -> int:
        """Handle one call of the model's turn: hold it for a human (returns 1) or request its execution (0)."""
        tool = self.agent.get_tool(call.name) if self.agent is not None else None
        if tool is not None and tool.pauses:
            self.emit(ToolCallPaused, tool=held_execution(tool, call, int(self.ctx.now)))
            return 1
        self.request_tool(call.id, call.name, call.arguments)
        return 0

    def cancel(self, reason: str) -> None:
        """A CancelRun: the run ends with RunCancelled."""
        self.emit(RunCancelled, reason=reason)

    def request_tool(self, call_id: str, name: str, arguments: str, execution: ToolExecution | None = None) -> None:
        event = self.emit(ToolCallRequested, tool_call_id=call_id, tool_name=name, arguments=arguments)
        self.decision.work.append(
            ToolWork(
                run_id=self.run.run_id,
                session_id=self.run.session_id,
                agent_id=self.run.agent_id,
                seq=event.seq,
                created_at=event.created_at,
                parent_run_id=self.run.parent_run_id,
                tool_call_id=call_id,
                tool_name=name,
                arguments=arguments,
                execution=execution,
                is_team=self.run.team is not None,
            )
        )

    def advance(self) -> None:
        """After a batch moved: wait for pending calls, else pause for held calls, else ask the model again."""
        if self.run.pending_tools:
            return
        if self.run.held:
            self.emit(RunContentCompleted)
            tools = (*self.run.tools, *self.run.held)
            needs = requirements(self.run.run_id, self.run.seq + 1, self.run.held, self.ctx.now)
            self.emit(RunPaused, content=paused_content(tools), tools=tools, requirements=needs)
            return
        self.request_model()

    def resume(self, command: ContinueRun) -> None:
        """Continue a paused run: RunContinued, then execute the resolved calls (or ask the model again)."""
        if continue_problem(self.run, command.tools) is not None:
            return
        now = int(self.ctx.now)
        resolution = resolve(self.run, command.tools, self.run.seq + 1, now)
        self.emit(
            RunContinued,
            updates=command.tools,
            user_id=command.user_id,
            tools=resolution.tools,
            messages=resolution.messages,
        )
        for execution in resolution.execute:
            self.request_tool(execution.tool_call_id, execution.tool_name, arguments_text(execution), execution)
        self.advance()

    def after_tool(self, answer: ToolCallCompleted | ToolCallError) -> None:
        if answer.tool is None or self.run.pending_tools.get(answer.tool.tool_call_id) != answer.seq:
            return
        self.state = evolve(self.state, answer)
        self.run = self.state.runs[self.run.run_id]
        self.advance()


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
