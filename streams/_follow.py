"""Following a whole topic from its end, outside any consumer group (the event tap, the cancel watch)."""

from __future__ import annotations

import asyncio
import contextlib

from .records import TopicPartition
from .transport import Consumer, Log

__all__ = ["follow", "unfollow"]


async def follow(log: Log, topic: str, *, lookback: int = 0) -> Consumer:
    """A started consumer of every partition of `topic` (no group), `lookback` records before each end."""
    tps = [TopicPartition(topic, p) for p in range(log.partitions_for(topic))]
    consumer = log.consumer([topic], group_id=None)
    await consumer.start()
    consumer.assign(tps)
    for tp, end in (await log.end_offsets(tps)).items():
        consumer.seek(tp, max(0, end - lookback))
    return consumer


async def unfollow(task: asyncio.Task[None] | None, consumer: Consumer | None) -> None:
    """Cancel the task reading `consumer` and stop the consumer (either may be None)."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if consumer is not None:
        await consumer.stop()
