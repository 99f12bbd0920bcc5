"""The team part of `evolve` (`engine.fold`): a team run's own events and its member runs' ends.

- `TeamRunStarted` gives the run its `TeamRunState`;
- `TeamToolCallStarted` registers the call as pending (like a tool call executing) and opens a delegation;
  `TeamToolCallCompleted` / `TeamToolCallError` close it (the tool message itself is folded like any
  tool result, in the model's call order);
- `TeamTaskIterationStarted` adds the iteration's injected user message;
- a member run's terminal event records its outcome and RunOutput in the (still running) team run;
- human in the loop: a member run's RunPaused records its requirements in its team run (`paused_members`),
  its RunContinued drops them; `TeamRequirementsResolved` (a ContinueTeamRun accepted) makes the team
  run RUNNING and records the member runs it waits for and the answers for the leader's held calls;
  `TeamRunContinued` rewrites the results of the delegations that reported paused members.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._replace import replace
from .events import RunContinued, RunEvent, RunPaused, RunStarted
from .messages import Requirement
from .state import RunState
from .team_events import TeamRequirementsResolved, TeamRunContinued, TeamRunStarted
from .team_state import TeamRunState, evolve_team, member_outcome

__all__ = ["evolve_team_run", "member_requirements", "record_member_end", "record_member_hitl", "team_of"]


def team_of(event: RunStarted) -> TeamRunState | None:
    """The initial team state of a run started by `event`: None unless it is a TeamRunStarted."""
    if not isinstance(event, TeamRunStarted):
        return None
    return TeamRunState(team_id=event.agent_id, mode=event.mode)


def evolve_team_run(run: RunState, event: RunEvent) -> RunState:
    """Fold a team run's own event into its team state (and its pending calls and messages)."""
    assert run.team is not None
    if isinstance(event, TeamRequirementsResolved):
        return _resolved(run, run.team, event)
    if isinstance(event, TeamRunContinued):
        return _continued(run, run.team, event)
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
        paused_members={k: v for k, v in parent.team.paused_members.items() if k != member.run_id},
    )
    return {**runs, parent.run_id: replace(parent, team=team)}


def _resolved(run: RunState, team: TeamRunState, event: TeamRequirementsResolved) -> RunState:
    """A ContinueTeamRun was accepted: running again, waiting for the member runs it continues."""
    awaiting = (*team.awaiting, *(r for r in event.member_run_ids if r not in team.awaiting))
    updates = tuple(r.answered() for r in event.requirements if r.member_run_id is None)
    team = replace(team, awaiting=awaiting, updates=updates, continue_user_id=event.user_id)
    return replace(run, status="RUNNING", team=team)


def _continued(run: RunState, team: TeamRunState, event: TeamRunContinued) -> RunState:
    """The leader resumes: the delegation results that reported paused members are rewritten in place."""
    by_id = {m.id: m for m in event.member_messages}
    messages = tuple(by_id.get(m.id, m) for m in run.messages)
    batch = {k: by_id.get(m.id, m) for k, m in run.batch_results.items()}
    rewritten = {t.tool_call_id: t for t in event.member_tools}
    tools = tuple(rewritten.get(t.tool_call_id, t) for t in run.tools)
    stop = (*team.stop_results, *(t.result for t in event.member_tools if t.stop_after_tool_call and t.result))
    team = replace(team, paused_calls={}, awaiting=(), updates=(), continue_user_id=None, stop_results=stop)
    return replace(run, messages=messages, batch_results=batch, tools=tools, team=team)


def member_requirements(member: RunState, event: RunPaused) -> tuple[Requirement, ...]:
    """A paused member run's requirements as its team reports them (agno `_propagate_member_pause`)."""
    return tuple(
        replace(
            r,
            member_agent_id=r.member_agent_id or member.agent_id,
            member_agent_name=r.member_agent_name or member.agent_name,
            member_run_id=r.member_run_id or member.run_id,
        )
        for r in event.requirements
    )


def record_member_hitl(runs: Mapping[str, RunState], member: RunState, event: RunEvent) -> Mapping[str, RunState]:
    """Record a member run's RunPaused (its requirements) or RunContinued (no longer paused) in its team run."""
    parent = runs.get(member.parent_run_id or "")
    if parent is None or parent.team is None or not parent.is_active:
        return runs
    paused = {k: v for k, v in parent.team.paused_members.items() if k != member.run_id}
    if isinstance(event, RunPaused):
        paused[member.run_id] = member_requirements(member, event)
    elif not isinstance(event, RunContinued):
        return runs
    return {**runs, parent.run_id: replace(parent, team=replace(parent.team, paused_members=paused))}
