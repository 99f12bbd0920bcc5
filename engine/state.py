"""Session and run state: what `decide` reads and `evolve` folds (see `engine.run` and `engine.fold`).

The aggregate is the session: one session's runs share a partition (key = session_id), and a new run
reads the session's history. `SessionState` is the fold of the session's run events.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
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
    "MAX_HISTORY_RUNS",
    "CompletedRun",
    "Decision",
    "DecisionContext",
    "RunState",
    "RunStatus",
    "SessionState",
    "message_id",
]

MAX_HISTORY_RUNS = 100
"""Completed runs a session state keeps for history; agents asking for more get this many."""

_NS = uuid.UUID("6f1d8a52-54a4-4d8f-9a4b-7f6c2a1d3e90")

RunStatus = Literal["RUNNING", "PAUSED", "COMPLETED", "ERROR", "CANCELLED"]


def message_id(*parts: object) -> str:
    """Return a deterministic UUID string for a message derived from `parts` (run id, seq, ...)."""
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


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


@dataclass(frozen=True, slots=True)
class SessionState:
    """State of one session: its runs in flight, finished run ids and completed-run history."""

    session_id: str
    runs: Mapping[str, RunState] = field(default_factory=dict)
    """Runs in flight (status RUNNING or PAUSED) by run id."""
    finished: frozenset[str] = frozenset()
    """Ids of runs that reached a terminal event."""
    history: tuple[CompletedRun, ...] = ()
    """Completed runs, oldest first, at most MAX_HISTORY_RUNS."""
    workflows: Mapping[str, WorkflowRunState] = field(default_factory=dict)
    """Workflow runs in flight by run id (their finished ids are in `finished` too)."""
    workflow_session_state: Mapping[str, Any] | None = None
    """The session's stored workflow session state (agno `session_data["session_state"]`): the state of the
    last workflow run that ended in this session; None while none has ended."""
