"""Helpers of the view-store tests: the database under test (SQLite file or PostgreSQL schema) and a history.

`Backend` names one view database; the fixtures in tests/unit/projections/conftest.py make one per test
on each backend. `record_log` builds run-event values with the engine's own decide/evolve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine import (
    Agent,
    Command,
    Decision,
    DecisionContext,
    Message,
    ModelRequestCompleted,
    ModelWork,
    RunEvent,
    SessionState,
    StartRun,
    ToolCall,
    ToolCallCompleted,
    ToolExecution,
    ToolWork,
    decide,
    evolve,
    message_id,
)
from projections import ViewStore, make_view_store

__all__ = ["NOW", "Backend", "record_log"]

NOW = 1_700_000_000


@dataclass(frozen=True)
class Backend:
    """One view database of a test: `new_store()` opens another connection set ("replica") onto it."""

    name: str
    target: str
    integrity_error: type[Exception]

    def new_store(self) -> ViewStore:
        return make_view_store(self.target)


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


AGENTS = {"a": Agent(id="a", model=FakeModel(), add_history_to_context=True)}


def record_log(runs: Sequence[tuple[str, str]] = (("r1", "s1"), ("r2", "s2"), ("r3", "s1"))) -> list[dict[str, Any]]:
    """Run-event values of `runs` ((run_id, session_id), each with one tool call), from decide/evolve."""
    states: dict[str, SessionState] = {}
    log: list[dict[str, Any]] = []
    clock = NOW

    def send(item: Command | RunEvent) -> Decision:
        nonlocal clock
        clock += 1
        state = states.setdefault(item.session_id, SessionState(session_id=item.session_id))
        decision = decide(state, item, DecisionContext(now=clock, agents=AGENTS))
        if isinstance(item, RunEvent):
            log.append(item.to_dict())
            state = evolve(state, item)
        for event in decision.events:
            state = evolve(state, event)
            log.append(event.to_dict())
        states[item.session_id] = state
        return decision

    def model(work: ModelWork, content: str | None, calls: tuple[ToolCall, ...] = ()) -> Decision:
        message = Message(
            id=message_id(work.run_id, work.seq, "assistant"), role="assistant", content=content, tool_calls=calls
        )
        return send(
            ModelRequestCompleted(
                created_at=clock,
                run_id=work.run_id,
                session_id=work.session_id,
                seq=work.seq,
                part="done",
                input_tokens=4,
                output_tokens=1,
                total_tokens=5,
                message=message,
            )
        )

    for run_id, session_id in runs:
        (work,) = send(StartRun(run_id=run_id, session_id=session_id, created_at=clock, agent_id="a", message="q")).work
        assert isinstance(work, ModelWork)
        (tool_work,) = model(work, None, (ToolCall(id=f"{run_id}-c", name="t", arguments="{}"),)).work
        assert isinstance(tool_work, ToolWork)
        tool = ToolExecution(tool_call_id=tool_work.tool_call_id, tool_name="t", result="ok")
        (work,) = send(
            ToolCallCompleted(
                created_at=clock, run_id=run_id, session_id=session_id, seq=tool_work.seq, part="done", tool=tool
            )
        ).work
        assert isinstance(work, ModelWork)
        model(work, f"answer {run_id}")
    return log
