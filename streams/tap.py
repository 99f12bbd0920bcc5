"""The event tap: follows the run-events topic and hands each run's events to its subscribers.

The HTTP layer subscribes to a run before submitting its StartRun, then iterates the subscription to
stream SSE frames. The tap reads every partition from the end at start (no consumer group, no commits)
and decodes each record once. `read_run` reads a run's past events from the log (a seek), for
subscribers that come late (continue, resume, polling): subscribe first, then `read_run`, then set the
subscription's `from_offset` to the end offset it returned, so the live part starts exactly where the
read stopped, whatever the tap's own lag.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import orjson

from .partitioner import partition_for
from .records import TopicPartition
from .topics import Topics
from .transport import Consumer, Log

__all__ = ["STREAM_END", "EventTap", "Subscription"]

STREAM_END = frozenset({"RunCompleted", "RunError", "RunCancelled", "RunPaused"})
"""Events after which a run's stream ends (agno's terminal SSE frames; a paused run's stream ends too)."""


class Subscription:
    """Events of one run, in log order, as decoded record dicts; ends after a `STREAM_END` event.

    Records below `from_offset` (in the run's partition) are skipped: set it to the end offset of a
    `read_run` made after subscribing, so nothing is seen twice or missed.
    """

    def __init__(self, tap: EventTap, run_id: str) -> None:
        self._tap = tap
        self.run_id = run_id
        self.from_offset = 0
        self.queue: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue()

    def close(self) -> None:
        """Stop receiving events."""
        self._tap._unsubscribe(self)

    async def __aiter__(self) -> AsyncGenerator[dict[str, Any], None]:
        try:
            while True:
                offset, event = await self.queue.get()
                if offset < self.from_offset:
                    continue
                yield event
                if event.get("event") in STREAM_END and not event.get("part"):
                    return
        finally:
            self.close()


class EventTap:
    """Dispatches run events to per-run subscriptions (see module docstring)."""

    def __init__(self, log: Log, topics: Topics) -> None:
        self._log = log
        self._t = topics
        self._subs: dict[str, list[Subscription]] = {}
        self._consumer: Consumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start following from the current end of every partition."""
        n = self._log.partitions_for(self._t.events)
        tps = [TopicPartition(self._t.events, p) for p in range(n)]
        consumer = self._log.consumer([self._t.events], group_id=None)
        await consumer.start()
        consumer.assign(tps)
        ends = await self._log.end_offsets(tps)
        for tp, end in ends.items():
            consumer.seek(tp, end)
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(consumer))

    async def stop(self) -> None:
        """Stop following."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    def subscribe(self, run_id: str) -> Subscription:
        """Subscribe to `run_id`'s future events."""
        sub = Subscription(self, run_id)
        self._subs.setdefault(run_id, []).append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.run_id)
        if subs and sub in subs:
            subs.remove(sub)
            if not subs:
                del self._subs[sub.run_id]

    async def _run(self, consumer: Consumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
            if not self._subs:
                continue
            for records in batch.values():
                for record in records:
                    run_id = _run_id_of(record.value)
                    subs = self._subs.get(run_id) if run_id else None
                    if not subs:
                        continue
                    event = orjson.loads(record.value)
                    for sub in subs:
                        sub.queue.put_nowait((record.offset, event))

    async def read_run(self, session_id: str, run_id: str) -> tuple[list[dict[str, Any]], int]:
        """Read the run's recorded events (decoded record dicts, log order) and the partition's end offset.

        The end offset is settled (transactions below it resolved), so a subscription made before this call
        and started at it sees every later event of the run and none of the returned ones.
        """
        n = self._log.partitions_for(self._t.events)
        tp = TopicPartition(self._t.events, partition_for(session_id.encode(), n))
        end = (await self._log.settled_end_offsets([tp]))[tp]
        records = await self._log.read(tp, 0, end)
        return [orjson.loads(r.value) for r in records if _run_id_of(r.value) == run_id], end

    async def find_session(self, run_id: str) -> str | None:
        """The session id of `run_id`, by scanning every run-events partition (slow; for callers without it)."""
        n = self._log.partitions_for(self._t.events)
        tps = [TopicPartition(self._t.events, p) for p in range(n)]
        for tp, end in (await self._log.end_offsets(tps)).items():
            for record in await self._log.read(tp, 0, end):
                if _run_id_of(record.value) == run_id:
                    session_id = orjson.loads(record.value).get("session_id")
                    return str(session_id) if session_id else None
        return None

    async def replay_run(self, session_id: str, run_id: str, after_seq: int = -1) -> list[dict[str, Any]]:
        """Read the run's recorded events from the log (all of them, or decisions after `after_seq` onwards)."""
        n = self._log.partitions_for(self._t.events)
        tp = TopicPartition(self._t.events, partition_for(session_id.encode(), n))
        end = (await self._log.end_offsets([tp]))[tp]
        out = []
        for record in await self._log.read(tp, 0, end):
            if _run_id_of(record.value) == run_id:
                event = orjson.loads(record.value)
                if int(event.get("seq", 0)) > after_seq:
                    out.append(event)
        return out


def _run_id_of(value: bytes) -> str | None:
    # Fast path: every record value starts with created_at, event, ... and contains "run_id":"...".
    i = value.find(b'"run_id":"')
    if i < 0:
        return None
    j = value.find(b'"', i + 10)
    return value[i + 10 : j].decode() if j > 0 else None
