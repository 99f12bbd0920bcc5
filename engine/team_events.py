"""Team run events: agno's `TeamRunEvent` strings (`run/team.py`), on the same log as agent run events.

A team run is a run whose leader is driven by the agent run machinery, so each leader event subclasses the
agent event it stands for (`TeamRunStarted` is a `RunStarted`, `TeamModelRequestCompleted` a
`ModelRequestCompleted` ...): `evolve`, `decide` and the sessions projection treat the leader's turns like
any run's. On the wire the team events carry `team_id` / `team_name` where agent events carry `agent_id` /
`agent_name` (the Python attributes keep the agent names; `team_id` / `team_name` properties read them).

Member runs are plain agent runs whose events carry `parent_run_id` = the team run. The tasks-mode events
(`TeamTaskIterationStarted` ...) exist only for tasks-mode teams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ._codec import Converter, nested, nested_tuple
from .events import (
    ModelRequestCompleted,
    ModelRequestStarted,
    RunCancelled,
    RunCompleted,
    RunContent,
    RunContentCompleted,
    RunContinued,
    RunError,
    RunEvent,
    RunPaused,
    RunStarted,
    ToolCallCompleted,
    ToolCallError,
    ToolCallStarted,
)
from .messages import Message, Requirement, ToolExecution
from .team_tasks import TaskBoard

__all__ = [
    "TEAM_EVENT_TYPES",
    "TEAM_FLAVOR",
    "TeamModelRequestCompleted",
    "TeamModelRequestStarted",
    "TeamRequirementsResolved",
    "TeamRunCancelled",
    "TeamRunCompleted",
    "TeamRunContent",
    "TeamRunContentCompleted",
    "TeamRunContinued",
    "TeamRunError",
    "TeamRunPaused",
    "TeamRunStarted",
    "TeamTaskCreated",
    "TeamTaskIterationCompleted",
    "TeamTaskIterationStarted",
    "TeamTaskStateUpdated",
    "TeamTaskUpdated",
    "TeamToolCallCompleted",
    "TeamToolCallError",
    "TeamToolCallStarted",
    "model_event_classes",
    "tool_event_classes",
]

_TEAM_KEYS = {"agent_id": "team_id", "agent_name": "team_name"}


class _Team:
    """Mixin: the wire names `team_id` / `team_name` for the base event's `agent_id` / `agent_name`."""

    __slots__ = ()
    _renames: ClassVar[dict[str, str]] = _TEAM_KEYS
    agent_id: str
    agent_name: str

    @property
    def team_id(self) -> str:
        """The team's id (stored in `agent_id`)."""
        return self.agent_id

    @property
    def team_name(self) -> str:
        """The team's name (stored in `agent_name`)."""
        return self.agent_name


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRunStarted(_Team, RunStarted):
    """The team run started (seq 0). Records the team's `mode` for the fold (internal)."""

    event: ClassVar[str] = "TeamRunStarted"
    _internal: ClassVar[frozenset[str]] = RunStarted._internal | {"mode"}
    mode: str = "coordinate"


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamModelRequestStarted(_Team, ModelRequestStarted):
    """The model worker sent the leader's request (part "start")."""

    event: ClassVar[str] = "TeamModelRequestStarted"


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRunContent(_Team, RunContent):
    """A leader content delta; agno's team event has no `workflow_agent` field (kept internal here)."""

    event: ClassVar[str] = "TeamRunContent"
    _internal: ClassVar[frozenset[str]] = frozenset({"workflow_agent"})


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamModelRequestCompleted(_Team, ModelRequestCompleted):
    """The leader's model answered (part "done")."""

    event: ClassVar[str] = "TeamModelRequestCompleted"


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamToolCallStarted(_Team, ToolCallStarted):
    """Decision: the leader's call of a team tool starts (agno `TeamToolCallStarted`).

    For a delegation, `member_run_ids` are the member runs it starts (in member order; their RunStarted
    follow in the same decision) and `task_ids` the task each of them executes (tasks mode). `board` is the
    task list after the start (execute_task marks tasks in progress). Until the matching
    `TeamToolCallCompleted`, the call is pending like a tool call executing.
    """

    event: ClassVar[str] = "TeamToolCallStarted"
    _internal: ClassVar[frozenset[str]] = frozenset({"member_run_ids", "task_ids", "board"})
    _codecs: ClassVar[dict[str, Converter]] = {"tool": nested(ToolExecution), "board": nested(TaskBoard)}
    member_run_ids: tuple[str, ...] = ()
    task_ids: tuple[str, ...] = ()
    board: TaskBoard | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamToolCallCompleted(_Team, ToolCallCompleted):
    """Decision: a team tool call finished; `tool.result` goes back to the leader's model.

    A delegation completes once every member run it started has ended or paused for a human;
    `tool.child_run_id` names the (first) member run. `board` is the task list after the call (tasks mode).
    `paused_run_ids` (internal) are its member runs that paused: the result tells the leader they require
    human input, and the team run pauses (TeamRunPaused); when they have been continued and ended,
    TeamRunContinued rewrites this result with their answers.
    """

    event: ClassVar[str] = "TeamToolCallCompleted"
    _internal: ClassVar[frozenset[str]] = frozenset({"board", "paused_run_ids"})
    _codecs: ClassVar[dict[str, Converter]] = {"tool": nested(ToolExecution), "board": nested(TaskBoard)}
    board: TaskBoard | None = None
    paused_run_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamToolCallError(_Team, ToolCallError):
    """Decision: the leader called a tool the team does not have, or one over `tool_call_limit`."""

    event: ClassVar[str] = "TeamToolCallError"


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRunContentCompleted(_Team, RunContentCompleted):
    """The team's final content is complete (just before TeamRunCompleted)."""

    event: ClassVar[str] = "TeamRunContentCompleted"


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRunCompleted(_Team, RunCompleted):
    """The team run finished. Terminal. `member_responses` are the member runs' RunOutput dicts.

    agno's team event has no `session_state` (kept internal here).
    """

    event: ClassVar[str] = "TeamRunCompleted"
    _internal: ClassVar[frozenset[str]] = frozenset({"session_state"})
    member_responses: tuple[dict[str, Any], ...] = ()
    """agno `RunOutput.to_dict()` of each member run of this team run, in the order they ended."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRunError(_Team, RunError):
    """The team run failed. Terminal."""

    event: ClassVar[str] = "TeamRunError"


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRunCancelled(_Team, RunCancelled):
    """The team run was cancelled (its running member runs are cancelled just before). Terminal."""

    event: ClassVar[str] = "TeamRunCancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRunPaused(_Team, RunPaused):
    """The team run waits for a human (agno `TeamRunPausedEvent`). Not terminal; it ends the SSE stream.

    Emitted when the leader's turn has no call left running and a member run paused (its requirements,
    with agno's `member_agent_id` / `member_agent_name` / `member_run_id`, in the order the members paused)
    or a call of the leader's own tools is held (its requirements follow). `tools` are the leader's tool
    executions so far; `content` is agno's "Team run paused. The following require input: ..." text.
    """

    event: ClassVar[str] = "TeamRunPaused"


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRequirementsResolved(_Team, RunEvent):
    """Decision: a ContinueTeamRun was accepted for the paused team run (internal; the team is running again).

    Records the command (`requirements`, `user_id`: what replay rebuilds it from) and which member runs it
    continues (`member_run_ids`, their RunContinued follow in the same decision). The leader resumes
    (TeamRunContinued) once every member run continued since the pause has ended.
    """

    event: ClassVar[str] = "TeamRequirementsResolved"
    is_internal: ClassVar[bool] = True
    _codecs: ClassVar[dict[str, Converter]] = {"requirements": nested_tuple(Requirement)}
    requirements: tuple[Requirement, ...] = ()
    user_id: str | None = None
    member_run_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRunContinued(_Team, RunContinued):
    """The leader of a paused team run resumes (agno `TeamRunContinuedEvent`; no agno fields beyond the base).

    As an agent's RunContinued, `updates` / `tools` / `messages` resolve the leader's own held calls. For
    the member runs continued since the pause (which have ended by now, their events before this one, as
    agno streams them), `member_tools` are the delegation calls that reported them paused with the result
    rewritten to agno's "Member results after human-in-the-loop resolution:" text and `member_messages`
    those calls' tool messages rewritten the same way (same ids: they replace the earlier ones).
    """

    event: ClassVar[str] = "TeamRunContinued"
    _internal: ClassVar[frozenset[str]] = RunContinued._internal | {"member_tools", "member_messages"}
    _codecs: ClassVar[dict[str, Converter]] = {
        **RunContinued._codecs,
        "member_tools": nested_tuple(ToolExecution),
        "member_messages": nested_tuple(Message),
    }
    member_tools: tuple[ToolExecution, ...] = ()
    member_messages: tuple[Message, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamTaskIterationStarted(_Team, RunEvent):
    """Decision (tasks mode): iteration `iteration` of at most `max_iterations` starts.

    From the second iteration on, `message` (internal) is the user message agno injects with the current
    task state; it joins the leader's messages.
    """

    event: ClassVar[str] = "TeamTaskIterationStarted"
    _internal: ClassVar[frozenset[str]] = frozenset({"message"})
    _codecs: ClassVar[dict[str, Converter]] = {"message": nested(Message)}
    iteration: int = 1
    max_iterations: int = 10
    message: Message | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamTaskIterationCompleted(_Team, RunEvent):
    """Decision (tasks mode): the iteration's model turns ended; `task_summary` is `list_tasks` text."""

    event: ClassVar[str] = "TeamTaskIterationCompleted"
    iteration: int = 1
    max_iterations: int = 10
    task_summary: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamTaskStateUpdated(_Team, RunEvent):
    """Decision (tasks mode): the task list at the end of an iteration (agno `TaskStateUpdatedEvent`)."""

    event: ClassVar[str] = "TeamTaskStateUpdated"
    task_summary: str = ""
    goal_complete: bool = False
    tasks: tuple[dict[str, Any], ...] = ()
    """agno `TaskData` dicts, in creation order."""
    completion_summary: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamTaskCreated(_Team, RunEvent):
    """Decision (tasks mode): `create_task` added a task."""

    event: ClassVar[str] = "TeamTaskCreated"
    task_id: str = ""
    title: str = ""
    description: str = ""
    assignee: str | None = None
    status: str = "pending"
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamTaskUpdated(_Team, RunEvent):
    """Decision (tasks mode): a task changed status (`result` only for completed / failed)."""

    event: ClassVar[str] = "TeamTaskUpdated"
    task_id: str = ""
    title: str = ""
    status: str = ""
    previous_status: str | None = None
    result: str | None = None
    assignee: str | None = None


TEAM_EVENT_TYPES: tuple[type[RunEvent], ...] = (
    TeamRunStarted,
    TeamModelRequestStarted,
    TeamRunContent,
    TeamModelRequestCompleted,
    TeamToolCallStarted,
    TeamToolCallCompleted,
    TeamToolCallError,
    TeamRunContentCompleted,
    TeamRunCompleted,
    TeamRunError,
    TeamRunCancelled,
    TeamTaskIterationStarted,
    TeamTaskIterationCompleted,
    TeamTaskStateUpdated,
    TeamTaskCreated,
    TeamTaskUpdated,
    TeamRunPaused,
    TeamRequirementsResolved,
    TeamRunContinued,
)
"""Every team event class (for the `EVENT_TYPES` registry)."""

TEAM_FLAVOR: dict[type[RunEvent], type[RunEvent]] = {
    RunStarted: TeamRunStarted,
    RunContent: TeamRunContent,
    ToolCallStarted: TeamToolCallStarted,
    ToolCallCompleted: TeamToolCallCompleted,
    ToolCallError: TeamToolCallError,
    RunContentCompleted: TeamRunContentCompleted,
    RunCompleted: TeamRunCompleted,
    RunError: TeamRunError,
    RunCancelled: TeamRunCancelled,
    RunPaused: TeamRunPaused,
    RunContinued: TeamRunContinued,
}
"""The team event a leader emits where an agent run emits the key (decisions of the run machinery)."""


def model_event_classes(
    is_team: bool,
) -> tuple[type[ModelRequestStarted], type[RunContent], type[ModelRequestCompleted]]:
    """The (started, content, completed) classes a model worker writes for a run's model turn."""
    if is_team:
        return TeamModelRequestStarted, TeamRunContent, TeamModelRequestCompleted
    return ModelRequestStarted, RunContent, ModelRequestCompleted


def tool_event_classes(
    is_team: bool,
) -> tuple[type[ToolCallStarted], type[ToolCallCompleted], type[ToolCallError]]:
    """The (started, completed, error) classes a tool worker writes for a call of a run's tool."""
    if is_team:
        return TeamToolCallStarted, TeamToolCallCompleted, TeamToolCallError
    return ToolCallStarted, ToolCallCompleted, ToolCallError
