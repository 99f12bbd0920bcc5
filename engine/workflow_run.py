"""The workflow-run state machine: decisions for StartWorkflow, step results and CancelRun.

Called by `engine.run.decide` (the session-level dispatch) for:

- `StartWorkflow`: WorkflowStarted, then the walk (`engine.workflow_walk`) starts the first step;
- `StepExecuted` (the tool worker ran a function step): SessionStateUpdated when the function changed the
  session state, StepOutput / StepCompleted (or the failure handling), then the walk goes on;
- the terminal event of a step's agent or team run (`after_step_runs`, routed by the run id
  `<workflow run>~<path>`): its content and metrics become the step's StepOutput (StepCompleted), then
  the walk goes on; these events join the child run's own decision, so the step's RunCompleted (or
  TeamRunCompleted) and the workflow's next events are one transaction;
- `CancelRun` with the workflow run's id: RunCancelled for its running step agent runs, WorkflowCancelled.

A failing step follows agno: by default (`on_error="skip"`) its output records the error and the run
goes on; with `HumanReview(on_error="fail")` the run ends with StepError + WorkflowError (running
step agent runs are cancelled first).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .commands import CancelRun, Command, StartWorkflow
from .events import RunCompleted, RunError, RunEvent
from .fold import evolve
from .state import Decision, DecisionContext, SessionState
from .work import StepWork
from .workflow import Parallel, Step, Workflow
from .workflow_events import (
    SessionStateUpdated,
    StepCompleted,
    StepError,
    StepExecuted,
    StepExecutionRequested,
    StepOutputEvent,
    StepSkipped,
    StepStarted,
    WorkflowCancelled,
    WorkflowCompleted,
    WorkflowError,
    WorkflowEvent,
    WorkflowStarted,
)
from .workflow_state import StepContext, WorkflowRunState, owner_run_id, step_run_id
from .workflow_steps import (
    apply_state_changes,
    initial_session_state,
    start_step_run,
    start_step_team_run,
    step_message,
    step_metrics,
    stop_step_run,
)
from .workflow_types import StepInput, StepOutput, deepest_content
from .workflow_walk import Walk

__all__ = ["after_step_run", "after_step_runs", "decide_workflow"]


def decide_workflow(state: SessionState, item: Command | RunEvent, ctx: DecisionContext) -> Decision:
    """Decide on a workflow input (see the module docstring); anything else yields an empty Decision."""
    if isinstance(item, StartWorkflow):
        return _start_workflow(state, item, ctx)
    run = state.workflows.get(item.run_id)
    if run is None:
        return Decision()
    workflow = ctx.workflows.get(run.workflow_id)
    if workflow is None:
        return _unregistered(run, ctx, Decision())
    walker = _Walker(state, run, workflow, ctx)
    if isinstance(item, CancelRun):
        reason = item.reason or "Run cancelled"
        walker.end(WorkflowCancelled, f"Workflow run {run.run_id} was cancelled", reason=reason, content=reason)
    elif isinstance(item, StepExecuted) and item.part == "done" and run.requested.get(item.path) == item.seq:
        walker.on_executed(item)
    return walker.decision


def after_step_runs(state: SessionState, decision: Decision, ctx: DecisionContext) -> Decision:
    """Add the workflow's reaction to every step run (agent or team run, not a member) that `decision` ended.

    `state` is the session state after `decision`; see `after_step_run`.
    """
    ended = [e.run_id for e in decision.events if e.is_terminal and e.workflow_run_id and not e.parent_run_id]
    for run_id in dict.fromkeys(ended):
        done = len(decision.events)
        decision = after_step_run(state, run_id, decision, ctx)
        for event in decision.events[done:]:
            state = evolve(state, event)
    return decision


def after_step_run(state: SessionState, run_id: str, decision: Decision, ctx: DecisionContext) -> Decision:
    """Add the workflow's reaction to `decision`, which ended the step's agent or team run `run_id`.

    `state` is the session state after `decision`. The decision is returned extended in place; unchanged
    when the workflow run is gone (ended, cancelled) or no longer waits for this step.
    """
    workflow_run_id = owner_run_id(run_id)
    run = state.workflows.get(workflow_run_id)
    path = run_id[len(workflow_run_id) + 1 :]
    terminal = next((e for e in reversed(decision.events) if e.run_id == run_id and e.is_terminal), None)
    if run is None or terminal is None or not run.in_flight(path):
        return decision
    workflow = ctx.workflows.get(run.workflow_id)
    if workflow is None:
        return _unregistered(run, ctx, decision)
    walker = _Walker(state, run, workflow, ctx, decision)
    walker.on_step_run_finished(path, run_id, terminal)
    return walker.decision


def _start_workflow(state: SessionState, command: StartWorkflow, ctx: DecisionContext) -> Decision:
    if command.run_id in state.workflows or command.run_id in state.finished:
        return Decision()
    now = int(ctx.now)
    workflow = ctx.workflows.get(command.workflow_id)
    if workflow is None:
        known = ", ".join(sorted(ctx.workflows)) or "(none)"
        error = WorkflowError(
            created_at=now,
            run_id=command.run_id,
            session_id=command.session_id,
            seq=0,
            workflow_id=command.workflow_id,
            error=f"unknown workflow_id {command.workflow_id!r}; registered workflows: {known}",
            error_type="UnknownWorkflowError",
        )
        return Decision(events=[error])
    started = WorkflowStarted(
        created_at=now,
        run_id=command.run_id,
        session_id=command.session_id,
        seq=0,
        workflow_id=workflow.id,
        workflow_name=workflow.name,
        input=command.message,
        user_id=command.user_id,
        additional_data=command.additional_data,
        workflow_steps=tuple(workflow.summary()),
        session_state=initial_session_state(
            state.workflow_session_state, workflow.session_state, command.session_state
        ),
        run_session_state=command.session_state,
    )
    state = evolve(state, started)
    walker = _Walker(state, state.workflows[command.run_id], workflow, ctx)
    walker.decision.events.append(started)
    walker.walk()
    return walker.decision


def _unregistered(run: WorkflowRunState, ctx: DecisionContext, decision: Decision) -> Decision:
    """The run's workflow is no longer registered: end it with WorkflowError."""
    decision.events.append(
        WorkflowError(
            created_at=int(ctx.now),
            run_id=run.run_id,
            session_id=run.session_id,
            seq=run.seq + 1,
            workflow_id=run.workflow_id,
            workflow_name=run.workflow_name,
            error=f"workflow {run.workflow_id!r} is not registered",
            error_type="UnknownWorkflowError",
        )
    )
    return decision


class _Walker(Walk):
    """Accumulates one decision for a workflow run, evolving a scratch state after every event."""

    def __init__(
        self,
        state: SessionState,
        run: WorkflowRunState,
        workflow: Workflow,
        ctx: DecisionContext,
        decision: Decision | None = None,
    ) -> None:
        self.state = state
        self.wf = run
        self.workflow = workflow
        self.ctx = ctx
        self.decision = decision if decision is not None else Decision()
        self.over = False

    # ------------------------------------------------------------------ events

    def _add(self, event: RunEvent) -> None:
        self.decision.events.append(event)
        self.state = evolve(self.state, event)
        self.wf = self.state.workflows.get(self.wf.run_id, self.wf)

    def _merge(self, decision: Decision) -> None:
        for event in decision.events:
            self._add(event)
        self.decision.work.extend(decision.work)

    def emit(self, cls: type[WorkflowEvent], **fields: Any) -> WorkflowEvent:
        event = cls(
            created_at=int(self.ctx.now),
            run_id=self.wf.run_id,
            session_id=self.wf.session_id,
            seq=self.wf.seq + 1,
            workflow_id=self.wf.workflow_id,
            workflow_name=self.wf.workflow_name,
            **fields,
        )
        self._add(event)
        return event

    def fields(self, path: str) -> dict[str, Any]:
        index, parent = self.workflow.position(path)
        node = self.workflow.node_at(path)
        return {
            "path": path,
            "step_id": self.workflow.step_id_at(path),
            "step_name": node.name if node is not None else None,
            "step_index": index,
            "parent_step_id": parent,
        }

    # ------------------------------------------------------------------ the run

    def walk(self) -> None:
        """Advance the run as far as its finished steps allow; complete it when the last step finished."""
        if self.over:
            return
        items = [(str(i), n) for i, n in enumerate(self.workflow.nodes)]
        result = self.sequence(items, StepInput(input=self.wf.input, additional_data=self.wf.additional_data))
        if result is None or self.over:
            return
        outputs, _stop = result
        content = deepest_content(outputs[-1]) if outputs else None
        metrics = {
            "steps": step_metrics(outputs, {}),
            "duration": max(0.0, round(self.ctx.now - self.wf.started_at, 6)),
        }
        self.emit(
            WorkflowCompleted,
            content=content,
            step_results=tuple(outputs),
            metadata=dict(self.workflow.metadata),
            metrics=metrics,
        )
        self.over = True

    def end(self, cls: type[WorkflowEvent], why: str, **fields: Any) -> None:
        """End the run with `cls` (WorkflowError / WorkflowCancelled), then cancel its running step runs.

        The step runs' RunCancelled come after the terminal event, so they reach a run already ended and
        nothing is routed back to it (also when a replay re-decides them one by one).
        """
        running = [step_run_id(self.wf.run_id, p) for p in sorted(self.wf.started - set(self.wf.outputs))]
        error = fields.pop("error_type", None)
        extra = {"error": why, "error_type": error} if cls is WorkflowError else {}
        self.emit(cls, **extra, **fields)
        self.over = True
        for run_id in running:  # function steps among them have no run: nothing to stop
            self._merge(stop_step_run(self.state, run_id, why, self.ctx))

    def fail(self, error: str, error_type: str | None = None) -> None:
        self.end(WorkflowError, error, error_type=error_type)

    # ------------------------------------------------------------------ steps

    def start_leaf(self, path: str, node: Step, step_input: StepInput) -> None:
        fields = self.fields(path)
        self.emit(StepStarted, **fields)
        if node.executor is not None:
            requested = self.emit(StepExecutionRequested, **fields)
            self.decision.work.append(
                StepWork(
                    run_id=self.wf.run_id,
                    session_id=self.wf.session_id,
                    agent_id="",
                    seq=requested.seq,
                    created_at=requested.created_at,
                    workflow_id=self.wf.workflow_id,
                    path=path,
                    step_input=step_input.to_dict(),
                    max_retries=node.max_retries,
                    session_state=dict(self.wf.session_state),
                    user_id=self.wf.user_id,
                )
            )
            return
        step = StepContext(
            self.wf.workflow_id, self.wf.run_id, fields["step_id"], node.name or "", fields["step_index"]
        )
        run_id, message, user_id = step_run_id(self.wf.run_id, path), step_message(step_input), self.wf.user_id
        if node.team is not None:
            if node.team.id not in self.ctx.teams:
                self.fail(f"team {node.team.id!r} of step {node.name!r} is not registered", "UnknownTeamError")
                return
            self._merge(
                start_step_team_run(
                    self.state, run_id=run_id, team_id=node.team.id, message=message, user_id=user_id, step=step,
                    ctx=self.ctx,
                )
            )  # fmt: skip
            return
        assert node.agent is not None  # a Step has exactly one executor
        if node.agent.id not in self.ctx.agents:
            self.fail(f"agent {node.agent.id!r} of step {node.name!r} is not registered", "UnknownAgentError")
            return
        self._merge(
            start_step_run(
                self.state, run_id=run_id, agent_id=node.agent.id, message=message, user_id=user_id, step=step,
                ctx=self.ctx,
            )
        )  # fmt: skip

    def _base(self, path: str, node: Step) -> dict[str, Any]:
        return {
            "step_name": node.name,
            "step_id": self.workflow.step_id_at(path),
            "step_type": "Step",
            "executor_type": node.executor_type,
            "executor_name": node.executor_name,
        }

    def _leaf(self, path: str) -> Step | None:
        """The Step at `path`; None (and the run ended) when the registered definition has none there."""
        node = self.workflow.node_at(path)
        if isinstance(node, Step):
            return node
        self.fail(
            f"workflow {self.workflow.id!r} has no step at {path!r} (its definition changed)", "ConfigurationError"
        )
        return None

    def on_executed(self, answer: StepExecuted) -> None:
        """A function step answered: its output (agno's fields filled in), or its failure."""
        node = self._leaf(answer.path)
        if node is None:
            return
        if answer.state_changes is not None or answer.state_removed:
            state = apply_state_changes(self.wf.session_state, answer.state_changes or {}, answer.state_removed)
            if state != self.wf.session_state:
                self.emit(SessionStateUpdated, session_state=state, path=answer.path)
        if answer.output is None:
            self.leaf_failed(answer.path, node, answer.error or "the step failed")
        else:
            output = answer.output
            base = self._base(answer.path, node)
            base["step_type"] = output.step_type or "Step"
            self.leaf_done(answer.path, node, replace(output, **base))
        self.walk()

    def on_step_run_finished(self, path: str, run_id: str, terminal: RunEvent) -> None:
        """An agent or team step's run ended: (Team)RunCompleted gives the output; an error or cancel a failed one."""
        node = self._leaf(path)
        if node is None:
            return
        base = {**self._base(path, node), "step_run_id": run_id}
        if isinstance(terminal, RunCompleted):
            output = StepOutput(**base, content=terminal.content, metrics=terminal.metrics)
        else:
            error = terminal.content if isinstance(terminal, RunError) else getattr(terminal, "reason", None)
            output = StepOutput(**base, content=error, success=False, error=error)
        self.leaf_done(path, node, output)
        self.walk()

    def leaf_done(self, path: str, node: Step, output: StepOutput) -> None:
        """Agno's events for a finished step; a top-level function step sends StepOutput first."""
        fields = self.fields(path)
        top_function = "." not in path and node.executor is not None
        if top_function:
            self.emit(
                StepOutputEvent, step_output=output, path=path, step_name=node.name, step_index=fields["step_index"]
            )
        if not (top_function and output.stop):  # agno stops before the StepCompleted of a stopping step
            self.emit(StepCompleted, content=output.content, step_response=output, **fields)
        if not output.success and node.on_error == "fail" and not node.skip_on_failure:
            self.emit(StepError, error=output.error, **fields)
            self.fail(output.error or f"Step {node.name} reported failure")

    def leaf_failed(self, path: str, node: Step, error: str) -> None:
        """A function step raised on every attempt: WorkflowError with on_error="fail", else its error output."""
        fields = self.fields(path)
        if node.on_error == "fail" and not node.skip_on_failure:
            self.emit(StepError, error=error, **fields)
            self.fail(error)
            return
        parent = self.workflow.node_at(path.rsplit(".", 1)[0]) if "." in path else None
        if node.skip_on_failure:
            content = f"Step {node.name} failed but skipped"
        elif isinstance(parent, Parallel):
            content = f"Step {node.name} failed: {error}"
        else:
            content = f"Step skipped due to error: {error}"
        output = StepOutput(
            step_name=node.name,
            step_id=fields["step_id"],
            step_type="Step",
            content=content,
            success=False,
            error=error,
        )
        self.emit(StepSkipped, output=output, **fields)
