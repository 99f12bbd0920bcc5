"""The embedded log: Kafka semantics in one process, optionally durable in a SQLite file.

`MemoryLog` implements `streams.transport.Log`: partitioned topics (Kafka's murmur2 partitioner),
per-partition offsets, consumer groups with committed offsets and rebalancing, manual assignment with
seek, and transactions whose records and offset commits become visible together.

Durability (when `path` is given): appends are gathered over one event-loop tick and written in one SQLite
transaction (group commit) on the event loop's thread; every `CHECKPOINT_BYTES` a WAL checkpoint runs on
a thread of lower priority (appends wait only for its short last pass), and reads from the file run on the
store's thread. A record becomes visible to consumers only after its write committed, so nothing a consumer
acted on can vanish in a crash.

Memory (when `path` is given): only the newest `tail` records of each partition stay in memory; older
ones are read back from the file (by lagging consumers, rebuilds, replays), so the process does not
grow with the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ._sqlite_store import SqliteStore
from .errors import CommitFailedError, LogClosedError, TopicMismatchError
from .partitioner import partition_for
from .records import Record, TopicPartition
from .transport import Consumer, OutRecord, RebalanceCallback, TopicSpec

__all__ = ["CHECKPOINT_BYTES", "MemoryLog"]

CHECKPOINT_BYTES = 4 * 1024 * 1024
"""Record bytes committed between the starts of two WAL checkpoints. SQLite's own automatic checkpoint, which
the log turns off (it would sync the disk on the event loop's thread), runs at 1000 WAL pages (4 MiB of 4 KiB
pages)."""

CHECKPOINT_NICENESS = 10
"""Niceness of the thread that copies the WAL into the file (Linux, where niceness is per thread). On the core
the event loop kept busy in the benchmark, the copy at the loop's own priority (~24 ms of CPU a second, ~65 ms
a pass) made a 2 ms sleep of the loop wake 5.8 ms late at p50 instead of 0.3, and every hop of a run waited
meanwhile; at 10 it woke 1.8 ms late. The thread still gets all of an idle core."""

UNHELD_PASSES = 3
"""Checkpoint passes at most that run while appends go on, before the one that holds them (see `_checkpoint`)."""

HELD_PASS_FRAMES = 512
"""WAL frames (pages) appended during an unheld pass below which the next pass holds appends: a pass copies
~7 µs a frame on an idle core, so the held pass takes a few ms."""


def _lower_priority() -> None:
    """Run the calling thread at `CHECKPOINT_NICENESS` (Linux only: elsewhere niceness is per process)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECKPOINT_NICENESS)


@dataclass(slots=True)
class _Batch:
    topics: list[tuple[str, int]]
    records: list[Record]
    offsets: list[tuple[str, TopicPartition, int]]
    done: asyncio.Future[None]


@dataclass(slots=True)
class _Partition:
    """A partition's records: those from offset `base` on are in memory, older ones only in the file."""

    base: int = 0
    records: list[Record] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.base + len(self.records)

    def in_memory(self, start: int, end: int) -> list[Record]:
        return self.records[max(start, self.base) - self.base : max(end, self.base) - self.base]

    def trim(self, keep: int) -> None:
        drop = len(self.records) - keep
        if drop > 0:
            del self.records[:drop]
            self.base += drop


@dataclass(slots=True)
class _MemoryTransaction:
    records: list[OutRecord] = field(default_factory=list)
    offsets: list[tuple[str, TopicPartition, int]] = field(default_factory=list)

    def send(self, record: OutRecord) -> None:
        self.records.append(record)

    def commit_offsets(self, group_id: str, offsets: Mapping[TopicPartition, int]) -> None:
        self.offsets.extend((group_id, tp, o) for tp, o in offsets.items())


def _joined(batches: list[_Batch]) -> tuple[list[tuple[str, int]], list[Record], list[tuple[str, TopicPartition, int]]]:
    """The topics, records and offset commits of `batches`, in order."""
    return (
        [t for b in batches for t in b.topics],
        [r for b in batches for r in b.records],
        [o for b in batches for o in b.offsets],
    )


class MemoryLog:
    """The embedded log (see module docstring).

    Args:
        path: SQLite file for durability, or None for a purely in-memory log.
        default_partitions: partitions of a topic created implicitly by a first append.
        tail: records per partition kept in memory when `path` is given (older ones are read from the file).
            32 keeps consumers that follow the head in memory (the benchmark server read from the file once in
            20 s with one tool call per request) and held 3-4 MB less than 64; at 512 it held ~19 MB more and
            served 6-16 % fewer requests/s (more for the collector to scan), at 16 consumers fell behind the
            tail and read from the file.
    """

    shared_transactions = True
    """One transaction may commit for several owners: every member lives in this process (see `transaction`)."""

    def __init__(self, path: str | Path | None = None, *, default_partitions: int = 12, tail: int = 32) -> None:
        self._path = Path(path) if path is not None else None
        self._default_partitions = default_partitions
        self._tail = max(1, tail)
        self._parts: dict[str, list[_Partition]] = {}
        self._reserved: dict[TopicPartition, int] = {}
        self._committed: dict[tuple[str, TopicPartition], int] = {}
        self._groups: dict[str, list[_MemoryConsumer]] = {}
        self._consumers: set[_MemoryConsumer] = set()
        self._pending: list[_Batch] = []
        self._unsaved_topics: list[tuple[str, int]] = []
        self._flushing = False
        self._store: SqliteStore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._background: ThreadPoolExecutor | None = None
        """The checkpoints' thread, at `CHECKPOINT_NICENESS`."""
        self._unchecked_bytes = 0
        """Record bytes committed since the last checkpoint."""
        self._checkpointing: asyncio.Future[None] | None = None
        """The WAL checkpoint running on the store's thread, if any (see `_checkpoint`)."""
        self._held = False
        """Appends queue without a flush (the checkpoint's second pass runs)."""
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Open the SQLite file (if any) and load topics, the partitions' tails and committed offsets."""
        if self._path is None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memorylog-store")
        self._background = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="memorylog-checkpoint", initializer=_lower_priority
        )
        store = SqliteStore(self._path, autocheckpoint=False)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, store.open)
        topics = await loop.run_in_executor(self._executor, store.load_topics)
        ends = await loop.run_in_executor(self._executor, store.load_ends)
        offsets = await loop.run_in_executor(self._executor, store.load_offsets)
        for name, partitions in topics.items():
            self._add_topic(name, partitions)
        self._unsaved_topics.clear()
        for tp, end in ends.items():
            part = self._parts[tp.topic][tp.partition]
            part.base = max(0, end - self._tail)
            part.records = await loop.run_in_executor(self._executor, store.read, tp, part.base, end)
            self._reserved[tp] = end
        self._committed.update(offsets)
        self._store = store

    async def close(self) -> None:
        """Wait for pending writes, stop consumers and close the file."""
        # A checkpoint's end flushes what queued behind it, and that flush may start another checkpoint.
        while self._pending or self._flushing or self._checkpointing is not None:
            if self._checkpointing is not None:
                with contextlib.suppress(Exception):
                    await self._checkpointing
            else:
                await asyncio.sleep(0.001)
        self._closed = True
        for consumer in list(self._consumers):
            consumer.wake()
        if self._store is not None and self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._store.close)
            self._executor.shutdown(wait=True)
            self._store = None
        if self._background is not None:
            self._background.shutdown(wait=True)
            self._background = None

    # ------------------------------------------------------------------ topics

    def _add_topic(self, name: str, partitions: int) -> bool:
        if name in self._parts:
            return False
        self._parts[name] = [_Partition() for _ in range(partitions)]
        for p in range(partitions):
            self._reserved.setdefault(TopicPartition(name, p), 0)
        self._unsaved_topics.append((name, partitions))  # written with the next flush
        return True

    async def create_topics(self, specs: Sequence[TopicSpec]) -> None:
        """Create missing topics (idempotent).

        Raises:
            TopicMismatchError: a topic exists with another partition count.
        """
        new: list[tuple[str, int]] = []
        for spec in specs:
            existing = self._parts.get(spec.name)
            if existing is not None:
                if len(existing) != spec.partitions:
                    raise TopicMismatchError(
                        f"topic {spec.name!r} has {len(existing)} partitions, configured {spec.partitions}; "
                        "use the existing count or a new topic prefix"
                    )
                continue
            self._add_topic(spec.name, spec.partitions)
            new.append((spec.name, spec.partitions))
        if new:
            await self._append([], [], [])

    def partitions_for(self, topic: str) -> int:
        """Partition count of `topic` (creating it with the default count if unknown)."""
        parts = self._parts.get(topic)
        return len(parts) if parts is not None else self._default_partitions

    # ------------------------------------------------------------------ appends

    async def send(self, record: OutRecord) -> TopicPartition:
        """Append one record; returns its partition once durable and visible."""
        records = await self._append([record], [], [])
        return records[0].tp

    async def send_many(self, records: Sequence[OutRecord]) -> None:
        """Append records (not atomically with anything else) and wait until durable and visible."""
        await self._append(list(records), [], [])

    @asynccontextmanager
    async def transaction(self, owner: str | None = None) -> AsyncIterator[_MemoryTransaction]:
        """Open a transaction; on normal exit its records and offsets are committed together.

        `owner` needs no fencing here: every member lives in this process, and a revoked member is told
        before the new owner is assigned.
        """
        tx = _MemoryTransaction()
        yield tx
        if tx.records or tx.offsets:
            await self._append(tx.records, tx.offsets, [])

    async def fence(self, owners: Collection[str]) -> None:
        """Nothing to fence in one process (see `transaction`)."""

    async def release(self, owners: Collection[str]) -> None:
        """Nothing to release in one process (see `transaction`)."""

    async def _append(
        self, out: list[OutRecord], offsets: list[tuple[str, TopicPartition, int]], topics: list[tuple[str, int]]
    ) -> list[Record]:
        if self._closed:
            raise LogClosedError("the embedded log is closed")
        now_ms = int(time.time() * 1000)
        records: list[Record] = []
        for o in out:
            if o.topic not in self._parts:
                self._add_topic(o.topic, self._default_partitions)
            tp = TopicPartition(o.topic, partition_for(o.key, len(self._parts[o.topic])))
            offset = self._reserved[tp]
            self._reserved[tp] = offset + 1
            # A copy: orjson's output keeps ~4 KB of allocation per bytes object, and these are kept.
            value = bytes(memoryview(o.value))
            records.append(Record(o.topic, tp.partition, offset, o.key, value, o.headers, now_ms))
        topics = topics + self._unsaved_topics
        self._unsaved_topics = []
        if self._store is None:
            self._publish(records, offsets)
            return records
        loop = asyncio.get_running_loop()
        batch = _Batch(topics, records, offsets, loop.create_future())
        self._pending.append(batch)
        if not self._flushing:
            self._flushing = True
            loop.call_soon(self._flush)
        await batch.done
        return records

    def _flush(self) -> None:
        """Write the pending batches: a plain callback, run at the end of the tick that queued the first one.

        Not a task: a task's first step would run one event-loop iteration later, and every hop between
        processors waits for a flush (in the benchmark with one tool call per request, an iteration took
        ~0.5 ms at p50 and 2-3 ms at p90). Every `CHECKPOINT_BYTES` a WAL checkpoint starts on the store's
        thread (`_checkpoint`).
        """
        if self._held:  # `_checkpoint` flushes when it lets go
            return
        try:
            while self._pending:
                batches, self._pending = self._pending, []
                topics, records, offsets = _joined(batches)
                store = self._store
                assert store is not None
                try:
                    store.write(topics, records, offsets)  # on the loop's thread: see streams._sqlite_store
                except Exception as exc:
                    self._failed(batches, topics, exc)
                    continue
                self._written(batches, records)
        finally:
            self._flushing = False
        if self._unchecked_bytes >= CHECKPOINT_BYTES and self._checkpointing is None:
            self._unchecked_bytes = 0
            self._checkpointing = asyncio.ensure_future(self._checkpoint())

    async def _checkpoint(self) -> None:
        """Copy the WAL into the file (it syncs the disk), in passes on other threads.

        The WAL can start over only once a pass has copied all of it, but appends go on while a pass runs. So
        passes run on the checkpoint thread (lower priority: the event loop goes first on a shared core) while
        appends go on, each copying what came during the one before, until one finds fewer than
        `HELD_PASS_FRAMES` new frames or no fewer than its predecessor copied (appends outpace the copy), or
        after `UNHELD_PASSES`; the last pass runs on the store's thread with appends held (they queue, and
        are written when it is done). In the benchmark, holding appends for a whole checkpoint made every
        append wait up to ~60 ms about once a second; after one unheld pass, the held one took ~10 ms.
        """
        store, executor, background = self._store, self._executor, self._background
        assert store is not None
        assert executor is not None
        assert background is not None
        loop = asyncio.get_running_loop()
        try:
            await self._unheld_passes(functools.partial(loop.run_in_executor, background, store.checkpoint))
            self._held = True
            try:
                await loop.run_in_executor(executor, store.checkpoint)
            finally:
                self._held = False
                if self._pending:
                    self._flushing = True
                    self._flush()
        finally:
            self._checkpointing = None

    @staticmethod
    async def _unheld_passes(run_pass: Callable[[], Awaitable[int | None]]) -> None:
        """Run checkpoint passes while appends go on (see `_checkpoint`); `run_pass` returns the WAL's frames."""
        frames = await run_pass()
        if frames is None:
            return
        copied = frames  # what the last pass had to copy
        for _ in range(UNHELD_PASSES - 1):
            now = await run_pass()
            if now is None:
                return
            came, frames = now - frames, now  # during the last pass (< 0: the WAL started over)
            if came < HELD_PASS_FRAMES or came >= copied:
                return
            copied = came

    def _written(self, batches: list[_Batch], records: list[Record]) -> None:
        """Make written batches visible and wake their producers."""
        self._unchecked_bytes += sum(len(r.value) for r in records)
        for b in batches:
            self._publish(b.records, b.offsets)
            if not b.done.done():
                b.done.set_result(None)

    def _failed(self, batches: list[_Batch], topics: list[tuple[str, int]], exc: Exception) -> None:
        """A failed write fails every waiter of it; nothing of it becomes visible."""
        for b in batches:
            if not b.done.done():
                b.done.set_exception(exc)
        self._unsaved_topics = topics + self._unsaved_topics
        self._renumber_after_failure()

    def _renumber_after_failure(self) -> None:
        """Keep offsets dense after a failed write.

        Offsets are reserved again from the visible end, and the batches queued behind the failed ones
        (whose offsets were reserved after the lost records) are renumbered.
        """
        for tp in self._reserved:
            self._reserved[tp] = self._parts[tp.topic][tp.partition].end
        for batch in self._pending:
            renumbered = []
            for r in batch.records:
                offset = self._reserved[r.tp]
                self._reserved[r.tp] = offset + 1
                renumbered.append(Record(r.topic, r.partition, offset, r.key, r.value, r.headers, r.timestamp_ms))
            batch.records[:] = renumbered

    def _publish(self, records: list[Record], offsets: list[tuple[str, TopicPartition, int]]) -> None:
        touched: set[TopicPartition] = set()
        for r in records:
            self._parts[r.topic][r.partition].records.append(r)
            touched.add(r.tp)
        if self._store is not None:  # older records are in the file: keep a bounded tail (amortized trim)
            for tp in touched:
                part = self._parts[tp.topic][tp.partition]
                if len(part.records) >= 2 * self._tail:
                    part.trim(self._tail)
        for group_id, tp, next_offset in offsets:
            self._committed[(group_id, tp)] = next_offset
        if touched:
            for consumer in self._consumers:
                if not touched.isdisjoint(consumer.assignment()):
                    consumer.wake()

    # ------------------------------------------------------------------ reads

    async def end_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """Offset after the last visible record of each partition."""
        return {tp: self._parts[tp.topic][tp.partition].end if tp.topic in self._parts else 0 for tp in tps}

    async def settled_end_offsets(
        self, tps: Iterable[TopicPartition], timeout_s: float | None = None
    ) -> dict[TopicPartition, int]:
        """Same as `end_offsets`: the embedded log makes a transaction visible atomically."""
        return await self.end_offsets(tps)

    async def read(self, tp: TopicPartition, start: int, end: int) -> list[Record]:
        """Records of `tp` with `start <= offset < end`."""
        parts = self._parts.get(tp.topic)
        if parts is None:
            return []
        part = parts[tp.partition]
        start, end = max(0, start), min(end, part.end)
        if start >= end:
            return []
        older = await self._read_stored(tp, start, min(end, part.base)) if start < part.base else []
        return older + part.in_memory(start, end)

    async def _read_stored(self, tp: TopicPartition, start: int, end: int) -> list[Record]:
        """Records below the in-memory tail, from the file (on the store's thread)."""
        if self._store is None or self._executor is None or start >= end:
            return []
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._store.read, tp, start, end)

    async def scan(self, topic: str, partitions: Collection[int] | None = None) -> AsyncIterator[Record]:
        """Every record of `topic` (of `partitions`, or all) visible when the scan starts.

        Each partition's in offset order: from a file in append order, in one pass over it (on the store's
        thread, 10,000 rows at a time); in memory partition by partition.
        """
        parts = self._parts.get(topic, [])
        wanted = range(len(parts)) if partitions is None else [p for p in partitions if 0 <= p < len(parts)]
        ends = {p: parts[p].end for p in wanted}
        if not ends:
            return
        if self._store is None or self._executor is None:
            for p in wanted:
                for record in parts[p].in_memory(0, ends[p]):
                    yield record
            return
        loop = asyncio.get_running_loop()
        chunks = self._store.scan(topic, ends)
        try:
            while (chunk := await loop.run_in_executor(self._executor, next, chunks, None)) is not None:
                for record in chunk:
                    if record.offset < ends[record.partition]:
                        yield record
        finally:
            await loop.run_in_executor(self._executor, chunks.close)

    def committed_offset(self, group_id: str, tp: TopicPartition) -> int | None:
        """The committed next offset of `group_id` on `tp`, or None."""
        return self._committed.get((group_id, tp))

    async def committed(self, group_id: str, tp: TopicPartition) -> int | None:
        """The committed next offset of `group_id` on `tp`, or None."""
        return self._committed.get((group_id, tp))

    def _partition(self, tp: TopicPartition) -> _Partition:
        return self._parts[tp.topic][tp.partition]

    # ------------------------------------------------------------------ consumers and groups

    def consumer(
        self,
        topics: Sequence[str],
        *,
        group_id: str | None,
        on_assign: RebalanceCallback | None = None,
        on_revoke: RebalanceCallback | None = None,
        auto_offset_reset: str = "earliest",
        on_pause: RebalanceCallback | None = None,
    ) -> Consumer:
        """Create a consumer of `topics`; with `group_id` it joins that group on `start()`.

        `on_pause` is not needed here: the embedded log moves only the partitions that change owner.
        """
        return _MemoryConsumer(self, list(topics), group_id, on_assign, on_revoke, auto_offset_reset)

    def _join(self, consumer: _MemoryConsumer) -> None:
        self._consumers.add(consumer)
        if consumer.group_id is not None:
            for topic in consumer.topics:
                if topic not in self._parts:
                    self._add_topic(topic, self._default_partitions)
            self._groups.setdefault(consumer.group_id, []).append(consumer)
            self._rebalance(consumer.group_id)

    def _leave(self, consumer: _MemoryConsumer) -> None:
        self._consumers.discard(consumer)
        if consumer.group_id is not None:
            members = self._groups.get(consumer.group_id, [])
            if consumer in members:
                members.remove(consumer)
                self._rebalance(consumer.group_id)

    def _rebalance(self, group_id: str) -> None:
        """Kafka's range assignment: per topic, contiguous partition ranges over the members in join order.

        Topics with the same partition count are co-partitioned: a member that owns partition p of
        `runs.commands` also owns partition p of `runs.events` (the orchestrator relies on this).
        """
        members = self._groups.get(group_id, [])
        if not members:
            return
        plan: dict[_MemoryConsumer, set[TopicPartition]] = {m: set() for m in members}
        for topic in sorted({t for m in members for t in m.topics}):
            eligible = [m for m in members if topic in m.topics]
            n = len(self._parts[topic])
            per, extra = divmod(n, len(eligible))
            start = 0
            for i, member in enumerate(eligible):
                count = per + (1 if i < extra else 0)
                plan[member].update(TopicPartition(topic, p) for p in range(start, start + count))
                start += count
        for member, tps_for in plan.items():
            member.reassign(tps_for)


class _MemoryConsumer:
    def __init__(
        self,
        log: MemoryLog,
        topics: list[str],
        group_id: str | None,
        on_assign: RebalanceCallback | None,
        on_revoke: RebalanceCallback | None,
        auto_offset_reset: str,
    ) -> None:
        self.log = log
        self.topics = topics
        self.group_id = group_id
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._reset = auto_offset_reset
        self._assignment: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}
        self._to_assign: set[TopicPartition] = set()
        self._to_revoke: set[TopicPartition] = set()
        self._wakeup = asyncio.Event()
        self._started = False

    def wake(self) -> None:
        self._wakeup.set()

    def reassign(self, tps: set[TopicPartition]) -> None:
        current = self._assignment | self._to_assign
        self._to_revoke |= current - tps
        self._to_assign = (self._to_assign & tps) | (tps - self._assignment)
        self._assignment &= tps
        for tp in list(self._positions):
            if tp not in self._assignment:
                del self._positions[tp]
        self.wake()

    async def start(self) -> None:
        if not self._started:
            self._started = True
            self.log._join(self)

    async def stop(self) -> None:
        if self._started:
            self._started = False
            self.log._leave(self)
        # A stopped consumer owns nothing: it must not commit for partitions now owned by another member.
        self.log._consumers.discard(self)
        self._assignment = set()
        self._positions.clear()
        self._to_assign = set()
        self._to_revoke = set()

    def assignment(self) -> set[TopicPartition]:
        return set(self._assignment)

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        if self.group_id is not None:
            raise CommitFailedError("assign() is only for consumers without a group_id")
        self._assignment = set(partitions)
        for tp in self._assignment:
            if tp.topic not in self.log._parts:
                self.log._add_topic(tp.topic, self.log._default_partitions)
        for tp in self._assignment:
            self._positions.setdefault(tp, 0 if self._reset == "earliest" else self.log._partition(tp).end)
        self.log._consumers.add(self)

    def seek(self, tp: TopicPartition, next_offset: int) -> None:
        self._positions[tp] = next_offset
        self.wake()

    async def position(self, tp: TopicPartition) -> int:
        return self._positions[tp]

    async def _apply_rebalance(self) -> None:
        if self._to_revoke:
            revoked, self._to_revoke = self._to_revoke, set()
            if self._on_revoke is not None:
                await self._on_revoke(revoked)
        if self._to_assign:
            added, self._to_assign = self._to_assign, set()
            for tp in added:
                committed = self.log.committed_offset(self.group_id or "", tp)
                if committed is None:
                    committed = 0 if self._reset == "earliest" else self.log._partition(tp).end
                self._positions[tp] = committed
            self._assignment |= added
            if self._on_assign is not None:
                await self._on_assign(added)

    async def getmany(self, timeout_ms: int = 1000, max_records: int = 500) -> dict[TopicPartition, list[Record]]:
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            if self.log._closed:
                raise LogClosedError("the embedded log is closed")
            if self._to_revoke or self._to_assign:
                await self._apply_rebalance()
            self._wakeup.clear()
            out: dict[TopicPartition, list[Record]] = {}
            budget = max_records
            for tp in sorted(self._assignment):
                part = self.log._partition(tp)
                pos = self._positions.get(tp, 0)
                if pos < part.end and budget > 0:
                    if pos >= part.base:
                        chunk = part.in_memory(pos, pos + budget)
                    else:  # behind the in-memory tail: read on from the file
                        chunk = await self.log._read_stored(tp, pos, min(part.base, pos + budget))
                    if not chunk or tp not in self._assignment:
                        continue
                    out[tp] = chunk
                    self._positions[tp] = pos + len(chunk)
                    budget -= len(chunk)
            if out:
                return out
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return {}
            try:
                # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that races with the wakeup,
                # and a cancelled poll loop (EventTap.stop) would then run forever.
                async with asyncio.timeout(remaining):
                    await self._wakeup.wait()
            except TimeoutError:
                return {}

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if self.group_id is None:
            raise CommitFailedError("commit() needs a consumer with a group_id")
        lost = [tp for tp in offsets if tp not in self._assignment]
        if lost:
            raise CommitFailedError(f"partitions {sorted(lost)} are not assigned to this consumer (rebalanced)")
        group_id = self.group_id
        await self.log._append([], [(group_id, tp, o) for tp, o in offsets.items()], [])

    async def committed(self, tp: TopicPartition) -> int | None:
        return self.log.committed_offset(self.group_id or "", tp)
