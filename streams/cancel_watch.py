"""The cancel watch: tells a worker, in any process, that a run it is working for was cancelled.

`POST .../cancel` appends a CancelRun to the commands topic; the orchestrator that owns the run decides
RunCancelled and ignores later answers. A model worker streaming a turn for that run should stop at once
instead of paying for the rest of the stream. The watch follows the commands topic like the event tap
follows the events topic: every partition, no consumer group, from the end (minus a short lookback, so a
cancel appended just before this process started is still seen). Commands are few (one StartRun per run),
so following them costs little, unlike the events topic with its content deltas. It works the same on
the embedded log and on Kafka, where the API replica that accepted the cancel and the model worker are
different processes.

A CancelRun always ends an in-flight run (the orchestrator decides RunCancelled for any running or paused
run), so stopping on the command itself, before the orchestrator decided, is safe: the aborted request is
answered with nothing, and the run's RunCancelled follows from the command.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import orjson

from ._follow import follow, unfollow
from .topics import Topics
from .transport import Consumer, Log

__all__ = ["CancelWatch"]

_MARK = b'"command":"CancelRun"'


class CancelWatch:
    """Signals cancels of runs by id (see module docstring).

    Args:
        log: the log.
        topics: topic names.
        lookback: records per commands partition read back at start.
        remember: cancelled run ids kept for workers that start on a run after its cancel was seen.
    """

    def __init__(self, log: Log, topics: Topics, *, lookback: int = 1000, remember: int = 10_000) -> None:
        self._log = log
        self._t = topics
        self._lookback = lookback
        self._remember = remember
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._consumer: Consumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start following the commands topic."""
        consumer = await follow(self._log, self._t.commands, lookback=self._lookback)
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(consumer))

    async def stop(self) -> None:
        """Stop following."""
        await unfollow(self._task, self._consumer)
        self._task, self._consumer = None, None

    def cancelled(self, run_id: str) -> bool:
        """True when a CancelRun of `run_id` was seen (recently)."""
        return run_id in self._recent

    def watch(self, run_id: str) -> asyncio.Event:
        """An event set when `run_id` is cancelled (already set if it was); `unwatch` it when done."""
        event = asyncio.Event()
        if self.cancelled(run_id):
            event.set()
        self._waiters.setdefault(run_id, set()).add(event)
        return event

    def unwatch(self, run_id: str, event: asyncio.Event) -> None:
        """Forget a `watch`."""
        waiters = self._waiters.get(run_id)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[run_id]

    def _cancel(self, run_id: str) -> None:
        self._recent[run_id] = None
        self._recent.move_to_end(run_id)
        while len(self._recent) > self._remember:
            self._recent.popitem(last=False)
        for event in self._waiters.get(run_id, ()):
            event.set()

    async def _run(self, consumer: Consumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=1000)
            for records in batch.values():
                for record in records:
                    if _MARK not in record.value:
                        continue
                    try:
                        run_id = orjson.loads(record.value).get("run_id")
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(run_id, str):
                        self._cancel(run_id)
