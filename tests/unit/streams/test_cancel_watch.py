"""CancelWatch: CancelRun commands on the commands topic reach whoever watches the run, in any process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from engine import CancelRun, StartRun
from streams import CancelWatch, MemoryLog, OutRecord, Topics, command_record

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
async def log() -> AsyncIterator[MemoryLog]:
    log = MemoryLog(default_partitions=2)
    await log.start()
    yield log
    await log.close()


@pytest.fixture
async def topics(log: MemoryLog) -> Topics:
    topics = Topics(prefix=f"cw{uuid.uuid4().hex[:8]}.", partitions=2)
    await log.create_topics(topics.specs())
    return topics


def cancel(run_id: str, session_id: str | None = None) -> CancelRun:
    return CancelRun(run_id=run_id, session_id=session_id or f"s-{run_id}", created_at=1)


async def test_a_cancel_appended_later_sets_the_watch_of_its_run_only(log: MemoryLog, topics: Topics) -> None:
    watch = CancelWatch(log, topics)
    await watch.start()
    try:
        mine, other = watch.watch("r1"), watch.watch("r2")
        await log.send(
            command_record(
                topics.commands, StartRun(run_id="r2", session_id="s", created_at=1, agent_id="a", message="x")
            )
        )
        await log.send(OutRecord(topics.commands, b"s", b'{"command":"CancelRun", not json'))
        await log.send(command_record(topics.commands, cancel("r1")))

        await asyncio.wait_for(mine.wait(), 2)
        assert not other.is_set()
        assert watch.cancelled("r1")
        assert not watch.cancelled("r2")
        watch.unwatch("r1", mine)
        watch.unwatch("r1", mine)  # twice is harmless
        watch.unwatch("r2", other)
    finally:
        await watch.stop()


async def test_a_cancel_from_just_before_the_start_is_still_seen(log: MemoryLog, topics: Topics) -> None:
    await log.send(command_record(topics.commands, cancel("r1")))
    watch = CancelWatch(log, topics, lookback=10)
    await watch.start()
    try:
        for _ in range(100):
            if watch.cancelled("r1"):
                break
            await asyncio.sleep(0.01)
        assert watch.watch("r1").is_set()
    finally:
        await watch.stop()
        await watch.stop()  # idempotent


async def test_only_the_most_recent_cancels_are_remembered(log: MemoryLog, topics: Topics) -> None:
    watch = CancelWatch(log, topics, remember=2)
    await watch.start()
    try:
        for run_id in ("r1", "r2", "r3"):  # one session: one partition, so they are seen in this order
            await log.send(command_record(topics.commands, cancel(run_id, "s1")))
        for _ in range(100):
            if watch.cancelled("r3"):
                break
            await asyncio.sleep(0.01)
        assert (watch.cancelled("r1"), watch.cancelled("r2"), watch.cancelled("r3")) == (False, True, True)
    finally:
        await watch.stop()
