"""The sessions view stores: SQLite (embedded default) and the choice between it and PostgreSQL.

`make_view_store` picks the backend from one setting: a `postgresql://` URL selects `PostgresViewStore`
(several API servers share one view), anything else is the path of a SQLite file (or `:memory:`).
Both run the queries of `view_sql.ViewStore`; this module holds only SQLite's connection handling.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .view_sql import ViewStore, schema_statements

__all__ = ["SqliteViewStore", "make_view_store"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def make_view_store(target: str | Path) -> ViewStore:
    """The view store for `target`: a `postgresql://` (or `postgres://`) URL, else a SQLite file path.

    The store is not opened yet (the projection opens it).
    """
    if isinstance(target, str) and target.startswith(_POSTGRES_SCHEMES):
        from .postgres_store import PostgresViewStore  # psycopg only where PostgreSQL is configured

        return PostgresViewStore(target)
    return SqliteViewStore(target)


PAGE_CACHE_KIB = 256
"""SQLite page cache per connection, KiB (SQLite's default is 2000). The runner keeps the rows it folds in
Python and the OS keeps the file's pages, so a bigger cache only held memory: at 2000 KiB per connection
(the writer and each reader thread) the benchmark server peaked ~3 MB higher with no change in speed."""


class SqliteViewStore(ViewStore):
    """The view database in SQLite (WAL). One writer connection (runner thread), per-thread readers."""

    placeholder = "?"

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
        conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None, timeout=10.0)
        # Switching to WAL needs a moment alone with the file and SQLite does not wait for it (no busy
        # handler), so processes opening one new view at once retry.
        deadline = time.monotonic() + 10.0
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        return conn

    def open(self) -> None:
        """Open the writer connection and create the tables (again: a fresh writer connection)."""
        self.close()
        self._writer = self._connect()
        with self._transaction() as cur:
            for statement in schema_statements(json="JSON", text="TEXT"):
                cur.execute(statement, ())

    def close(self) -> None:
        """Close the writer connection."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    @property
    def _w(self) -> sqlite3.Connection:
        if self._writer is None:
            raise self._not_opened()
        return self._writer

    def _writer_cursor(self) -> sqlite3.Cursor:
        return self._w.cursor()

    @contextmanager
    def _reader_cursor(self) -> Iterator[sqlite3.Cursor]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        yield conn.cursor()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        conn = self._w
        # IMMEDIATE takes the write lock up front: a second writer process waits (busy timeout) instead of
        # failing to upgrade a read transaction.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn.cursor()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
