"""The Kafka transport's group consumer (`KafkaLog.consumer`): rebalances presented incrementally.

It also commits, right after them, the offsets that this member's transactions covered (`defer_commit`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener  # type: ignore[import-untyped]
from aiokafka.coordinator.assignors.range import RangePartitionAssignor  # type: ignore[import-untyped]

from ._kafka_util import _map_kafka_errors, _paced, _record, _tp
from .errors import CommitFailedError, StreamError
from .records import Record, TopicPartition
from .transport import RebalanceCallback

if TYPE_CHECKING:
    from .kafka import KafkaLog

__all__ = ["_KafkaConsumer"]

_log = logging.getLogger("agnostream.kafka")

STOP_FLUSH_S = 5.0
"""Seconds `stop` gives the last commit of deferred offsets (the broker may be gone); then it leaves without."""


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Turns Kafka's eager rebalance (revoke everything, then assign) into incremental callbacks.

    The processors' callbacks see only partitions actually lost (`on_revoke`) or gained (`on_assign`), as
    with the embedded log, so state of partitions a member keeps is not dropped and rebuilt. This is safe:
    in an eager rebalance no other member owns a partition between our revoke and our assign.
    """

    def __init__(
        self,
        on_assign: RebalanceCallback | None,
        on_revoke: RebalanceCallback | None,
        restore: Callable[[set[TopicPartition]], None],
        on_pause: RebalanceCallback | None = None,
        flush: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._on_pause = on_pause
        self._restore = restore
        self._flush = flush
        self.owned: set[TopicPartition] = set()

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # Lost vs kept is decided in on_partitions_assigned; before anyone else can own these partitions,
        # in-flight work on them must finish (or a zombie could commit an answer the new owner also gives),
        # and the offsets their transactions covered are committed while this generation still may.
        if self._on_pause is not None and self.owned:
            await self._on_pause(set(self.owned))
        if self._flush is not None:
            await self._flush()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        now = {TopicPartition(tp.topic, tp.partition) for tp in assigned}
        lost, gained = self.owned - now, now - self.owned
        # An eager rebalance resets every position to the committed offset; a kept partition continues
        # where this member was, so records it already handed out are not delivered twice.
        self._restore(now & self.owned)
        self.owned = now
        if lost and self._on_revoke is not None:
            await self._on_revoke(lost)
        if gained and self._on_assign is not None:
            await self._on_assign(gained)

    async def stopped(self) -> None:
        """Report every owned partition as revoked (the consumer left the group)."""
        lost, self.owned = self.owned, set()
        if lost and self._on_revoke is not None:
            await self._on_revoke(lost)


class _KafkaConsumer:
    def __init__(
        self,
        log: KafkaLog,
        topics: list[str],
        group_id: str | None,
        on_assign: RebalanceCallback | None,
        on_revoke: RebalanceCallback | None,
        auto_offset_reset: str,
        on_pause: RebalanceCallback | None = None,
        commit_interval_s: float = 0.1,
    ) -> None:
        self._log = log
        self._topics = topics
        self.group_id = group_id
        self._listener = _Listener(on_assign, on_revoke, self._restore_positions, on_pause, self.flush)
        self._positions: dict[TopicPartition, int] = {}
        self._commit_interval_s = commit_interval_s
        self._deferred: dict[TopicPartition, int] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._flushed_at = 0.0
        self._consumer = _paced(
            AIOKafkaConsumer(
                **log._common(),
                group_id=group_id,
                enable_auto_commit=False,
                auto_offset_reset=auto_offset_reset,
                isolation_level="read_committed",
                # Range assignment co-partitions runs.commands and runs.events (same key, same partition count),
                # which the orchestrator needs; aiokafka's default round-robin does not.
                partition_assignment_strategy=(RangePartitionAssignor,),
                group_instance_id=log._group_instance_id if group_id is not None else None,
                session_timeout_ms=10000,
                heartbeat_interval_ms=1000,
                max_poll_interval_ms=300000,
                # A rebalance waits for the members' in-flight work to commit (the processors' `on_pause`, up to
                # 30 s); the default (= the session timeout, 10 s) would expel a member still finishing its work,
                # leaving a zombie that commits after its partitions moved.
                rebalance_timeout_ms=60000,
                # Latency: a read_committed fetch long-polls up to this long when nothing is committed yet.
                fetch_max_wait_ms=log.fetch_max_wait_ms,
            )
        )
        self._started = False

    async def start(self) -> None:
        if self._started:
            return
        if self.group_id is not None:
            self._consumer.subscribe(self._topics, listener=self._listener)
        with _map_kafka_errors(f"starting consumer {self.group_id or '(no group)'}"):
            await self._consumer.start()
        self._started = True
        if self.group_id is not None:
            self._log._members.add(self)

    async def stop(self) -> None:
        if self._started:
            self._log._members.discard(self)
            if self._flusher is not None and not self._flusher.done():
                self._flusher.cancel()
                await asyncio.wait([self._flusher])  # it puts back what it was committing
            try:
                await asyncio.wait_for(self.flush(), STOP_FLUSH_S)
            except TimeoutError:
                _log.info("offsets of %s not committed on stop within %.0f s", self.group_id, STOP_FLUSH_S)
            self._started = False
            try:
                await self._consumer.stop()
                await self._listener.stopped()
            except asyncio.CancelledError:
                # aiokafka cancels and awaits its own committed-offsets task on stop; only a cancellation of
                # *our* task may propagate.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
            except Exception:
                pass

    def _restore_positions(self, kept: set[TopicPartition]) -> None:
        for tp in kept:
            if tp in self._positions:
                self._consumer.seek(_tp(tp), self._positions[tp])
        for tp in set(self._positions) - kept:
            del self._positions[tp]

    def assignment(self) -> set[TopicPartition]:
        if not self._started:
            return set()
        return {TopicPartition(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        if self.group_id is not None:
            raise CommitFailedError("assign() is only for consumers without a group_id")
        self._consumer.assign([_tp(tp) for tp in partitions])

    def seek(self, tp: TopicPartition, next_offset: int) -> None:
        self._consumer.seek(_tp(tp), next_offset)
        self._positions[tp] = next_offset

    async def position(self, tp: TopicPartition) -> int:
        with _map_kafka_errors("reading a position"):
            return int(await self._consumer.position(_tp(tp)))

    async def getmany(self, timeout_ms: int = 1000, max_records: int = 500) -> dict[TopicPartition, list[Record]]:
        with _map_kafka_errors(f"consuming {self._topics}"):
            batch = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        out = {TopicPartition(tp.topic, tp.partition): [_record(r) for r in rs] for tp, rs in batch.items() if rs}
        for tp, records in out.items():
            self._positions[tp] = records[-1].offset + 1
        return out

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if self.group_id is None:
            raise CommitFailedError("commit() needs a consumer with a group_id")
        lost = [tp for tp in offsets if tp not in self.assignment()] if self._started else list(offsets)
        if lost:
            raise CommitFailedError(f"partitions {sorted(lost)} are not assigned to this consumer (rebalanced)")
        with _map_kafka_errors(f"committing offsets of {self.group_id}"):
            await self._consumer.commit({_tp(tp): o for tp, o in offsets.items()})

    def defer_commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit `offsets` (next offsets of partitions this member holds) within `commit_interval_s`.

        For offsets a committed transaction covered (`KafkaLog.transaction`). The commit carries this member's
        generation, so the group coordinator refuses it once the partitions moved; it is also made before
        they are given up (`_Listener.on_partitions_revoked`) and on `stop`.
        """
        self._keep_highest(offsets)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    def _keep_highest(self, offsets: Mapping[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            self._deferred[tp] = max(offset, self._deferred.get(tp, -1))

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        """Drop deferred offsets of `tps`: a transaction committed newer ones for them itself."""
        for tp in tps:
            self._deferred.pop(tp, None)

    async def _flush_soon(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self._flushed_at + self._commit_interval_s - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await self.flush()

    async def flush(self) -> None:
        """Commit the deferred offsets of the partitions still held now; never raises.

        A commit that fails (the member was rebalanced, the broker is unreachable) is logged and dropped: the
        next owner resumes from the last committed offset and finds in the log what was already handled (the
        orchestrator's decisions name their inputs, a worker checks its answers), so nothing is lost or done
        twice.
        """
        deferred, self._deferred = self._deferred, {}
        held = self.assignment()
        offsets = {tp: offset for tp, offset in deferred.items() if tp in held}
        if not offsets:
            return
        self._flushed_at = asyncio.get_running_loop().time()
        try:
            await self.commit(offsets)
        except asyncio.CancelledError:  # `stop` cancelled the timer's commit: its own flush sends these again
            self._keep_highest(deferred)
            raise
        except StreamError as exc:
            _log.info("offsets of %s not committed (the log shows what was handled): %s", self.group_id, exc)

    async def committed(self, tp: TopicPartition) -> int | None:
        with _map_kafka_errors("reading committed offset"):
            value = await self._consumer.committed(_tp(tp))
        return int(value) if value is not None else None
