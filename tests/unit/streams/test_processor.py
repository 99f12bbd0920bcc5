"""run_processor: each batch's outputs and offsets in one transaction; deadletter_record."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest

import streams._rejoin as rejoin_module
from streams import (
    MemoryLog,
    OutRecord,
    Record,
    StreamTimeoutError,
    TopicPartition,
    TopicSpec,
    Transaction,
    deadletter_record,
    run_processor,
)

pytestmark = pytest.mark.timeout(10)


class UpperProcessor:
    """A BatchProcessor fake: copies each record upper-cased to `sink`; raises on b"crash" (a bug, not bad input)."""

    def __init__(self, source: str, sink: str, group_id: str) -> None:
        self.topics: Sequence[str] = [source]
        self.sink = sink
        self.group_id = group_id
        self.seen: list[bytes] = []
        self.assigned: list[set[TopicPartition]] = []
        self.revoked: list[set[TopicPartition]] = []

    async def on_assign(self, tps: set[TopicPartition]) -> None:
        self.assigned.append(set(tps))

    async def on_revoke(self, tps: set[TopicPartition]) -> None:
        self.revoked.append(set(tps))

    def needs_rebuild(self) -> set[TopicPartition]:
        return set()

    async def rebuild(self, tp: TopicPartition, start: int) -> dict[TopicPartition, int]:
        raise AssertionError("nothing to rebuild")

    def handle(self, record: Record, tx: Transaction) -> None:
        if record.value == b"crash":
            raise RuntimeError("processor bug")
        self.seen.append(record.value)
        tx.send(OutRecord(self.sink, record.key or b"", record.value.upper()))


@pytest.fixture
async def log() -> AsyncIterator[MemoryLog]:
    log = MemoryLog()
    await log.start()
    yield log
    await log.close()


@pytest.fixture
async def names(log: MemoryLog) -> tuple[str, str, str]:
    suffix = uuid.uuid4().hex[:8]
    source, sink = f"in.{suffix}", f"out.{suffix}"
    await log.create_topics([TopicSpec(source, 1), TopicSpec(sink, 1)])
    return source, sink, f"g.{suffix}"


async def values(log: MemoryLog, topic: str) -> list[bytes]:
    tp = TopicPartition(topic, 0)
    return [r.value for r in await log.read(tp, 0, (await log.end_offsets([tp]))[tp])]


async def run_until(log: MemoryLog, processor: UpperProcessor, done: int) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_processor(log, processor, stop, max_records=2))
    for _ in range(500):
        if len(await values(log, processor.sink)) >= done or task.done():
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 2)


async def test_outputs_and_offsets_are_committed_per_batch(log: MemoryLog, names: tuple[str, str, str]) -> None:
    source, sink, group = names
    await log.send_many([OutRecord(source, b"k", v) for v in (b"a", b"b", b"c")])
    processor = UpperProcessor(source, sink, group)

    await run_until(log, processor, 3)

    assert await values(log, sink) == [b"A", b"B", b"C"]
    assert await log.committed(group, TopicPartition(source, 0)) == 3
    assert processor.assigned == [{TopicPartition(source, 0)}]


async def test_a_restart_resumes_after_the_committed_batch(log: MemoryLog, names: tuple[str, str, str]) -> None:
    source, sink, group = names
    await log.send_many([OutRecord(source, b"k", v) for v in (b"a", b"b")])
    await run_until(log, UpperProcessor(source, sink, group), 2)
    await log.send(OutRecord(source, b"k", b"c"))

    again = UpperProcessor(source, sink, group)
    await run_until(log, again, 3)

    assert again.seen == [b"c"]
    assert await values(log, sink) == [b"A", b"B", b"C"]


async def test_a_crash_mid_batch_leaves_neither_its_outputs_nor_its_offsets(
    log: MemoryLog, names: tuple[str, str, str]
) -> None:
    source, sink, group = names
    await log.send_many([OutRecord(source, b"k", v) for v in (b"a", b"b", b"c", b"crash")])
    stop = asyncio.Event()

    with pytest.raises(RuntimeError, match="processor bug"):
        await asyncio.wait_for(run_processor(log, UpperProcessor(source, sink, group), stop, max_records=2), 2)

    # Batch 1 (a, b) committed with its outputs; batch 2 (c, crash) left nothing.
    assert await values(log, sink) == [b"A", b"B"]
    assert await log.committed(group, TopicPartition(source, 0)) == 2


def test_deadletter_record_keeps_the_reason_and_the_original_position() -> None:
    original = Record("in", 3, 41, b"key", b"\xffnot utf-8", (), 0)

    out = deadletter_record("dlq", original, "is not JSON")

    assert (out.topic, out.key, out.headers) == ("dlq", b"key", (("deadletter", b"1"),))
    assert orjson.loads(out.value) == {
        "reason": "is not JSON",
        "topic": "in",
        "partition": 3,
        "offset": 41,
        "value": "\ufffdnot utf-8",
    }
    assert deadletter_record("dlq", Record("in", 0, 0, None, b"v", (), 0), "r").key == b""


class PausingLog:
    """A MemoryLog that hands out the rebalance pause callback and can hold transactions open."""

    def __init__(self, log: MemoryLog) -> None:
        self._inner = log
        self.on_pause: Any = None
        self.in_commit = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def consumer(self, topics: Sequence[str], *, on_pause: Any = None, **kw: Any) -> Any:
        self.on_pause = on_pause
        return self._inner.consumer(topics, **kw)

    @asynccontextmanager
    async def transaction(self, owner: str | None = None) -> AsyncIterator[Any]:
        async with self._inner.transaction(owner) as tx:
            yield tx
            self.in_commit.set()
            await self.release.wait()


async def test_a_rebalance_waits_until_the_batch_in_hand_has_committed(
    log: MemoryLog, names: tuple[str, str, str]
) -> None:
    source, sink, group = names
    pausing = PausingLog(log)
    stop = asyncio.Event()
    task = asyncio.create_task(run_processor(pausing, UpperProcessor(source, sink, group), stop))  # type: ignore[arg-type]
    await log.send(OutRecord(source, b"k", b"a"))
    await asyncio.wait_for(pausing.in_commit.wait(), 5)

    # The group rebalances while the batch's transaction is still open: this member must not let go yet.
    pause = asyncio.create_task(pausing.on_pause({TopicPartition(source, 0)}))
    await asyncio.sleep(0.05)
    assert not pause.done()
    pausing.release.set()
    await asyncio.wait_for(pause, 5)
    assert await values(log, sink) == [b"A"]
    assert await log.committed(group, TopicPartition(source, 0)) == 1

    stop.set()
    await asyncio.wait_for(task, 5)


class CountingLog:
    """A MemoryLog that records the owner of every transaction; `shared` overrides `shared_transactions`."""

    def __init__(self, log: MemoryLog, *, shared: bool) -> None:
        self._inner = log
        self.shared_transactions = shared
        self.owners: list[str | None] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @asynccontextmanager
    async def transaction(self, owner: str | None = None) -> AsyncIterator[Any]:
        self.owners.append(owner)
        async with self._inner.transaction(owner) as tx:
            yield tx


@pytest.mark.parametrize("shared", [True, False], ids=["one transaction", "one per partition number"])
async def test_a_batch_over_several_partitions_commits_all_of_them(log: MemoryLog, shared: bool) -> None:
    suffix = uuid.uuid4().hex[:8]
    source, sink, group = f"in3.{suffix}", f"out3.{suffix}", f"g3.{suffix}"
    await log.create_topics([TopicSpec(source, 3), TopicSpec(sink, 1)])
    keys = [f"k{i}".encode() for i in range(12)]
    await log.send_many([OutRecord(source, k, k + b"-v") for k in keys])
    ends = await log.end_offsets([TopicPartition(source, p) for p in range(3)])
    assert all(ends.values())  # the keys spread over all three partitions
    counting = CountingLog(log, shared=shared)
    stop = asyncio.Event()

    task = asyncio.create_task(run_processor(counting, UpperProcessor(source, sink, group), stop))  # type: ignore[arg-type]
    for _ in range(500):
        if len(await values(log, sink)) >= len(keys):
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)

    assert sorted(await values(log, sink)) == sorted(k.upper() + b"-V" for k in keys)
    for tp, end in ends.items():
        assert await log.committed(group, tp) == end
    if shared:
        assert counting.owners == [None]  # one batch, one transaction for all three partitions
    else:
        assert sorted(counting.owners, key=str) == [f"{group}:{p}" for p in range(3)]


class FailOnceLog:
    """A MemoryLog whose first transaction holding b"B" fails with StreamTimeoutError (nothing committed)."""

    def __init__(self, log: MemoryLog) -> None:
        self._inner = log
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @asynccontextmanager
    async def transaction(self, owner: str | None = None) -> AsyncIterator[Any]:
        async with self._inner.transaction(owner) as tx:
            sent: list[OutRecord] = []
            yield _Tee(tx, sent)
            if self.failed == 0 and any(r.value == b"B" for r in sent):
                self.failed += 1
                raise StreamTimeoutError("committing a transaction: the broker did not answer (test)")


class _Tee:
    def __init__(self, tx: Transaction, sent: list[OutRecord]) -> None:
        self._tx = tx
        self._sent = sent

    def send(self, record: OutRecord) -> None:
        self._sent.append(record)
        self._tx.send(record)

    def commit_offsets(self, group_id: str, offsets: Any) -> None:
        self._tx.commit_offsets(group_id, offsets)


async def test_a_batch_whose_commit_the_log_failed_is_handled_again_by_a_new_member(
    log: MemoryLog, names: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rejoin_module, "REJOIN_BACKOFF_S", (0.05, 0.1))
    source, sink, group = names
    await log.send_many([OutRecord(source, b"k", v) for v in (b"a", b"b", b"c")])
    processor = UpperProcessor(source, sink, group)
    failing = FailOnceLog(log)
    stop = asyncio.Event()

    task = asyncio.create_task(run_processor(failing, processor, stop, max_records=1))  # type: ignore[arg-type]
    for _ in range(500):
        if len(await values(log, sink)) >= 3 or task.done():
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 2)

    assert failing.failed == 1
    assert await values(log, sink) == [b"A", b"B", b"C"]  # the failed batch left nothing, then committed once
    assert processor.seen == [b"a", b"b", b"b", b"c"]
    assert await log.committed(group, TopicPartition(source, 0)) == 3
    # The member left (its partition's state dropped) and a new one joined.
    assert processor.revoked == [{TopicPartition(source, 0)}]
    assert processor.assigned == [{TopicPartition(source, 0)}, {TopicPartition(source, 0)}]
