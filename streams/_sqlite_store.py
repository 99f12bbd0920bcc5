"""Durable storage of the embedded log in one SQLite file (WAL).

Tables: `topics(name, partitions)`, `records(seq, topic, partition, offset, key, value, headers, timestamp_ms,
indexed)`, `offsets(group_id, topic, partition, next_offset)` and `log_settings(name, value)`. A flush writes
a group of batches (records and offset commits of many producers/transactions gathered over one event-loop
tick) in ONE SQLite transaction, so a transaction's records and offsets are durable together or not at all.

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
from collections.abc import Collection, Generator, Iterator, Sequence
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
    key BLOB, value BLOB NOT NULL, headers BLOB NOT NULL, timestamp_ms INTEGER NOT NULL,
    indexed INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX IF NOT EXISTS records_indexed ON records (topic, partition, "offset") WHERE indexed = 1;
CREATE TABLE IF NOT EXISTS offsets (
    group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_settings (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"""
"""`records` rows are stored in append order (`seq`, SQLite's rowid, assigned by the store), so a flush fills
the table's last pages. A sparse index finds a partition's offsets: a row is `indexed` when its offset is a
multiple of `INDEX_EVERY`, or when more than `INDEX_GAP` rows were appended since its partition's last
indexed row. So every unindexed row lies within `INDEX_GAP` rows after its partition's previous indexed
row: a read scans from the indexed row before its range to at most `INDEX_GAP` rows past it (see `read`),
and a partition's end is found within `INDEX_GAP` rows of its last indexed row (`load_ends`).

An index of every offset put one b-tree position per partition a flush touched into the index and rewrote
that many 4 KiB pages to the WAL. A microbenchmark of `write` with the benchmark server's traffic (300,000
records of ~700 bytes over 5 topics of 12 partitions, 9 records a commit): 77 µs and 15.7 WAL frames a
commit with every offset indexed, 48-53 µs and 6.3 frames with this index; in the server the index pages
were ~45 % of the log's CPU. Reads pay for it: a whole run-events partition (20,000 records) 78 -> 134 ms,
a whole partition of a topic with 0.3 % of the rows (960 records) 6 -> 75 ms, 40 records of a run-events
partition 0.08 -> 0.2 ms and of the small topic 0.08 -> 2.3 ms; `load_ends` 21 -> 9 ms.

Keyed by (topic, partition, offset) itself, the first layout inserted every record into one b-tree
position per partition (~30 µs of CPU per record against ~11 µs in append order). `_migrate` turns a file
of that layout, or of the full-index layout after it, into this one when it is opened."""

INDEX_EVERY = 32
"""Offsets that are multiples of this are indexed (see `_SCHEMA`)."""

INDEX_GAP = 2048
"""A record more than this many rows after its partition's last indexed one is indexed; a read scans up to
~2 x this many rows around its range (~1.4 MB of the benchmark's records, ~1 ms)."""


def _migrate(conn: sqlite3.Connection) -> None:
    """Turn a file of an earlier layout into the current one, in one transaction.

    First layout (keyed by topic, partition, offset): the records are rewritten in that order. Full-index
    layout (every offset indexed): an `indexed` column is added that reads 1 for every existing row, so
    the new index holds all of them, and the old index is dropped. Another process may be migrating the same
    file: the layout is checked again under the write lock.
    """
    if _layout(conn) not in ("first", "full index"):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        layout = _layout(conn)
        if layout == "first":
            conn.execute("ALTER TABLE records RENAME TO records_first_layout")
            _create_tables(conn)
            conn.execute(
                'INSERT INTO records (topic, partition, "offset", key, value, headers, timestamp_ms) '
                'SELECT topic, partition, "offset", key, value, headers, timestamp_ms FROM records_first_layout '
                'ORDER BY topic, partition, "offset"'
            )
            conn.execute("DROP TABLE records_first_layout")
        elif layout == "full index":
            conn.execute("ALTER TABLE records ADD COLUMN indexed INTEGER NOT NULL DEFAULT 1")
            _create_tables(conn)
            conn.execute("DROP INDEX IF EXISTS records_by_offset")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _layout(conn: sqlite3.Connection) -> str | None:
    """The `records` table's layout: None (no table yet), "first", "full index" or "current"."""
    columns = [row[1] for row in conn.execute("PRAGMA table_info(records)")]
    if not columns:
        return None
    if "seq" not in columns:
        return "first"
    return "current" if "indexed" in columns else "full index"


def _create_tables(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


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
        self._every = INDEX_EVERY
        self._gap = INDEX_GAP
        """The file's own `INDEX_EVERY` and `INDEX_GAP` (table `log_settings`): reads rely on what it was
        written with."""
        self._next_seq = 1
        self._last_indexed: dict[tuple[str, int], int] = {}
        """(topic, partition) -> seq of its last indexed row (the writer's state, see `_SCHEMA`)."""

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
        conn.executemany(
            "INSERT OR IGNORE INTO log_settings (name, value) VALUES (?, ?)",
            [("index_every", INDEX_EVERY), ("index_gap", INDEX_GAP)],
        )
        settings = dict(conn.execute("SELECT name, value FROM log_settings").fetchall())
        self._every, self._gap = int(settings["index_every"]), int(settings["index_gap"])
        self._next_seq = int(conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM records").fetchone()[0])
        self._last_indexed = {}
        for topic, partitions in conn.execute("SELECT name, partitions FROM topics").fetchall():
            for partition in range(partitions):
                row = conn.execute(
                    "SELECT seq FROM records WHERE topic = ? AND partition = ? AND indexed = 1 "
                    'ORDER BY "offset" DESC LIMIT 1',
                    (topic, partition),
                ).fetchone()
                if row is not None:
                    self._last_indexed[(topic, partition)] = row[0]
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
        """Return {tp: offset after its last stored record} for every partition holding records.

        A partition's records after its last indexed row lie within `INDEX_GAP` rows of it: one short scan
        each.
        """
        ends = {}
        for (topic, partition), seq in self._last_indexed.items():
            (last,) = self.conn.execute(
                'SELECT MAX("offset") FROM records WHERE seq >= ? AND seq <= ? AND topic = ? AND partition = ?',
                (seq, seq + self._gap, topic, partition),
            ).fetchone()
            ends[TopicPartition(topic, partition)] = last + 1
        return ends

    def read(self, tp: TopicPartition, start: int, end: int) -> list[Record]:
        """Stored records of `tp` with `start <= offset < end`, in offset order (on the read connection).

        Scans from the partition's last indexed row at or below `start` to its first indexed row at or above
        `end`, but no further than `INDEX_GAP` rows past its last indexed row below `end` (a partition's rows
        are in offset order): the range's rows plus at most ~2 x `INDEX_GAP`, however long the partition was
        idle. One statement, so one snapshot of the file; the upper bound is one expression, the rowid range's end.
        """
        cursor = self._read_conn().execute(
            'SELECT "offset", key, value, headers, timestamp_ms FROM records '
            "WHERE seq >= (SELECT seq FROM records WHERE topic = ?1 AND partition = ?2 AND indexed = 1 "
            '    AND "offset" <= ?3 ORDER BY "offset" DESC LIMIT 1) '
            "AND seq <= min("
            "    (SELECT seq + ?5 FROM records WHERE topic = ?1 AND partition = ?2 AND indexed = 1 "
            '        AND "offset" < ?4 ORDER BY "offset" DESC LIMIT 1), '
            "    COALESCE((SELECT seq FROM records WHERE topic = ?1 AND partition = ?2 AND indexed = 1 "
            '        AND "offset" >= ?4 ORDER BY "offset" LIMIT 1), 9223372036854775807)) '
            'AND topic = ?1 AND partition = ?2 AND "offset" >= ?3 AND "offset" < ?4 ORDER BY seq',
            (tp.topic, tp.partition, start, end, self._gap),
        )
        return [Record(tp.topic, tp.partition, o, k, v, _decode_headers(h), ts) for o, k, v, h, ts in cursor]

    def scan(
        self, topic: str, partitions: Collection[int] | None = None, chunk: int = 10_000
    ) -> Generator[list[Record], None, None]:
        """Stored records of `topic` (of `partitions`, or all) in append order, `chunk` at a time.

        So each partition's come in offset order. One pass over the file, on a connection of its own (one
        snapshot), where reading partition by partition would scan it once per partition (see `_SCHEMA`).
        """
        conn = self._connect()
        try:
            cursor = conn.execute(
                'SELECT partition, "offset", key, value, headers, timestamp_ms FROM records WHERE topic = ? '
                "ORDER BY seq",
                (topic,),
            )
            wanted = None if partitions is None else frozenset(partitions)
            while rows := cursor.fetchmany(chunk):
                yield [
                    Record(topic, p, o, k, v, _decode_headers(h), ts)
                    for p, o, k, v, h, ts in rows
                    if wanted is None or p in wanted
                ]
        finally:
            conn.close()

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
        """Write new topics, records and offset commits in one transaction.

        `records` of a partition come in offset order. Raises `sqlite3.Error` when the transaction fails;
        then nothing of it is written, and the store's own state (next seq, last indexed rows) is as before.
        """
        conn = self.conn
        seq, every, gap = self._next_seq, self._every, self._gap
        last_indexed = self._last_indexed
        indexed: dict[tuple[str, int], int] = {}
        rows = []
        for r in records:
            key = (r.topic, r.partition)
            last = indexed.get(key) or last_indexed.get(key)
            flag = r.offset % every == 0 or last is None or seq - last > gap
            if flag:
                indexed[key] = seq
            rows.append(
                (seq, r.topic, r.partition, r.offset, r.key, r.value, _encode_headers(r.headers), r.timestamp_ms, flag)
            )
            seq += 1
        conn.execute("BEGIN")
        try:
            if topics:
                conn.executemany("INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)", topics)
            if rows:
                conn.executemany(
                    'INSERT INTO records (seq, topic, partition, "offset", key, value, headers, timestamp_ms, indexed) '
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
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
        self._next_seq = seq
        last_indexed.update(indexed)

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
