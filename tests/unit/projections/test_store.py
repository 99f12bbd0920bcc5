"""The view stores (SQLite and PostgreSQL): rows and positions written atomically, the agno-shaped queries.

Every test runs on both backends (`backend` fixture in conftest.py; PostgreSQL skips without a server).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from engine import decode_event
from projections import (
    RUN_COLUMNS,
    SESSION_COLUMNS,
    PositionConflictError,
    PostgresViewStore,
    SessionsView,
    SqliteViewStore,
    ViewStore,
    fold_event,
    make_view_store,
    rebuild_view,
)
from streams import TopicPartition
from tests.view_backends import NOW, Backend, record_log

EVENTS = "agnostream.run-events"


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


def test_apply_writes_rows_and_positions_and_reads_them_back(store: ViewStore) -> None:
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


def test_apply_upserts_rows_and_advances_positions(store: ViewStore) -> None:
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


def test_apply_is_atomic_rows_and_positions_roll_back_together(store: ViewStore, backend: Backend) -> None:
    # given a committed state
    tp = TopicPartition(EVENTS, 0)
    store.apply("sessions", [session_row("s1")], [run_row("r1", "s1")], {tp: 3})

    # when a batch fails half way (a run row of a session that does not exist violates the foreign key)
    with pytest.raises(backend.integrity_error):
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


def test_positions_survive_reopening_the_store(backend: Backend) -> None:
    tp = TopicPartition(EVENTS, 2)
    first = backend.new_store()
    first.open()
    first.apply("sessions", [session_row("s1")], [], {tp: 42})
    first.close()
    first.close()  # idempotent

    second = backend.new_store()
    second.open()
    try:
        assert second.positions("sessions") == {tp: 42}
        assert second.get_session("s1") is not None
    finally:
        second.close()


def test_missing_rows_read_as_none(store: ViewStore) -> None:
    assert store.load_session("nope") is None
    assert store.load_run("nope") is None
    assert store.get_session("nope") is None
    assert store.get_run("nope") is None
    assert store.get_runs("nope") == []
    assert store.all_rows() == ({}, {})


def test_the_writer_must_be_opened_first(backend: Backend) -> None:
    store = backend.new_store()

    with pytest.raises(AssertionError, match=r"open\(\) was not called"):
        store.positions("sessions")


def test_apply_with_expected_positions_is_a_compare_and_set(store: ViewStore) -> None:
    tp0, tp1 = TopicPartition(EVENTS, 0), TopicPartition(EVENTS, 1)
    # a partition with no stored position counts as 0
    store.apply("sessions", [session_row("s1")], [], {tp0: 4, tp1: 2}, expected={})
    store.apply("sessions", [session_row("s1", user_id="u2")], [], {tp0: 9}, expected={tp0: 4})

    assert store.positions("sessions") == {tp0: 9, tp1: 2}
    session = store.get_session("s1")
    assert session is not None
    assert session["user_id"] == "u2"


@pytest.mark.parametrize(
    ("expected", "positions"),
    [
        pytest.param({"p0": 4}, {"p0": 12}, id="stale-position"),
        pytest.param({}, {"p0": 12}, id="stale-missing-position"),
        # partition 1 is current and written first: the conflict on partition 0 must roll it back
        pytest.param({"p1": 2, "p0": 4}, {"p1": 5, "p0": 12}, id="one-of-two-stale"),
    ],
)
def test_a_batch_read_from_stale_positions_writes_nothing(
    store: ViewStore, expected: dict[str, int], positions: dict[str, int]
) -> None:
    # given another writer already moved partition 0 to 9 and partition 1 to 2
    tps = {"p0": TopicPartition(EVENTS, 0), "p1": TopicPartition(EVENTS, 1)}
    store.apply("sessions", [session_row("s1")], [run_row("r1", "s1")], {tps["p0"]: 9, tps["p1"]: 2})

    # when a writer applies a batch read from older positions
    with pytest.raises(PositionConflictError, match="another writer"):
        store.apply(
            "sessions",
            [session_row("s1", user_id="stale"), session_row("s2")],
            [run_row("r1", "s1", status="ERROR")],
            {tps[k]: v for k, v in positions.items()},
            expected={tps[k]: v for k, v in expected.items()},
        )

    # then nothing of the batch was written
    assert store.positions("sessions") == {tps["p0"]: 9, tps["p1"]: 2}
    session, run = store.get_session("s1"), store.get_run("r1")
    assert session is not None
    assert session["user_id"] == "u1"
    assert run is not None
    assert run["status"] == "COMPLETED"
    assert store.get_session("s2") is None


def test_two_replicas_on_one_database_serve_the_same_view(backend: Backend) -> None:
    # given two processes' stores on one database, both opened (the schema is created once)
    first, second = backend.new_store(), backend.new_store()
    first.open()
    second.open()
    tp = TopicPartition(EVENTS, 0)
    try:
        # when the first writes a batch
        first.apply("sessions", [session_row("s1")], [run_row("r1", "s1")], {tp: 6}, expected={})

        # then the second serves it and continues from the stored position
        assert second.get_session("s1") == without_run_count(session_row("s1"))
        assert second.get_runs("s1") == [run_row("r1", "s1")]
        assert second.list_sessions() == first.list_sessions()
        assert second.positions("sessions") == {tp: 6}
        second.apply("sessions", [session_row("s2")], [], {tp: 8}, expected=second.positions("sessions"))
        assert first.all_rows() == second.all_rows()
        with pytest.raises(PositionConflictError):
            first.apply("sessions", [session_row("s3")], [], {tp: 8}, expected={tp: 6})
    finally:
        first.close()
        second.close()


def test_stores_opened_at_once_create_the_schema_once(backend: Backend) -> None:
    stores = [backend.new_store() for _ in range(6)]
    barrier = threading.Barrier(len(stores))

    def open_store(store: ViewStore) -> None:
        barrier.wait()
        store.open()

    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            list(pool.map(open_store, stores))
        stores[0].apply("sessions", [session_row("s1")], [], {})
        assert all(s.get_session("s1") is not None for s in stores)
    finally:
        for s in stores:
            s.close()


# --------------------------------------------------------------------------------------------- reader side


@pytest.fixture
def listed(store: ViewStore) -> ViewStore:
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


def test_list_sessions_defaults_to_newest_first(listed: ViewStore) -> None:
    assert ids(listed.list_sessions()) == (["s5", "s4", "s3", "s2", "s1"], 5)


def test_list_sessions_paginates_with_the_total(listed: ViewStore) -> None:
    assert ids(listed.list_sessions(limit=2, page=1)) == (["s5", "s4"], 5)
    assert ids(listed.list_sessions(limit=2, page=2)) == (["s3", "s2"], 5)
    assert ids(listed.list_sessions(limit=2, page=3)) == (["s1"], 5)
    assert ids(listed.list_sessions(limit=2, page=4)) == ([], 5)
    assert ids(listed.list_sessions(limit=2, page=0)) == (["s5", "s4"], 5)


def test_list_sessions_filters(listed: ViewStore) -> None:
    assert ids(listed.list_sessions(session_type="agent")) == (["s3", "s2", "s1"], 3)
    assert ids(listed.list_sessions(component_id="b")) == (["s3"], 1)
    assert ids(listed.list_sessions(component_id="t1")) == (["s4"], 1)
    assert ids(listed.list_sessions(component_id="w1")) == (["s5"], 1)
    assert ids(listed.list_sessions(user_id="u1")) == (["s4", "s3", "s1"], 3)
    assert ids(listed.list_sessions(user_id="u1", session_type="agent", component_id="a")) == (["s1"], 1)
    assert ids(listed.list_sessions(user_id="nobody")) == ([], 0)


def test_list_sessions_sorts(listed: ViewStore) -> None:
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


def test_list_sessions_returns_decoded_rows_without_runs(listed: ViewStore) -> None:
    rows, _ = listed.list_sessions(limit=1, sort_order="asc")

    assert rows == [without_run_count(session_row("s1", created_at=NOW + 1, user_id="u1", updated_at=NOW + 30))]
    assert tuple(rows[0]) == SESSION_COLUMNS


def test_get_runs_orders_by_run_index_and_all_rows_returns_everything(store: ViewStore) -> None:
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


def test_readers_on_other_threads_see_committed_rows(store: ViewStore) -> None:
    store.apply("sessions", [session_row("s1")], [], {})
    seen: list[Any] = []

    thread = threading.Thread(target=lambda: seen.append(store.get_session("s1")))
    thread.start()
    thread.join()

    assert seen == [without_run_count(session_row("s1"))]


# --------------------------------------------------------------------------------------------- with the fold


def project_in_batches(store: ViewStore, log: list[dict[str, Any]], batch: int) -> None:
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
def test_the_view_projected_in_batches_through_the_store_equals_a_rebuild(store: ViewStore, batch: int) -> None:
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


def test_many_reader_threads_read_at_once(store: ViewStore) -> None:
    store.apply("sessions", [session_row(f"s{i}") for i in range(20)], [], {})

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: store.get_session(f"s{i % 20}"), range(200)))

    assert [r["session_id"] if r else None for r in results] == [f"s{i % 20}" for i in range(200)]


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("postgresql://user@127.0.0.1:55432/agnostream", PostgresViewStore),
        ("postgres://user@db/agnostream", PostgresViewStore),
        ("agnostream-views.db", SqliteViewStore),
        (":memory:", SqliteViewStore),
    ],
)
def test_make_view_store_picks_the_backend_by_url(target: str, kind: type[ViewStore]) -> None:
    assert type(make_view_store(target)) is kind


def test_make_view_store_takes_a_path(tmp_path: Path) -> None:
    assert isinstance(make_view_store(tmp_path / "views.db"), SqliteViewStore)
