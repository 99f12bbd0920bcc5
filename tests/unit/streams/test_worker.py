"""WorkerLoop: concurrent items, final events + safe offset in one transaction, no re-execution after a crash."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest

import streams._rejoin as rejoin_module
from engine import Message, ModelRequestCompleted, ModelRequestStarted, ModelWork, RunEvent, WorkItem
from streams import (
    BrokerUnavailableError,
    Emit,
    MemoryLog,
    OutRecord,
    Record,
    TopicPartition,
    Topics,
    WorkerLoop,
    event_record,
    partition_for,
    work_record,
)

pytestmark = pytest.mark.timeout(10)

GROUP = "process.model"


class CountingHandler:
    """A WorkHandler fake: counts executions per (run_id, seq), emits a start event, answers with a done event."""

    def __init__(self, *, delay: Callable[[WorkItem], float] = lambda work: 0.0) -> None:
        self.executed: Counter[tuple[str, int]] = Counter()
        self.delay = delay
        self.gate: asyncio.Event | None = None
        self.running = 0
        self.peak = 0

    async def execute(self, work: WorkItem, emit: Emit) -> list[RunEvent]:
        self.executed[(work.run_id, work.seq)] += 1
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await emit([ModelRequestStarted(**envelope(work), part="start")])
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(self.delay(work))
            return [answer(work)]
        finally:
            self.running -= 1


def envelope(work: WorkItem) -> dict[str, Any]:
    return {"created_at": 1, "run_id": work.run_id, "session_id": work.session_id, "seq": work.seq}


def answer(work: WorkItem) -> ModelRequestCompleted:
    message = Message(id=f"m-{work.run_id}-{work.seq}", role="assistant", content="ok")
    return ModelRequestCompleted(**envelope(work), part="done", message=message)


def item(run: int, seq: int, *, run_id: str | None = None) -> ModelWork:
    return ModelWork(run_id=run_id or f"r{run}", session_id=f"s{run}", agent_id="a", seq=seq, created_at=1)


@pytest.fixture
async def log() -> AsyncIterator[MemoryLog]:
    log = MemoryLog(default_partitions=2)
    await log.start()
    yield log
    await log.close()


@pytest.fixture
async def topics(log: MemoryLog) -> Topics:
    topics = Topics(prefix=f"w{uuid.uuid4().hex[:8]}.", partitions=2)
    await log.create_topics(topics.specs())
    return topics


@asynccontextmanager
async def running(loop: WorkerLoop) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def records(log: MemoryLog, topic: str) -> list[Record]:
    out: list[Record] = []
    for p in range(log.partitions_for(topic)):
        tp = TopicPartition(topic, p)
        out.extend(await log.read(tp, 0, (await log.end_offsets([tp]))[tp]))
    return out


async def done_ids(log: MemoryLog, topics: Topics) -> list[str]:
    values = [orjson.loads(r.value) for r in await records(log, topics.events) if r.value != b"garbage"]
    return [v["event_id"] for v in values if v.get("part") == "done"]


async def all_committed(log: MemoryLog, topic: str) -> bool:
    tps = [TopicPartition(topic, p) for p in range(log.partitions_for(topic))]
    ends = await log.end_offsets(tps)
    committed = {tp: await log.committed(GROUP, tp) or 0 for tp in tps}
    return committed == ends


async def eventually(check: Callable[[], Any], what: str, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def send_work(log: MemoryLog, topics: Topics, items: Iterable[WorkItem]) -> None:
    await log.send_many([work_record(topics.work_model, w) for w in items])


async def test_every_item_is_executed_once_and_answered_with_its_offset_committed(
    log: MemoryLog, topics: Topics
) -> None:
    items = [item(run, seq) for run in range(4) for seq in (1, 3, 5)]
    # Later items finish first, so commits must hold at the lowest offset still in flight.
    handler = CountingHandler(delay=lambda work: (6 - work.seq) * 0.003)
    await send_work(log, topics, items)
    loop = WorkerLoop(log, topics, topics.work_model, GROUP, handler)

    async with running(loop):
        await eventually(lambda: all_committed(log, topics.work_model), "every work offset to be committed")

    assert handler.executed == Counter({(w.run_id, w.seq): 1 for w in items})
    assert sorted(await done_ids(log, topics)) == sorted(f"{w.run_id}:{w.seq}:done" for w in items)
    events = [orjson.loads(r.value) for r in await records(log, topics.events)]
    assert sorted(e["event_id"] for e in events if e.get("part") == "start") == sorted(
        f"{w.run_id}:{w.seq}:start" for w in items
    )
    for r in await records(log, topics.events):
        assert r.key is not None
        assert r.partition == partition_for(r.key, 2)


async def test_a_restarted_loop_skips_items_already_answered_and_executes_the_rest_once(
    log: MemoryLog, topics: Topics
) -> None:
    first = [item(run, 1) for run in range(4)]
    handler = CountingHandler()
    async with running(WorkerLoop(log, topics, topics.work_model, GROUP, handler)):
        await send_work(log, topics, first)
        await eventually(lambda: all_committed(log, topics.work_model), "the first items to be committed")
    assert handler.executed == Counter({(w.run_id, w.seq): 1 for w in first})

    # The crash: a previous owner executed some new items and appended their answers, but died before
    # their work offsets were committed.
    second = [item(run, 3) for run in range(6)]
    answered = [second[0], second[3], second[4]]
    await send_work(log, topics, second)
    await log.send_many([event_record(topics.events, answer(w)) for w in answered])
    await log.send_many([OutRecord(topics.events, f"s{run}".encode(), b"garbage") for run in range(6)])  # skipped
    assert not await all_committed(log, topics.work_model)

    restarted = CountingHandler()
    async with running(WorkerLoop(log, topics, topics.work_model, GROUP, restarted)):
        await eventually(lambda: all_committed(log, topics.work_model), "the redelivered items to be committed")

    assert restarted.executed == Counter({(w.run_id, w.seq): 1 for w in second if w not in answered})
    ids = await done_ids(log, topics)
    assert sorted(ids) == sorted(f"{w.run_id}:{w.seq}:done" for w in first + second)  # each answered once


async def test_undecodable_work_is_dead_lettered_with_its_reason_and_committed(log: MemoryLog, topics: Topics) -> None:
    key = b"r-bad"
    await log.send(OutRecord(topics.work_model, key, b"not json"))
    await log.send(OutRecord(topics.work_model, key, orjson.dumps({"kind": "telepathy", "run_id": "r-bad"})))
    good = ModelWork(run_id="r-bad", session_id="s", agent_id="a", seq=1, created_at=1)
    await send_work(log, topics, [good])
    handler = CountingHandler()

    async with running(WorkerLoop(log, topics, topics.work_model, GROUP, handler)):
        await eventually(lambda: all_committed(log, topics.work_model), "the work offsets to be committed")

    letters = await records(log, topics.deadletter)
    values = [orjson.loads(r.value) for r in sorted(letters, key=lambda r: r.offset)]
    work_partition = partition_for(key, 2)
    assert [(v["topic"], v["partition"], v["offset"]) for v in values] == [
        (topics.work_model, work_partition, 0),
        (topics.work_model, work_partition, 1),
    ]
    assert "is not JSON" in values[0]["reason"]
    assert values[0]["value"] == "not json"
    assert "unknown work kind 'telepathy'" in values[1]["reason"]
    assert {r.key for r in letters} == {key}
    assert all(("deadletter", b"1") in r.headers for r in letters)
    assert handler.executed == Counter({("r-bad", 1): 1})


async def test_concurrency_is_bounded(log: MemoryLog, topics: Topics) -> None:
    items = [item(run, 1) for run in range(8)]
    handler = CountingHandler(delay=lambda work: 0.01)
    await send_work(log, topics, items)

    async with running(WorkerLoop(log, topics, topics.work_model, GROUP, handler, max_concurrency=2)):
        await eventually(lambda: all_committed(log, topics.work_model), "every work offset to be committed")

    assert handler.peak == 2
    assert sum(handler.executed.values()) == 8


async def test_items_finishing_after_their_partition_moved_do_not_rewind_the_new_owners_commit(
    log: MemoryLog, topics: Topics
) -> None:
    # Members get partitions round-robin in join order: the loop keeps p0, a later member takes p1.
    run_id = next(f"r{i}" for i in range(100) if partition_for(f"r{i}".encode(), 2) == 1)
    tp = TopicPartition(topics.work_model, 1)
    handler = CountingHandler()
    handler.gate = asyncio.Event()
    async with running(WorkerLoop(log, topics, topics.work_model, GROUP, handler)):
        await send_work(log, topics, [item(0, seq, run_id=run_id) for seq in (1, 2, 3)])
        await eventually(lambda: _true(handler.running == 3), "the items to be in flight")

        other = log.consumer([topics.work_model], group_id=GROUP)
        await other.start()
        try:
            while tp not in other.assignment():
                await other.getmany(timeout_ms=10)
            await other.commit({tp: 3})  # the new owner got further
            await asyncio.sleep(0.2)  # the loop polls (100 ms) and applies the revoke
            handler.gate.set()
            await eventually(lambda: _true(handler.running == 0), "the items to finish")
            await asyncio.sleep(0.02)

            assert await log.committed(GROUP, tp) == 3
        finally:
            await other.stop()


class LateAssignLog:
    """A MemoryLog whose assignment callback runs after records start flowing (as aiokafka's coordinator may)."""

    def __init__(self, log: MemoryLog) -> None:
        self._inner = log
        self.late: list[asyncio.Task[None]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def consumer(self, topics: list[str], *, group_id: str | None, on_assign: Any = None, **kw: Any) -> Any:
        async def later(tps: set[TopicPartition]) -> None:
            async def run() -> None:
                await asyncio.sleep(0.3)
                await on_assign(tps)

            self.late.append(asyncio.create_task(run()))

        return self._inner.consumer(topics, group_id=group_id, on_assign=later, **kw)


async def test_items_delivered_before_the_assignment_callback_finished_are_checked_before_execution(
    log: MemoryLog, topics: Topics
) -> None:
    items = [item(run, 1) for run in range(4)]
    answered = items[:2]  # a previous owner answered these, then died before committing their offsets
    await send_work(log, topics, items)
    await log.send_many([event_record(topics.events, answer(w)) for w in answered])
    late = LateAssignLog(log)
    handler = CountingHandler()

    async with running(WorkerLoop(late, topics, topics.work_model, GROUP, handler)):  # type: ignore[arg-type]
        await eventually(lambda: all_committed(log, topics.work_model), "the items to be committed")
    await asyncio.gather(*late.late)

    assert handler.executed == Counter({(w.run_id, w.seq): 1 for w in items if w not in answered})
    assert sorted(await done_ids(log, topics)) == sorted(f"{w.run_id}:{w.seq}:done" for w in items)


async def _true(value: bool) -> bool:
    return value


class FailingHandler(CountingHandler):
    """Breaks its contract (must not raise) on one run."""

    async def execute(self, work: WorkItem, emit: Emit) -> list[RunEvent]:
        if work.run_id == "r-broken":
            self.executed[(work.run_id, work.seq)] += 1
            raise RuntimeError("handler bug")
        return await super().execute(work, emit)


async def test_an_item_whose_handler_raises_is_logged_and_holds_its_offset_for_redelivery(
    log: MemoryLog, topics: Topics, caplog: pytest.LogCaptureFixture
) -> None:
    broken = item(0, 1, run_id="r-broken")
    tp = TopicPartition(topics.work_model, partition_for(b"r-broken", 2))
    later = next(w for w in (item(run, 1) for run in range(50)) if partition_for(w.run_id.encode(), 2) == tp.partition)
    await send_work(log, topics, [broken, later])
    handler = FailingHandler()

    async with running(WorkerLoop(log, topics, topics.work_model, GROUP, handler)):
        await eventually(lambda: _true(sum(handler.executed.values()) == 2 and handler.running == 0), "both items")
        await asyncio.sleep(0.02)

    assert await log.committed(GROUP, tp) == 0  # the later item finished, but the commit waits at the broken one
    assert await done_ids(log, topics) == [f"{later.run_id}:1:done"]
    assert "work item" in caplog.text
    assert "handler bug" in caplog.text


class FlakyCommitLog:
    """A MemoryLog that fails the first commit holding the answer of run `r-flaky` with BrokerUnavailableError.

    `committed_anyway`: that commit goes through before the error is raised (an outcome the caller cannot know).
    `commits` lists the successful commits: their offsets, and whether they held r-flaky's answer.
    """

    def __init__(self, log: MemoryLog, *, committed_anyway: bool) -> None:
        self._inner = log
        self._committed_anyway = committed_anyway
        self.failed = 0
        self.commits: list[tuple[dict[TopicPartition, int], bool]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @asynccontextmanager
    async def transaction(self, owner: str | None = None) -> AsyncIterator[Any]:
        recorded = _RecordingTransaction()
        yield recorded
        flaky = any(b'"r-flaky"' in r.value for r in recorded.records)
        failing = flaky and self.failed == 0
        if failing and not self._committed_anyway:
            self.failed += 1
            raise BrokerUnavailableError("committing a transaction: Kafka is unreachable (test)")
        async with self._inner.transaction(owner) as tx:
            for record in recorded.records:
                tx.send(record)
            for group_id, offsets in recorded.offsets:
                tx.commit_offsets(group_id, offsets)
        self.commits.append(({tp: o for _, offsets in recorded.offsets for tp, o in offsets.items()}, flaky))
        if failing:
            self.failed += 1
            raise BrokerUnavailableError("committing a transaction: the response was lost (test)")


class _RecordingTransaction:
    def __init__(self) -> None:
        self.records: list[OutRecord] = []
        self.offsets: list[tuple[str, dict[TopicPartition, int]]] = []

    def send(self, record: OutRecord) -> None:
        self.records.append(record)

    def commit_offsets(self, group_id: str, offsets: dict[TopicPartition, int]) -> None:
        self.offsets.append((group_id, dict(offsets)))


@pytest.mark.parametrize("committed_anyway", [False, True], ids=["commit-lost", "commit-went-through"])
async def test_an_item_the_log_failed_comes_again_to_a_new_member_and_no_commit_passes_it_before(
    log: MemoryLog, topics: Topics, monkeypatch: pytest.MonkeyPatch, committed_anyway: bool
) -> None:
    monkeypatch.setattr(rejoin_module, "REJOIN_BACKOFF_S", (0.05, 0.1))
    flaky = item(0, 1, run_id="r-flaky")
    tp = TopicPartition(topics.work_model, partition_for(b"r-flaky", 2))
    same_partition = (
        w for w in (item(run, 1) for run in range(50)) if partition_for(w.run_id.encode(), 2) == tp.partition
    )
    later = [next(same_partition) for _ in range(3)]
    wrapped = FlakyCommitLog(log, committed_anyway=committed_anyway)
    handler = CountingHandler(delay=lambda work: 0.0 if work.run_id == "r-flaky" else 0.01)
    await send_work(log, topics, [flaky, *later])

    async with running(WorkerLoop(wrapped, topics, topics.work_model, GROUP, handler)):  # type: ignore[arg-type]
        await eventually(lambda: all_committed(log, topics.work_model), "every item to be committed")

    assert wrapped.failed == 1
    # A lost commit means the item runs again; one that went through is found in the log and not run again.
    assert handler.executed[("r-flaky", 1)] == (1 if committed_anyway else 2)
    assert sorted(await done_ids(log, topics)) == sorted(f"{w.run_id}:1:done" for w in [flaky, *later])
    # Until r-flaky's answer committed, no commit of its partition went past it (offset 0).
    first_with_answer = next(i for i, (_, has) in enumerate(wrapped.commits) if has)
    assert all(offsets.get(tp, 0) == 0 for offsets, _ in wrapped.commits[:first_with_answer])
