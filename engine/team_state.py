"""The team part of a run's state: open delegations, finished member runs and the task list.

A team run is a `RunState` (the leader's turns) whose `team` is a `TeamRunState`. It is the fold of the team
run's own events plus the terminal events of its member runs (see `engine.fold`): a member's end records
its outcome here; the `TeamToolCallCompleted` decided from it closes the delegation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .events import RunCancelled, RunCompleted, RunError, RunEvent
from .messages import Message, Requirement, ToolExecution
from .team_events import TeamTaskIterationStarted, TeamToolCallCompleted, TeamToolCallError, TeamToolCallStarted
from .team_tasks import TaskBoard

__all__ = [
    "Delegation",
    "MemberOutcome",
    "TeamRunState",
    "empty_member_response",
    "evolve_team",
    "member_outcome",
    "member_result",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Delegation:
    """A pending team tool call that started member runs.

    Attributes:
        tool: the call as TeamToolCallStarted recorded it.
        member_run_ids: the member runs it waits for, in member order.
        task_ids: the task each member run executes (tasks mode), same order; empty otherwise.
        started_at: unix seconds of the start decision.
    """

    tool: ToolExecution
    member_run_ids: tuple[str, ...]
    task_ids: tuple[str, ...] = ()
    started_at: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberOutcome:
    """How a member run ended: its status, content (the error text for ERROR) and agno RunOutput dict."""

    run_id: str
    agent_id: str
    agent_name: str
    status: str
    content: str | None
    tool_results: tuple[str, ...] = ()
    """Results of the member's tool calls, in completion order (agno's fallback when content is empty)."""
    output: dict[str, Any] = field(default_factory=dict)


def empty_member_response(member_name: str) -> str:
    """Agno's tool result for a member that answered nothing usable (`team/_member_response.py`)."""
    return (
        f"No usable response from team member '{member_name}' "
        "(empty or None content; possible model/provider early stop). "
        "The delegated task was NOT completed. "
        "Retry the delegation, disable member streaming if the team is streaming, "
        "or switch models."
    )


def member_result(outcome: MemberOutcome) -> str:
    """A member's answer as the delegation's result.

    Its content (the error text if it failed), else its tool results joined with commas, else agno's
    "no usable response" text.
    """
    if outcome.content is not None and (outcome.content.strip() or outcome.status != "COMPLETED"):
        return outcome.content
    if outcome.tool_results:
        return ",".join(outcome.tool_results)
    return empty_member_response(outcome.agent_name)


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRunState:
    """The team-specific state of a team run.

    Attributes:
        team_id: the team.
        mode: `coordinate`, `route`, `broadcast` or `tasks`.
        delegations: open delegations by tool_call_id.
        outcomes: ended member runs by run id.
        member_responses: RunOutput dicts of ended member runs, in the order they ended.
        board: the task list (tasks mode).
        iteration: the current tasks-mode iteration (1-based; 0 before the first).
        iteration_tools: leader tool executions recorded when the iteration started.
        stop_results: results of route-mode delegations (`stop_after_tool_call`) of the current batch.
        paused_members: member runs paused for a human and not yet continued, in the order they paused,
            with their requirements as the team reports them (member fields set).
        paused_calls: delegation calls that completed with paused member runs: tool_call_id -> those runs.
        awaiting: member runs continued since the team paused (ContinueTeamRun), in order; the leader
            resumes once all of them have ended.
        updates: the answers to the leader's own held calls from the last ContinueTeamRun.
        continue_user_id: the `user_id` of that ContinueTeamRun.
    """

    team_id: str
    mode: str
    delegations: Mapping[str, Delegation] = field(default_factory=dict)
    outcomes: Mapping[str, MemberOutcome] = field(default_factory=dict)
    member_responses: tuple[dict[str, Any], ...] = ()
    board: TaskBoard = field(default_factory=TaskBoard)
    iteration: int = 0
    iteration_tools: int = 0
    stop_results: tuple[str, ...] = ()
    paused_members: Mapping[str, tuple[Requirement, ...]] = field(default_factory=dict)
    paused_calls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    awaiting: tuple[str, ...] = ()
    updates: tuple[ToolExecution, ...] = ()
    continue_user_id: str | None = None


def evolve_team(
    team: TeamRunState, event: RunEvent, tools_count: int
) -> tuple[TeamRunState, tuple[Message, ...], int | None]:
    """Fold one event of the team run into its team state.

    Returns:
        The new team state, messages to append to the leader's messages, and the seq to register as a
        pending tool call (a TeamToolCallStarted) or None.
    """
    if isinstance(event, TeamToolCallStarted) and event.tool is not None:
        delegations = dict(team.delegations)
        if event.member_run_ids:
            delegations[event.tool.tool_call_id] = Delegation(
                tool=event.tool,
                member_run_ids=event.member_run_ids,
                task_ids=event.task_ids,
                started_at=event.created_at,
            )
        board = team.board if event.board is None else event.board
        return replace(team, delegations=delegations, board=board), (), event.seq
    if isinstance(event, TeamToolCallCompleted | TeamToolCallError) and event.tool is not None:
        call_id = event.tool.tool_call_id
        board = event.board if isinstance(event, TeamToolCallCompleted) and event.board is not None else team.board
        stop = team.stop_results
        paused = team.paused_calls
        if isinstance(event, TeamToolCallCompleted) and event.paused_run_ids:
            paused = {**paused, call_id: event.paused_run_ids}  # its result is no answer yet: no stop
        elif event.tool.stop_after_tool_call and event.tool.result is not None:
            stop = (*stop, event.tool.result)
        delegations = {k: v for k, v in team.delegations.items() if k != call_id}
        team = replace(team, delegations=delegations, board=board, stop_results=stop, paused_calls=paused)
        return team, (), None
    if isinstance(event, TeamTaskIterationStarted):
        messages = () if event.message is None else (event.message,)
        return replace(team, iteration=event.iteration, iteration_tools=tools_count), messages, None
    return team, (), None


def member_outcome(
    run_id: str,
    agent_id: str,
    agent_name: str,
    messages: tuple[Message, ...],
    tools: tuple[ToolExecution, ...],
    event: RunEvent,
    extra: Mapping[str, Any],
) -> MemberOutcome:
    """The outcome of a member run ending with terminal `event`, with its agno `RunOutput.to_dict()`.

    `messages` are the run's messages (system first when it has one); `extra` the RunOutput fields from the
    run's start (`session_id`, `parent_run_id`, `model`, `model_provider`, `created_at`, `input`).
    """
    status = "COMPLETED"
    content: str | None = None
    output: dict[str, Any] = {"run_id": run_id, "agent_id": agent_id, "agent_name": agent_name}
    output |= {k: extra[k] for k in ("session_id", "parent_run_id") if extra.get(k) is not None}
    if isinstance(event, RunCompleted):
        content = event.content
        output |= {"content": content, "content_type": event.content_type}
        if event.model_provider_data is not None:
            output["model_provider_data"] = event.model_provider_data
    elif isinstance(event, RunError):
        status, content = "ERROR", event.content
        output["content"] = content
    else:  # the only other terminal event
        assert isinstance(event, RunCancelled)
        status, content = "CANCELLED", event.reason
        output["content"] = content
    output |= {k: extra[k] for k in ("model", "model_provider") if extra.get(k)}
    if isinstance(event, RunCompleted):
        output["session_state"] = event.session_state
    output |= {"created_at": extra.get("created_at", event.created_at), "status": status}
    if isinstance(event, RunCompleted) and event.metrics is not None:
        output["metrics"] = event.metrics
    output["messages"] = [m.to_dict() for m in messages]
    output["tools"] = [t.to_dict() for t in tools]
    output["input"] = {"input_content": extra.get("input", "")}
    results = tuple(t.result for t in tools if t.result)
    output = {k: v for k, v in output.items() if v is not None}
    return MemberOutcome(
        run_id=run_id,
        agent_id=agent_id,
        agent_name=agent_name,
        status=status,
        content=content,
        tool_results=results,
        output=output,
    )
