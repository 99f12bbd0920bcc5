"""Durable storage of the embedded log in one SQLite file (WAL).

Tables: `topics(name, partitions)`, `records(seq, topic, partition, offset, key, value, headers, timestamp_ms)`
and `offsets(group_id, topic, partition, next_offset)`. A flush writes a group of batches (records and
offset commits of many producers/transactions gathered over one event-loop tick) in ONE SQLite
transaction, so a transaction's records and offsets are durable together or not at all.

`synchronous=NORMAL` in WAL mode: a commit survives a killed process (the tests SIGKILL the server),
but the last commits may be lost on power failure; that is the embedded log's documented trade-off
for not paying a disk sync per record.

All methods are blocking. `MemoryLog` calls `write` on the event loop's thread: a commit is ~25 µs plus
~10 µs a record and never syncs the disk (WAL, `synchronous=NORMAL`), while handing it to a thread cost
several event-loop iterations and GIL hand-offs per commit, which every hop between processors waited for.
The checkpoints that copy the WAL into the file (and sync it) are not left to every commit
(`wal_autocheckpoint=0` when `autocheckpoint` is False): the log asks for them (`checkpoint`) on other
threads, so the event loop never waits for a disk sync. `read` uses a second connection (from the store
thread) and `checkpoint` a third, so a read never waits for a checkpoint.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson

from .records import Headers, Record, TopicPartition

__all__ = ["SqliteStore"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    key BLOB, value BLOB NOT NULL, headers BLOB NOT NULL, timestamp_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_by_offset ON records (topic, partition, "offset");
CREATE TABLE IF NOT EXISTS offsets (
    group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
) WITHOUT ROWID;
"""
"""`records` rows are stored in append order (`seq`, SQLite's rowid), so a flush fills the table's last
pages; the unique index finds a partition's offsets. Keyed by (topic, partition, offset) itself, a flush
inserted into one b-tree position per partition it touched and rewrote that many half-full 4 KiB pages
to the WAL: ~30 µs of CPU per record against ~11 µs now (a 10-second bench log re-written 30 records a
transaction). `_migrate` turns a file of that first layout into this one when it is opened (~20 µs a
record, once)."""


def _migrate(conn: sqlite3.Connection) -> None:
    """Rewrite a `records` table of the first layout into the current one, in one transaction.

    Another process may be migrating the same file: the layout is checked again under the write lock.
    """
    if not _first_layout(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _first_layout(conn):
            conn.execute("ALTER TABLE records RENAME TO records_first_layout")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                'INSERT INTO records (topic, partition, "offset", key, value, headers, timestamp_ms) '
                'SELECT topic, partition, "offset", key, value, headers, timestamp_ms FROM records_first_layout '
                'ORDER BY topic, partition, "offset"'
            )
            conn.execute("DROP TABLE records_first_layout")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _first_layout(conn: sqlite3.Connection) -> bool:
    columns = [row[1] for row in conn.execute("PRAGMA table_info(records)")]
    return bool(columns) and "seq" not in columns


PAGE_CACHE_KIB = 256
"""SQLite page cache, KiB (default 2000): the log appends and keeps each partition's tail in memory, and a
lagging reader's older pages come from the OS's cache; the default only held ~2 MB more of the server."""


@functools.lru_cache(maxsize=1024)  # headers repeat (record kind + schema version): encode each once
def _encode_headers(headers: Headers) -> bytes:
    return orjson.dumps([[name, value.decode("latin-1")] for name, value in headers])


def _decode_headers(raw: bytes) -> Headers:
    return tuple((name, value.encode("latin-1")) for name, value in orjson.loads(raw))


class SqliteStore:
    """The embedded log's file: opened, loaded once, then appended to by flushes.

    Args:
        path: the SQLite file.
        autocheckpoint: let SQLite checkpoint the WAL when a commit makes it exceed 1000 pages (its
            default); False leaves it to the caller (`checkpoint`).
    """

    def __init__(self, path: str | Path, *, autocheckpoint: bool = True) -> None:
        self._path = str(path)
        self._autocheckpoint = autocheckpoint
        self._conn: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._checkpointer: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        return conn

    def open(self) -> None:
        """Open (or create) the file and its tables."""
        Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        conn.execute("PRAGMA journal_mode=WAL")
        if not self._autocheckpoint:
            conn.execute("PRAGMA wal_autocheckpoint=0")
        _migrate(conn)
        conn.executescript(_SCHEMA)
        self._conn = conn

    def close(self) -> None:
        """Close the file (every connection)."""
        for conn in (self._reader, self._checkpointer, self._conn):
            if conn is not None:
                conn.close()
        self._conn = self._reader = self._checkpointer = None

    def _read_conn(self) -> sqlite3.Connection:
        if self._reader is None:
            assert self._conn is not None, "SqliteStore.open() was not called"
            self._reader = self._connect()
        return self._reader

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection."""
        assert self._conn is not None, "SqliteStore.open() was not called"
        return self._conn

    def load_topics(self) -> dict[str, int]:
        """Return {topic: partitions}."""
        return dict(self.conn.execute("SELECT name, partitions FROM topics").fetchall())

    def load_records(self) -> Iterator[Record]:
        """Yield every stored record, ordered by topic, partition and offset."""
        cursor = self.conn.execute(
            'SELECT topic, partition, "offset", key, value, headers, timestamp_ms FROM records '
            'ORDER BY topic, partition, "offset"'
        )
        for topic, partition, offset, key, value, headers, ts in cursor:
            yield Record(topic, partition, offset, key, value, _decode_headers(headers), ts)

    def load_ends(self) -> dict[TopicPartition, int]:
        """Return {tp: offset after its last stored record} for every partition holding records."""
        rows = self.conn.execute('SELECT topic, partition, MAX("offset") FROM records GROUP BY topic, partition')
        return {TopicPartition(t, p): o + 1 for t, p, o in rows}

    def read(self, tp: TopicPartition, start: int, end: int) -> list[Record]:
        """Stored records of `tp` with `start <= offset < end`, in offset order (on the read connection)."""
        cursor = self._read_conn().execute(
            'SELECT "offset", key, value, headers, timestamp_ms FROM records '
            'WHERE topic = ? AND partition = ? AND "offset" >= ? AND "offset" < ? ORDER BY "offset"',
            (tp.topic, tp.partition, start, end),
        )
        return [Record(tp.topic, tp.partition, o, k, v, _decode_headers(h), ts) for o, k, v, h, ts in cursor]

    def load_offsets(self) -> dict[tuple[str, TopicPartition], int]:
        """Return {(group_id, tp): next offset}."""
        rows = self.conn.execute("SELECT group_id, topic, partition, next_offset FROM offsets").fetchall()
        return {(g, TopicPartition(t, p)): o for g, t, p, o in rows}

    def write(
        self,
        topics: Sequence[tuple[str, int]],
        records: Sequence[Record],
        offsets: Sequence[tuple[str, TopicPartition, int]],
    ) -> None:
        """Write new topics, records and offset commits in one transaction."""
        conn = self.conn
        conn.execute("BEGIN")
        try:
            if topics:
                conn.executemany("INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)", topics)
            if records:
                conn.executemany(
                    'INSERT INTO records (topic, partition, "offset", key, value, headers, timestamp_ms) '
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (r.topic, r.partition, r.offset, r.key, r.value, _encode_headers(r.headers), r.timestamp_ms)
                        for r in records
                    ],
                )
            if offsets:
                conn.executemany(
                    "INSERT INTO offsets (group_id, topic, partition, next_offset) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = excluded.next_offset",
                    [(g, tp.topic, tp.partition, o) for g, tp, o in offsets],
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def checkpoint(self) -> int | None:
        """Copy the WAL into the file (PASSIVE, on the checkpoint's own connection: writes may go on meanwhile).

        Returns the WAL's length in frames (pages) when the pass ran, all of which it copied unless a read
        still needed them; None when it failed. When a pass copied all of the WAL, the next commit starts the
        WAL over. A failed checkpoint is logged, not raised: every commit is already durable.
        """
        try:
            if self._checkpointer is None:
                assert self._conn is not None, "SqliteStore.open() was not called"
                self._checkpointer = self._connect()
            _busy, frames, _copied = self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            logger.warning("embedded log %s: WAL checkpoint failed (tried again later): %s", self._path, exc)
            return None
        return int(frames)
