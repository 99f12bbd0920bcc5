"""The sessions view in PostgreSQL, so several API server processes can serve one view.

Same tables, rows and queries as the SQLite store (`view_sql.ViewStore`), with JSONB columns as agno's
Postgres schema has them and text columns in the "C" collation (byte order, as SQLite sorts).
Connections (psycopg 3): one writer connection for the projection thread (autocommit; `apply` opens an
explicit transaction), and a `psycopg_pool.ConnectionPool` for readers, shared by the HTTP worker threads.
JSON columns are loaded as text and decoded by the shared codec, so both backends return the same dicts.

Several processes may open the same database at once: the DDL (`CREATE ... IF NOT EXISTS`, which
PostgreSQL does not make safe against a concurrent create) runs under a transaction-scoped advisory lock.
Tables live in the connection's current schema (set `options=-csearch_path=...` in the URL to choose one).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool

from .view_sql import ViewStore, schema_statements

__all__ = ["PostgresViewStore"]

_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('agnostream.view_schema'))"

Connection = psycopg.Connection[TupleRow]


def _configure(conn: Connection) -> None:
    """Hand JSON columns back as text (the shared codec decodes them with orjson, as for SQLite)."""
    conn.adapters.register_loader("jsonb", TextLoader)
    conn.adapters.register_loader("json", TextLoader)


class PostgresViewStore(ViewStore):
    """The view database in PostgreSQL.

    Args:
        url: a libpq URL or conninfo, e.g. `postgresql://user@127.0.0.1:55432/agnostream`.
        pool_size: most reader connections open at once.
    """

    placeholder = "%s"

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self._url = url
        self._pool_size = pool_size
        self._writer: Connection | None = None
        self._pool: ConnectionPool[Connection] | None = None
        self._pool_lock = threading.Lock()

    def _connect(self) -> Connection:
        conn = psycopg.connect(self._url, autocommit=True)
        _configure(conn)
        return conn

    def open(self) -> None:
        """Open the writer connection and create the tables (idempotent; safe when processes start at once)."""
        conn = self._connect()
        try:
            with conn.transaction():
                conn.execute(_SCHEMA_LOCK)
                for statement in schema_statements(json="JSONB", text='TEXT COLLATE "C"'):
                    conn.execute(statement)
        except BaseException:
            conn.close()
            raise
        if self._writer is not None:
            self._writer.close()
        self._writer = conn

    def close(self) -> None:
        """Close the writer connection and the reader pool (idempotent)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    @property
    def _w(self) -> Connection:
        if self._writer is None:
            raise self._not_opened()
        return self._writer

    def _writer_cursor(self) -> psycopg.Cursor[TupleRow]:
        return self._w.cursor()

    def _readers(self) -> ConnectionPool[Connection]:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self._url,
                    min_size=1,
                    max_size=self._pool_size,
                    kwargs={"autocommit": True},
                    configure=_configure,
                    name="agnostream-views",
                    open=True,
                )
            return self._pool

    @contextmanager
    def _reader_cursor(self) -> Iterator[psycopg.Cursor[TupleRow]]:
        with self._readers().connection() as conn, conn.cursor() as cur:
            yield cur

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[TupleRow]]:
        conn = self._w
        with conn.transaction(), conn.cursor() as cur:
            yield cur
