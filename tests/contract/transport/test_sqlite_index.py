"""The embedded log file's sparse index: any range of any partition reads back exactly, across reopening,
failed writes and files of the full-index layout.

The index's spacing is shrunk (every 4th offset, or after 8 rows) so that small files cross every case: a
busy partition indexed by its offsets, a rare one indexed by the row gap, one that stopped long ago, ranges
that end past a partition's last indexed row.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

import streams._sqlite_store as sqlite_store
from streams import Record, TopicPartition
from streams._sqlite_store import SqliteStore

pytestmark = pytest.mark.timeout(30)

TOPICS = [("busy", 2), ("rare", 3)]


@pytest.fixture
def small_spacing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store, "INDEX_EVERY", 4)
    monkeypatch.setattr(sqlite_store, "INDEX_GAP", 8)


def append(store: SqliteStore, ends: dict[TopicPartition, int], rng: random.Random, commits: int) -> None:
    """Commits of 1-6 records: "busy" gets most, "rare" partition 0 about one row in 30, "rare" partition 2
    only in the first 20 commits of a file."""
    for _ in range(commits):
        records = []
        for _ in range(rng.randint(1, 6)):
            roll = rng.random()
            if roll < 1 / 30:
                tp = TopicPartition("rare", 0)
            elif roll < 0.1 and sum(ends.values()) < 60:
                tp = TopicPartition("rare", 2)
            else:
                tp = TopicPartition("busy", rng.randrange(2))
            offset = ends.get(tp, 0)
            ends[tp] = offset + 1
            records.append(Record(tp.topic, tp.partition, offset, None, f"{tp}:{offset}".encode(), (), 0))
        store.write(TOPICS, records, [])


def assert_reads_exact(store: SqliteStore, ends: dict[TopicPartition, int]) -> None:
    assert store.load_ends() == ends
    for tp, end in ends.items():
        for start in range(end + 2):
            for stop in sorted({start, start + 1, start + 3, start + 7, start + 17, end - 1, end, end + 2}):
                got = [(r.offset, r.value) for r in store.read(tp, start, stop)]
                want = [(o, f"{tp}:{o}".encode()) for o in range(start, min(stop, end))]
                assert got == want, (tp, start, stop)


def assert_index_invariant(path: Path, every: int, gap: int, *, after_seq: int = 0) -> None:
    """Rows after `after_seq` are indexed exactly when their offset is a multiple of `every` or they lie more
    than `gap` rows after their partition's previous indexed row; so an unindexed row lies within `gap` rows
    of one (what `read` and `load_ends` rely on). Seqs are dense from 1."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute('SELECT seq, topic, partition, "offset", indexed FROM records ORDER BY seq').fetchall()
    seqs = [row[0] for row in rows]
    assert seqs == list(range(1, len(rows) + 1))
    last: dict[tuple[str, int], int] = {}
    for seq, topic, partition, offset, indexed in rows:
        previous = last.get((topic, partition))
        if seq > after_seq:
            expected = offset % every == 0 or previous is None or seq - previous > gap
            assert indexed == expected, (topic, partition, offset)
        if indexed:
            last[(topic, partition)] = seq
        else:
            assert previous is not None, (topic, partition, offset)
            assert seq - previous <= gap, (topic, partition, offset)


@pytest.mark.usefixtures("small_spacing")
class TestSparseIndex:
    def test_every_range_reads_back_exactly_and_only_some_rows_are_indexed(self, tmp_path: Path) -> None:
        path = tmp_path / "log.db"
        store = SqliteStore(path)
        store.open()
        ends: dict[TopicPartition, int] = {}
        try:
            append(store, ends, random.Random(7), 120)
            assert_reads_exact(store, ends)
        finally:
            store.close()

        assert_index_invariant(path, 4, 8)
        with sqlite3.connect(path) as conn:
            busy = conn.execute("SELECT COUNT(*), SUM(indexed) FROM records WHERE topic = 'busy'").fetchone()
            rare = conn.execute(
                "SELECT COUNT(*), SUM(indexed) FROM records WHERE topic = 'rare' AND partition = 0"
            ).fetchone()
        assert busy[1] < busy[0] / 3  # mostly every 4th offset
        assert rare[1] > rare[0] / 2  # mostly by the gap since the one before

    def test_a_reopened_file_reads_exactly_and_appends_go_on_from_its_state(self, tmp_path: Path) -> None:
        path = tmp_path / "log.db"
        ends: dict[TopicPartition, int] = {}
        rng = random.Random(11)
        for _ in range(3):
            store = SqliteStore(path)
            store.open()
            try:
                assert_reads_exact(store, ends)
                append(store, ends, rng, 40)
            finally:
                store.close()
        store = SqliteStore(path)
        store.open()
        try:
            assert_reads_exact(store, ends)
        finally:
            store.close()
        assert_index_invariant(path, 4, 8)

    def test_a_file_keeps_the_spacing_it_was_written_with(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "log.db"
        ends: dict[TopicPartition, int] = {}
        rng = random.Random(3)
        store = SqliteStore(path)
        store.open()
        append(store, ends, rng, 60)
        store.close()
        monkeypatch.setattr(sqlite_store, "INDEX_EVERY", 32)
        monkeypatch.setattr(sqlite_store, "INDEX_GAP", 2048)

        store = SqliteStore(path)
        store.open()
        try:
            assert_reads_exact(store, ends)
            append(store, ends, rng, 60)
            assert_reads_exact(store, ends)
        finally:
            store.close()
        assert_index_invariant(path, 4, 8)

    def test_a_scan_reads_a_topic_in_append_order_in_chunks(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "log.db")
        store.open()
        ends: dict[TopicPartition, int] = {}
        try:
            append(store, ends, random.Random(9), 50)
            chunks = list(store.scan("busy", [1], chunk=7))
            everything = [r for chunk in store.scan("rare") for r in chunk]
        finally:
            store.close()

        assert all(len(chunk) <= 7 for chunk in chunks)
        assert [(r.partition, r.offset) for chunk in chunks for r in chunk] == [
            (1, o) for o in range(ends[TopicPartition("busy", 1)])
        ]
        with sqlite3.connect(tmp_path / "log.db") as conn:
            in_order = conn.execute("SELECT partition, \"offset\" FROM records WHERE topic = 'rare' ORDER BY seq")
            assert [(r.partition, r.offset) for r in everything] == list(in_order)
        assert {r.value for r in everything} == {
            f"{TopicPartition('rare', r.partition)}:{r.offset}".encode() for r in everything
        }

    def test_a_failed_write_leaves_the_index_state_as_it_was(self, tmp_path: Path) -> None:
        path = tmp_path / "log.db"
        ends: dict[TopicPartition, int] = {}
        rng = random.Random(5)
        store = SqliteStore(path)
        store.open()
        try:
            append(store, ends, rng, 30)
            lost = [Record("rare", 0, ends.get(TopicPartition("rare", 0), 0), None, b"lost", (), 0)]
            with sqlite3.connect(path) as conn:
                conn.execute("DROP TABLE offsets")
            with pytest.raises(sqlite3.OperationalError):
                store.write([], lost, [("g", TopicPartition("rare", 0), 1)])
            with sqlite3.connect(path) as conn:
                conn.execute(
                    "CREATE TABLE offsets (group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, "
                    "next_offset INTEGER NOT NULL, PRIMARY KEY (group_id, topic, partition)) WITHOUT ROWID"
                )
            append(store, ends, rng, 30)
            assert_reads_exact(store, ends)
        finally:
            store.close()
        assert_index_invariant(path, 4, 8)


_FULL_INDEX_LAYOUT = """
CREATE TABLE topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    key BLOB, value BLOB NOT NULL, headers BLOB NOT NULL, timestamp_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX records_by_offset ON records (topic, partition, "offset");
CREATE TABLE offsets (
    group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
) WITHOUT ROWID;
"""


@pytest.mark.usefixtures("small_spacing")
class TestFullIndexLayoutFile:
    """A file of the layout before the sparse index: its rows stay indexed, new ones are indexed sparsely."""

    def test_old_rows_read_back_and_appends_go_on_sparsely(self, tmp_path: Path) -> None:
        path = tmp_path / "log.db"
        ends = {TopicPartition("busy", 0): 30, TopicPartition("rare", 1): 3}
        with sqlite3.connect(path) as conn:
            conn.executescript(_FULL_INDEX_LAYOUT)
            conn.executemany("INSERT INTO topics VALUES (?, ?)", TOPICS)
            old = [(tp.topic, tp.partition, o) for tp, end in ends.items() for o in range(end)]
            random.Random(1).shuffle(old)  # interleaved, each partition in offset order
            old.sort(key=lambda row: (row[2], row[0]))
            conn.executemany(
                'INSERT INTO records (topic, partition, "offset", key, value, headers, timestamp_ms) '
                "VALUES (?, ?, ?, NULL, ?, '[]', 0)",
                [(t, p, o, f"{TopicPartition(t, p)}:{o}".encode()) for t, p, o in old],
            )
            conn.execute("INSERT INTO offsets VALUES ('g', 'busy', 0, 12)")

        store = SqliteStore(path)
        store.open()
        try:
            assert_reads_exact(store, ends)
            assert store.load_offsets() == {("g", TopicPartition("busy", 0)): 12}
            append(store, ends, random.Random(2), 60)
            assert_reads_exact(store, ends)
        finally:
            store.close()

        with sqlite3.connect(path) as conn:
            indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
            old_indexed = conn.execute("SELECT SUM(indexed) FROM records WHERE seq <= 33").fetchone()[0]
            new_rows, new_indexed = conn.execute("SELECT COUNT(*), SUM(indexed) FROM records WHERE seq > 33").fetchone()
        assert "records_by_offset" not in indexes
        assert "records_indexed" in indexes
        assert old_indexed == 33
        assert new_indexed < new_rows
        assert_index_invariant(path, 4, 8, after_seq=33)


@pytest.mark.usefixtures("small_spacing")
class TestReadCost:
    """A read scans its range's rows and a few around them, however long its partition was idle."""

    @staticmethod
    def steps(store: SqliteStore, tp: TopicPartition, start: int, end: int) -> tuple[list[int], int]:
        """The read's offsets and the SQLite VM instructions it took (in hundreds)."""
        count = 0

        def tick() -> int:
            nonlocal count
            count += 1
            return 0

        conn = store._read_conn()
        conn.set_progress_handler(tick, 100)
        try:
            offsets = [r.offset for r in store.read(tp, start, end)]
        finally:
            conn.set_progress_handler(None, 100)
        return offsets, count

    def test_a_range_of_a_partition_idle_for_thousands_of_rows_scans_only_near_it(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "log.db")
        store.open()
        rare = TopicPartition("rare", 0)
        ends: dict[TopicPartition, int] = {}

        def write(tp: TopicPartition, n: int) -> None:
            for _ in range(n):
                offset = ends.get(tp, 0)
                ends[tp] = offset + 1
                store.write(TOPICS, [Record(tp.topic, tp.partition, offset, None, b"v" * 100, (), 0)], [])

        try:
            write(rare, 3)  # offsets 0-2: only 0 is indexed
            write(TopicPartition("busy", 0), 3000)
            write(rare, 2)  # offset 3 (by the gap) and 4 (the next multiple of 4) are indexed
            write(TopicPartition("busy", 0), 3000)

            middle, middle_steps = self.steps(store, rare, 1, 3)
            last, last_steps = self.steps(store, rare, 3, 5)
            busy, busy_steps = self.steps(store, TopicPartition("busy", 0), 1000, 2000)
        finally:
            store.close()

        assert (middle, last) == ([1, 2], [3, 4])
        assert busy == list(range(1000, 2000))
        # Reading 1000 rows of "busy" takes ~busy_steps; 2 rows of "rare" must not scan the 3000 between them.
        assert middle_steps < busy_steps / 20
        assert last_steps < busy_steps / 20
