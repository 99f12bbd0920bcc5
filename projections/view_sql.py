"""What the SQLite and PostgreSQL view stores share: columns, row codec, schema, SQL and every query.

`ViewStore` implements the whole store interface once, over DB-API cursors; a backend supplies only
connection handling (`_writer_cursor`, `_reader_cursor`, `_transaction`), its placeholder (`?` or `%s`)
and its DDL types (`JSON` or `JSONB`, ...). So both backends run the same statements and return the same
row dicts. JSON columns travel as orjson text both ways (a backend must hand JSON columns back as text).

`apply` writes the rows a batch changed and the projection's consumed positions in ONE transaction
(the tracking-record pattern: view and position are atomic), so after a crash the projection resumes
exactly after the last applied record. Given the positions the writer started from (`expected`), the
position update is a compare-and-set: when another process already advanced them, nothing is written and
`PositionConflictError` is raised, so several projection writers on one database never interleave their
read-modify-write of a session row. Methods are blocking; the runner calls them in a thread.
Column names and JSON columns follow agno 3.1 (`db/sqlite/schemas.py`; Postgres: the same with JSONB).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Protocol

import orjson

from streams import TopicPartition

from .errors import PositionConflictError

__all__ = ["RUN_COLUMNS", "SESSION_COLUMNS", "Cursor", "ViewStore", "schema_statements"]

SESSION_COLUMNS = (
    "session_id", "session_type", "agent_id", "team_id", "workflow_id", "user_id", "session_data",
    "agent_data", "team_data", "workflow_data", "metadata", "summary", "created_at", "updated_at",
)  # fmt: skip
RUN_COLUMNS = (
    "run_id", "session_id", "run_type", "agent_id", "team_id", "workflow_id", "user_id", "parent_run_id",
    "status", "run_index", "run_data", "created_at", "updated_at",
)  # fmt: skip
_JSON = frozenset({"session_data", "agent_data", "team_data", "workflow_data", "metadata", "summary", "run_data"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agno_sessions (
    session_id {text} PRIMARY KEY, session_type {text} NOT NULL, agent_id {text}, team_id {text},
    workflow_id {text}, user_id {text}, session_data {json}, agent_data {json}, team_data {json},
    workflow_data {json}, metadata {json}, summary {json}, created_at BIGINT NOT NULL, updated_at BIGINT
);
CREATE INDEX IF NOT EXISTS idx_agno_sessions_type ON agno_sessions (session_type);
CREATE INDEX IF NOT EXISTS idx_agno_sessions_created ON agno_sessions (created_at);
CREATE TABLE IF NOT EXISTS agno_runs (
    run_id {text} PRIMARY KEY,
    session_id {text} NOT NULL REFERENCES agno_sessions (session_id) ON DELETE CASCADE,
    run_type {text} NOT NULL, agent_id {text}, team_id {text}, workflow_id {text}, user_id {text},
    parent_run_id {text}, status {text}, run_index BIGINT, run_data {json} NOT NULL, created_at BIGINT NOT NULL,
    updated_at BIGINT
);
CREATE INDEX IF NOT EXISTS agno_runs_session_id_run_index ON agno_runs (session_id, run_index);
CREATE INDEX IF NOT EXISTS idx_agno_runs_status ON agno_runs (status);
CREATE TABLE IF NOT EXISTS agnostream_positions (
    projection {text} NOT NULL, topic {text} NOT NULL, partition INTEGER NOT NULL, next_offset BIGINT NOT NULL,
    PRIMARY KEY (projection, topic, partition)
)
"""


def schema_statements(*, json: str, text: str) -> list[str]:
    """The view's DDL (idempotent: IF NOT EXISTS) with the backend's JSON and text column types."""
    return [s.strip() for s in _SCHEMA.format(json=json, text=text).split(";") if s.strip()]


def _encode(column: str, value: Any) -> Any:
    return orjson.dumps(value).decode() if column in _JSON and value is not None else value


def _decode_row(columns: Iterable[str], row: Iterable[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in zip(columns, row, strict=True):
        out[column] = orjson.loads(value) if column in _JSON and value is not None else value
    return out


class Cursor(Protocol):
    """The part of a DB-API cursor the queries use (`sqlite3.Cursor` and `psycopg.Cursor` both fit)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[Any], /) -> object: ...

    def executemany(self, sql: str, params_seq: Iterable[Sequence[Any]], /) -> object: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class ViewStore(ABC):
    """The sessions view database: `agno_sessions`, `agno_runs` and the projection's positions.

    The writer side (`open`, `positions`, `load_*`, `apply`, `close`) is used by one projection thread; the
    reader side (`list_sessions`, `get_*`, `all_rows`) from any thread (HTTP worker threads).
    """

    placeholder: ClassVar[str]
    """The driver's parameter placeholder: `?` (sqlite3) or `%s` (psycopg)."""

    @abstractmethod
    def open(self) -> None:
        """Open the writer connection and create the tables (idempotent, safe from concurrent processes)."""

    @abstractmethod
    def close(self) -> None:
        """Close the connections (idempotent)."""

    @abstractmethod
    def _writer_cursor(self) -> Cursor:
        """A cursor of the writer connection, outside any transaction."""

    @abstractmethod
    def _reader_cursor(self) -> AbstractContextManager[Cursor]:
        """A cursor for reads from the calling thread (never the writer's transaction)."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Cursor]:
        """A cursor inside one writer transaction: committed on exit, rolled back on an exception."""

    def _not_opened(self) -> AssertionError:
        return AssertionError(f"{type(self).__name__}.open() was not called")

    def _select(self, columns: Sequence[str], table: str) -> str:
        return f"SELECT {', '.join(columns)} FROM {table}"

    # ---------------------------------------------------------------- writer side

    def positions(self, projection: str) -> dict[TopicPartition, int]:
        """The projection's next offsets per partition."""
        p = self.placeholder
        cur = self._writer_cursor()
        cur.execute(
            f"SELECT topic, partition, next_offset FROM agnostream_positions WHERE projection = {p}", [projection]
        )
        return {TopicPartition(t, n): o for t, n, o in cur.fetchall()}

    def load_session(self, session_id: str) -> dict[str, Any] | None:
        """Read one session row (with `run_count`) for the writer's cache, or None."""
        p = self.placeholder
        cur = self._writer_cursor()
        cur.execute(f"{self._select(SESSION_COLUMNS, 'agno_sessions')} WHERE session_id = {p}", [session_id])
        row = cur.fetchone()
        if row is None:
            return None
        session = _decode_row(SESSION_COLUMNS, row)
        cur.execute(f"SELECT COUNT(*) FROM agno_runs WHERE session_id = {p}", [session_id])
        (count,) = cur.fetchone()
        session["run_count"] = int(count)
        return session

    def load_run(self, run_id: str) -> dict[str, Any] | None:
        """Read one run row for the writer's cache, or None."""
        cur = self._writer_cursor()
        cur.execute(f"{self._select(RUN_COLUMNS, 'agno_runs')} WHERE run_id = {self.placeholder}", [run_id])
        row = cur.fetchone()
        return _decode_row(RUN_COLUMNS, row) if row is not None else None

    def apply(
        self,
        projection: str,
        sessions: Iterable[dict[str, Any]],
        runs: Iterable[dict[str, Any]],
        positions: Mapping[TopicPartition, int],
        *,
        expected: Mapping[TopicPartition, int] | None = None,
    ) -> None:
        """Upsert changed rows and the new positions (next offsets) in one transaction.

        Args:
            projection: the projection name (key of its positions).
            sessions: changed `agno_sessions` rows (extra keys such as `run_count` are ignored).
            runs: changed `agno_runs` rows.
            positions: the next offset to read per partition after this batch.
            expected: the stored next offsets this batch was read from (a partition with none stored counts
                as 0). When given, the batch is written only if the stored positions still equal them.

        Raises:
            PositionConflictError: `expected` is given and another writer already moved a position; nothing
                of the batch was written.
        """
        with self._transaction() as cur:
            for tp, next_offset in positions.items():
                if expected is None:
                    self._set_position(cur, projection, tp, next_offset)
                elif not self._advance_position(cur, projection, tp, expected.get(tp, 0), next_offset):
                    raise PositionConflictError(
                        f"projection {projection!r}: {tp.topic}[{tp.partition}] is no longer at next offset "
                        f"{expected.get(tp, 0)} (another writer applied it)"
                    )
            for table, columns, rows in (
                ("agno_sessions", SESSION_COLUMNS, sessions),
                ("agno_runs", RUN_COLUMNS, runs),
            ):
                encoded = [tuple(_encode(c, r.get(c)) for c in columns) for r in rows]
                if encoded:
                    cur.executemany(self._upsert(table, columns), encoded)

    def _upsert(self, table: str, columns: Sequence[str]) -> str:
        values = ", ".join([self.placeholder] * len(columns))
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) "
            f"ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}"
        )

    def _set_position(self, cur: Cursor, projection: str, tp: TopicPartition, next_offset: int) -> None:
        p = self.placeholder
        cur.execute(
            f"INSERT INTO agnostream_positions (projection, topic, partition, next_offset) VALUES ({p}, {p}, {p}, {p}) "
            "ON CONFLICT (projection, topic, partition) DO UPDATE SET next_offset = excluded.next_offset",
            [projection, tp.topic, tp.partition, next_offset],
        )

    def _advance_position(self, cur: Cursor, projection: str, tp: TopicPartition, expected: int, new: int) -> bool:
        """Compare-and-set one position; False when the stored one is not `expected`.

        The UPDATE locks the row (PostgreSQL re-checks the WHERE against a concurrent writer's committed
        row); a missing row counts as 0 and is inserted, and a concurrent insert of it makes this one fail.
        """
        p = self.placeholder
        cur.execute(
            f"UPDATE agnostream_positions SET next_offset = {p} "
            f"WHERE projection = {p} AND topic = {p} AND partition = {p} AND next_offset = {p}",
            [new, projection, tp.topic, tp.partition, expected],
        )
        if cur.rowcount == 1:
            return True
        if expected != 0:
            return False
        cur.execute(
            f"INSERT INTO agnostream_positions (projection, topic, partition, next_offset) VALUES ({p}, {p}, {p}, {p}) "
            "ON CONFLICT (projection, topic, partition) DO NOTHING",
            [projection, tp.topic, tp.partition, new],
        )
        return cur.rowcount == 1

    # ---------------------------------------------------------------- reader side (HTTP queries)

    def list_sessions(
        self,
        *,
        session_type: str | None = None,
        component_id: str | None = None,
        user_id: str | None = None,
        limit: int = 20,
        page: int = 1,
        sort_by: str = "created_at",
        sort_order: str = "desc",
    ) -> tuple[list[dict[str, Any]], int]:
        """Return (session rows for the page, total count), without runs (cheap for list endpoints)."""
        p = self.placeholder
        where: list[str] = []
        args: list[Any] = []
        if session_type:
            where.append(f"session_type = {p}")
            args.append(session_type)
        if component_id:
            where.append(f"(agent_id = {p} OR team_id = {p} OR workflow_id = {p})")
            args += [component_id] * 3
        if user_id:
            where.append(f"user_id = {p}")
            args.append(user_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        column = sort_by if sort_by in ("created_at", "updated_at", "session_id") else "created_at"
        order = "ASC" if sort_order.lower() == "asc" else "DESC"
        with self._reader_cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM agno_sessions{clause}", args)
            (total,) = cur.fetchone()
            cur.execute(
                f"{self._select(SESSION_COLUMNS, 'agno_sessions')}{clause} ORDER BY {column} {order}, session_id "
                f"LIMIT {p} OFFSET {p}",
                [*args, limit, max(0, page - 1) * limit],
            )
            rows = cur.fetchall()
        return [_decode_row(SESSION_COLUMNS, r) for r in rows], int(total)

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        """One session row, or None."""
        rows = self._read(
            f"{self._select(SESSION_COLUMNS, 'agno_sessions')} WHERE session_id = {self.placeholder}", [session_id]
        )
        return _decode_row(SESSION_COLUMNS, rows[0]) if rows else None

    def get_runs(self, session_id: str) -> list[dict[str, Any]]:
        """The session's run rows ordered by run_index."""
        sql = f"{self._select(RUN_COLUMNS, 'agno_runs')} WHERE session_id = {self.placeholder} ORDER BY run_index"
        return [_decode_row(RUN_COLUMNS, r) for r in self._read(sql, [session_id])]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """One run row, or None."""
        rows = self._read(f"{self._select(RUN_COLUMNS, 'agno_runs')} WHERE run_id = {self.placeholder}", [run_id])
        return _decode_row(RUN_COLUMNS, rows[0]) if rows else None

    def all_rows(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """Every session and run row by id (for rebuild comparisons)."""
        sessions = self._read(self._select(SESSION_COLUMNS, "agno_sessions"), [])
        runs = self._read(self._select(RUN_COLUMNS, "agno_runs"), [])
        return (
            {r[0]: _decode_row(SESSION_COLUMNS, r) for r in sessions},
            {r[0]: _decode_row(RUN_COLUMNS, r) for r in runs},
        )

    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._reader_cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
