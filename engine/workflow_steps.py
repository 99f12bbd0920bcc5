"""The agent runs and data of workflow steps: starting and stopping a step's agent run, its message, metrics.

Helpers of `engine.workflow_run`; they build on the agent-run machinery of `engine.run`.
"""

from __future__ import annotations

from typing import Any

from .commands import StartRun
from .events import RunCancelled
from .run import _Builder
from .run import _start as _start_run
from .state import Decision, DecisionContext, SessionState
from .workflow_state import StepContext
from .workflow_types import StepInput, StepOutput, content_text, deepest_content

__all__ = ["start_step_run", "step_message", "step_metrics", "stop_step_run"]


def start_step_run(
    state: SessionState, *, run_id: str, agent_id: str, message: str, user_id: str | None, step: StepContext,
    ctx: DecisionContext,
) -> Decision:  # fmt: skip
    """Start the agent run of a workflow step (RunStarted with the step's fields, ModelRequested + work)."""
    command = StartRun(
        run_id=run_id, session_id=state.session_id, created_at=int(ctx.now), agent_id=agent_id, message=message,
        user_id=user_id,
    )  # fmt: skip
    return _start_run(state, command, ctx, step)


def stop_step_run(state: SessionState, run_id: str, reason: str, ctx: DecisionContext) -> Decision:
    """Cancel a step's agent run because its workflow ended (RunCancelled; nothing routed back)."""
    run = state.runs.get(run_id)
    if run is None:
        return Decision()
    builder = _Builder(state, run, ctx)
    builder.emit(RunCancelled, reason=reason)
    return builder.decision


def step_message(step_input: StepInput) -> str:
    """An agent step's input (agno `_prepare_message`): the previous step's deepest content, else the input."""
    if step_input.previous_step_outputs:
        content = deepest_content(list(step_input.previous_step_outputs.values())[-1])
        if content:
            return content_text(content) or ""
    return content_text(step_input.input) or ""


def step_metrics(outputs: tuple[StepOutput, ...] | list[StepOutput], into: dict[str, Any]) -> dict[str, Any]:
    """Agno `WorkflowMetrics.steps`: the agent steps' metrics by step name, nested steps included."""
    for output in outputs:
        if output.executor_type in ("agent", "team") and output.metrics and output.step_name:
            into[output.step_name] = {
                "step_name": output.step_name,
                "executor_type": output.executor_type,
                "executor_name": output.executor_name,
                "metrics": output.metrics,
            }
        step_metrics(output.steps or (), into)
    return into
