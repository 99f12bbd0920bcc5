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

from engine import STEP_RUN_SEPARATOR, owner_run_id

from ._follow import follow, unfollow
from .errors import StreamTimeoutError
from .partitioner import partition_for
from .records import TopicPartition
from .topics import Topics
from .transport import Consumer, Log

__all__ = ["STREAM_END", "EventTap", "Subscription"]

_SETTLE_S = 10.0
"""How long `read_run` waits for open transactions below the end before it reads to the last stable offset."""

STREAM_END = frozenset(
    {"RunCompleted", "RunError", "RunCancelled", "RunPaused", "WorkflowCompleted", "WorkflowError", "WorkflowCancelled"}
    | {"TeamRunCompleted", "TeamRunError", "TeamRunCancelled", "TeamRunPaused"}
)
"""Events after which a run's stream ends (agno's terminal SSE frames; a paused run's stream ends too).

Only the subscribed run's own events end it: a workflow run's subscription also gets the events of its
steps' agent runs (run ids `<workflow run id>~<path>`, see `engine.step_run_id`), whose RunCompleted
does not end the workflow's stream. A team run's subscription (`members=True`) also gets the events of its
member runs (`parent_run_id` = the team run)."""


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
        async with contextlib.aclosing(self.batches()) as batches:
            async for batch in batches:
                for event in batch:
                    yield event

    async def batches(self) -> AsyncGenerator[list[dict[str, Any]], None]:
        """The same events as iterating the subscription, as lists: each holds every event queued by then.

        A consumer that writes each list at once (one SSE chunk for several frames) pays its per-write
        costs once per batch instead of once per event; no event waits for a batch to fill.
        """
        queue = self.queue
        try:
            while True:
                items = [await queue.get()]
                while not queue.empty():
                    items.append(queue.get_nowait())
                batch: list[dict[str, Any]] = []
                for offset, event in items:
                    if offset < self.from_offset:
                        continue
                    batch.append(event)
                    if event.get("event") in STREAM_END and not event.get("part") and event["run_id"] == self.run_id:
                        yield batch
                        return
                if batch:
                    yield batch
        finally:
            self.close()


class EventTap:
    """Dispatches run events to per-run subscriptions (see module docstring)."""

    def __init__(self, log: Log, topics: Topics) -> None:
        self._log = log
        self._t = topics
        self._subs: dict[str, list[Subscription]] = {}
        self._member_subs: dict[str, list[Subscription]] = {}
        """Subscriptions that also follow member runs, by their (team) run id."""
        self._consumer: Consumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start following from the current end of every partition."""
        consumer = await follow(self._log, self._t.events)
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(consumer))

    async def stop(self) -> None:
        """Stop following."""
        await unfollow(self._task, self._consumer)
        self._task, self._consumer = None, None

    def subscribe(self, run_id: str, *, members: bool = False) -> Subscription:
        """Subscribe to `run_id`'s future events (with `members`: also those of its member runs)."""
        sub = Subscription(self, run_id)
        self._subs.setdefault(run_id, []).append(sub)
        if members:
            self._member_subs.setdefault(run_id, []).append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        for registry in (self._subs, self._member_subs):
            subs = registry.get(sub.run_id)
            if subs and sub in subs:
                subs.remove(sub)
                if not subs:
                    del registry[sub.run_id]

    async def _run(self, consumer: Consumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
            if not self._subs:
                continue
            for records in batch.values():
                for record in records:
                    run_id = _run_id_of(record.value)
                    subs = self._subs.get(run_id) if run_id else None
                    if not subs and run_id and STEP_RUN_SEPARATOR in run_id:  # a workflow step's agent run
                        subs = self._subs.get(owner_run_id(run_id))
                    if self._member_subs:  # a team run's member run
                        parent = _parent_run_id_of(record.value)
                        if parent is not None and parent != run_id and parent in self._member_subs:
                            subs = [*(subs or ()), *self._member_subs[parent]]
                    if not subs:
                        continue
                    event = orjson.loads(record.value)
                    for sub in subs:
                        sub.queue.put_nowait((record.offset, event))

    async def read_run(
        self, session_id: str, run_id: str, *, members: bool = False
    ) -> tuple[list[dict[str, Any]], int]:
        """Read the run's recorded events (decoded record dicts, log order) and the partition's end offset.

        With `members`, the events of its member runs (`parent_run_id` = `run_id`) are included, in log order.

        A workflow run's events include those of its steps' agent runs, as its subscription does.

        The end offset is settled (transactions below it resolved), so a subscription made before this call
        and started at it sees every later event of the run and none of the returned ones.
        """
        n = self._log.partitions_for(self._t.events)
        tp = TopicPartition(self._t.events, partition_for(session_id.encode(), n))
        try:
            end = (await self._log.settled_end_offsets([tp], timeout_s=_SETTLE_S))[tp]
        except StreamTimeoutError:
            # A transaction still open below: the events above the last stable offset reach a subscription
            # started there once they commit, so the split stays exact, only the history is shorter.
            end = (await self._log.end_offsets([tp]))[tp]
        records = await self._log.read(tp, 0, end)
        return [
            orjson.loads(r.value)
            for r in records
            if _belongs(r.value, run_id) or (members and _parent_run_id_of(r.value) == run_id)
        ], end

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


def _belongs(value: bytes, run_id: str) -> bool:
    """True for a record of run `run_id` (or, for a workflow run, of one of its steps' agent runs)."""
    record_run = _run_id_of(value)
    return record_run == run_id or (
        record_run is not None and STEP_RUN_SEPARATOR in record_run and owner_run_id(record_run) == run_id
    )


def _parent_run_id_of(value: bytes) -> str | None:
    # The record's own parent_run_id comes before any nested one (a TeamRunCompleted's member_responses name
    # their parent, the run itself: callers skip a parent equal to the record's run id).
    i = value.find(b'"parent_run_id":"')
    if i < 0:
        return None
    j = value.find(b'"', i + 17)
    return value[i + 17 : j].decode() if j > 0 else None


def _run_id_of(value: bytes) -> str | None:
    # Fast path: every record value starts with created_at, event, ... and contains "run_id":"...".
    i = value.find(b'"run_id":"')
    if i < 0:
        return None
    j = value.find(b'"', i + 10)
    return value[i + 10 : j].decode() if j > 0 else None
