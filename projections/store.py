"""SQLite storage of the sessions view: agno's `agno_sessions` / `agno_runs` tables plus the position.

`apply` writes the rows a batch changed and the projection's consumed positions in ONE transaction
(the tracking-record pattern: view and position are atomic), so after a crash the projection resumes
exactly after the last applied record. Methods are blocking; the runner calls them in a thread.
Column names and JSON columns follow agno 3.1 (`db/sqlite/schemas.py`), so agno tooling can read them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from streams import TopicPartition

__all__ = ["RUN_COLUMNS", "SESSION_COLUMNS", "SqliteViewStore"]

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
    session_id TEXT PRIMARY KEY, session_type TEXT NOT NULL, agent_id TEXT, team_id TEXT, workflow_id TEXT,
    user_id TEXT, session_data JSON, agent_data JSON, team_data JSON, workflow_data JSON, metadata JSON,
    summary JSON, created_at BIGINT NOT NULL, updated_at BIGINT
);
CREATE INDEX IF NOT EXISTS idx_agno_sessions_type ON agno_sessions (session_type);
CREATE INDEX IF NOT EXISTS idx_agno_sessions_created ON agno_sessions (created_at);
CREATE TABLE IF NOT EXISTS agno_runs (
    run_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES agno_sessions (session_id) ON DELETE CASCADE,
    run_type TEXT NOT NULL, agent_id TEXT, team_id TEXT, workflow_id TEXT, user_id TEXT, parent_run_id TEXT,
    status TEXT, run_index BIGINT, run_data JSON NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT
);
CREATE INDEX IF NOT EXISTS agno_runs_session_id_run_index ON agno_runs (session_id, run_index);
CREATE INDEX IF NOT EXISTS idx_agno_runs_status ON agno_runs (status);
CREATE TABLE IF NOT EXISTS agnostream_positions (
    projection TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (projection, topic, partition)
);
"""


def _encode(column: str, value: Any) -> Any:
    return orjson.dumps(value).decode() if column in _JSON and value is not None else value


def _decode_row(columns: Iterable[str], row: Iterable[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in zip(columns, row, strict=True):
        out[column] = orjson.loads(value) if column in _JSON and value is not None else value
    return out


class SqliteViewStore:
    """The view database (SQLite, WAL). One writer connection (runner thread), per-thread readers."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._writer: sqlite3.Connection | None = None
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        if self._path == ":memory:":
            # One shared in-memory database for the writer and every reader (kept alive by the writer).
            uri = f"file:agnostream-views-{id(self)}?mode=memory&cache=shared"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA foreign_keys=ON")
            return conn
        Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def open(self) -> None:
        """Open the writer connection and create the tables."""
        self._writer = self._connect()
        self._writer.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the writer connection."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    @property
    def _w(self) -> sqlite3.Connection:
        assert self._writer is not None, "SqliteViewStore.open() was not called"
        return self._writer

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    # ---------------------------------------------------------------- writer side

    def positions(self, projection: str) -> dict[TopicPartition, int]:
        """The projection's next offsets per partition."""
        rows = self._w.execute(
            "SELECT topic, partition, next_offset FROM agnostream_positions WHERE projection = ?", (projection,)
        ).fetchall()
        return {TopicPartition(t, p): o for t, p, o in rows}

    def load_session(self, session_id: str) -> dict[str, Any] | None:
        """Read one session row (with `run_count`) for the writer's cache, or None."""
        row = self._w.execute(
            f"SELECT {', '.join(SESSION_COLUMNS)} FROM agno_sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        if row is None:
            return None
        session = _decode_row(SESSION_COLUMNS, row)
        (count,) = self._w.execute("SELECT COUNT(*) FROM agno_runs WHERE session_id = ?", (session_id,)).fetchone()
        session["run_count"] = count
        return session

    def load_run(self, run_id: str) -> dict[str, Any] | None:
        """Read one run row for the writer's cache, or None."""
        row = self._w.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM agno_runs WHERE run_id = ?", (run_id,)).fetchone()
        return _decode_row(RUN_COLUMNS, row) if row is not None else None

    def apply(
        self,
        projection: str,
        sessions: Iterable[dict[str, Any]],
        runs: Iterable[dict[str, Any]],
        positions: dict[TopicPartition, int],
    ) -> None:
        """Upsert changed rows and the new positions in one transaction."""
        conn = self._w
        conn.execute("BEGIN")
        try:
            for table, columns, rows in (
                ("agno_sessions", SESSION_COLUMNS, sessions),
                ("agno_runs", RUN_COLUMNS, runs),
            ):
                key = columns[0]
                sql = (
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                    f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
                )
                conn.executemany(sql, [tuple(_encode(c, r.get(c)) for c in columns) for r in rows])
            conn.executemany(
                "INSERT INTO agnostream_positions (projection, topic, partition, next_offset) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (projection, topic, partition) DO UPDATE SET next_offset = excluded.next_offset",
                [(projection, tp.topic, tp.partition, o) for tp, o in positions.items()],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

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
        where, args = [], []
        if session_type:
            where.append("session_type = ?")
            args.append(session_type)
        if component_id:
            where.append("(agent_id = ? OR team_id = ? OR workflow_id = ?)")
            args += [component_id] * 3
        if user_id:
            where.append("user_id = ?")
            args.append(user_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        column = sort_by if sort_by in ("created_at", "updated_at", "session_id") else "created_at"
        order = "ASC" if sort_order.lower() == "asc" else "DESC"
        conn = self._reader()
        (total,) = conn.execute(f"SELECT COUNT(*) FROM agno_sessions{clause}", args).fetchone()
        rows = conn.execute(
            f"SELECT {', '.join(SESSION_COLUMNS)} FROM agno_sessions{clause} ORDER BY {column} {order}, session_id "
            "LIMIT ? OFFSET ?",
            [*args, limit, max(0, page - 1) * limit],
        ).fetchall()
        return [_decode_row(SESSION_COLUMNS, r) for r in rows], int(total)

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        """One session row, or None."""
        row = (
            self._reader()
            .execute(f"SELECT {', '.join(SESSION_COLUMNS)} FROM agno_sessions WHERE session_id = ?", (session_id,))
            .fetchone()
        )
        return _decode_row(SESSION_COLUMNS, row) if row is not None else None

    def get_runs(self, session_id: str) -> list[dict[str, Any]]:
        """The session's run rows ordered by run_index."""
        rows = (
            self._reader()
            .execute(
                f"SELECT {', '.join(RUN_COLUMNS)} FROM agno_runs WHERE session_id = ? ORDER BY run_index",
                (session_id,),
            )
            .fetchall()
        )
        return [_decode_row(RUN_COLUMNS, r) for r in rows]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """One run row, or None."""
        row = (
            self._reader()
            .execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM agno_runs WHERE run_id = ?", (run_id,))
            .fetchone()
        )
        return _decode_row(RUN_COLUMNS, row) if row is not None else None

    def all_rows(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """Every session and run row by id (for rebuild comparisons)."""
        conn = self._reader()
        sessions = {
            r[0]: _decode_row(SESSION_COLUMNS, r)
            for r in conn.execute(f"SELECT {', '.join(SESSION_COLUMNS)} FROM agno_sessions").fetchall()
        }
        runs = {
            r[0]: _decode_row(RUN_COLUMNS, r)
            for r in conn.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM agno_runs").fetchall()
        }
        return sessions, runs
