"""Replay: fold a recorded run-events log and re-decide every recorded input (a replay check).

The check mirrors the orchestrator. Walking the log in order, it folds every event into the session
state. At each input that triggered a decision (a worker's ModelRequestCompleted / ModelRequestFailed /
ToolCallCompleted / ToolCallError / StepExecuted, or a command reconstructed from the RunStarted /
RunContinued / TeamRequirementsResolved / RunCancelled / WorkflowStarted / WorkflowCancelled it caused), it
re-decides with the state folded so far and remembers the re-decided events by (run_id, seq). When the walk
reaches a recorded decision event it compares it with the re-decided one.
The first difference of each run is reported as a `Divergence` (like Temporal's nondeterminism error);
that run is not checked further. Volatile fields (`created_at` at any depth, clock readings in `metrics`
at any depth, the duration in a tool call's `completed in Ns.` text, `event_id`'s runtime envelope) are not
compared.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._replace import replace
from .agent import Agent
from .commands import CancelRun, Command, ContinueRun, ContinueTeamRun, StartRun, StartTeamRun, StartWorkflow
from .events import (
    ModelRequestCompleted,
    ModelRequestFailed,
    RunCancelled,
    RunContinued,
    RunError,
    RunEvent,
    RunStarted,
    ToolCallCompleted,
    ToolCallError,
    is_progress_part,
)
from .fold import evolve
from .run import decide
from .schema import decode_event
from .state import MAX_HISTORY_RUNS, Decision, DecisionContext, SessionState, history_limit_for
from .team import Team
from .team_events import TeamRequirementsResolved, TeamRunError, TeamRunStarted
from .workflow import Workflow, with_step_agents, with_step_teams
from .workflow_events import StepExecuted, WorkflowCancelled, WorkflowError, WorkflowStarted

__all__ = ["Divergence", "ReplayReport", "comparable", "replay_check"]

Decide = Callable[[SessionState, Command | RunEvent, DecisionContext], Decision]
_VOLATILE = frozenset({"created_at", "event_id", "runtime"})


@dataclass(frozen=True, slots=True)
class Divergence:
    """The first decision of a run that re-decided differently.

    Attributes:
        run_id: the run.
        seq: the decision sequence number where the recorded and re-decided events differ.
        expected: the recorded event (comparable dict), or None when the engine now decides an extra event.
        got: the re-decided event (comparable dict), or None when the engine no longer decides it.
    """

    run_id: str
    seq: int
    expected: dict[str, Any] | None
    got: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """Return `{run_id, seq, expected, got}`."""
        return {"run_id": self.run_id, "seq": self.seq, "expected": self.expected, "got": self.got}


@dataclass(slots=True)
class ReplayReport:
    """Outcome of a replay check.

    Attributes:
        events: number of events folded.
        runs: number of distinct runs seen.
        decisions_checked: recorded decision events compared with a re-decided one.
        divergences: first divergence per diverging run, in log order; empty when the engine agrees.
        sessions: the final folded state of every session, by session id.
    """

    events: int = 0
    runs: int = 0
    decisions_checked: int = 0
    divergences: list[Divergence] = field(default_factory=list)
    sessions: dict[str, SessionState] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no run diverged."""
        return not self.divergences


def _plain(value: Any, key: str = "") -> Any:
    """Normalise tuples to lists recursively, as a JSON round trip would; drop nested `created_at` stamps.

    Decisions stamp their decision time into nested values too (a tool_call_limit ToolCallError's tool,
    held calls, requirements, continue messages); a replay re-decides at the input's time instead.
    """
    if isinstance(value, tuple | list):
        return [_plain(v, key) for v in value]
    if isinstance(value, dict):
        return {
            k: _plain(v, k) for k, v in value.items() if k != "created_at" and not (key == "metrics" and k in _TIMINGS)
        }
    return value


_TIMINGS = frozenset({"duration", "start_time", "end_time"})
"""Clock readings inside `metrics` at any depth: a run's duration, a team call's (decided) start and end."""
_CALL_DURATION = re.compile(r" completed in [0-9.]+s\. $")
"""The duration in a tool call's completion text (a team tool call's is decided from the clock)."""


def comparable(event: RunEvent) -> dict[str, Any]:
    """Return the event's record dict without volatile fields, JSON-normalised, for replay comparison."""
    d: dict[str, Any] = {k: _plain(v, k) for k, v in event.to_dict().items() if k not in _VOLATILE}
    content = d.get("content")
    if "tool" in d and isinstance(content, str):
        d["content"] = _CALL_DURATION.sub(" completed in ?s. ", content)
    return d


def _same_decision(got: RunEvent, event: RunEvent) -> bool:
    """A quick `comparable(got) == comparable(event)`, or False when only normalising can tell.

    True only when the events are equal but for their `created_at` and the clock readings in `metrics` (a
    run's duration). Most decisions are equal this way, and normalising both (`to_dict` and a recursive
    walk) was a seventh of a replay.
    """
    if got == event:
        return True
    if type(got) is not type(event) or not hasattr(event, "metrics"):
        return False
    metrics = getattr(event, "metrics")  # noqa: B009 - RunEvent subclasses with a `metrics` field
    if replace(got, created_at=event.created_at, metrics=metrics) != event:
        return False
    return bool(_plain(getattr(got, "metrics"), "metrics") == _plain(metrics, "metrics"))  # noqa: B009


class _Checker:
    def __init__(self, agents: Mapping[str, Agent], workflows: Mapping[str, Workflow], decide_fn: Decide) -> None:
        self.agents = with_step_agents(agents, workflows)
        self.workflows = workflows
        self.teams: Mapping[str, Team] = {}
        self.history_limit = MAX_HISTORY_RUNS
        self.decide = decide_fn
        self.report = ReplayReport()
        self.expected: dict[tuple[str, int], RunEvent] = {}
        self.answer_keys: dict[tuple[str, int], None] = {}
        """Keys of `expected` re-decided from worker answers, in decision order (an ordered set)."""
        self.diverged: set[str] = set()
        self.run_ids: set[str] = set()

    def session(self, session_id: str) -> SessionState:
        state = self.report.sessions.get(session_id)
        if state is None:
            state = SessionState(session_id=session_id, history_limit=self.history_limit)
            self.report.sessions[session_id] = state
        return state

    def redecide(self, state: SessionState, item: Command | RunEvent, now: float) -> None:
        ctx = DecisionContext(now=now, agents=self.agents, workflows=self.workflows, teams=self.teams)
        answer = isinstance(item, RunEvent)
        if answer:
            # The orchestrator decides the worker answers of one batch in log order, each on a state holding
            # the decisions of the ones before, and appends those decisions after the batch: so the decisions
            # re-decided from earlier answers and not yet reached in the log were folded when it decided this
            # one (two Parallel branches answering in one batch each decide a StepCompleted). Commands are
            # not ordered with answers that way: their decisions are re-decided where they appear.
            for key in self.answer_keys:
                pending = self.expected.get(key)
                if pending is not None and pending.session_id == state.session_id:
                    state = evolve(state, pending)
        decision = self.decide(state, item, ctx)
        for event in decision.events:
            self.expected[(event.run_id, event.seq)] = event
            if answer:
                self.answer_keys[(event.run_id, event.seq)] = None

    def diverge(self, run_id: str, seq: int, expected: dict[str, Any] | None, got: dict[str, Any] | None) -> None:
        self.diverged.add(run_id)
        self.report.divergences.append(Divergence(run_id, seq, expected, got))

    def count(self, run_id: str) -> None:
        """Count one record of `run_id` (every record is counted, progress ones without being decoded)."""
        self.report.events += 1
        self.run_ids.add(run_id)

    def on_event(self, event: RunEvent) -> None:
        self.count(event.run_id)
        state = self.session(event.session_id)
        if event.part == "":
            self.check_decision(state, event)
        elif event.part == "done" and isinstance(
            event, ModelRequestCompleted | ModelRequestFailed | ToolCallCompleted | ToolCallError | StepExecuted
        ):
            self.redecide(state, event, float(event.created_at))
        self.report.sessions[event.session_id] = evolve(self.session(event.session_id), event)

    def check_decision(self, state: SessionState, event: RunEvent) -> None:
        key = (event.run_id, event.seq)
        if event.run_id in self.diverged:
            self.expected.pop(key, None)
            return
        if isinstance(event, TeamRunStarted | TeamRunError) and event.seq == 0 and key not in self.expected:
            # A StartTeamRun: its TeamRunStarted, or the TeamRunError of an unknown team id.
            self.redecide(state, _team_command(event), float(event.created_at))
        elif isinstance(event, RunStarted) and key not in self.expected:
            self.redecide(state, _start_command(event), float(event.created_at))
        elif isinstance(event, RunContinued) and key not in self.expected:
            self.redecide(state, _continue_command(event), float(event.created_at))
        elif isinstance(event, TeamRequirementsResolved) and key not in self.expected:
            self.redecide(state, _team_continue_command(event), float(event.created_at))
        elif isinstance(event, RunError) and event.seq == 0 and key not in self.expected:
            # A StartRun rejected at once (unknown agent) leaves only this RunError in the log.
            self.redecide(state, _rejected_start_command(event), float(event.created_at))
        elif isinstance(event, WorkflowStarted | WorkflowError) and event.seq == 0 and key not in self.expected:
            # A StartWorkflow: its WorkflowStarted, or the WorkflowError of an unknown workflow id.
            self.redecide(state, _workflow_command(event), float(event.created_at))
        elif isinstance(event, WorkflowCancelled) and key not in self.expected:
            self._drop_pending(event.run_id, event.seq)
            command = CancelRun(
                run_id=event.run_id, session_id=event.session_id, created_at=event.created_at, reason=event.reason
            )
            self.redecide(state, command, float(event.created_at))
        elif isinstance(event, RunCancelled) and not isinstance(self.expected.get(key), RunCancelled):
            # A CancelRun's first cancel (of the run it named, or of a member of the team it named); the rest
            # of a cascade is re-decided with it.
            target = event.cancelled_by or event.run_id
            self._drop_pending(event.run_id, event.seq)
            for run in state.runs.values():
                if target in (run.run_id, run.parent_run_id):
                    self._drop_pending(run.run_id, run.seq + 1)
            self.redecide(
                state,
                CancelRun(run_id=target, session_id=event.session_id, created_at=event.created_at, reason=event.reason),
                float(event.created_at),
            )
        got = self.expected.pop(key, None)
        self.answer_keys.pop(key, None)
        self.report.decisions_checked += 1
        if got is None:
            self.diverge(event.run_id, event.seq, comparable(event), None)
        elif not _same_decision(got, event) and comparable(got) != comparable(event):
            self.diverge(event.run_id, event.seq, comparable(event), comparable(got))

    def _drop_pending(self, run_id: str, from_seq: int) -> None:
        # A cancel command can be decided before a worker answer positioned earlier in the log;
        # the orchestrator then ignored that answer, so its re-decided outputs are stale.
        for key in [k for k in self.expected if k[0] == run_id and k[1] >= from_seq]:
            del self.expected[key]

    def finish(self) -> ReplayReport:
        for (run_id, seq), event in sorted(self.expected.items(), key=lambda kv: kv[0]):
            if run_id not in self.diverged:
                self.diverge(run_id, seq, None, comparable(event))
        self.report.runs = len(self.run_ids)
        return self.report


def _start_command(event: RunStarted) -> StartRun:
    return StartRun(
        run_id=event.run_id,
        session_id=event.session_id,
        created_at=event.created_at,
        agent_id=event.agent_id,
        message=event.input,
        user_id=event.user_id,
    )


def _continue_command(event: RunContinued) -> ContinueRun:
    return ContinueRun(
        run_id=event.run_id,
        session_id=event.session_id,
        created_at=event.created_at,
        tools=event.updates,
        user_id=event.user_id,
    )


def _team_continue_command(event: TeamRequirementsResolved) -> ContinueTeamRun:
    return ContinueTeamRun(
        run_id=event.run_id,
        session_id=event.session_id,
        created_at=event.created_at,
        requirements=event.requirements,
        user_id=event.user_id,
    )


def _workflow_command(event: WorkflowStarted | WorkflowError) -> StartWorkflow:
    started = isinstance(event, WorkflowStarted)
    return StartWorkflow(
        run_id=event.run_id,
        session_id=event.session_id,
        created_at=event.created_at,
        workflow_id=event.workflow_id or "",
        message=str(event.input) if isinstance(event, WorkflowStarted) and event.input is not None else "",
        user_id=event.user_id if isinstance(event, WorkflowStarted) else None,
        additional_data=event.additional_data if started else None,
        session_state=event.run_session_state if isinstance(event, WorkflowStarted) else None,
    )


def _team_command(event: TeamRunStarted | TeamRunError) -> StartTeamRun:
    # An unknown team's rejection does not depend on the message, which the TeamRunError does not record.
    return StartTeamRun(
        run_id=event.run_id,
        session_id=event.session_id,
        created_at=event.created_at,
        team_id=event.agent_id,
        message=event.input if isinstance(event, TeamRunStarted) else "",
        user_id=event.user_id if isinstance(event, TeamRunStarted) else None,
    )


def _rejected_start_command(event: RunError) -> StartRun:
    # The rejection does not depend on the message, which the RunError does not record.
    return StartRun(
        run_id=event.run_id,
        session_id=event.session_id,
        created_at=event.created_at,
        agent_id=event.agent_id,
        message="",
    )


def replay_check(
    records: Iterable[dict[str, Any]],
    agents: Mapping[str, Agent],
    *,
    workflows: Mapping[str, Workflow] | None = None,
    teams: Mapping[str, Team] | None = None,
    decide_fn: Decide = decide,
) -> ReplayReport:
    """Fold `records` (run-events record values, in log order) and re-decide every recorded input.

    Args:
        records: decoded record values of the run-events topic, in partition order (a JSONL export
            or a topic range; records of different sessions may interleave).
        agents: the agent registry the log was produced with (same ids).
        workflows: the workflow registry (their step agents are added to `agents`, their step teams to
            `teams`).
        teams: the team registry (their members need not be in `agents`).
        decide_fn: the decision function to check; the engine's `decide` by default.

    Returns:
        The report: counts, first divergence per run, and the folded session states.

    Raises:
        SchemaError: a record does not decode.
    """
    checker = _Checker(agents, workflows or {}, decide_fn)
    checker.teams = with_step_teams(teams or {}, workflows or {})
    checker.history_limit = history_limit_for(checker.agents.values(), checker.teams.values())
    for record in records:
        run_id = record.get("run_id")
        if is_progress_part(record.get("part")) and type(run_id) is str:
            checker.count(run_id)  # progress folds to nothing and answers nothing: counted, not decoded
            continue
        checker.on_event(decode_event(record))
    return checker.finish()
