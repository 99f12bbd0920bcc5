"""The team run state machine: a leader run driven by the agent run machinery, plus member runs.

`decide` (`engine.run`) sends a `StartTeamRun` here, builds a team run's decisions with `TeamBuilder`, and
routes the end of every member run back to its team run (`route_member_ends`), in the same decision.

- The leader's model turns are the agent machinery's (`ModelRequested` / `ModelWork` with `is_team`, so the
  model worker writes TeamModelRequest*/TeamRunContent); its decisions carry the Team* names.
- A team tool call is decided here (`team_calls`, `team_tasks_mode`), never executed by the tool worker
  (the leader's own tools, `Team.tools`, are: they run, or are held for a human, like an agent's).
  A delegation starts member runs in the team's session (`parent_run_id` = the team run) and stays
  pending; when its last member run ends, TeamToolCallCompleted returns agno's result text to the leader
  (coordinate: the member's answer; broadcast: one `Agent <name>: <answer>` line per member, in member
  order whatever order they ended in; tasks: agno's task texts). Route mode ends the run with the member's
  answer as the team's content.
- Human in the loop (`team_hitl`): a member run that pauses closes its delegation with agno's "requires
  human input" text and pauses the team run (TeamRunPaused); ContinueTeamRun continues the member runs and
  then the leader (TeamRunContinued).
- Cancel of a team run cancels its running member runs first (RunCancelled with `cancelled_by`), then
  the team (TeamRunCancelled); a member run cancelled on its own cancels its team the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ._team_prompt import TOOL_SCHEMAS
from .commands import ContinueTeamRun, StartTeamRun
from .events import RunCancelled, RunContent, RunEvent, RunPaused, ToolCallCompleted, ToolCallError
from .fold import evolve
from .hitl import call_arguments
from .messages import Message, ToolCall
from .run import _Builder
from .state import MAX_HISTORY_RUNS, Decision, DecisionContext, SessionState, message_id
from .team import MODE_TOOLS
from .team_calls import call_text
from .team_events import TeamRunError, TeamRunStarted
from .team_hitl import TeamHitl, team_continue_problem
from .team_state import Delegation, empty_member_response, member_result
from .workflow_state import StepContext

__all__ = [
    "TeamBuilder",
    "continue_team_run",
    "empty_member_response",
    "member_result",
    "route_member_ends",
    "start_team_run",
]

_TYPES = {"string": str, "array": list}


class TeamBuilder(TeamHitl):
    """The decision builder of a team run (see the module docstring)."""

    def tools(self) -> dict[str, Callable[[ToolCall, Mapping[str, Any]], None]]:
        """The team tools of the run's mode, by name."""
        names = MODE_TOOLS[self.team_state.mode]
        handlers = {
            "delegate_task_to_member": self.delegate_to_member,
            "delegate_task_to_members": self.delegate_to_members,
            **self.task_tools(),
        }
        return {name: handlers[name] for name in names}

    def call_tool(self, call: ToolCall) -> int:
        handler = self.tools().get(call.name)
        if handler is None and self.agent is not None and self.agent.get_tool(call.name) is not None:
            return _Builder.call_tool(self, call)  # the leader's own tool: executed, or held for a human
        args = call_arguments(call.arguments)
        problem = None if handler is None else _argument_problem(call.name, args)
        if handler is None or problem is not None:
            error = f"Function {call.name} not found" if problem is None else problem
            self.emit(ToolCallError, tool=self.failed_execution(call, error), error=error)
            return 0
        handler(call, args)
        return 0

    def delegate_to_member(self, call: ToolCall, args: Mapping[str, Any]) -> None:
        member_id = str(args["member_id"])
        member = self.member(member_id)
        stop = self.team_state.mode == "route"
        if member is None:
            text = (
                f"Member with ID {member_id} not found in the team or any subteams. "
                f"Please choose the correct member from the list of members:\n\n{self.members_content()}"
            )
            self.answer(call, args, text, stop=stop)
            return
        self.delegate(call, args, [(member, self.member_task(str(args["task"])))], stop=stop)

    def delegate_to_members(self, call: ToolCall, args: Mapping[str, Any]) -> None:
        task = self.member_task(str(args["task"]))
        if not self.members:
            self.answer(call, args, "")
            return
        self.delegate(call, args, [(member, task) for member in self.members])

    def member_task(self, task: str) -> str:
        """What a member is asked: the leader's `task`, or the user's input (`determine_input_for_members`)."""
        if self.team is not None and not self.team.determine_input_for_members:
            return self.user_input()
        return task

    def finish(self, message: Message) -> None:
        if self.team_state.mode == "tasks":
            self.end_iteration(message)
        else:
            self.complete(message.content, message.provider_data)

    def advance(self) -> None:
        if self.run.pending_tools:
            return
        if self.run.held or self.team_state.paused_members:
            self.pause()
            return
        if self.team_state.stop_results:  # route: the member's answer is the team's
            content = "\n".join(self.team_state.stop_results)
            self.emit(RunContent, content=content)
            self.complete(content, None)
            return
        self.request_model()

    def cancel(self, reason: str, cancelled_by: str | None = None) -> None:
        """Cancel the running member runs (in the order they started), then the team run."""
        for member in [r for r in self.state.runs.values() if r.parent_run_id == self.run.run_id]:
            child = _Builder(self.state, member, self.ctx)
            child.emit(RunCancelled, reason=reason, cancelled_by=cancelled_by or self.run.run_id)
            self.absorb(child.decision)
        self.emit(RunCancelled, reason=reason, cancelled_by=cancelled_by)

    def on_member_end(self, member_run_id: str) -> None:
        """A member run ended (its outcome is folded in): cancel the team, or close its delegation."""
        team = self.team_state
        outcome = team.outcomes[member_run_id]
        if outcome.status == "CANCELLED":
            self.cancel(outcome.content or "Run cancelled", cancelled_by=member_run_id)
            return
        self._settle(member_run_id)

    def on_member_pause(self, member_run_id: str) -> None:
        """A member run paused (its requirements are folded in): close its delegation, or re-pause the team."""
        self._settle(member_run_id)

    def _settle(self, member_run_id: str) -> None:
        """A member run ended or paused: resume the leader or close the delegation once all its runs settled."""
        team = self.team_state
        if member_run_id in team.awaiting:  # continued after a pause: the leader resumes once all have settled
            self.after_awaited()
            return
        delegation = next((d for d in team.delegations.values() if member_run_id in d.member_run_ids), None)
        if delegation is None or not all(self.settled(r) for r in delegation.member_run_ids):
            return
        self.close_delegation(delegation)
        self.advance()

    def close_delegation(self, delegation: Delegation) -> None:
        """Every member run of `delegation` ended or paused: TeamToolCallCompleted with agno's result text.

        A paused member's answer is agno's "requires human input" text; the call records which runs paused.
        """
        team = self.team_state
        outcomes = [team.outcomes.get(r) or self.paused_outcome(r) for r in delegation.member_run_ids]
        paused = tuple(o.run_id for o in outcomes if o.status == "PAUSED")
        name = delegation.tool.tool_name
        board = None
        if name in ("execute_task", "execute_tasks_parallel"):
            board, result = self.finish_tasks(delegation, outcomes)
        elif name == "delegate_task_to_members":
            result = "\n".join(f"Agent {o.agent_name}: {member_result(o)}" for o in outcomes)
        else:
            result = member_result(outcomes[0])
        duration = max(0.0, round(self.ctx.now - delegation.started_at, 6))
        done = replace(
            delegation.tool,
            tool_call_error=False,
            result=result,
            child_run_id=delegation.member_run_ids[0],
            metrics={"start_time": float(delegation.started_at), "end_time": self.ctx.now, "duration": duration},
        )
        text = call_text(name, delegation.tool.tool_args, duration)
        self.emit(ToolCallCompleted, content=text, tool=done, board=board, paused_run_ids=paused)


def _argument_problem(name: str, args: Mapping[str, Any]) -> str | None:
    """Agno's refusal of a call whose required arguments are missing or of the wrong JSON type, or None."""
    parameters = TOOL_SCHEMAS[name]["parameters"]
    for key in parameters["required"]:
        expected = _TYPES[parameters["properties"][key]["type"]]
        if not isinstance(args.get(key), expected):
            return f"Error: invalid arguments for {name}: '{key}' must be a {parameters['properties'][key]['type']}"
    return None


def start_team_run(
    state: SessionState, cmd: StartTeamRun, ctx: DecisionContext, step: StepContext | None = None
) -> Decision:
    """Decide a StartTeamRun: TeamRunStarted, then the leader's first model turn (tasks: iteration 1).

    With `step`, the team run executes that workflow step: TeamRunStarted carries the step's fields, and so
    every later event of the run and of its member runs.
    """
    if cmd.run_id in state.runs or cmd.run_id in state.finished:
        return Decision()
    now = int(ctx.now)
    team = ctx.teams.get(cmd.team_id)
    if team is None:
        known = ", ".join(sorted(ctx.teams)) or "(none)"
        error = TeamRunError(
            created_at=now,
            run_id=cmd.run_id,
            session_id=cmd.session_id,
            seq=0,
            agent_id=cmd.team_id,
            content=f"unknown team_id {cmd.team_id!r}; registered teams: {known}",
            error_type="UnknownTeamError",
        )
        return Decision(events=[error])
    n = min(team.history_runs, MAX_HISTORY_RUNS)
    history = [r.run_id for r in state.history if r.agent_id == team.id and r.parent_run_id is None]
    system = team.leader.system_message_content()
    started = TeamRunStarted(
        created_at=now,
        run_id=cmd.run_id,
        session_id=cmd.session_id,
        seq=0,
        agent_id=team.id,
        agent_name=team.name,
        model=team.model.id,
        model_provider=team.model.provider,
        user_id=cmd.user_id,
        input=cmd.message,
        message=Message(id=message_id(cmd.run_id, 0, "user"), role="user", content=cmd.message, created_at=now),
        system_message=None
        if not system
        else Message(id=message_id(cmd.run_id, 0, "system"), role="system", content=system, created_at=now),
        history_run_ids=tuple(history[-n:]) if n else (),
        mode=team.team_mode,
        **(step.fields() if step is not None else {}),
    )
    state = evolve(state, started)
    builder = TeamBuilder(state, state.runs[cmd.run_id], ctx)
    builder.decision.events.append(started)
    if team.team_mode == "tasks":
        builder.begin_iteration(1)
    else:
        builder.request_model()
    return builder.decision


def route_member_ends(state: SessionState, decision: Decision, ctx: DecisionContext) -> Decision:
    """Route the member-run ends in `decision` to their team runs, in the same decision.

    `state` is the state after `decision`. Each team run still running decides on its member's end
    (closing a delegation, continuing the leader, or cancelling); ends of runs whose team already ended
    (a cancel's cascade) change nothing.
    """
    out = Decision(events=list(decision.events), work=list(decision.work))
    ends = [e for e in decision.events if _member_moment(e)]
    while ends:
        end = ends.pop(0)
        parent = state.runs.get(end.parent_run_id or "")
        if parent is None or parent.team is None:
            continue
        builder = TeamBuilder(state, parent, ctx)
        if end.is_terminal and end.run_id in parent.team.outcomes:
            builder.on_member_end(end.run_id)
        elif isinstance(end, RunPaused) and end.run_id in parent.team.paused_members:
            builder.on_member_pause(end.run_id)
        state = builder.state
        out.events.extend(builder.decision.events)
        out.work.extend(builder.decision.work)
        ends.extend(e for e in builder.decision.events if _member_moment(e))
    return out


def _member_moment(event: RunEvent) -> bool:
    """A member run's event its team run decides on: its end, or its pause for a human."""
    return bool(event.parent_run_id) and (event.is_terminal or isinstance(event, RunPaused))


def continue_team_run(state: SessionState, cmd: ContinueTeamRun, ctx: DecisionContext) -> Decision:
    """Decide a ContinueTeamRun (see `engine.team_hitl`); nothing for a run it cannot continue."""
    run = state.runs.get(cmd.run_id)
    if run is None or run.team is None or team_continue_problem(state, run, cmd.requirements) is not None:
        return Decision()
    builder = TeamBuilder(state, run, ctx)
    builder.continue_team(cmd)
    return route_member_ends(builder.state, builder.decision, ctx)
