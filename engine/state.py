"""Session and run state: what `decide` reads and `evolve` folds (see `engine.run` and `engine.fold`).

The aggregate is the session: one session's runs share a partition (key = session_id), and a new run
reads the session's history. `SessionState` is the fold of the session's run events.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Literal

from .agent import Agent
from .events import ModelRequestCompleted, RunEvent
from .messages import Message, ToolCall, ToolExecution
from .team import Team
from .team_state import TeamRunState
from .work import WorkItem
from .workflow import Workflow
from .workflow_state import StepContext, WorkflowRunState

__all__ = [
    "FINISHED_WINDOW",
    "MAX_HISTORY_RUNS",
    "CompletedRun",
    "Decision",
    "DecisionContext",
    "RecentIds",
    "RunState",
    "RunStatus",
    "SessionState",
    "history_limit_for",
    "message_id",
]

MAX_HISTORY_RUNS = 100
"""Completed runs a session state keeps for history; agents asking for more get this many."""

_NS = uuid.UUID("6f1d8a52-54a4-4d8f-9a4b-7f6c2a1d3e90")
_NS_BYTES = _NS.bytes

RunStatus = Literal["RUNNING", "PAUSED", "COMPLETED", "ERROR", "CANCELLED"]


def message_id(*parts: object) -> str:
    """Return a deterministic UUID string for a message derived from `parts` (run id, seq, ...).

    It is `str(uuid.uuid5(_NS, "/".join(parts)))`, formatted straight from the SHA-1 digest: the fold and
    `decide` derive an id for nearly every message, and building a `uuid.UUID` took 2.5x as long.
    """
    digest = hashlib.sha1(_NS_BYTES + "/".join([str(p) for p in parts]).encode()).digest()
    h = digest.hex()
    # RFC 4122: version 5 in the high nibble of byte 6, variant 10xx in the high bits of byte 8.
    return f"{h[0:8]}-{h[8:12]}-5{h[13:16]}-{digest[8] & 0x3F | 0x80:02x}{h[18:20]}-{h[20:32]}"


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """What `decide` may know beyond the state: the clock and the agent registry.

    Attributes:
        now: epoch seconds (UTC) of the decision; in a replay check, the recorded decision's time.
        agents: registered agents by id.
        teams: registered teams by id (their members need not be in `agents`).
    """

    now: float
    agents: Mapping[str, Agent]
    teams: Mapping[str, Team] = field(default_factory=dict)
    workflows: Mapping[str, Workflow] = field(default_factory=dict)
    """Registered workflows by id (their step agents must be in `agents`)."""

    def find_agent(self, agent_id: str) -> Agent | None:
        """The agent `agent_id`: a registered agent, else a member of a registered team, else None."""
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = next((m for t in self.teams.values() for m in t.members if m.id == agent_id), None)
        return agent


@dataclass(frozen=True, slots=True)
class Decision:
    """The outputs of one `decide` call: events for the run-events topic, then work items.

    Both lists are empty when the input needs no decision (a duplicate, or a partial answer).
    """

    events: list[RunEvent] = field(default_factory=list)
    work: list[WorkItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CompletedRun:
    """A completed run as history: its id and its own messages (user, assistant, tool) in order.

    `agent_id` is the run's agent (a team run's: the team id); `parent_run_id` the team run of a member run.
    """

    run_id: str
    messages: tuple[Message, ...]
    agent_id: str = ""
    parent_run_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunState:
    """State of one run, the fold of its events."""

    run_id: str
    session_id: str
    agent_id: str
    agent_name: str
    user_id: str | None
    model: str
    model_provider: str
    started_at: int
    status: RunStatus = "RUNNING"
    seq: int = 0
    """Highest decision seq applied."""
    system_message: Message | None = None
    history: tuple[Message, ...] = ()
    messages: tuple[Message, ...] = ()
    """This run's messages in order: user, then assistant / tool turns."""
    step: int = 0
    """Model requests decided so far."""
    pending_model_seq: int | None = None
    pending_tools: Mapping[str, int] = field(default_factory=dict)
    """Outstanding tool calls of the current batch: tool_call_id -> decision seq."""
    batch: tuple[ToolCall, ...] = ()
    """Tool calls of the current assistant turn, in the model's order."""
    batch_results: Mapping[str, Message] = field(default_factory=dict)
    tools_executed: int = 0
    """Tool calls decided for execution so far (for `tool_call_limit`)."""
    tools: tuple[ToolExecution, ...] = ()
    """Finished tool executions (agno `RunOutput.tools`), in completion order."""
    held: tuple[ToolExecution, ...] = ()
    """Calls of the current batch waiting for a human (ToolCallPaused), in the model's order."""
    usage: tuple[ModelRequestCompleted, ...] = ()
    """Every model answer, for metrics."""
    parent_run_id: str | None = None
    """The team run of a member run; None for a top-level run."""
    team: TeamRunState | None = None
    """The team state of a team run (whose `agent_id` / `agent_name` are the team's); None for agent runs."""
    workflow_step: StepContext | None = None
    """The workflow step a step's agent run executes (stamped on all its decided events); None otherwise."""

    @property
    def is_active(self) -> bool:
        """True while the run is in flight: running, or paused for a human."""
        return self.status in ("RUNNING", "PAUSED")

    def context(self) -> tuple[Message, ...]:
        """Messages to send to the model: system, history, this run's."""
        head = (self.system_message,) if self.system_message is not None else ()
        return head + self.history + self.messages


FINISHED_WINDOW = 64
"""A session remembers the ids of at least its last FINISHED_WINDOW (at most twice as many) finished runs."""


def history_limit_for(agents: Iterable[Agent], teams: Iterable[Team] = ()) -> int:
    """The `SessionState.history_limit` for a registry of agents and teams.

    MAX_HISTORY_RUNS when any agent, team or team member adds history to its context, else 0. The
    orchestrator and a replay of its log must use the same registry, so they keep the same history.
    """
    teams = tuple(teams)
    members = [m for team in teams for m in team.members]
    if any(a.history_runs for a in (*agents, *members)) or any(t.history_runs for t in teams):
        return MAX_HISTORY_RUNS
    return 0


@dataclass(frozen=True, slots=True, eq=False)
class RecentIds:
    """The ids of a session's most recently finished runs: a bounded window, as a set.

    Remembering every finished id made a long-lived session's state (and each copy of it at a run's end)
    grow with its run count: ~130 bytes and an O(n) set copy per run, forever. Ids are added to `recent`;
    when it holds FINISHED_WINDOW ids it becomes `older` (the previous `older` is dropped), so membership
    is exact for at least the last FINISHED_WINDOW runs. What it guards against is a StartRun repeated with
    the id of a run that already ran (a client retry): seconds apart, not a window of runs later. Compares
    equal to a set holding the same ids.
    """

    recent: frozenset[str] = frozenset()
    older: frozenset[str] = frozenset()

    def __contains__(self, run_id: object) -> bool:
        return run_id in self.recent or run_id in self.older

    def __iter__(self) -> Iterator[str]:
        yield from self.older
        yield from (i for i in self.recent if i not in self.older)

    def __len__(self) -> int:
        return len(self.older | self.recent)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecentIds):
            return self.older | self.recent == other.older | other.recent
        if isinstance(other, AbstractSet):
            return self.older | self.recent == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __or__(self, ids: AbstractSet[str]) -> RecentIds:
        """These ids with `ids` added (the same object when nothing is new)."""
        new = {i for i in ids if i not in self}
        if not new:
            return self
        recent = self.recent | new
        if len(recent) >= FINISHED_WINDOW:
            return RecentIds(older=recent)
        return RecentIds(recent=recent, older=self.older)


@dataclass(frozen=True, slots=True)
class SessionState:
    """State of one session: its runs in flight, finished run ids and completed-run history."""

    session_id: str
    runs: Mapping[str, RunState] = field(default_factory=dict)
    """Runs in flight (status RUNNING or PAUSED) by run id."""
    finished: RecentIds = field(default_factory=RecentIds)
    """Ids of the session's most recent runs that reached a terminal event (see `RecentIds`)."""
    history: tuple[CompletedRun, ...] = ()
    """Completed runs, oldest first, at most `history_limit`."""
    workflows: Mapping[str, WorkflowRunState] = field(default_factory=dict)
    """Workflow runs in flight by run id (their finished ids are in `finished` too)."""
    workflow_session_state: Mapping[str, Any] | None = None
    """The session's stored workflow session state (agno `session_data["session_state"]`): the state of the
    last workflow run that ended in this session; None while none has ended."""
    history_limit: int = MAX_HISTORY_RUNS
    """How many completed runs `history` keeps: `history_limit_for` the registry (MAX_HISTORY_RUNS, or 0 when
    no agent or team adds history, so a session's state does not grow with its runs' messages)."""
