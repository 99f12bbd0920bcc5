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

from streams import KafkaLog, Log, OutRecord, StreamError, StreamTimeoutError, TopicPartition
from tests.kafka_broker import BOOTSTRAP, broker_marks

pytestmark = [*broker_marks(), pytest.mark.timeout(120)]


class TestKafkaLog(DurableTransportContract):
    poll_timeout = 30.0

    async def open_log(self, storage: Path) -> Log:
        # The "storage" of a Kafka log is the cluster itself: re-opening means a new client on the same topics.
        log = KafkaLog(BOOTSTRAP, client_id=f"contract-{storage.name}")
        await log.start()
        return log

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
        deadline = time.monotonic() + self.poll_timeout
        while await log.committed(group, tp) != 2:
            assert time.monotonic() < deadline, "the transactional offset commit never became visible"
            await asyncio.sleep(0.02)
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
