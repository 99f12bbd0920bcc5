"""The work-item loop shared by model and tool workers: concurrent execution, exactly-once answers.

A worker consumes a work topic in its consumer group and executes items concurrently (bounded). Each
item's progress events (ModelRequestStarted, RunContent, ToolCallStarted) are appended as they happen;
its final event (part "done") is appended in one transaction with the offset commit that is safe for
its partition (on Kafka: committed right after that transaction, see `KafkaLog`). After a restart or
rebalance, items below the end offset seen at assignment may already have been answered; for those the
worker first looks for the answer (`run_id:seq:done`) in the run-events log and skips the item if it is
there, so a completed tool call is never executed again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import orjson

from engine import RunEvent, SchemaError, WorkItem, event_id

from ._inflight import InFlight
from ._rejoin import rejoining
from .codec import event_record, read_work
from .errors import CommitFailedError, StreamError
from .partitioner import partition_for
from .processor import deadletter_record
from .records import Record, TopicPartition
from .topics import Topics
from .transport import Log, OutRecord

__all__ = ["Emit", "WorkHandler", "WorkerLoop"]

_log = logging.getLogger("agnostream.worker")

Emit = Callable[[Sequence[RunEvent]], Awaitable[None]]
"""Appends progress events immediately (durable and visible on return)."""


class WorkHandler(Protocol):
    """Executes one work item."""

    async def execute(self, work: WorkItem, emit: Emit) -> list[RunEvent]:
        """Run the work; stream progress via `emit`; return the final events (committed with the offset).

        Must not raise for expected failures: report them as final events (ModelRequestFailed, ToolCallError).
        """
        ...


class WorkerLoop:
    """Consumes `topic` in `group_id` and drives `handler` (see module docstring).

    Args:
        log: the log.
        topics: topic names (for run events and dead letters).
        topic: the work topic consumed.
        group_id: consumer group id, e.g. `Topics.group("process.model")`.
        handler: executes items.
        max_concurrency: items executed at once.
    """

    def __init__(
        self, log: Log, topics: Topics, topic: str, group_id: str, handler: WorkHandler, *, max_concurrency: int = 1024
    ) -> None:
        self._log = log
        self._t = topics
        self._topic = topic
        self.group_id = group_id
        self._handler = handler
        self._sem = asyncio.Semaphore(max_concurrency)
        self._inflight = InFlight()
        self._suspect: dict[TopicPartition, int] = {}
        self._assigned: dict[TopicPartition, asyncio.Event] = {}
        self._done_ids: dict[int, set[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures: list[StreamError] = []
        """The log's errors that end this membership (see `run`); the first is raised."""
        self._task_tp: dict[asyncio.Task[None], TopicPartition] = {}
        self.pause_timeout_s = 30.0
        """Seconds a rebalance waits for in-flight items (keep below the group's rebalance timeout)."""

    def _owner(self, tp: TopicPartition) -> str:
        return f"{self.group_id}:{tp.partition}"

    def _assignment(self, tp: TopicPartition) -> asyncio.Event:
        return self._assigned.setdefault(tp, asyncio.Event())

    async def _on_assign(self, tps: set[TopicPartition]) -> None:
        # First fence the previous owners, so none of them can commit an answer any more; then everything
        # below the last stable offset may have been handled by them (a read_committed consumer never saw an
        # item above it): those items are checked against the log before they are executed. Records may
        # arrive while this runs; they wait for it (`_process`).
        await self._log.fence([self._owner(tp) for tp in tps])
        ends = await self._log.end_offsets(tps)
        self._done_ids.clear()
        for tp, end in ends.items():
            self._suspect[tp] = end
            self._assignment(tp).set()

    async def _on_pause(self, _tps: set[TopicPartition]) -> None:
        """A rebalance may move partitions: let in-flight items finish and commit first (bounded)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.pause_timeout_s)

    async def _on_revoke(self, tps: set[TopicPartition]) -> None:
        # Items of a lost partition belong to its new owner now: stop them before they can commit an answer
        # (their offsets were not committed, so the new owner redelivers them).
        for task, tp in list(self._task_tp.items()):
            if tp in tps:
                task.cancel()
        self._inflight.drop(tps)
        for tp in tps:
            self._suspect.pop(tp, None)
            self._assigned.pop(tp, None)
        await self._log.release([self._owner(tp) for tp in tps])

    async def run(self, stop: asyncio.Event) -> None:
        """Consume and execute until `stop` is set; in-flight items finish (or are cancelled after 5 s).

        When the log fails an item (a `StreamError`: the broker unreachable or timing out, a producer stopped
        by a fatal error), this member leaves its group as a crash would: its in-flight items are cancelled
        and its partitions released. After `_rejoin.REJOIN_BACKOFF_S` a new member joins; the items come again from
        the committed offsets, and each is checked against the log before it runs again.
        """
        await rejoining(lambda: self._member(stop), stop, self.group_id)

    async def _member(self, stop: asyncio.Event) -> None:
        """One group membership: until `stop` is set, or until the log fails an item (its error is raised)."""
        self._failures.clear()
        consumer = self._log.consumer(
            [self._topic],
            group_id=self.group_id,
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_pause=self._on_pause,
        )
        await consumer.start()
        try:
            while not stop.is_set() and not self._failures:
                batch = await consumer.getmany(timeout_ms=100, max_records=256)
                for tp, records in batch.items():
                    for record in records:
                        await self._sem.acquire()
                        self._inflight.dispatched(tp, record.offset)
                        task = asyncio.create_task(self._process(tp, record))
                        self._tasks.add(task)
                        self._task_tp[task] = tp
                        task.add_done_callback(self._forget)
        finally:
            if self._failures and not stop.is_set():
                await self._on_revoke(consumer.assignment())  # a Kafka consumer reports this on stop too
            elif self._tasks:
                _done, pending = await asyncio.wait(set(self._tasks), timeout=5)
                for task in pending:
                    task.cancel()
            await consumer.stop()
        if self._failures and not stop.is_set():
            raise self._failures[0]

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._task_tp.pop(task, None)

    async def _process(self, tp: TopicPartition, record: Record) -> None:
        try:
            try:
                work = read_work(record)
            except SchemaError as exc:
                await self._finish(tp, record.offset, [deadletter_record(self._t.deadletter, record, str(exc))])
                return
            final: list[RunEvent] = []
            # Records of a new partition can arrive before `_on_assign` has fenced its previous owner.
            await self._assignment(tp).wait()
            if record.offset >= self._suspect.get(tp, record.offset + 1) or not await self._answered(work):
                final = await self._handler.execute(work, self._emit)
            await self._finish(tp, record.offset, [event_record(self._t.events, e) for e in final])
        except CommitFailedError as exc:  # the partition moved on: its new owner answers the item
            _log.info("answer of %s/%s@%s not committed: %s", tp.topic, tp.partition, record.offset, exc)
        except StreamError as exc:  # the item stays in flight (no later commit passes it) until this member leaves
            _log.warning("work item %s/%s@%s: %s", record.topic, record.partition, record.offset, exc)
            self._failures.append(exc)
        except Exception:
            _log.exception("work item %s/%s@%s failed", record.topic, record.partition, record.offset)
        finally:
            self._sem.release()

    async def _finish(self, tp: TopicPartition, offset: int, records: list[OutRecord]) -> None:
        """Append an item's outcome with the safe offset of `tp`, in one transaction.

        Nothing is appended when `tp` was revoked while the item ran: its new owner handles the item, and
        committing here could rewind the new owner's offset. The item stays in flight until the commit
        succeeded, so no other item's commit passes it meanwhile.

        Raises:
            CommitFailedError: the partition moved on meanwhile (nothing committed).
            StreamError: the log failed the commit.
        """
        safe = self._inflight.committing(tp, offset)
        if safe is None:
            return
        async with self._log.transaction(owner=self._owner(tp)) as tx:
            for out in records:
                tx.send(out)
            tx.commit_offsets(self.group_id, {tp: safe})
        self._inflight.committed(tp, offset)

    async def _emit(self, events: Sequence[RunEvent]) -> None:
        await self._log.send_many([event_record(self._t.events, e) for e in events])

    async def _answered(self, work: WorkItem) -> bool:
        """True when the run-events log already holds this work's final answer."""
        n = self._log.partitions_for(self._t.events)
        partition = partition_for(work.session_id.encode(), n)
        ids = self._done_ids.get(partition)
        if ids is None:
            tp = TopicPartition(self._t.events, partition)
            # Every committed answer must be readable, also behind a transaction still open below them
            # (StreamTimeoutError if it stays open: this member then leaves and joins again).
            end = (await self._log.settled_end_offsets([tp]))[tp]
            ids = set()
            for r in await self._log.read(tp, 0, end):
                try:
                    value = orjson.loads(r.value)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(value, dict) and value.get("part") == "done":
                    ids.add(str(value.get("event_id")))
            self._done_ids[partition] = ids
        return event_id(work.run_id, work.seq, "done") in ids
