"""PostgresViewStore specifics: agno's Postgres column types, JSONB that SQL can query, connection lifecycle.

The behaviour shared with SQLite is tested on both backends in test_store.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from projections import PostgresViewStore
from streams import TopicPartition
from tests.postgres_db import fresh_schema


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as schema_url:
        yield schema_url


@pytest.fixture
def store(url: str) -> Iterator[PostgresViewStore]:
    s = PostgresViewStore(url)
    s.open()
    yield s
    s.close()


def column_types(url: str, table: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        ).fetchall()
    return dict(rows)


def test_json_columns_are_jsonb_as_in_agnos_postgres_schema(store: PostgresViewStore, url: str) -> None:
    sessions, runs = column_types(url, "agno_sessions"), column_types(url, "agno_runs")

    assert {c for c, t in sessions.items() if t == "jsonb"} == {
        "session_data", "agent_data", "team_data", "workflow_data", "metadata", "summary",
    }  # fmt: skip
    assert {c for c, t in runs.items() if t == "jsonb"} == {"run_data"}
    assert sessions["created_at"] == runs["run_index"] == "bigint"
    assert column_types(url, "agnostream_positions")["next_offset"] == "bigint"


def test_stored_json_is_queryable_jsonb(store: PostgresViewStore, url: str) -> None:
    session = {"session_id": "s1", "session_type": "agent", "created_at": 1, "session_data": {"session_state": {}}}
    run = {
        "run_id": "r1",
        "session_id": "s1",
        "run_type": "agent",
        "run_data": {"content": "héllo", "metrics": {"total_tokens": 7}, "tools": []},
        "created_at": 1,
    }
    store.apply("sessions", [session], [run], {TopicPartition("events", 0): 1})

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT run_data->>'content', (run_data->'metrics'->>'total_tokens')::int FROM agno_runs")
        assert row.fetchone() == ("héllo", 7)
    stored = store.get_run("r1")
    assert stored is not None
    assert stored["run_data"] == run["run_data"]


def test_open_twice_and_close_twice_are_harmless(url: str) -> None:
    store = PostgresViewStore(url)
    store.open()
    store.open()
    assert store.get_session("nope") is None  # opens the reader pool
    store.close()
    store.close()

    with pytest.raises(AssertionError, match=r"PostgresViewStore.open\(\) was not called"):
        store.load_run("r1")


def test_a_bad_url_fails_on_open_with_the_drivers_error() -> None:
    store = PostgresViewStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")

    with pytest.raises(psycopg.OperationalError):
        store.open()
