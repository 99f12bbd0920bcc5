"""Team tool calls as decisions: the plumbing the team leader's builder shares across modes.

A team tool call never goes to the tool worker. `answer` decides a call that completes at once
(`TeamToolCallStarted`, `TeamToolCallCompleted`, with any Team* task events between them). `delegate`
decides a call that starts member runs: `TeamToolCallStarted` (the call stays pending), then each member's
RunStarted and first ModelRequested, with `parent_run_id` = the team run. Member run ids are derived from
the team run id, the start decision's seq and the member's position, so a replay re-derives them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .agent import Agent
from .commands import StartRun
from .events import RunCompleted, RunContentCompleted, RunEvent, ToolCallCompleted, ToolCallStarted
from .fold import evolve
from .messages import ToolCall, ToolExecution
from .run import _Builder, _run_metrics, _start
from .state import Decision, DecisionContext, RunState, SessionState, message_id
from .team import Team
from .team_events import TEAM_FLAVOR
from .team_state import TeamRunState
from .team_tasks import TaskBoard
from .workflow_state import STEP_RUN_SEPARATOR

__all__ = ["TeamCalls", "call_text", "member_run_id"]

TaskEvent = tuple[type[RunEvent], Mapping[str, Any]]
"""A Team* task event to emit inside a call: its class and fields."""


def member_run_id(team_run_id: str, seq: int, index: int) -> str:
    """The id of the `index`-th member run started by the team run's decision `seq` (a uuid5 string).

    Derived from the decision, so a replay re-derives it; a member run is a run of its own (its own
    `agno_runs` row), linked to its team run by `parent_run_id`. The members of a workflow step's team run
    (`<workflow run>~<path>`) get `<team run id>~<uuid>`, so they belong to the workflow run like its
    step runs do (`engine.owner_run_id`).
    """
    member = message_id(team_run_id, seq, "member", index)
    if STEP_RUN_SEPARATOR in team_run_id:  # a workflow step's team: its members' runs route with the workflow run
        return f"{team_run_id}{STEP_RUN_SEPARATOR}{member}"
    return member


def call_text(name: str, args: Mapping[str, Any], duration: float) -> str:
    """Agno's ToolCallCompleted `content`: `name(k=v, ...) completed in 0.0009s. `.

    As agno's `FunctionCall.get_call_str` on an 80-column terminal: a string argument longer than
    max(20, (80 - len(name) - 4) // 2) characters shows as `...`.
    """
    limit = max(20, (80 - len(name) - 4) // 2)
    shown = ", ".join(f"{k}={'...' if isinstance(v, str) and len(v) > limit else v}" for k, v in args.items())
    return f"{name}({shown}) completed in {duration:.4f}s. "


class TeamCalls(_Builder):
    """The decision builder of a team run: the run machinery with the Team* event names and team tools."""

    def __init__(self, state: SessionState, run: RunState, ctx: DecisionContext) -> None:
        super().__init__(state, run, ctx)
        self.team: Team | None = ctx.teams.get(run.agent_id)
        self.agent = None if self.team is None else self.team.leader

    @property
    def team_state(self) -> TeamRunState:
        """The team part of the run's state."""
        assert self.run.team is not None
        return self.run.team

    @property
    def members(self) -> Sequence[Agent]:
        """The team's members (none when the team is no longer registered)."""
        return () if self.team is None else self.team.members

    def member(self, member_id: str) -> Agent | None:
        """The member `member_id`, or None."""
        return None if self.team is None else self.team.member(member_id)

    def members_content(self) -> str:
        """Agno's member listing (the text of an unknown-member answer)."""
        return "" if self.team is None else self.team.members_content()

    def emit(self, cls: type[RunEvent], **fields: Any) -> RunEvent:
        return super().emit(TEAM_FLAVOR.get(cls, cls), **fields)

    def absorb(self, decision: Decision) -> None:
        """Append another run's decision, built on this builder's state, and fold it in."""
        for event in decision.events:
            self.state = evolve(self.state, event)
        self.decision.events.extend(decision.events)
        self.decision.work.extend(decision.work)
        self.run = self.state.runs[self.run.run_id]

    def execution(self, call: ToolCall, args: Mapping[str, Any], stop: bool = False) -> ToolExecution:
        """The ToolExecution of a team call as it starts (agno's `stop_after_tool_call` for route mode)."""
        return ToolExecution(
            tool_call_id=call.id,
            tool_name=call.name,
            tool_args=dict(args),
            created_at=int(self.ctx.now),
            stop_after_tool_call=stop,
        )

    def answer(
        self,
        call: ToolCall,
        args: Mapping[str, Any],
        result: str,
        *,
        stop: bool = False,
        board: TaskBoard | None = None,
        events: Sequence[TaskEvent] = (),
    ) -> None:
        """Decide a call that completes at once with `result` (task events between start and completion)."""
        execution = self.execution(call, args, stop)
        self.emit(ToolCallStarted, tool=execution)
        for cls, fields in events:
            self.emit(cls, **fields)
        now = self.ctx.now
        done = replace(
            execution,
            tool_call_error=False,
            result=result,
            metrics={"start_time": now, "end_time": now, "duration": 0.0},
        )
        self.emit(ToolCallCompleted, content=call_text(call.name, args, 0.0), tool=done, board=board)

    def delegate(
        self,
        call: ToolCall,
        args: Mapping[str, Any],
        assignments: Sequence[tuple[Agent, str]],
        *,
        stop: bool = False,
        task_ids: tuple[str, ...] = (),
        board: TaskBoard | None = None,
        events: Sequence[TaskEvent] = (),
    ) -> None:
        """Decide a call that runs `assignments` (member, task text) as member runs, all started at once."""
        seq = self.run.seq + 1
        run_ids = tuple(member_run_id(self.run.run_id, seq, i) for i in range(len(assignments)))
        self.emit(
            ToolCallStarted,
            tool=self.execution(call, args, stop),
            member_run_ids=run_ids,
            task_ids=task_ids,
            board=board,
        )
        for cls, fields in events:
            self.emit(cls, **fields)
        for run_id, (member, task) in zip(run_ids, assignments, strict=True):
            command = StartRun(
                run_id=run_id,
                session_id=self.run.session_id,
                created_at=int(self.ctx.now),
                agent_id=member.id,
                message=task,
                user_id=self.run.user_id,
            )
            self.absorb(_start(self.state, command, self.ctx, self.run.workflow_step, parent_run_id=self.run.run_id))

    def complete(self, content: str | None, provider_data: dict[str, Any] | None) -> None:
        """End the team run with `content`: TeamRunContentCompleted, TeamRunCompleted (with member_responses)."""
        self.emit(RunContentCompleted)
        self.emit(
            RunCompleted,
            content=content,
            model_provider_data=provider_data,
            metrics=_run_metrics(self.run, self.ctx.now, self.agent),
            member_responses=self.team_state.member_responses,
        )

    def user_input(self) -> str:
        """The team run's input (what members get when `determine_input_for_members` is False)."""
        first = self.run.messages[0].content if self.run.messages else None
        return first or ""
