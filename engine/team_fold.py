"""The team part of `evolve` (`engine.fold`): a team run's own events and its member runs' ends.

- `TeamRunStarted` gives the run its `TeamRunState`;
- `TeamToolCallStarted` registers the call as pending (like a tool call executing) and opens a delegation;
  `TeamToolCallCompleted` / `TeamToolCallError` close it (the tool message itself is folded like any
  tool result, in the model's call order);
- `TeamTaskIterationStarted` adds the iteration's injected user message;
- a member run's terminal event records its outcome and RunOutput in the (still running) team run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from .events import RunEvent, RunStarted
from .state import RunState
from .team_events import TeamRunStarted
from .team_state import TeamRunState, evolve_team, member_outcome

__all__ = ["evolve_team_run", "record_member_end", "team_of"]


def team_of(event: RunStarted) -> TeamRunState | None:
    """The initial team state of a run started by `event`: None unless it is a TeamRunStarted."""
    if not isinstance(event, TeamRunStarted):
        return None
    return TeamRunState(team_id=event.agent_id, mode=event.mode)


def evolve_team_run(run: RunState, event: RunEvent) -> RunState:
    """Fold a team run's own event into its team state (and its pending calls and messages)."""
    assert run.team is not None
    team, messages, pending_seq = evolve_team(run.team, event, len(run.tools))
    if team is run.team:
        return run
    run = replace(run, team=team, messages=(*run.messages, *messages))
    tool = getattr(event, "tool", None)
    if pending_seq is not None and tool is not None:
        run = replace(
            run,
            pending_tools={**run.pending_tools, tool.tool_call_id: pending_seq},
            tools_executed=run.tools_executed + 1,
        )
    return run


def record_member_end(runs: Mapping[str, RunState], member: RunState, event: RunEvent) -> Mapping[str, RunState]:
    """Record the end of member run `member` (terminal `event`) in its team run, if that is still running."""
    parent = runs.get(member.parent_run_id or "")
    if parent is None or parent.team is None or not parent.is_active:
        return runs
    head = (member.system_message,) if member.system_message is not None else ()
    first = member.messages[0].content if member.messages else None
    extra = {
        "session_id": member.session_id,
        "parent_run_id": member.parent_run_id,
        "model": member.model,
        "model_provider": member.model_provider,
        "created_at": member.started_at,
        "input": first or "",
    }
    outcome = member_outcome(
        member.run_id, member.agent_id, member.agent_name, (*head, *member.messages), member.tools, event, extra
    )
    team = replace(
        parent.team,
        outcomes={**parent.team.outcomes, member.run_id: outcome},
        member_responses=(*parent.team.member_responses, outcome.output),
    )
    return {**runs, parent.run_id: replace(parent, team=team)}
