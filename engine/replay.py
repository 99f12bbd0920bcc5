"""Replay: fold a recorded run-events log and re-decide every recorded input (a replay check).

The check mirrors the orchestrator. Walking the log in order, it folds every event into the session
state. At each input that triggered a decision (a worker's ModelRequestCompleted / ModelRequestFailed /
ToolCallCompleted / ToolCallError, or a command reconstructed from the RunStarted / RunContinued /
RunCancelled it caused), it re-decides with the state folded so far and remembers the re-decided events by
(run_id, seq). When the walk reaches a recorded decision event it compares it with the re-decided one.
The first difference of each run is reported as a `Divergence` (like Temporal's nondeterminism error);
that run is not checked further. Volatile fields (`created_at` at any depth, `metrics.duration`,
`event_id`'s runtime envelope) are not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .agent import Agent
from .commands import CancelRun, Command, ContinueRun, StartRun
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
)
from .fold import evolve
from .run import decide
from .schema import decode_event
from .state import Decision, DecisionContext, SessionState

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


def _plain(value: Any) -> Any:
    """Normalise tuples to lists recursively, as a JSON round trip would; drop nested `created_at` stamps.

    Decisions stamp their decision time into nested values too (a tool_call_limit ToolCallError's tool,
    held calls, requirements, continue messages); a replay re-decides at the input's time instead.
    """
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "created_at"}
    return value


def comparable(event: RunEvent) -> dict[str, Any]:
    """Return the event's record dict without volatile fields, JSON-normalised, for replay comparison."""
    d: dict[str, Any] = {k: _plain(v) for k, v in event.to_dict().items() if k not in _VOLATILE}
    metrics = d.get("metrics")
    if isinstance(metrics, dict) and "duration" in metrics:
        d["metrics"] = {k: v for k, v in metrics.items() if k != "duration"}
    return d


class _Checker:
    def __init__(self, agents: Mapping[str, Agent], decide_fn: Decide) -> None:
        self.agents = agents
        self.decide = decide_fn
        self.report = ReplayReport()
        self.expected: dict[tuple[str, int], RunEvent] = {}
        self.diverged: set[str] = set()
        self.run_ids: set[str] = set()

    def session(self, session_id: str) -> SessionState:
        state = self.report.sessions.get(session_id)
        if state is None:
            state = SessionState(session_id=session_id)
            self.report.sessions[session_id] = state
        return state

    def redecide(self, state: SessionState, item: Command | RunEvent, now: float) -> None:
        decision = self.decide(state, item, DecisionContext(now=now, agents=self.agents))
        for event in decision.events:
            self.expected[(event.run_id, event.seq)] = event

    def diverge(self, run_id: str, seq: int, expected: dict[str, Any] | None, got: dict[str, Any] | None) -> None:
        self.diverged.add(run_id)
        self.report.divergences.append(Divergence(run_id, seq, expected, got))

    def on_event(self, event: RunEvent) -> None:
        self.report.events += 1
        self.run_ids.add(event.run_id)
        state = self.session(event.session_id)
        if event.part == "":
            self.check_decision(state, event)
        elif event.part == "done" and isinstance(
            event, ModelRequestCompleted | ModelRequestFailed | ToolCallCompleted | ToolCallError
        ):
            self.redecide(state, event, float(event.created_at))
        self.report.sessions[event.session_id] = evolve(self.session(event.session_id), event)

    def check_decision(self, state: SessionState, event: RunEvent) -> None:
        key = (event.run_id, event.seq)
        if event.run_id in self.diverged:
            self.expected.pop(key, None)
            return
        if isinstance(event, RunStarted) and key not in self.expected:
            self.redecide(state, _start_command(event), float(event.created_at))
        elif isinstance(event, RunContinued) and key not in self.expected:
            self.redecide(state, _continue_command(event), float(event.created_at))
        elif isinstance(event, RunError) and event.seq == 0 and key not in self.expected:
            # A StartRun rejected at once (unknown agent) leaves only this RunError in the log.
            self.redecide(state, _rejected_start_command(event), float(event.created_at))
        elif isinstance(event, RunCancelled):
            self._drop_pending(event.run_id, event.seq)
            self.redecide(
                state,
                CancelRun(
                    run_id=event.run_id, session_id=event.session_id, created_at=event.created_at, reason=event.reason
                ),
                float(event.created_at),
            )
        got = self.expected.pop(key, None)
        self.report.decisions_checked += 1
        if got is None:
            self.diverge(event.run_id, event.seq, comparable(event), None)
        elif comparable(got) != comparable(event):
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
    records: Iterable[dict[str, Any]], agents: Mapping[str, Agent], *, decide_fn: Decide = decide
) -> ReplayReport:
    """Fold `records` (run-events record values, in log order) and re-decide every recorded input.

    Args:
        records: decoded record values of the run-events topic, in partition order (a JSONL export
            or a topic range; records of different sessions may interleave).
        agents: the agent registry the log was produced with (same ids).
        decide_fn: the decision function to check; the engine's `decide` by default.

    Returns:
        The report: counts, first divergence per run, and the folded session states.

    Raises:
        SchemaError: a record does not decode.
    """
    checker = _Checker(agents, decide_fn)
    for record in records:
        checker.on_event(decode_event(record))
    return checker.finish()
