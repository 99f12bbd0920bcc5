"""The processor loop: consume -> handle -> append + commit, in one transaction per batch.

`run_processor` drives any `BatchProcessor` (the orchestrator, a projection runner): it reads a batch
from the consumer, lets the processor add output records to a transaction, commits the batch's next
offsets in the same transaction, and repeats until `stop` is set. A crash anywhere means the batch's
outputs and offsets are both absent, and the batch is redelivered. (On Kafka this member commits the
offsets right after the transaction instead: a crash in between redelivers records whose outputs are
committed, which the processor recognises from the log; see `Orchestrator.rebuild`.)

A commit that fails because the log failed (the broker unreachable or timing out, not a lost partition)
ends the member the same way: it leaves its group, drops its partitions' state, and a new member joins
after a backoff and resumes from the committed offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

import orjson

from ._rejoin import rejoining
from .errors import CommitFailedError, StreamError
from .records import DEADLETTER_HEADER, Record, TopicPartition
from .transport import Consumer, Log, OutRecord, Transaction

__all__ = ["BatchProcessor", "deadletter_record", "run_processor"]

_log = logging.getLogger("agnostream.processor")


class BatchProcessor(Protocol):
    """A processor the loop can drive."""

    group_id: str
    """Consumer group, e.g. `process.orchestrator`."""
    topics: Sequence[str]
    """Topics consumed."""

    async def on_assign(self, tps: set[TopicPartition]) -> None:
        """Rebuild whatever state the processor keeps for newly assigned partitions."""
        ...

    async def on_revoke(self, tps: set[TopicPartition]) -> None:
        """Drop state of lost partitions."""
        ...

    def needs_rebuild(self) -> set[TopicPartition]:
        """Assigned partitions whose state must be rebuilt before records are handled (empty if none)."""
        ...

    async def rebuild(self, tp: TopicPartition, start: int) -> Mapping[TopicPartition, int]:
        """Rebuild the state of `tp`; `start` is the offset this consumer resumes from.

        Returns the offsets below which the consumer must not resume, per partition (empty if none): what
        the log shows was already handled when `start` turns out to be stale.
        """
        ...

    def handle(self, record: Record, tx: Transaction) -> None:
        """Apply one record and add its outputs to `tx`; must not raise on bad input (dead-letter it)."""
        ...


def deadletter_record(topic: str, record: Record, reason: str) -> OutRecord:
    """Wrap an unprocessable record for the dead-letter topic, with its reason and original position."""
    value = {
        "reason": reason,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "value": record.value.decode("utf-8", errors="replace"),
    }
    return OutRecord(topic, record.key or b"", orjson.dumps(value), ((DEADLETTER_HEADER, b"1"),))


async def _rebuild_pending(
    processor: BatchProcessor, consumer: Consumer, batch: dict[TopicPartition, list[Record]]
) -> None:
    """Let a processor rebuild newly assigned partitions from where this consumer really resumes.

    Where a rebuild finds that position stale (its returned floors), the batch's records below the floor are
    dropped and the consumer moves up to it: those records were handled and committed already.
    """
    floors: dict[TopicPartition, int] = {}
    for tp in sorted(processor.needs_rebuild()):
        start = await _resume_position(consumer, batch, tp)
        for floor_tp, floor in (await processor.rebuild(tp, start)).items():
            floors[floor_tp] = max(floors.get(floor_tp, 0), floor)
    if not floors:
        return
    assigned = consumer.assignment()
    for tp, floor in sorted(floors.items()):
        if tp in assigned:
            await _skip_below(consumer, batch, tp, floor, processor.group_id)


async def _resume_position(consumer: Consumer, batch: dict[TopicPartition, list[Record]], tp: TopicPartition) -> int:
    """Where this consumer resumes on `tp`: the batch's first record there, else the consumer's position."""
    records = batch.get(tp)
    return records[0].offset if records else await consumer.position(tp)


async def _skip_below(
    consumer: Consumer, batch: dict[TopicPartition, list[Record]], tp: TopicPartition, floor: int, group_id: str
) -> None:
    position = await _resume_position(consumer, batch, tp)
    if position >= floor:
        return
    _log.warning(
        "%s resumes %s at %d, not %d: the log holds answers to the inputs before it (the group's offset was "
        "read before its last commit settled)",
        group_id,
        tp,
        floor,
        position,
    )
    kept = [r for r in batch.get(tp, ()) if r.offset >= floor]
    if kept:
        batch[tp] = kept
        return
    batch.pop(tp, None)
    if await consumer.position(tp) < floor:
        consumer.seek(tp, floor)


class _Membership:
    """The processor's partitions, fenced before use: one owner per partition number of the group.

    The consumed topics are co-partitioned (range assignment gives one member partition p of each), so
    partition number p is one unit of ownership, committed on its own transactional producer
    (`Log.fence`). An assignment fences p's previous owner before the processor rebuilds its state; records
    that arrive before that has finished wait (`ready`).
    """

    def __init__(self, log: Log, processor: BatchProcessor) -> None:
        self._log = log
        self._processor = processor
        self._ready: set[TopicPartition] = set()
        self._changed = asyncio.Event()

    def owner(self, partition: int) -> str:
        return f"{self._processor.group_id}:{partition}"

    async def on_assign(self, tps: set[TopicPartition]) -> None:
        await self._log.fence(sorted({self.owner(tp.partition) for tp in tps}))
        await self._processor.on_assign(tps)
        self._ready |= tps
        self._changed.set()

    async def on_revoke(self, tps: set[TopicPartition]) -> None:
        self._ready -= tps
        await self._processor.on_revoke(tps)
        kept = {tp.partition for tp in self._ready}
        await self._log.release(sorted({self.owner(tp.partition) for tp in tps if tp.partition not in kept}))

    async def ready(self, consumer: Consumer, batch: dict[TopicPartition, list[Record]]) -> None:
        """Wait until every partition of `batch` is ready; drop those revoked meanwhile."""
        while not all(tp in self._ready for tp in batch):
            assigned = consumer.assignment()
            for tp in [tp for tp in batch if tp not in assigned]:
                del batch[tp]
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.05)


async def run_processor(
    log: Log, processor: BatchProcessor, stop: asyncio.Event, *, max_records: int = 500, pause_timeout_s: float = 30.0
) -> None:
    """Run `processor` until `stop` is set; each batch's outputs and offsets commit together.

    One transaction per partition number, or one for the whole batch on a log with `shared_transactions`
    (the embedded log). Zombies cannot commit: each partition number commits on its own fenced producer
    (`_Membership`), and a rebalance also waits (bounded) for the batch in hand to commit before this member
    gives up partitions.

    A `StreamError` out of a batch (the log unreachable or timing out) ends the member as a crash would: its
    consumer leaves the group, which drops its partitions' state and releases their producers. After
    `_rejoin.REJOIN_BACKOFF_S` a new member joins and resumes from the committed offsets, so the failed batch is
    handled again; the rejoin's fence settles a commit whose outcome was unknown. A closed log
    (`LogClosedError`) and a `TopicMismatchError` are raised instead.
    """
    await rejoining(
        lambda: _run_member(log, processor, stop, max_records=max_records, pause_timeout_s=pause_timeout_s),
        stop,
        processor.group_id,
    )


async def _run_member(
    log: Log, processor: BatchProcessor, stop: asyncio.Event, *, max_records: int, pause_timeout_s: float
) -> None:
    """One group membership of `processor` (see `run_processor`); raises what a batch's commit raised."""
    idle = asyncio.Event()
    idle.set()
    membership = _Membership(log, processor)

    async def on_pause(_tps: set[TopicPartition]) -> None:
        # Bounded: a batch stuck on something the rebalance itself holds must not deadlock the group.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(idle.wait(), pause_timeout_s)

    consumer = log.consumer(
        processor.topics,
        group_id=processor.group_id,
        on_assign=membership.on_assign,
        on_revoke=membership.on_revoke,
        on_pause=on_pause,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=max_records)
            idle.clear()
            try:
                await membership.ready(consumer, batch)
                await _rebuild_pending(processor, consumer, batch)
                await _commit_all(log, processor, membership, batch)
            finally:
                idle.set()
    except StreamError:
        # Leave as a crash would: the state of every partition goes (a Kafka consumer reports this on stop too).
        await membership.on_revoke(consumer.assignment())
        raise
    finally:
        await consumer.stop()


async def _commit_all(
    log: Log, processor: BatchProcessor, membership: _Membership, batch: dict[TopicPartition, list[Record]]
) -> None:
    """Commit a batch's records: in one transaction when the log allows it, else one per partition number.

    Per partition number (Kafka: each on its own fenced producer), the last one's transaction runs in this
    task, after one event-loop iteration in which the others (in tasks of their own) start theirs.
    `asyncio.gather` woke this task two iterations after the last commit (~1 ms each on a loaded loop), and
    every record the orchestrator decides waits for the batch before it.
    """
    if not batch:
        return
    if log.shared_transactions:
        await _commit(log, processor, None, batch)
        return
    parts: dict[int, dict[TopicPartition, list[Record]]] = {}
    for tp, records in batch.items():
        parts.setdefault(tp.partition, {})[tp] = records
    *others, last = sorted(parts)
    tasks = [asyncio.ensure_future(_commit(log, processor, membership.owner(p), parts[p])) for p in others]
    if tasks:
        await asyncio.sleep(0)
    try:
        await _commit(log, processor, membership.owner(last), parts[last])
    finally:
        # Every partition's commit ends before this batch does, even when one failed.
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _commit(
    log: Log, processor: BatchProcessor, owner: str | None, part: dict[TopicPartition, list[Record]]
) -> None:
    """Handle records and commit their outputs and offsets together (for `owner`, or any owner: None)."""
    try:
        async with log.transaction(owner=owner) as tx:
            for records in part.values():
                for record in records:
                    processor.handle(record, tx)
            tx.commit_offsets(processor.group_id, {tp: rs[-1].offset + 1 for tp, rs in part.items()})
    except CommitFailedError as exc:
        # The partition moved on while this batch was in hand: the new owner decides these records; drop
        # the state this batch changed.
        _log.warning("batch of %s (%s) not committed: %s", processor.group_id, sorted(part), exc)
        await processor.on_revoke(set(part))
