"""The transport contract: one suite every `streams.transport.Log` implementation must pass.

`TransportContract` is abstract (this module is not collected: no `test_` prefix). A transport's test
module subclasses it and implements `open_log(storage)`, which returns a started log; calling it again
with the same `storage` re-opens the same data (a SQLite file, a broker). `DurableTransportContract`
adds the restart tests for transports whose data outlives `close()`.

Every test uses unique topic and group names (uuid suffix), so the suite can share one broker. Waits are
polls with a deadline (`poll_timeout`), so a real broker's rebalance latency fits.
"""

from __future__ import annotations

import abc
import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import ClassVar

import pytest

from streams import (
    CommitFailedError,
    Consumer,
    Log,
    OutRecord,
    Record,
    StreamError,
    TopicMismatchError,
    TopicPartition,
    TopicSpec,
    partition_for,
)

__all__ = ["DurableTransportContract", "LogFactory", "TransportContract"]


def unique(name: str) -> str:
    """A topic or group name no other test uses."""
    return f"contract.{name}.{uuid.uuid4().hex[:12]}"


def keys_by_partition(partitions: int) -> dict[int, bytes]:
    """One key per partition: `partition_for(key, partitions) == partition`."""
    keys: dict[int, bytes] = {}
    i = 0
    while len(keys) < partitions:
        key = f"key-{i}".encode()
        keys.setdefault(partition_for(key, partitions), key)
        i += 1
    return keys


def offsets(records: Iterable[Record]) -> list[int]:
    return [r.offset for r in records]


class BoomError(Exception):
    """Raised inside a transaction body by the tests."""


class LogFactory:
    """`await make_log()` opens a started log on the test's storage; `reopen` restarts one; all close at teardown."""

    def __init__(self, open_log: Callable[[], Awaitable[Log]]) -> None:
        self._open_log = open_log
        self.opened: list[Log] = []

    async def __call__(self) -> Log:
        log = await self._open_log()
        self.opened.append(log)
        return log

    async def reopen(self, log: Log) -> Log:
        """Close `log` (pending appends complete first) and open the same storage again."""
        self.opened.remove(log)
        await log.close()
        return await self()

    async def close_all(self) -> None:
        for log in reversed(self.opened):
            await log.close()
        self.opened.clear()


class TransportContract(abc.ABC):
    """Kafka semantics every transport must keep (STYLE 7.8 item 4)."""

    poll_timeout: ClassVar[float] = 5.0
    """Seconds a test waits for records or an assignment before failing."""

    @abc.abstractmethod
    async def open_log(self, storage: Path) -> Log:
        """Return a started log on `storage` (the same `storage` re-opens the same data where durable)."""

    @pytest.fixture
    async def make_log(self, tmp_path: Path) -> AsyncIterator[LogFactory]:
        factory = LogFactory(lambda: self.open_log(tmp_path))
        yield factory
        await factory.close_all()

    # ------------------------------------------------------------------ helpers

    async def topic(self, log: Log, name: str, partitions: int) -> str:
        topic = unique(name)
        await log.create_topics([TopicSpec(topic, partitions)])
        return topic

    async def poll(
        self, consumer: Consumer, until: Callable[[list[Record]], bool], *, what: str = "records"
    ) -> list[Record]:
        """getmany until `until(records so far)` holds; fail after `poll_timeout`."""
        got: list[Record] = []
        deadline = time.monotonic() + self.poll_timeout
        while not until(got):
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; got offsets {[(r.partition, r.offset) for r in got]}")
            batch = await consumer.getmany(timeout_ms=20)
            for records in batch.values():
                got.extend(records)
        return got

    async def poll_n(self, consumer: Consumer, n: int) -> list[Record]:
        got = await self.poll(consumer, lambda rs: len(rs) >= n, what=f"{n} records")
        assert len(got) == n, f"expected {n} records, got {len(got)}"
        return got

    async def settle(
        self, consumers: list[Consumer], done: Callable[[], bool], *, what: str
    ) -> dict[int, list[Record]]:
        """Poll every consumer until `done()` holds (rebalances apply while polling); return records by consumer."""
        got: dict[int, list[Record]] = {i: [] for i in range(len(consumers))}
        deadline = time.monotonic() + self.poll_timeout
        while True:
            for i, consumer in enumerate(consumers):
                for records in (await consumer.getmany(timeout_ms=10)).values():
                    got[i].extend(records)
            if done():
                return got
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; assignments {[c.assignment() for c in consumers]}")

    async def fill(self, log: Log, topic: str, key: bytes, n: int, *, start: int = 0) -> None:
        for i in range(start, start + n):
            await log.send(OutRecord(topic, key, f"v{i}".encode()))

    # ------------------------------------------------------------------ topics

    async def test_create_topics_is_idempotent(self, make_log: LogFactory) -> None:
        log = await make_log()
        a, b = unique("a"), unique("b")
        await log.create_topics([TopicSpec(a, 3)])
        await log.create_topics([TopicSpec(a, 3), TopicSpec(b, 2)])
        await log.create_topics([TopicSpec(a, 3)])

        assert log.partitions_for(a) == 3
        assert log.partitions_for(b) == 2

    async def test_create_topics_rejects_another_partition_count(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "mismatch", 3)

        with pytest.raises(TopicMismatchError):
            await log.create_topics([TopicSpec(topic, 4)])
        assert log.partitions_for(topic) == 3

    # ------------------------------------------------------------------ appends and reads

    async def test_send_partitions_by_key_and_orders_by_offset(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "order", 3)
        keys = [f"session-{i}".encode() for i in range(6)]
        sent: dict[bytes, list[bytes]] = {k: [] for k in keys}

        for round_ in range(4):
            for key in keys:
                value = f"{key.decode()}#{round_}".encode()
                tp = await log.send(OutRecord(topic, key, value))
                assert tp == TopicPartition(topic, partition_for(key, 3))
                sent[key].append(value)

        seen: dict[bytes, list[bytes]] = {k: [] for k in keys}
        total = 0
        for p in range(3):
            tp = TopicPartition(topic, p)
            end = (await log.end_offsets([tp]))[tp]
            records = await log.read(tp, 0, end)
            assert offsets(records) == list(range(end))
            for r in records:
                assert r.key is not None
                assert (r.topic, r.partition) == (topic, partition_for(r.key, 3))
                seen[r.key].append(r.value)
            total += end
        assert seen == sent
        assert total == 24

    async def test_send_many_keeps_order_per_partition(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "many", 2)
        key0, key1 = keys_by_partition(2)[0], keys_by_partition(2)[1]
        out = [OutRecord(topic, key0 if i % 3 else key1, str(i).encode()) for i in range(12)]

        await log.send_many(out)

        for key, p in ((key0, 0), (key1, 1)):
            tp = TopicPartition(topic, p)
            records = await log.read(tp, 0, (await log.end_offsets([tp]))[tp])
            assert [r.value for r in records] == [o.value for o in out if o.key == key]

    async def test_headers_round_trip(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "headers", 1)
        headers = (("event", b"RunStarted"), ("schema_version", b"1"), ("event", b"again"), ("bin", b"\x00\xff\x7f"))

        tp = await log.send(OutRecord(topic, b"k", b"{}", headers))
        await log.send(OutRecord(topic, b"k", b"{}"))

        first, second = await log.read(tp, 0, 2)
        assert first.headers == headers
        assert second.headers == ()
        assert (first.key, first.value) == (b"k", b"{}")

    async def test_end_offsets(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "end", 2)
        keys = keys_by_partition(2)
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        assert await log.end_offsets(tps) == {tps[0]: 0, tps[1]: 0}

        await self.fill(log, topic, keys[0], 3)
        await self.fill(log, topic, keys[1], 1)

        assert await log.end_offsets(tps) == {tps[0]: 3, tps[1]: 1}

    async def test_read_is_bounded(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "read", 1)
        tp = TopicPartition(topic, 0)
        await self.fill(log, topic, b"k", 5)

        assert offsets(await log.read(tp, 1, 3)) == [1, 2]
        assert offsets(await log.read(tp, 0, 5)) == [0, 1, 2, 3, 4]
        assert await log.read(tp, 3, 3) == []
        assert offsets(await log.read(tp, 4, 100)) == [4]
        assert [r.value for r in await log.read(tp, 2, 4)] == [b"v2", b"v3"]

    # ------------------------------------------------------------------ group consumers and commits

    async def test_group_consumer_starts_at_earliest_without_commit(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "earliest", 1)
        group = unique("g")
        tp = TopicPartition(topic, 0)
        await self.fill(log, topic, b"k", 3)
        consumer = log.consumer([topic], group_id=group)
        await consumer.start()
        try:
            assert offsets(await self.poll_n(consumer, 3)) == [0, 1, 2]
            assert await consumer.committed(tp) is None
            assert await log.committed(group, tp) is None
        finally:
            await consumer.stop()

    async def test_group_consumer_latest_reset_skips_earlier_records(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "latest", 1)
        tp = TopicPartition(topic, 0)
        await self.fill(log, topic, b"k", 3)
        consumer = log.consumer([topic], group_id=unique("g"), auto_offset_reset="latest")
        await consumer.start()
        try:
            await self.settle([consumer], lambda: consumer.assignment() == {tp}, what="the assignment")
            # "latest" is the end when the position is resolved, which Kafka does lazily: resolve it first.
            assert await consumer.position(tp) == 3
            await self.fill(log, topic, b"k", 2, start=3)
            records = await self.poll_n(consumer, 2)
            assert offsets(records) == [3, 4]
        finally:
            await consumer.stop()

    async def test_new_consumer_resumes_after_the_committed_offset(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "resume", 1)
        group = unique("g")
        tp = TopicPartition(topic, 0)
        await self.fill(log, topic, b"k", 5)

        first = log.consumer([topic], group_id=group)
        await first.start()
        assert offsets(await self.poll_n(first, 5)) == [0, 1, 2, 3, 4]
        await first.commit({tp: 3})  # processed 0..2; 3 and 4 were read but not committed
        assert await first.committed(tp) == 3
        assert await log.committed(group, tp) == 3
        await first.stop()

        second = log.consumer([topic], group_id=group)
        await second.start()
        try:
            redelivered = await self.poll_n(second, 2)
            assert offsets(redelivered) == [3, 4]
            assert [r.value for r in redelivered] == [b"v3", b"v4"]
        finally:
            await second.stop()

    async def test_committed_offsets_are_per_group(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "pergroup", 1)
        tp = TopicPartition(topic, 0)
        group, other = unique("g"), unique("other")

        async with log.transaction() as tx:
            tx.commit_offsets(group, {tp: 2})

        assert await log.committed(group, tp) == 2
        assert await log.committed(other, tp) is None
        assert await log.committed(group, TopicPartition(topic, 0)) == 2

    async def test_commit_of_unassigned_partition_raises(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "unassigned", 1)
        elsewhere = await self.topic(log, "elsewhere", 1)
        group = unique("g")
        consumer = log.consumer([topic], group_id=group)
        await consumer.start()
        try:
            await self.settle([consumer], lambda: bool(consumer.assignment()), what="the assignment")
            with pytest.raises(CommitFailedError):
                await consumer.commit({TopicPartition(elsewhere, 0): 1})
            assert await log.committed(group, TopicPartition(elsewhere, 0)) is None
        finally:
            await consumer.stop()

    async def test_stopped_consumer_owns_nothing_and_cannot_commit(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "stopped", 1)
        tp = TopicPartition(topic, 0)
        group = unique("g")
        consumer = log.consumer([topic], group_id=group)
        await consumer.start()
        await self.settle([consumer], lambda: consumer.assignment() == {tp}, what="the assignment")
        await consumer.commit({tp: 0})

        await consumer.stop()

        assert consumer.assignment() == set()
        with pytest.raises(CommitFailedError):
            await consumer.commit({tp: 5})
        assert await log.committed(group, tp) == 0

    # ------------------------------------------------------------------ manual assignment

    async def test_manual_assign_and_seek(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "seek", 2)
        keys = keys_by_partition(2)
        tp = TopicPartition(topic, 1)
        await self.fill(log, topic, keys[1], 5)
        await self.fill(log, topic, keys[0], 2)
        consumer = log.consumer([topic], group_id=None)
        await consumer.start()
        try:
            consumer.assign([tp])
            assert consumer.assignment() == {tp}
            consumer.seek(tp, 2)
            assert await consumer.position(tp) == 2

            records = await self.poll_n(consumer, 3)
            assert offsets(records) == [2, 3, 4]
            assert {r.tp for r in records} == {tp}
            assert await consumer.position(tp) == 5

            consumer.seek(tp, 0)
            assert offsets(await self.poll_n(consumer, 5)) == [0, 1, 2, 3, 4]
        finally:
            await consumer.stop()

    async def test_commit_without_a_group_is_rejected(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "nogroup", 1)
        tp = TopicPartition(topic, 0)
        consumer = log.consumer([topic], group_id=None)
        await consumer.start()
        try:
            consumer.assign([tp])
            with pytest.raises(StreamError):
                await consumer.commit({tp: 1})
        finally:
            await consumer.stop()

    async def test_assign_on_a_group_consumer_is_rejected(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "noassign", 1)
        consumer = log.consumer([topic], group_id=unique("g"))
        await consumer.start()
        try:
            with pytest.raises(StreamError):
                consumer.assign([TopicPartition(topic, 0)])
        finally:
            await consumer.stop()

    async def manual_consumer_at_end(self, log: Log, tp: TopicPartition) -> Consumer:
        consumer = log.consumer([tp.topic], group_id=None)
        await consumer.start()
        consumer.assign([tp])
        consumer.seek(tp, (await log.end_offsets([tp]))[tp])
        return consumer

    async def test_getmany_wakes_on_a_concurrent_send(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "wake", 1)
        tp = TopicPartition(topic, 0)
        await self.fill(log, topic, b"k", 1)
        consumer = await self.manual_consumer_at_end(log, tp)
        try:
            started = time.monotonic()
            waiting = asyncio.create_task(consumer.getmany(timeout_ms=int(self.poll_timeout * 2000)))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            await log.send(OutRecord(topic, b"k", b"late"))

            batch = await asyncio.wait_for(waiting, self.poll_timeout)

            assert time.monotonic() - started < self.poll_timeout
            assert [(r.offset, r.value) for r in batch[tp]] == [(1, b"late")]
        finally:
            await consumer.stop()

    async def test_cancelling_a_waiting_getmany_is_not_lost_to_a_concurrent_record(self, make_log: LogFactory) -> None:
        """A poll loop stopped by cancellation (EventTap.stop) must stop even if a record arrives just then."""
        log = await make_log()
        topic = await self.topic(log, "cancel", 1)
        tp = TopicPartition(topic, 0)
        consumer = await self.manual_consumer_at_end(log, tp)
        try:
            waiting = asyncio.create_task(consumer.getmany(timeout_ms=int(self.poll_timeout * 1000)))
            await asyncio.sleep(0.05)
            await log.send(OutRecord(topic, b"k", b"v"))  # wakes the poll ...
            if waiting.cancel():  # ... and the cancellation comes before it resumed
                with pytest.raises(asyncio.CancelledError):
                    await waiting
        finally:
            await consumer.stop()

    async def test_getmany_returns_empty_after_the_timeout(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "empty", 1)
        consumer = await self.manual_consumer_at_end(log, TopicPartition(topic, 0))
        try:
            started = time.monotonic()
            assert await consumer.getmany(timeout_ms=100) == {}
            assert 0.09 <= time.monotonic() - started < self.poll_timeout
        finally:
            await consumer.stop()

    async def test_getmany_respects_max_records(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "max", 1)
        tp = TopicPartition(topic, 0)
        await self.fill(log, topic, b"k", 10)
        consumer = log.consumer([topic], group_id=None)
        await consumer.start()
        try:
            consumer.assign([tp])
            consumer.seek(tp, 0)
            seen: list[int] = []
            deadline = time.monotonic() + self.poll_timeout
            while len(seen) < 10 and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=20, max_records=3)
                assert sum(len(rs) for rs in batch.values()) <= 3
                seen.extend(offsets(batch.get(tp, [])))
            assert seen == list(range(10))
        finally:
            await consumer.stop()

    # ------------------------------------------------------------------ transactions

    async def test_transaction_records_and_offsets_become_visible_together(self, make_log: LogFactory) -> None:
        log = await make_log()
        source = await self.topic(log, "txin", 1)
        sink = await self.topic(log, "txout", 1)
        group = unique("g")
        tp_in, tp_out = TopicPartition(source, 0), TopicPartition(sink, 0)

        # Offsets are compared loosely: on Kafka, transaction markers take offsets too.
        async with log.transaction() as tx:
            tx.send(OutRecord(sink, b"k", b"a"))
            tx.send(OutRecord(sink, b"k", b"b", (("h", b"1"),)))
            tx.commit_offsets(group, {tp_in: 7})
            assert (await log.end_offsets([tp_out]))[tp_out] == 0
            assert await log.read(tp_out, 0, 100) == []
            assert await log.committed(group, tp_in) is None

        end = (await log.end_offsets([tp_out]))[tp_out]
        assert end >= 2
        assert await log.committed(group, tp_in) == 7
        records = await log.read(tp_out, 0, end)
        assert [(r.value, r.headers) for r in records] == [(b"a", ()), (b"b", (("h", b"1"),))]
        assert records[0].offset < records[1].offset

    async def test_failed_transaction_commits_nothing(self, make_log: LogFactory) -> None:
        log = await make_log()
        source = await self.topic(log, "failin", 1)
        sink = await self.topic(log, "failout", 1)
        group = unique("g")
        tp_in, tp_out = TopicPartition(source, 0), TopicPartition(sink, 0)
        async with log.transaction() as tx:
            tx.send(OutRecord(sink, b"k", b"kept"))
            tx.commit_offsets(group, {tp_in: 1})
        reader = await self.manual_consumer_at_end(log, tp_out)

        async def failing() -> None:
            async with log.transaction() as tx:
                tx.send(OutRecord(sink, b"k", b"lost"))
                tx.commit_offsets(group, {tp_in: 9})
                raise BoomError

        with pytest.raises(BoomError):
            await failing()

        try:
            assert await log.committed(group, tp_in) == 1
            assert await reader.getmany(timeout_ms=100) == {}
            end = (await log.end_offsets([tp_out]))[tp_out]
            assert [r.value for r in await log.read(tp_out, 0, end)] == [b"kept"]
        finally:
            await reader.stop()

    # ------------------------------------------------------------------ rebalance

    async def test_rebalance_splits_partitions_and_moves_them_on_stop(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "rebalance", 4)
        group = unique("g")
        everything = {TopicPartition(topic, p) for p in range(4)}
        calls: dict[str, list[tuple[str, set[TopicPartition]]]] = {"one": [], "two": []}

        def recorder(name: str, kind: str) -> Callable[[set[TopicPartition]], Awaitable[None]]:
            async def callback(tps: set[TopicPartition]) -> None:
                calls[name].append((kind, set(tps)))

            return callback

        one = log.consumer(
            [topic], group_id=group, on_assign=recorder("one", "assign"), on_revoke=recorder("one", "revoke")
        )
        two = log.consumer(
            [topic], group_id=group, on_assign=recorder("two", "assign"), on_revoke=recorder("two", "revoke")
        )

        def assigned(name: str) -> set[TopicPartition]:
            return set().union(*(tps for kind, tps in calls[name] if kind == "assign"))

        # Kafka updates `assignment()` before it calls the rebalance listener: wait for both.
        await one.start()
        await self.settle(
            [one], lambda: one.assignment() == assigned("one") == everything, what="the first member to own all"
        )
        assert calls["one"] == [("assign", everything)]

        await two.start()
        await self.settle(
            [one, two],
            lambda: (
                bool(one.assignment())
                and bool(two.assignment())
                and one.assignment() | two.assignment() == everything
                and assigned("two") == two.assignment()
                and ("revoke", two.assignment()) in calls["one"]
            ),
            what="the split",
        )
        mine, theirs = one.assignment(), two.assignment()
        assert mine.isdisjoint(theirs)
        assert ("revoke", theirs) in calls["one"]
        assert calls["two"] == [("assign", theirs)]

        # A member may not commit a partition the other one owns.
        with pytest.raises(CommitFailedError):
            await two.commit({next(iter(mine)): 0})

        keys = keys_by_partition(4)
        for p in range(4):
            await self.fill(log, topic, keys[p], 2)
        got = await self._drain_both(one, two, 8)
        assert {r.tp for r in got[0]} == mine
        assert {r.tp for r in got[1]} == theirs
        await two.commit({tp: 1 for tp in theirs})  # processed offset 0 of each; offset 1 read, not committed

        calls["one"].clear()
        await two.stop()
        moved = await self.settle(
            [one],
            lambda: one.assignment() == everything and assigned("one") >= theirs,
            what="the partitions to move back",
        )
        assert assigned("one") == theirs  # only the gained partitions, never the kept ones again
        assert all(kind == "assign" for kind, _ in calls["one"])
        redelivered = moved[0] + await self.poll(
            one, lambda rs: len(rs) + len(moved[0]) >= len(theirs), what="redelivery"
        )
        got_positions = sorted((r.partition, r.offset) for r in redelivered)
        assert got_positions == sorted((tp.partition, 1) for tp in theirs), got_positions
        await one.stop()

    async def _drain_both(self, one: Consumer, two: Consumer, n: int) -> dict[int, list[Record]]:
        got: dict[int, list[Record]] = {0: [], 1: []}
        deadline = time.monotonic() + self.poll_timeout
        while len(got[0]) + len(got[1]) < n:
            if time.monotonic() > deadline:
                pytest.fail(f"timed out draining {n} records; got {len(got[0]) + len(got[1])}")
            for i, consumer in enumerate((one, two)):
                for records in (await consumer.getmany(timeout_ms=10)).values():
                    got[i].extend(records)
        return got

    async def test_group_assignment_is_co_partitioned(self, make_log: LogFactory) -> None:
        """Partition p of every subscribed topic goes to the same member.

        The orchestrator relies on it: it handles a session's commands (runs.commands partition p) with the
        state it rebuilt from the session's events (runs.events partition p), so both must be owned by the
        same member whatever the member count (Kafka's RangeAssignor gives this for equal partition counts).
        """
        log = await make_log()
        commands = await self.topic(log, "commands", 3)
        events = await self.topic(log, "events", 3)
        group = unique("g")
        members = [log.consumer([commands, events], group_id=group) for _ in range(2)]
        for member in members:
            await member.start()
        try:
            await self.settle(
                members,
                lambda: (
                    all(m.assignment() for m in members) and len(set().union(*(m.assignment() for m in members))) == 6
                ),
                what="the split",
            )
            for member in members:
                owned = member.assignment()
                assert {tp.partition for tp in owned if tp.topic == commands} == {
                    tp.partition for tp in owned if tp.topic == events
                }
        finally:
            for member in members:
                await member.stop()

    async def test_a_scan_yields_what_was_visible_each_partition_in_offset_order(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic, other = unique("scan"), unique("other")
        await log.create_topics([TopicSpec(topic, 3), TopicSpec(other, 1)])
        for i in range(40):
            async with log.transaction() as tx:
                tx.send(OutRecord(topic, str(i % 7).encode(), b"%d" % i))
                tx.send(OutRecord(other, b"k", b"x"))
        # Kafka writes a transaction's markers after EndTxn returns: wait until the last one is readable.
        ends = await log.settled_end_offsets([TopicPartition(topic, p) for p in range(3)])

        seen: list[Record] = []
        async for record in log.scan(topic, [0, 2]):
            if not seen:  # appended after the scan started: not part of it
                await log.send(OutRecord(topic, b"late", b"late"))
            seen.append(record)

        assert {r.topic for r in seen} == {topic}
        for p in (0, 2):
            expected = await log.read(TopicPartition(topic, p), 0, ends[TopicPartition(topic, p)])
            assert [r for r in seen if r.partition == p] == expected
        assert not [r for r in seen if r.partition == 1]
        assert len([r async for r in log.scan(topic)]) == 41


class DurableTransportContract(TransportContract):
    """The contract plus restart tests, for transports whose data outlives `close()`."""

    async def test_topics_records_and_offsets_survive_restart(self, make_log: LogFactory) -> None:
        log = await make_log()
        a = await self.topic(log, "durable-a", 3)
        b = await self.topic(log, "durable-b", 1)
        group = unique("g")
        for i in range(6):
            await log.send(
                OutRecord(a, f"s{i % 4}".encode(), f"a{i}".encode(), (("n", str(i).encode()), ("b", b"\x00")))
            )
        await log.send(OutRecord(b, b"k", b"b0"))
        tps = [TopicPartition(a, p) for p in range(3)] + [TopicPartition(b, 0)]
        async with log.transaction() as tx:
            tx.commit_offsets(group, {TopicPartition(b, 0): 1, TopicPartition(a, 0): 0})
        ends = await log.end_offsets(tps)
        before = {tp: await log.read(tp, 0, ends[tp]) for tp in tps}

        log = await make_log.reopen(log)

        assert (log.partitions_for(a), log.partitions_for(b)) == (3, 1)
        await log.create_topics([TopicSpec(a, 3), TopicSpec(b, 1)])
        with pytest.raises(TopicMismatchError):
            await log.create_topics([TopicSpec(a, 2)])
        assert await log.end_offsets(tps) == ends
        assert {tp: await log.read(tp, 0, ends[tp]) for tp in tps} == before
        assert await log.committed(group, TopicPartition(b, 0)) == 1
        assert await log.committed(group, TopicPartition(a, 0)) == 0
        assert await log.committed(group, TopicPartition(a, 1)) is None

    async def test_close_completes_pending_appends(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "pending", 1)
        tp = TopicPartition(topic, 0)
        sends = [asyncio.create_task(log.send(OutRecord(topic, b"k", f"v{i}".encode()))) for i in range(5)]
        await asyncio.sleep(0)  # the appends are under way, not finished

        log = await make_log.reopen(log)

        assert all(task.done() and task.exception() is None for task in sends), [
            (t.done(), t.done() and t.exception()) for t in sends
        ]
        assert [r.value for r in await log.read(tp, 0, 10)] == [f"v{i}".encode() for i in range(5)]

    async def test_offsets_continue_after_restart(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "continue", 1)
        tp = TopicPartition(topic, 0)
        await self.fill(log, topic, b"k", 2)

        log = await make_log.reopen(log)
        await self.fill(log, topic, b"k", 2, start=2)

        assert [(r.offset, r.value) for r in await log.read(tp, 0, 10)] == [
            (0, b"v0"),
            (1, b"v1"),
            (2, b"v2"),
            (3, b"v3"),
        ]

    async def test_redelivery_after_restart_starts_at_the_committed_offset(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "redeliver", 1)
        group = unique("g")
        tp = TopicPartition(topic, 0)
        await self.fill(log, topic, b"k", 4)
        consumer = log.consumer([topic], group_id=group)
        await consumer.start()
        await self.poll_n(consumer, 4)
        await consumer.commit({tp: 2})
        await consumer.stop()

        log = await make_log.reopen(log)
        consumer = log.consumer([topic], group_id=group)
        await consumer.start()
        try:
            assert offsets(await self.poll_n(consumer, 2)) == [2, 3]
        finally:
            await consumer.stop()

    async def test_concurrent_appends_are_visible_exactly_once_in_order(self, make_log: LogFactory) -> None:
        log = await make_log()
        topic = await self.topic(log, "concurrent", 4)
        writers, per_writer = 20, 10

        async def writer(w: int) -> None:
            for i in range(per_writer):
                if i % 5 == 4:
                    await log.send_many([OutRecord(topic, f"w{w}".encode(), f"{w}:{i}".encode())])
                else:
                    await log.send(OutRecord(topic, f"w{w}".encode(), f"{w}:{i}".encode()))

        await asyncio.gather(*(writer(w) for w in range(writers)))

        async def check(log: Log) -> None:
            by_writer: dict[str, list[int]] = {}
            total = 0
            for p in range(4):
                tp = TopicPartition(topic, p)
                end = (await log.end_offsets([tp]))[tp]
                records = await log.read(tp, 0, end)
                assert offsets(records) == list(range(end))
                for r in records:
                    w, i = r.value.decode().split(":")
                    by_writer.setdefault(w, []).append(int(i))
                total += end
            assert total == writers * per_writer
            assert by_writer == {str(w): list(range(per_writer)) for w in range(writers)}

        await check(log)
        await check(await make_log.reopen(log))
