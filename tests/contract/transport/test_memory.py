"""The transport contract on the embedded MemoryLog: in memory, and durable in a SQLite file."""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from contract import DurableTransportContract, LogFactory, TransportContract, unique

from streams import LogClosedError, MemoryLog, OutRecord, Record, TopicPartition, TopicSpec
from streams._sqlite_store import SqliteStore
from streams.memory import CHECKPOINT_NICENESS, HELD_PASS_FRAMES, UNHELD_PASSES

pytestmark = pytest.mark.timeout(10)


class MemoryLogSpecifics:
    """Behaviour of the embedded log beyond the contract (both modes)."""

    async def test_send_to_an_unknown_topic_creates_it_with_the_default_partitions(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = unique("implicit")

        tp = await log.send(OutRecord(topic, b"k", b"v"))

        assert log.partitions_for(topic) == 2
        assert (await log.end_offsets([tp]))[tp] == 1

    async def test_reads_of_an_unknown_topic_are_empty(self, make_log: LogFactory) -> None:
        log = await make_log()
        tp = TopicPartition(unique("unknown"), 0)

        assert await log.read(tp, 0, 10) == []
        assert await log.end_offsets([tp]) == {tp: 0}

    async def test_closed_log_rejects_appends_and_polls(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = unique("closed")
        await log.create_topics([TopicSpec(topic, 1)])
        consumer = log.consumer([topic], group_id=unique("g"))
        await consumer.start()
        waiting = asyncio.create_task(consumer.getmany(timeout_ms=5000))
        await asyncio.sleep(0.01)

        await log.close()

        with pytest.raises(LogClosedError):
            await waiting
        with pytest.raises(LogClosedError):
            await log.send(OutRecord(topic, b"k", b"v"))

    async def test_offsets_are_dense_transactions_included(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = unique("dense")
        await log.create_topics([TopicSpec(topic, 1)])
        tp = TopicPartition(topic, 0)
        await log.send(OutRecord(topic, b"k", b"0"))
        async with log.transaction() as tx:
            tx.send(OutRecord(topic, b"k", b"1"))
            tx.send(OutRecord(topic, b"k", b"2"))
        await log.send_many([OutRecord(topic, b"k", b"3")])

        assert [(r.offset, r.value) for r in await log.read(tp, 0, 10)] == [(i, str(i).encode()) for i in range(4)]
        assert (await log.end_offsets([tp]))[tp] == 4


class TestMemoryLogInMemory(MemoryLogSpecifics, TransportContract):
    async def open_log(self, storage: Path) -> MemoryLog:
        log = MemoryLog(default_partitions=2)
        await log.start()
        return log


class TestMemoryLogDurable(MemoryLogSpecifics, DurableTransportContract):
    async def open_log(self, storage: Path) -> MemoryLog:
        log = MemoryLog(storage / "log.db", default_partitions=2)
        await log.start()
        return log

    async def test_a_record_is_durable_when_send_returns(self, make_log: LogFactory, tmp_path: Path) -> None:
        log = await make_log()
        topic = unique("durable")
        await log.create_topics([TopicSpec(topic, 1)])
        tp = TopicPartition(topic, 0)

        await log.send(OutRecord(topic, b"k", b"v", (("h", b"1"),)))

        other = MemoryLog(tmp_path / "log.db")  # a second reader of the same file, the first still open
        await other.start()
        try:
            assert [(r.offset, r.value, r.headers) for r in await other.read(tp, 0, 10)] == [(0, b"v", (("h", b"1"),))]
        finally:
            await other.close()

    async def test_a_record_is_never_visible_before_it_is_durable(self, make_log: LogFactory, tmp_path: Path) -> None:
        log = await make_log()
        topic = unique("visible")
        group = unique("g")
        await log.create_topics([TopicSpec(topic, 1)])
        tp = TopicPartition(topic, 0)
        consumer = log.consumer([topic], group_id=None)
        await consumer.start()
        consumer.assign([tp])
        store = SqliteStore(tmp_path / "log.db")
        store.open()

        async def write() -> None:
            for i in range(20):
                async with log.transaction() as tx:
                    tx.send(OutRecord(topic, b"k", str(i).encode()))
                    tx.commit_offsets(group, {tp: i + 1})

        writer = asyncio.create_task(write())
        seen = 0
        try:
            while seen < 20:
                batch = await consumer.getmany(timeout_ms=2000)
                if not batch:
                    continue
                # No await between the consumer seeing records and reading the file: they must be there.
                stored = {(r.partition, r.offset) for r in store.load_records() if r.topic == topic}
                committed = store.load_offsets().get((group, tp))
                for record in batch[tp]:
                    assert (record.partition, record.offset) in stored
                    assert committed is not None
                    assert committed >= record.offset + 1
                seen += len(batch[tp])
            await writer
        finally:
            store.close()
            await consumer.stop()

    async def test_a_failed_write_raises_and_makes_nothing_visible(self, make_log: LogFactory, tmp_path: Path) -> None:
        log = await make_log()
        topic = unique("fail")
        await log.create_topics([TopicSpec(topic, 1)])
        tp = TopicPartition(topic, 0)
        break_records_table(tmp_path / "log.db")

        with pytest.raises(sqlite3.OperationalError):
            await log.send(OutRecord(topic, b"k", b"lost"))

        assert (await log.end_offsets([tp]))[tp] == 0
        assert await log.read(tp, 0, 10) == []

    async def test_offsets_stay_dense_after_a_failed_write(self, make_log: LogFactory, tmp_path: Path) -> None:
        log = await make_log()
        topic = unique("gap")
        await log.create_topics([TopicSpec(topic, 1)])
        tp = TopicPartition(topic, 0)
        path = tmp_path / "log.db"
        break_records_table(path)
        with pytest.raises(sqlite3.OperationalError):
            await log.send(OutRecord(topic, b"k", b"lost"))
        repair_records_table(path)

        await log.send(OutRecord(topic, b"k", b"kept"))

        assert [(r.offset, r.value) for r in await log.read(tp, 0, 10)] == [(0, b"kept")]

    async def test_a_topic_created_by_a_subscription_survives_restart(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = unique("subscribed")
        consumer = log.consumer([topic], group_id=unique("g"))
        await consumer.start()
        tp = await log.send(OutRecord(topic, b"k", b"v"))
        await consumer.stop()

        log = await make_log.reopen(log)

        assert log.partitions_for(topic) == 2
        assert [r.value for r in await log.read(tp, 0, 10)] == [b"v"]


def break_records_table(path: Path) -> None:
    """Make the log's next write fail for real (its connection re-prepares and finds no `records` table)."""
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE records RENAME TO records_away")


def repair_records_table(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE records_away RENAME TO records")


class TestMemoryLogDurableTinyTail(DurableTransportContract):
    """The whole contract again with 2 records per partition in memory: reads fall back to the file."""

    async def open_log(self, storage: Path) -> MemoryLog:
        log = MemoryLog(storage / "log.db", default_partitions=2, tail=2)
        await log.start()
        return log

    async def test_memory_holds_a_bounded_tail_and_everything_stays_readable(self, make_log: LogFactory) -> None:
        log = await make_log()
        assert isinstance(log, MemoryLog)
        topic = unique("tail")
        await log.create_topics([TopicSpec(topic, 1)])
        tp = TopicPartition(topic, 0)
        for i in range(25):
            await log.send(OutRecord(topic, b"k", str(i).encode()))

        assert len(log._partition(tp).records) < 4
        assert [r.value for r in await log.read(tp, 0, 25)] == [str(i).encode() for i in range(25)]
        assert [r.offset for r in await log.read(tp, 3, 7)] == [3, 4, 5, 6]
        consumer = log.consumer([topic], group_id=unique("g"))
        await consumer.start()
        try:
            seen: list[int] = []
            while len(seen) < 25:
                batch = await consumer.getmany(timeout_ms=1000, max_records=7)
                assert batch, "a consumer behind the tail must read on from the file"
                seen += [r.offset for r in batch[tp]]
            assert seen == list(range(25))
        finally:
            await consumer.stop()


_FIRST_LAYOUT = """
CREATE TABLE topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE records (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    key BLOB, value BLOB NOT NULL, headers BLOB NOT NULL, timestamp_ms INTEGER NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
) WITHOUT ROWID;
CREATE TABLE offsets (
    group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
) WITHOUT ROWID;
INSERT INTO topics VALUES ('old', 2);
INSERT INTO records VALUES ('old', 1, 0, X'6B', X'6231', '[["h","1"]]', 5);
INSERT INTO records VALUES ('old', 0, 1, NULL, X'6132', '[]', 4);
INSERT INTO records VALUES ('old', 0, 0, X'6B', X'6131', '[]', 3);
INSERT INTO offsets VALUES ('g', 'old', 0, 2);
"""


class TestFirstLayoutFile:
    """A log file written before records were stored in append order opens with everything in it."""

    async def test_records_topics_and_offsets_survive_and_appends_go_on(self, tmp_path: Path) -> None:
        path = tmp_path / "log.db"
        with sqlite3.connect(path) as conn:
            conn.executescript(_FIRST_LAYOUT)

        log = MemoryLog(path)
        await log.start()
        try:
            p0, p1 = TopicPartition("old", 0), TopicPartition("old", 1)
            assert log.partitions_for("old") == 2
            assert [(r.offset, r.key, r.value) for r in await log.read(p0, 0, 10)] == [
                (0, b"k", b"a1"),
                (1, None, b"a2"),
            ]
            assert [(r.value, r.headers, r.timestamp_ms) for r in await log.read(p1, 0, 10)] == [
                (b"b1", (("h", b"1"),), 5)
            ]
            consumer = log.consumer(["old"], group_id="g")
            await consumer.start()
            try:
                assert await consumer.committed(p0) == 2
            finally:
                await consumer.stop()
            appended_to = await log.send(OutRecord("old", b"k", b"new"))
            new_offset = {0: 2, 1: 1}[appended_to.partition]
            assert (await log.read(appended_to, new_offset, new_offset + 1))[0].value == b"new"
        finally:
            await log.close()

        with sqlite3.connect(path) as conn:
            columns = [row[1] for row in conn.execute("PRAGMA table_info(records)")]
            rows = conn.execute('SELECT partition, "offset", value FROM records ORDER BY seq').fetchall()
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert columns[0] == "seq"
        assert rows == [(0, 0, b"a1"), (0, 1, b"a2"), (1, 0, b"b1"), (appended_to.partition, new_offset, b"new")]
        assert tables == {"topics", "records", "offsets", "log_settings"}


class Pass(NamedTuple):
    """A checkpoint pass as it started: its thread's name (without the pool's suffix) and niceness."""

    thread: str
    niceness: int


def niceness() -> int:
    """The calling thread's niceness (Linux: per thread; elsewhere 0)."""
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) if sys.platform.startswith("linux") else 0


def gate_checkpoint_passes(monkeypatch: pytest.MonkeyPatch, gates: Mapping[int, threading.Event]) -> list[Pass]:
    """Record the log's checkpoint passes (1, 2, ...) and hold pass n on its thread until `gates[n]` is set.

    Returns the passes started so far (a list the patched checkpoint appends to).
    """
    checkpoint = SqliteStore.checkpoint
    passes: list[Pass] = []

    def gated(self: SqliteStore) -> int | None:
        thread = threading.current_thread().name.rpartition("_")[0]
        passes.append(Pass(thread, niceness()))
        gate = gates.get(len(passes))
        if gate is not None:
            gate.wait(5)
        return checkpoint(self)

    monkeypatch.setattr(SqliteStore, "checkpoint", gated)
    return passes


async def passes_started(passes: list[Pass], n: int) -> None:
    """Wait until `n` checkpoint passes have started (see `gate_checkpoint_passes`)."""
    while len(passes) < n:  # noqa: ASYNC110 - the passes start on the log's threads
        await asyncio.sleep(0.001)


def file_sizes(path: Path) -> tuple[int, int]:
    """Bytes of the log's WAL and of its file."""
    return path.with_name(path.name + "-wal").stat().st_size, path.stat().st_size


class TestCheckpoints:
    """The log commits on the event loop's thread and checkpoints the WAL on its store thread, by itself."""

    @staticmethod
    async def wal_bytes_after_writing(path: Path, megabytes: int) -> tuple[int, int]:
        log = MemoryLog(path, default_partitions=4)
        await log.start()
        try:
            await log.create_topics([TopicSpec("big", 4)])
            value = b"x" * 16_384
            for i in range(megabytes * 64):
                await log.send(OutRecord("big", str(i).encode(), value))
            await asyncio.sleep(0.2)  # a checkpoint still running on the store thread
            return file_sizes(path)
        finally:
            await log.close()

    async def test_without_checkpoints_the_wal_grows_with_what_is_written(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("streams.memory.CHECKPOINT_BYTES", 1 << 40)
        wal, _file = await self.wal_bytes_after_writing(tmp_path / "log.db", 8)
        assert wal > 8_000_000  # SQLite's own automatic checkpoint is off

    async def test_checkpoints_keep_the_wal_bounded_and_move_records_into_the_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("streams.memory.CHECKPOINT_BYTES", 512 * 1024)
        monkeypatch.setattr("streams.memory.CHECKPOINT_NICENESS", 0)  # the bound, not the priority (tested below)
        wal, file = await self.wal_bytes_after_writing(tmp_path / "log.db", 32)
        # The WAL starts over after each checkpoint: it holds what was written since the last one plus what
        # came during its unheld passes (appends go on meanwhile; here they come as fast as the loop can
        # write). The file keeps its largest size: 1.5-11.3 MB over 20 runs and 17.0 MB once on a slow machine,
        # against the 32+ MB an unbounded WAL would hold here.
        assert wal < 24_000_000
        assert file > 29_000_000
        log = MemoryLog(tmp_path / "log.db", default_partitions=4)
        await log.start()
        try:
            ends = await log.end_offsets([TopicPartition("big", p) for p in range(4)])
            assert sum(ends.values()) == 32 * 64
        finally:
            await log.close()

    async def test_appends_go_on_during_a_checkpoint_and_queue_only_behind_its_second_pass(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("streams.memory.CHECKPOINT_BYTES", 1)  # every flush is followed by a checkpoint
        monkeypatch.setattr("streams.memory.UNHELD_PASSES", 1)  # pass 1 with appends going on, pass 2 holding them
        gates = [threading.Event(), threading.Event()]
        passes = gate_checkpoint_passes(monkeypatch, {1: gates[0], 2: gates[1]})
        path = tmp_path / "log.db"
        log = MemoryLog(path, default_partitions=1)
        await log.start()
        tp = TopicPartition("q", 0)
        try:
            await log.create_topics([TopicSpec("q", 1)])
            await log.send(OutRecord("q", b"k", b"0"))
            await asyncio.wait_for(passes_started(passes, 1), 2)  # the first pass runs (held by its gate) ...
            await asyncio.wait_for(log.send(OutRecord("q", b"k", b"1")), 2)  # ... and appends go on
            gates[0].set()
            await asyncio.wait_for(passes_started(passes, 2), 2)  # the second pass runs: appends queue
            queued = [asyncio.ensure_future(log.send(OutRecord("q", b"k", str(i).encode()))) for i in (2, 3)]
            await asyncio.sleep(0.05)
            assert not any(q.done() for q in queued)
            assert (await log.end_offsets([tp]))[tp] == 2
            gates[1].set()  # without another append, the queued ones are written when it is done
            await asyncio.wait_for(asyncio.gather(*queued), 2)
            assert [(r.offset, r.value) for r in await log.read(tp, 0, 10)] == [(i, str(i).encode()) for i in range(4)]
            assert [p.thread for p in passes[:2]] == ["memorylog-checkpoint", "memorylog-store"]
        finally:
            for gate in gates:
                gate.set()
            await log.close()
        reopened = MemoryLog(path, default_partitions=1)
        await reopened.start()
        try:
            assert [r.value for r in await reopened.read(tp, 0, 10)] == [b"0", b"1", b"2", b"3"]
        finally:
            await reopened.close()

    @pytest.mark.parametrize(("held_pass_frames", "unheld"), [(10**9, 2), (0, 3)])
    async def test_passes_go_on_at_lower_priority_until_few_frames_came_and_only_the_last_holds_appends(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held_pass_frames: int, unheld: int
    ) -> None:
        # Each unheld pass copies what came during the one before. With HELD_PASS_FRAMES 10**9 the second
        # finds fewer new frames than that, so the next pass holds appends. With 0 none finds fewer, and the
        # third finds no more than the second had to copy (nothing): the passes stop catching up, so the next
        # pass holds appends.
        monkeypatch.setattr("streams.memory.CHECKPOINT_BYTES", 1)
        monkeypatch.setattr("streams.memory.HELD_PASS_FRAMES", held_pass_frames)
        monkeypatch.setattr("streams.memory.UNHELD_PASSES", 3)
        first = threading.Event()
        passes = gate_checkpoint_passes(monkeypatch, {1: first})
        log = MemoryLog(tmp_path / "log.db", default_partitions=1)
        await log.start()
        try:
            await log.create_topics([TopicSpec("w", 1)])
            await log.send(OutRecord("w", b"k", b"x"))
            await asyncio.wait_for(passes_started(passes, 1), 2)
            for _ in range(20):  # frames for the first pass to copy, appended while it waits
                await asyncio.wait_for(log.send(OutRecord("w", b"k", b"y" * 4096)), 2)
            first.set()
            await asyncio.wait_for(passes_started(passes, unheld + 1), 2)
        finally:
            first.set()
            await log.close()

        base = niceness()
        lowered = max(CHECKPOINT_NICENESS, base) if sys.platform.startswith("linux") else base
        assert passes == [Pass("memorylog-checkpoint", lowered)] * unheld + [Pass("memorylog-store", base)]

    @pytest.mark.parametrize(
        ("frames", "passes"),
        [
            ((10_000, 11_000, 11_100), 3),  # each pass found fewer new frames; the third fewer than 512
            ((10_000, 15_000, 18_000, 19_000), 3),  # still catching up after UNHELD_PASSES (3)
            ((10_000, 20_001), 2),  # more came during the first pass than it copied: appends outpace the copy
            ((10_000, 300), 2),  # the WAL started over (a pass had copied all of it)
            ((None,), 1),  # a failed pass
            ((10_000, None), 2),
        ],
    )
    async def test_unheld_passes_go_on_while_they_catch_up_with_the_appends(
        self, frames: tuple[int | None, ...], passes: int
    ) -> None:
        reported = iter(frames)
        calls = 0

        async def run_pass() -> int | None:
            nonlocal calls
            calls += 1
            return next(reported)

        await MemoryLog._unheld_passes(run_pass)

        assert (calls, UNHELD_PASSES, HELD_PASS_FRAMES) == (passes, 3, 512)

    def test_a_checkpoint_reports_the_frames_of_the_wal_it_copied(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "log.db", autocheckpoint=False)
        store.open()
        try:
            records = [Record("t", 0, i, b"k", b"v" * 8192, (), 0) for i in range(4)]
            store.write([("t", 1)], records, [])
            frames = store.checkpoint()
            assert frames is not None
            assert frames >= 8  # each 8 KiB value fills at least two 4 KiB pages
            assert store.checkpoint() == frames  # nothing written since: the WAL is unchanged
            store.write([], [Record("t", 0, 4, b"k", b"v", (), 0)], [])
            after = store.checkpoint()
            assert after is not None
            assert after < frames  # the WAL started over after the complete checkpoint
        finally:
            store.close()

    async def test_a_failed_checkpoint_is_logged_and_appends_go_on(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "log.db"
        log = MemoryLog(path, default_partitions=1)
        await log.start()
        tp = TopicPartition("c", 0)
        try:
            await log.create_topics([TopicSpec("c", 1)])
            store = log._store
            assert store is not None
            broken = sqlite3.connect(":memory:")
            broken.close()
            store._checkpointer = broken  # the checkpoint's connection fails
            monkeypatch.setattr("streams.memory.CHECKPOINT_BYTES", 1)
            with caplog.at_level("WARNING", logger="streams._sqlite_store"):
                for value in (b"a", b"b", b"c"):
                    await log.send(OutRecord("c", b"k", value))
                    await asyncio.sleep(0.02)
            assert "WAL checkpoint failed" in caplog.text
            assert [r.value for r in await log.read(tp, 0, 10)] == [b"a", b"b", b"c"]
            store._checkpointer = None
        finally:
            await log.close()

    async def test_close_during_a_checkpoint_waits_for_it_and_for_the_appends_queued_behind_it(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("streams.memory.CHECKPOINT_BYTES", 1)  # every flush is followed by a checkpoint
        monkeypatch.setattr("streams.memory.UNHELD_PASSES", 1)
        second_pass = threading.Event()  # appends made while it is held queue behind it
        passes = gate_checkpoint_passes(monkeypatch, {2: second_pass})
        loop_errors: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: loop_errors.append(context))
        path = tmp_path / "log.db"
        log = MemoryLog(path, default_partitions=1)
        await log.start()
        await log.create_topics([TopicSpec("z", 1)])
        await log.send(OutRecord("z", b"k", b"0"))
        await asyncio.wait_for(passes_started(passes, 2), 2)
        queued = asyncio.ensure_future(log.send(OutRecord("z", b"k", b"1")))
        closing = asyncio.ensure_future(log.close())
        await asyncio.sleep(0.02)
        assert not closing.done()
        second_pass.set()  # its end writes "1"
        await asyncio.wait_for(asyncio.gather(queued, closing), 5)
        gc.collect()
        await asyncio.sleep(0.01)

        assert len(passes) == 2
        assert loop_errors == []  # no checkpoint task outlived the log
        reopened = MemoryLog(path, default_partitions=1)
        await reopened.start()
        try:
            assert [r.value for r in await reopened.read(TopicPartition("z", 0), 0, 10)] == [b"0", b"1"]
        finally:
            await reopened.close()
