"""The transport contract on a real Apache Kafka broker (marker `broker`).

The broker comes from `KAFKA_BOOTSTRAP_SERVERS` (what `scripts/kafka.sh start` prints; `.ci/run` exports
it). Without it, or when nothing answers there, the tests are skipped with that reason.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from contract import DurableTransportContract, LogFactory, unique

from streams import KafkaLog, Log, TopicPartition
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
