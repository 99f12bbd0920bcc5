"""Human in the loop for team runs: a paused member (or a held call of the leader) pauses the team run.

agno's behaviour (`team/_tools.py:_propagate_member_pause`, `team/_hooks.py:handle_team_run_paused`,
`team/_run.py:continue_run_dispatch`, `_route_requirements_to_members`, `_prepare_member_hitl_continuation`):

- a delegation whose member run pauses completes with "Member '<name>' requires human input before
  continuing." (tasks mode: the task goes back to pending, "... Task [<id>] paused."); once the leader's
  turn has no call left running, the team run pauses: TeamRunPaused with the member's requirements copied
  with `member_agent_id` / `member_agent_name` / `member_run_id`, then those of the leader's own held calls;
- `ContinueTeamRun(requirements)` routes each member's requirements to its paused run (the member's
  RunContinued … RunCompleted, with `parent_run_id`, as agno streams them), and once those member runs have
  ended the leader resumes: TeamRunContinued, the delegation results rewritten to "Member results after
  human-in-the-loop resolution:" and a `[<name>]: <content>` line per member, the leader's own held calls
  resolved as an agent's (`engine.hitl`), and the next model turn. A member that pauses again (or one the
  client left out) pauses the team again, without TeamRunContinued (agno's chained HITL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from .commands import ContinueRun, ContinueTeamRun
from .events import RunContinued, RunPaused
from .hitl import MISSING_UPDATES, Resolution, arguments_text, continue_problem, resolve
from .messages import Message, Requirement, ToolExecution
from .run import _Builder
from .state import RunState, SessionState, message_id
from .team_events import TeamRequirementsResolved
from .team_state import MemberOutcome, member_result
from .team_tasks_mode import TasksMode

__all__ = [
    "CONTINUATION_HEADER",
    "MEMBER_PAUSED",
    "NO_REQUIREMENTS",
    "TeamHitl",
    "continuation_message",
    "pending_requirements",
    "team_continue_problem",
    "team_paused_content",
]

MEMBER_PAUSED = "Member '{name}' requires human input before continuing."
"""agno's delegation result for a member run that paused."""
CONTINUATION_HEADER = "Member results after human-in-the-loop resolution:"
"""agno's first line of the rewritten delegation result (`_build_continuation_message`)."""
NO_REQUIREMENTS = "requirements must be provided when continuing by run_id."
"""agno's error for a team continue without requirements."""


def team_paused_content(requirements: Sequence[Requirement]) -> str:
    """Agno's TeamRunPaused `content` (`_get_team_paused_content`): one line per unresolved requirement."""
    parts = []
    for r in requirements:
        tool, who = r.tool_execution, r.member_agent_name or "team"
        if tool.requires_confirmation and tool.confirmed is None:
            parts.append(f"- {who}: {tool.tool_name} requires confirmation")
        elif tool.requires_user_input and not tool.answered:
            parts.append(f"- {who}: {tool.tool_name} requires user input")
        elif tool.external_execution_required and tool.result is None:
            parts.append(f"- {who}: {tool.tool_name} requires external execution")
    if not parts:
        return "Team run paused."
    return "Team run paused. The following require input:\n" + "\n".join(parts)


def continuation_message(results: Sequence[str]) -> str:
    """Agno's rewritten delegation result: the header, then `[<member name>]: <content>` per member."""
    if not results:
        return "The delegated task has been completed."
    return "\n".join((CONTINUATION_HEADER, *results))


def _own_requirements(run: RunState, created_at: str) -> tuple[Requirement, ...]:
    """The requirements of the leader's own held calls; ids derived from the call, stable across re-pauses."""
    return tuple(
        Requirement(
            id=message_id(run.run_id, "team-requirement", t.tool_call_id), created_at=created_at, tool_execution=t
        )
        for t in run.held
    )


def pending_requirements(run: RunState, created_at: str = "") -> tuple[Requirement, ...]:
    """What the paused team run waits for: its paused members' requirements (pause order), then its own."""
    assert run.team is not None
    members = tuple(r for reqs in run.team.paused_members.values() for r in reqs)
    return (*members, *_own_requirements(run, created_at))


def _match(given: Requirement, pending: Sequence[Requirement]) -> Requirement | None:
    """The pending requirement `given` answers: same id, else same tool call."""
    found = next((p for p in pending if p.id == given.id), None)
    if found is None:
        call_id = given.tool_execution.tool_call_id
        found = next((p for p in pending if p.tool_execution.tool_call_id == call_id), None)
    return found


def _normalized(given: Requirement, pending: Requirement) -> Requirement:
    """The client's answers on the pending requirement's identity (id, call id and member fields)."""
    answer = replace(given.answered(), tool_call_id=pending.tool_execution.tool_call_id)
    return replace(
        pending,
        tool_execution=answer,
        confirmation=given.confirmation,
        confirmation_note=given.confirmation_note,
        external_execution_result=given.external_execution_result,
        user_input_schema=given.user_input_schema,
    )


def team_continue_problem(
    state: SessionState, run: RunState, requirements: Sequence[Requirement]
) -> tuple[str, str | None] | None:
    """Why `requirements` cannot continue team run `run` (agno's message and the field at fault), or None.

    The field is None for a run that is not paused (the caller's 409), else the offending form field path
    (`requirements`, `requirements[<i>].id`, ...) for a 400.
    """
    if run.status != "PAUSED":
        return f"Cannot continue run {run.run_id}: run is not paused (status {run.status})", None
    if not requirements:
        return NO_REQUIREMENTS, "requirements"
    pending = pending_requirements(run)
    answers: dict[str, list[ToolExecution]] = {}
    for i, given in enumerate(requirements):
        found = _match(given, pending)
        if found is None:
            return f"Unknown requirement {given.id!r}: run {run.run_id} is not waiting for it", f"requirements[{i}].id"
        answers.setdefault(found.member_run_id or run.run_id, []).append(_normalized(given, found).tool_execution)
    if run.held:
        answers.setdefault(run.run_id, [])
    for owner, updates in answers.items():
        target = state.runs.get(owner)
        if target is None:
            return f"Member run {owner} of run {run.run_id} is not in flight", "requirements"
        problem = continue_problem(target, updates)
        if problem is not None and problem != MISSING_UPDATES:  # the leader's held calls may go unanswered
            return problem, "requirements"
    return None


class TeamHitl(TasksMode):
    """Pausing and continuing a team run (see the module docstring); mixed into the team run's builder."""

    def settled(self, member_run_id: str) -> bool:
        """True once the member run has ended or paused for a human."""
        team = self.team_state
        return member_run_id in team.outcomes or member_run_id in team.paused_members

    def paused_outcome(self, member_run_id: str) -> MemberOutcome:
        """A paused member run as a delegation sees it: agno's "requires human input" text as its answer."""
        member = self.state.runs[member_run_id]
        text = MEMBER_PAUSED.format(name=member.agent_name)
        return MemberOutcome(
            run_id=member_run_id, agent_id=member.agent_id, agent_name=member.agent_name, status="PAUSED", content=text
        )

    def pause(self) -> None:
        """TeamRunPaused with the paused members' requirements and those of the leader's held calls."""
        created_at = datetime.fromtimestamp(self.ctx.now, UTC).isoformat()
        needs = pending_requirements(self.run, created_at)
        tools = (*self.run.tools, *self.run.held)
        self.emit(RunPaused, content=team_paused_content(needs), tools=tools, requirements=needs)

    def continue_team(self, command: ContinueTeamRun) -> None:
        """TeamRequirementsResolved, then continue each member run the requirements name (in pause order)."""
        pending = pending_requirements(self.run)
        resolved = []
        for given in command.requirements:
            found = _match(given, pending)
            if found is not None:
                resolved.append(_normalized(given, found))
        by_member: dict[str, list[ToolExecution]] = {}
        for r in resolved:
            if r.member_run_id is not None:
                by_member.setdefault(r.member_run_id, []).append(r.tool_execution)
        members = tuple(m for m in self.team_state.paused_members if m in by_member)
        self.emit(
            TeamRequirementsResolved, requirements=tuple(resolved), user_id=command.user_id, member_run_ids=members
        )
        for member_run_id in members:
            child = _Builder(self.state, self.state.runs[member_run_id], self.ctx)
            child.resume(
                ContinueRun(
                    run_id=member_run_id,
                    session_id=command.session_id,
                    created_at=command.created_at,
                    tools=tuple(by_member[member_run_id]),
                    user_id=command.user_id,
                )
            )
            self.absorb(child.decision)
        self.after_awaited()

    def after_awaited(self) -> None:
        """Once every member run continued since the pause has ended or paused: resume the leader, or re-pause."""
        team = self.team_state
        if not all(self.settled(r) for r in team.awaiting):
            return
        if team.paused_members:
            self.pause()
            return
        self.resume_leader()

    def resume_leader(self) -> None:
        """TeamRunContinued (member results in place of the pause texts, held calls resolved), then go on."""
        team = self.team_state
        outcomes = [team.outcomes[r] for r in team.awaiting]
        text = continuation_message([f"[{o.agent_name}]: {o.content or 'Task completed'}" for o in outcomes])
        member_tools, member_messages = self._rewritten(team.paused_calls, text)
        resolution = Resolution()
        if self.run.held:
            resolution = resolve(self.run, team.updates, self.run.seq + 1, int(self.ctx.now))
        self.emit(
            RunContinued,
            updates=team.updates,
            user_id=team.continue_user_id,
            tools=resolution.tools,
            messages=resolution.messages,
            member_tools=member_tools,
            member_messages=member_messages,
        )
        for execution in resolution.execute:
            self.request_tool(execution.tool_call_id, execution.tool_name, arguments_text(execution), execution)
        self.advance()

    def _rewritten(
        self, paused_calls: Mapping[str, tuple[str, ...]], text: str
    ) -> tuple[tuple[ToolExecution, ...], tuple[Message, ...]]:
        """The delegation calls that reported paused members, and their tool messages, with their new result.

        Route mode keeps its meaning: the (single) member's answer is the call's result, and the team's.
        """
        team = self.team_state
        tools, messages = [], []
        for call_id, run_ids in paused_calls.items():
            tool = next((t for t in reversed(self.run.tools) if t.tool_call_id == call_id), None)
            if tool is None:
                continue
            result = text
            if tool.stop_after_tool_call and run_ids and run_ids[0] in team.outcomes:
                result = member_result(team.outcomes[run_ids[0]])
            tools.append(replace(tool, result=result))
            message = self.run.batch_results.get(call_id) or next(
                (m for m in reversed(self.run.messages) if m.role == "tool" and m.tool_call_id == call_id), None
            )
            if message is not None:
                messages.append(replace(message, content=result))
        return tuple(tools), tuple(messages)
