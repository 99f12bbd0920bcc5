"""The transport contract on a real Apache Kafka broker (marker `broker`).

The broker comes from `KAFKA_BOOTSTRAP_SERVERS` (what `scripts/kafka.sh start` prints; `.ci/run` exports
it). Without it, or when nothing answers there, the tests are skipped with that reason.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka import errors as kafka_errors  # type: ignore[import-untyped]
from contract import DurableTransportContract, LogFactory, unique

from streams import Consumer, KafkaLog, Log, OutRecord, StreamError, StreamTimeoutError, TopicPartition
from streams.records import DEADLETTER_HEADER
from tests.kafka_broker import BOOTSTRAP, broker_marks

pytestmark = [*broker_marks(), pytest.mark.timeout(120)]


class TestKafkaLog(DurableTransportContract):
    poll_timeout = 30.0

    async def open_log(self, storage: Path) -> Log:
        # The "storage" of a Kafka log is the cluster itself: re-opening means a new client on the same topics.
        log = KafkaLog(BOOTSTRAP, client_id=f"contract-{storage.name}")
        await log.start()
        return log

    async def committed_becomes(self, log: Log, group: str, tp: TopicPartition, offset: int) -> None:
        """Wait until `group`'s committed offset of `tp` reads `offset` (offset commits become readable shortly
        after their transaction or deferred commit, not at once)."""
        deadline = time.monotonic() + self.poll_timeout
        while (committed := await log.committed(group, tp)) != offset:
            assert time.monotonic() < deadline, f"the committed offset stayed {committed}, not {offset}"
            await asyncio.sleep(0.02)

    async def member_and_spy(
        self, log: KafkaLog, topic: str, group: str, monkeypatch: pytest.MonkeyPatch
    ) -> tuple[Consumer, list[dict[str, Any]]]:
        """A started member of `group` holding `topic`/0, and the offsets each Kafka transaction carries."""
        member = log.consumer([topic], group_id=group)
        await member.start()
        in_transaction: list[dict[str, Any]] = []
        real_commit_batch = log._commit_batch

        async def commit_batch(producer: Any, batch: Any, offsets: dict[str, Any]) -> None:
            in_transaction.append({g: dict(o) for g, o in offsets.items()})
            await real_commit_batch(producer, batch, offsets)

        monkeypatch.setattr(log, "_commit_batch", commit_batch)
        tp = TopicPartition(topic, 0)
        await self.settle([member], lambda: member.assignment() == {tp}, what="the assignment")
        return member, in_transaction

    async def test_committed_offsets_are_per_group(self, make_log: LogFactory) -> None:
        # Kafka writes a committed transaction's offset markers after EndTxn returns, and aiokafka's OffsetFetch
        # predates `require_stable` (KIP-447): a transactional offset becomes readable within milliseconds, not
        # at once. The contract here is that it does become visible, for that group only.
        log = await make_log()
        topic = await self.topic(log, "pergroup", 1)
        tp = TopicPartition(topic, 0)
        group, other = unique("g"), unique("other")
        async with log.transaction() as tx:
            tx.commit_offsets(group, {tp: 2})
        await self.committed_becomes(log, group, tp, 2)
        assert await log.committed(other, tp) is None

    async def test_a_transaction_with_a_failed_record_is_aborted_not_committed_without_it(
        self, make_log: LogFactory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # aiokafka commits a transaction whose batch failed (after a broker restart: a batch that expired while
        # its partition had no leader), so its offsets would commit without the record. The log must abort it.
        log = await make_log()
        assert isinstance(log, KafkaLog)
        topic = await self.topic(log, "failedrecord", 1)
        tp, group = TopicPartition(topic, 0), unique("g")
        real_produce = log._produce

        async def produce(producer: Any, record: OutRecord) -> asyncio.Future[Any]:
            future = await real_produce(producer, record)
            if record.value == b"lost":  # as aiokafka fails an expired batch, after handing out its future
                failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                failed.set_exception(kafka_errors.LeaderNotAvailableError())
                return failed
            return future

        async def commit_with_a_lost_record() -> None:
            async with log.transaction() as tx:
                tx.send(OutRecord(topic, b"k", b"kept"))
                tx.send(OutRecord(topic, b"k", b"lost"))
                tx.commit_offsets(group, {tp: 7})

        monkeypatch.setattr(log, "_produce", produce)
        with pytest.raises(StreamError, match="LeaderNotAvailableError"):
            await commit_with_a_lost_record()
        monkeypatch.undo()

        end = (await log.settled_end_offsets([tp]))[tp]
        assert [r.value for r in await log.read(tp, 0, end)] == []  # aborted: "kept" is not readable either
        assert await log.committed(group, tp) is None
        async with log.transaction() as tx:  # the producer goes on: the next transaction commits
            tx.send(OutRecord(topic, b"k", b"next"))
        end = (await log.settled_end_offsets([tp]))[tp]
        assert [r.value for r in await log.read(tp, 0, end)] == [b"next"]

    async def test_a_member_commits_its_transactions_offsets_after_them_and_before_it_stops(
        self, make_log: LogFactory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # With a member of the group holding the partition, the offsets leave the Kafka transaction (two requests
        # and a marker fewer) and that member commits them with its generation right after it: within the
        # interval, and at once when it stops. A transaction that fails commits none of its offsets.
        log = await make_log()
        assert isinstance(log, KafkaLog)
        topic = await self.topic(log, "deferred", 1)
        tp, group = TopicPartition(topic, 0), unique("g")
        member, in_transaction = await self.member_and_spy(log, topic, group, monkeypatch)
        try:
            async with log.transaction() as tx:
                tx.send(OutRecord(topic, b"k", b"a"))
                tx.commit_offsets(group, {tp: 2})
            assert in_transaction == [{}]  # the records went in a transaction, the offsets did not
            await self.committed_becomes(log, group, tp, 2)

            async def failing() -> None:
                async with log.transaction() as tx:
                    tx.send(OutRecord(topic, b"k", b"b"))
                    tx.commit_offsets(group, {tp: 5})
                    raise RuntimeError("the batch failed")

            with pytest.raises(RuntimeError):
                await failing()
            async with log.transaction() as tx:  # offsets only: no Kafka transaction at all
                tx.commit_offsets(group, {tp: 4})
            assert len(in_transaction) == 1
        finally:
            await member.stop()  # commits the deferred offset 4 before leaving the group
        assert await log.committed(group, tp) == 4

    async def test_a_batch_that_dead_letters_commits_its_offsets_inside_its_transaction(
        self, make_log: LogFactory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A crash after the dead letter but before a deferred commit would dead-letter the record again.
        log = await make_log()
        assert isinstance(log, KafkaLog)
        topic = await self.topic(log, "deadletters", 1)
        tp, group = TopicPartition(topic, 0), unique("g")
        member, in_transaction = await self.member_and_spy(log, topic, group, monkeypatch)
        try:
            async with log.transaction() as tx:
                tx.commit_offsets(group, {tp: 3})  # deferred
            async with log.transaction() as tx:
                tx.send(OutRecord(topic, b"k", b"bad input", ((DEADLETTER_HEADER, b"1"),)))
                tx.commit_offsets(group, {tp: 6})
            assert in_transaction == [{group: {tp: 6}}]
        finally:
            await member.stop()  # nothing deferred is left to commit: 3 must not overwrite 6
        await self.committed_becomes(log, group, tp, 6)

    async def test_settled_end_offsets_wait_for_a_transaction_open_below_and_fail_if_it_stays_open(
        self, make_log: LogFactory
    ) -> None:
        # A transaction another producer left open holds back the last stable offset: the records committed
        # above it are not readable yet. Settling must wait for it, and fail rather than return less.
        from aiokafka import AIOKafkaProducer

        log = await make_log()
        topic = await self.topic(log, "settle", 1)
        tp = TopicPartition(topic, 0)
        other = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, transactional_id=unique("open"))
        await other.start()
        try:
            await other.begin_transaction()
            await (await other.send(topic, b"open", key=b"k"))
            async with log.transaction() as tx:
                tx.send(OutRecord(topic, b"k", b"committed"))  # above the open transaction's record

            with pytest.raises(StreamTimeoutError, match=rf"{topic}/0 \[0, 3\)"):  # 2: the commit marker
                await log.settled_end_offsets([tp], timeout_s=1.0)

            settling = asyncio.create_task(log.settled_end_offsets([tp], timeout_s=30.0))
            await asyncio.sleep(0.5)
            assert not settling.done()
            await other.commit_transaction()
            end = (await settling)[tp]
        finally:
            await other.stop()
        assert [r.value for r in await log.read(tp, 0, end)] == [b"open", b"committed"]
