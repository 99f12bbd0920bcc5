"""The group consumer's deferred offset commits (`_KafkaConsumer.defer_commit`), against a stand-in client.

The broker-side behaviour (offsets out of the transaction, visible after it, flushed on stop) is in the Kafka
contract tests; these pin the timing and cancellation logic without a broker.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.structs import TopicPartition as KafkaTP  # type: ignore[import-untyped]

from streams import KafkaLog, TopicPartition
from streams._kafka_consumer import _KafkaConsumer

TP = TopicPartition("t", 0)


class _Client:
    """Stands in for AIOKafkaConsumer: records commits; a commit can be held until released."""

    def __init__(self) -> None:
        self.commits: list[dict[KafkaTP, int]] = []
        self.hold = asyncio.Event()
        self.hold.set()

    def assignment(self) -> set[KafkaTP]:
        return {KafkaTP(TP.topic, TP.partition)}

    async def commit(self, offsets: dict[KafkaTP, int]) -> None:
        await self.hold.wait()
        self.commits.append(dict(offsets))

    async def stop(self) -> None:
        return None


def _member(interval_s: float) -> tuple[_KafkaConsumer, _Client]:
    member = _KafkaConsumer(KafkaLog("127.0.0.1:1"), ["t"], "g", None, None, "earliest", commit_interval_s=interval_s)
    client = _Client()
    member._consumer._closed = True  # never started: nothing to close
    member._consumer = client
    member._started = True
    return member, client


async def test_offsets_deferred_within_an_interval_go_in_one_commit_of_the_highest() -> None:
    member, client = _member(0.05)
    member.defer_commit({TP: 3})
    await asyncio.sleep(0.01)  # the first commit goes at once
    member.defer_commit({TP: 5})
    member.defer_commit({TP: 4})  # an older offset never lowers a deferred one
    await asyncio.sleep(0.01)
    assert client.commits == [{KafkaTP("t", 0): 3}]
    await asyncio.sleep(0.08)
    assert client.commits == [{KafkaTP("t", 0): 3}, {KafkaTP("t", 0): 5}]


async def test_stop_commits_what_a_cancelled_commit_was_sending() -> None:
    member, client = _member(0.05)
    client.hold.clear()
    member.defer_commit({TP: 7})
    await asyncio.sleep(0.01)  # the timer's commit is now waiting on the client
    stop = asyncio.ensure_future(member.stop())
    await asyncio.sleep(0.01)  # stop cancelled it and now waits in a commit of its own
    client.hold.set()
    await stop
    assert client.commits == [{KafkaTP("t", 0): 7}]


async def test_forgotten_offsets_are_not_committed() -> None:
    member, client = _member(10.0)
    member._flushed_at = asyncio.get_running_loop().time()  # the next commit waits a whole interval
    member.defer_commit({TP: 2})
    member.forget([TP])
    await member.stop()
    assert client.commits == []


async def test_stop_leaves_without_its_last_commit_when_the_broker_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("streams._kafka_consumer.STOP_FLUSH_S", 0.05)
    member, client = _member(10.0)
    member._flushed_at = asyncio.get_running_loop().time()  # no timer commit: stop's is the first
    client.hold.clear()  # the commit never gets an answer
    member.defer_commit({TP: 9})
    await asyncio.wait_for(member.stop(), 1.0)
    assert client.commits == []
    assert not member._started
