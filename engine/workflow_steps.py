"""The child runs and data of workflow steps: a step's agent or team run, its message, metrics, session state.

Starting and stopping a step's run, agno's step message and metrics, and the workflow session state's merges.

Helpers of `engine.workflow_run`; they build on the agent-run machinery of `engine.run` (and the team-run
machinery of `engine.team_run` for team steps).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .commands import StartRun, StartTeamRun
from .events import RunCancelled
from .run import _Builder
from .run import _start as _start_run
from .state import Decision, DecisionContext, SessionState
from .team_run import TeamBuilder, start_team_run
from .workflow_state import StepContext
from .workflow_types import StepInput, StepOutput, content_text, deepest_content

__all__ = [
    "apply_state_changes",
    "initial_session_state",
    "merge_dictionaries",
    "start_step_run",
    "start_step_team_run",
    "step_message",
    "step_metrics",
    "stop_step_run",
]


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


def start_step_team_run(
    state: SessionState, *, run_id: str, team_id: str, message: str, user_id: str | None, step: StepContext,
    ctx: DecisionContext,
) -> Decision:  # fmt: skip
    """Start the team run of a workflow step (TeamRunStarted with the step's fields, the leader's first turn)."""
    command = StartTeamRun(
        run_id=run_id, session_id=state.session_id, created_at=int(ctx.now), team_id=team_id, message=message,
        user_id=user_id,
    )  # fmt: skip
    return start_team_run(state, command, ctx, step)


def stop_step_run(state: SessionState, run_id: str, reason: str, ctx: DecisionContext) -> Decision:
    """Cancel a step's agent or team run because its workflow ended (RunCancelled; nothing routed back).

    A team run's running member runs are cancelled first, then the team (TeamRunCancelled).
    """
    run = state.runs.get(run_id)
    if run is None:
        return Decision()
    if run.team is not None:
        team = TeamBuilder(state, run, ctx)
        team.cancel(reason)
        return team.decision
    builder = _Builder(state, run, ctx)
    builder.emit(RunCancelled, reason=reason)
    return builder.decision


def merge_dictionaries(a: dict[str, Any], b: Mapping[str, Any]) -> None:
    """Agno's `merge_dictionaries`: merge `b` into `a` in place, recursively for dicts; `b` wins conflicts."""
    for key, value in b.items():
        if key in a and isinstance(a[key], dict) and isinstance(value, Mapping):
            merge_dictionaries(a[key], value)
        else:
            a[key] = copy.deepcopy(value)


def initial_session_state(
    stored: Mapping[str, Any] | None, defaults: Mapping[str, Any] | None, given: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A run's session state (agno `_load_session_state`): the session's stored state, deep-merged with `given`.

    A session without a stored state starts from the workflow's `defaults`. An empty stored state is not
    merged: the run starts from `given` alone (as agno does).
    """
    base = copy.deepcopy(dict(stored if stored is not None else defaults or {}))
    if not base:
        return copy.deepcopy(dict(given or {}))
    merge_dictionaries(base, given or {})
    return base


def apply_state_changes(
    state: Mapping[str, Any], changes: Mapping[str, Any], removed: tuple[str, ...]
) -> dict[str, Any]:
    """The run's session state after a function step's top-level `changes` and `removed` keys.

    Parallel branches each start from the state of their request, so applying only the keys a branch changed
    keeps the others' changes (agno's `merge_parallel_session_states`).
    """
    new = {k: v for k, v in state.items() if k not in removed}
    new.update(copy.deepcopy(dict(changes)))
    return new


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
