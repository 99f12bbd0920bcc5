"""The processor loop: consume -> handle -> append + commit, in one transaction per batch.

`run_processor` drives any `BatchProcessor` (the orchestrator, a projection runner): it reads a batch
from the consumer, lets the processor add output records to a transaction, commits the batch's next
offsets in the same transaction, and repeats until `stop` is set. A crash anywhere means the batch's
outputs and offsets are both absent, and the batch is redelivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

import orjson

from .records import Record, TopicPartition
from .transport import Consumer, Log, OutRecord, RebalanceCallback, Transaction

__all__ = ["BatchProcessor", "deadletter_record", "make_consumer", "run_processor"]

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

    async def rebuild(self, tp: TopicPartition, start: int) -> None:
        """Rebuild the state of `tp`; `start` is the offset this consumer resumes from."""
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
    return OutRecord(topic, record.key or b"", orjson.dumps(value), (("deadletter", b"1"),))


def make_consumer(log: Log, processor: BatchProcessor, on_pause: RebalanceCallback | None = None) -> Consumer:
    """Create the group consumer for `processor`, wired to its rebalance callbacks."""
    on_assign: RebalanceCallback = processor.on_assign
    on_revoke: RebalanceCallback = processor.on_revoke
    return log.consumer(
        processor.topics, group_id=processor.group_id, on_assign=on_assign, on_revoke=on_revoke, on_pause=on_pause
    )


async def _rebuild_pending(
    processor: BatchProcessor, consumer: Consumer, batch: dict[TopicPartition, list[Record]]
) -> None:
    """Let a processor rebuild newly assigned partitions from where this consumer really resumes."""
    pending = processor.needs_rebuild()
    for tp in sorted(pending):
        records = batch.get(tp)
        start = records[0].offset if records else await consumer.position(tp)
        await processor.rebuild(tp, start)


async def run_processor(
    log: Log, processor: BatchProcessor, stop: asyncio.Event, *, max_records: int = 500, pause_timeout_s: float = 30.0
) -> None:
    """Run `processor` until `stop` is set; each batch is one transaction (outputs + offsets).

    A rebalance waits for the batch in hand to commit before this member gives up its partitions: a batch
    committed after a new owner read the committed offsets would be decided twice (Kafka fences such a
    zombie commit only with KIP-447's generation-checked offset commits, which aiokafka does not send).
    """
    idle = asyncio.Event()
    idle.set()

    async def on_pause(_tps: set[TopicPartition]) -> None:
        # Bounded: a batch stuck on something the rebalance itself holds must not deadlock the group.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(idle.wait(), pause_timeout_s)

    consumer = make_consumer(log, processor, on_pause)
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=max_records)
            idle.clear()
            try:
                await _rebuild_pending(processor, consumer, batch)
                if not batch:
                    continue
                async with log.transaction() as tx:
                    for records in batch.values():
                        for record in records:
                            processor.handle(record, tx)
                    tx.commit_offsets(processor.group_id, {tp: rs[-1].offset + 1 for tp, rs in batch.items()})
            finally:
                idle.set()
    finally:
        await consumer.stop()
