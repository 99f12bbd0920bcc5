"""SqliteViewStore: rows and positions written atomically, and the agno-shaped read queries."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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
    decode_event,
    evolve,
    message_id,
)
from projections import RUN_COLUMNS, SESSION_COLUMNS, SessionsView, SqliteViewStore, fold_event, rebuild_view
from streams import TopicPartition

NOW = 1_700_000_000
EVENTS = "agnostream.run-events"


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


AGENTS = {"a": Agent(id="a", model=FakeModel(), add_history_to_context=True)}


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = SqliteViewStore(tmp_path / "sub" / "views.db")
    s.open()
    yield s
    s.close()


def session_row(session_id: str, *, created_at: int = NOW, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "session_id": session_id,
        "session_type": "agent",
        "agent_id": "a",
        "team_id": None,
        "workflow_id": None,
        "user_id": "u1",
        "session_data": {"session_state": {}, "session_metrics": {"total_tokens": 3}},
        "agent_data": {"name": "a", "agent_id": "a", "model": {"provider": "Fake", "id": "fake-model"}},
        "team_data": None,
        "workflow_data": None,
        "metadata": None,
        "summary": None,
        "created_at": created_at,
        "updated_at": created_at + 1,
        "run_count": 99,  # not a column: ignored by apply
    }
    row.update(overrides)
    return row


def run_row(run_id: str, session_id: str, run_index: int = 0, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": run_id,
        "session_id": session_id,
        "run_type": "agent",
        "agent_id": "a",
        "team_id": None,
        "workflow_id": None,
        "user_id": "u1",
        "parent_run_id": None,
        "status": "COMPLETED",
        "run_index": run_index,
        "run_data": {"run_id": run_id, "messages": [{"id": "m", "role": "user", "content": "hi"}], "content": "ok"},
        "created_at": NOW + run_index,
        "updated_at": NOW + run_index,
    }
    row.update(overrides)
    return row


def without_run_count(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "run_count"}


# --------------------------------------------------------------------------------------------- writer side


def test_apply_writes_rows_and_positions_and_reads_them_back(store: SqliteViewStore) -> None:
    # given
    tp0, tp1 = TopicPartition(EVENTS, 0), TopicPartition(EVENTS, 1)

    # when
    store.apply("sessions", [session_row("s1")], [run_row("r1", "s1"), run_row("r2", "s1", 1)], {tp0: 5, tp1: 7})

    # then
    assert store.positions("sessions") == {tp0: 5, tp1: 7}
    assert store.positions("other") == {}
    assert store.get_session("s1") == without_run_count(session_row("s1"))
    assert store.get_run("r1") == run_row("r1", "s1")
    assert store.load_run("r2") == run_row("r2", "s1", 1)
    loaded = store.load_session("s1")
    assert loaded is not None
    assert loaded["run_count"] == 2
    assert without_run_count(loaded) == without_run_count(session_row("s1"))


def test_apply_upserts_rows_and_advances_positions(store: SqliteViewStore) -> None:
    tp = TopicPartition(EVENTS, 0)
    store.apply("sessions", [session_row("s1")], [run_row("r1", "s1", status="RUNNING")], {tp: 1})

    store.apply("sessions", [session_row("s1", user_id="u2")], [run_row("r1", "s1", status="COMPLETED")], {tp: 9})

    assert store.positions("sessions") == {tp: 9}
    session = store.get_session("s1")
    run = store.get_run("r1")
    assert session is not None
    assert run is not None
    assert session["user_id"] == "u2"
    assert run["status"] == "COMPLETED"


def test_apply_is_atomic_rows_and_positions_roll_back_together(store: SqliteViewStore) -> None:
    # given a committed state
    tp = TopicPartition(EVENTS, 0)
    store.apply("sessions", [session_row("s1")], [run_row("r1", "s1")], {tp: 3})

    # when a batch fails half way (a run row of a session that does not exist violates the foreign key)
    with pytest.raises(sqlite3.IntegrityError):
        store.apply(
            "sessions",
            [session_row("s2"), session_row("s1", user_id="changed")],
            [run_row("r9", "missing-session")],
            {tp: 10},
        )

    # then nothing of the batch was written
    assert store.positions("sessions") == {tp: 3}
    assert store.get_session("s2") is None
    session = store.get_session("s1")
    assert session is not None
    assert session["user_id"] == "u1"
    assert store.get_run("r9") is None


def test_positions_survive_reopening_the_store(tmp_path: Path) -> None:
    tp = TopicPartition(EVENTS, 2)
    first = SqliteViewStore(tmp_path / "views.db")
    first.open()
    first.apply("sessions", [session_row("s1")], [], {tp: 42})
    first.close()
    first.close()  # idempotent

    second = SqliteViewStore(tmp_path / "views.db")
    second.open()
    try:
        assert second.positions("sessions") == {tp: 42}
        assert second.get_session("s1") is not None
    finally:
        second.close()


def test_missing_rows_read_as_none(store: SqliteViewStore) -> None:
    assert store.load_session("nope") is None
    assert store.load_run("nope") is None
    assert store.get_session("nope") is None
    assert store.get_run("nope") is None
    assert store.get_runs("nope") == []
    assert store.all_rows() == ({}, {})


def test_the_writer_must_be_opened_first(tmp_path: Path) -> None:
    store = SqliteViewStore(tmp_path / "views.db")

    with pytest.raises(AssertionError, match=r"open\(\) was not called"):
        store.positions("sessions")


# --------------------------------------------------------------------------------------------- reader side


@pytest.fixture
def listed(store: SqliteViewStore) -> SqliteViewStore:
    rows = [
        session_row("s1", created_at=NOW + 1, user_id="u1", updated_at=NOW + 30),
        session_row("s2", created_at=NOW + 2, user_id="u2", updated_at=NOW + 20),
        session_row("s3", created_at=NOW + 3, user_id="u1", agent_id="b", updated_at=NOW + 10),
        session_row("s4", created_at=NOW + 4, user_id="u1", session_type="team", agent_id=None, team_id="t1"),
        session_row("s5", created_at=NOW + 5, user_id="u3", session_type="workflow", agent_id=None, workflow_id="w1"),
    ]
    store.apply("sessions", rows, [], {})
    return store


def ids(result: tuple[list[dict[str, Any]], int]) -> tuple[list[str], int]:
    rows, total = result
    return [r["session_id"] for r in rows], total


def test_list_sessions_defaults_to_newest_first(listed: SqliteViewStore) -> None:
    assert ids(listed.list_sessions()) == (["s5", "s4", "s3", "s2", "s1"], 5)


def test_list_sessions_paginates_with_the_total(listed: SqliteViewStore) -> None:
    assert ids(listed.list_sessions(limit=2, page=1)) == (["s5", "s4"], 5)
    assert ids(listed.list_sessions(limit=2, page=2)) == (["s3", "s2"], 5)
    assert ids(listed.list_sessions(limit=2, page=3)) == (["s1"], 5)
    assert ids(listed.list_sessions(limit=2, page=4)) == ([], 5)
    assert ids(listed.list_sessions(limit=2, page=0)) == (["s5", "s4"], 5)


def test_list_sessions_filters(listed: SqliteViewStore) -> None:
    assert ids(listed.list_sessions(session_type="agent")) == (["s3", "s2", "s1"], 3)
    assert ids(listed.list_sessions(component_id="b")) == (["s3"], 1)
    assert ids(listed.list_sessions(component_id="t1")) == (["s4"], 1)
    assert ids(listed.list_sessions(component_id="w1")) == (["s5"], 1)
    assert ids(listed.list_sessions(user_id="u1")) == (["s4", "s3", "s1"], 3)
    assert ids(listed.list_sessions(user_id="u1", session_type="agent", component_id="a")) == (["s1"], 1)
    assert ids(listed.list_sessions(user_id="nobody")) == ([], 0)


def test_list_sessions_sorts(listed: SqliteViewStore) -> None:
    assert ids(listed.list_sessions(sort_order="asc"))[0] == ["s1", "s2", "s3", "s4", "s5"]
    assert ids(listed.list_sessions(sort_by="updated_at", session_type="agent"))[0] == ["s1", "s2", "s3"]
    assert ids(listed.list_sessions(sort_by="updated_at", sort_order="ASC", session_type="agent"))[0] == [
        "s3",
        "s2",
        "s1",
    ]
    assert ids(listed.list_sessions(sort_by="session_id"))[0] == ["s5", "s4", "s3", "s2", "s1"]
    # an unknown sort column falls back to created_at (never interpolated into SQL)
    assert ids(listed.list_sessions(sort_by="user_id; DROP TABLE agno_sessions"))[0] == ["s5", "s4", "s3", "s2", "s1"]


def test_list_sessions_returns_decoded_rows_without_runs(listed: SqliteViewStore) -> None:
    rows, _ = listed.list_sessions(limit=1, sort_order="asc")

    assert rows == [without_run_count(session_row("s1", created_at=NOW + 1, user_id="u1", updated_at=NOW + 30))]
    assert tuple(rows[0]) == SESSION_COLUMNS


def test_get_runs_orders_by_run_index_and_all_rows_returns_everything(store: SqliteViewStore) -> None:
    store.apply(
        "sessions",
        [session_row("s1"), session_row("s2")],
        [run_row("r-b", "s1", 1), run_row("r-a", "s1", 0), run_row("r-c", "s2", 0)],
        {},
    )

    runs = store.get_runs("s1")
    sessions, all_runs = store.all_rows()

    assert [r["run_id"] for r in runs] == ["r-a", "r-b"]
    assert tuple(runs[0]) == RUN_COLUMNS
    assert set(sessions) == {"s1", "s2"}
    assert set(all_runs) == {"r-a", "r-b", "r-c"}
    assert all_runs["r-c"] == run_row("r-c", "s2", 0)


def test_readers_on_other_threads_see_committed_rows(store: SqliteViewStore) -> None:
    store.apply("sessions", [session_row("s1")], [], {})
    seen: list[Any] = []

    thread = threading.Thread(target=lambda: seen.append(store.get_session("s1")))
    thread.start()
    thread.join()

    assert seen == [without_run_count(session_row("s1"))]


# --------------------------------------------------------------------------------------------- with the fold


def record_log() -> list[dict[str, Any]]:
    """Three runs in two sessions, one with a tool call, produced by the engine's decide/evolve."""
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

    for run_id, session_id in (("r1", "s1"), ("r2", "s2"), ("r3", "s1")):
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


def project_in_batches(store: SqliteViewStore, log: list[dict[str, Any]], batch: int) -> None:
    """What the live projection runner does per batch: load touched rows, fold, write rows + position."""
    tp = TopicPartition(EVENTS, 0)
    for start in range(0, len(log), batch):
        view = SessionsView()
        for record in log[start : start + batch]:
            event = decode_event(record)
            if event.session_id not in view.sessions:
                session = store.load_session(event.session_id)
                if session is not None:
                    view.sessions[event.session_id] = session
            if event.run_id not in view.runs:
                run = store.load_run(event.run_id)
                if run is not None:
                    view.runs[event.run_id] = run
            fold_event(view, event)
        store.apply(
            "sessions",
            [view.sessions[s] for s in sorted(view.dirty_sessions)],
            [view.runs[r] for r in sorted(view.dirty_runs)],
            {tp: min(start + batch, len(log))},
        )


@pytest.mark.parametrize("batch", [1, 4, 1000])
def test_the_view_projected_in_batches_through_the_store_equals_a_rebuild(store: SqliteViewStore, batch: int) -> None:
    # given
    log = record_log()

    # when
    project_in_batches(store, log, batch)

    # then
    rebuilt = rebuild_view(log)
    sessions, runs = store.all_rows()
    assert sessions == rebuilt.sessions
    assert runs == rebuilt.runs
    assert [r["run_index"] for r in store.get_runs("s1")] == [0, 1]
    assert store.positions("sessions") == {TopicPartition(EVENTS, 0): len(log)}


def test_an_in_memory_store_serves_reads_of_what_it_wrote() -> None:
    store = SqliteViewStore(":memory:")
    store.open()
    try:
        store.apply("sessions", [session_row("s1")], [], {TopicPartition(EVENTS, 0): 1})
        assert store.positions("sessions") == {TopicPartition(EVENTS, 0): 1}

        assert store.get_session("s1") == without_run_count(session_row("s1"))
    finally:
        store.close()
