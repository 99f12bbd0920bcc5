"""EventTap: per-run subscriptions follow the run-events topic; replay_run reads a run's past events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from engine import (
    ModelRequestCompleted,
    ModelRequested,
    RunCompleted,
    RunContent,
    RunContentCompleted,
    RunContinued,
    RunEvent,
    RunPaused,
    RunStarted,
)
from streams import EventTap, MemoryLog, OutRecord, Subscription, Topics, event_record

pytestmark = pytest.mark.timeout(10)


def run_events(run_id: str, session_id: str) -> list[RunEvent]:
    common: dict[str, Any] = {"created_at": 1, "run_id": run_id, "session_id": session_id}
    return [
        RunStarted(seq=0, **common),
        ModelRequested(seq=1, **common),
        RunContent(seq=1, part="d1", content="Hel", **common),
        RunContent(seq=1, part="d2", content="lo", **common),
        ModelRequestCompleted(seq=1, part="done", **common),
        RunContentCompleted(seq=2, **common),
        RunCompleted(seq=3, content="Hello", **common),
    ]


@pytest.fixture
async def log() -> AsyncIterator[MemoryLog]:
    log = MemoryLog(default_partitions=2)
    await log.start()
    yield log
    await log.close()


@pytest.fixture
def topics() -> Topics:
    return Topics(prefix=f"tap{uuid.uuid4().hex[:8]}.", partitions=2)


@pytest.fixture
async def tap(log: MemoryLog, topics: Topics) -> AsyncIterator[EventTap]:
    await log.create_topics(topics.specs())
    tap = EventTap(log, topics)
    await tap.start()
    yield tap
    await tap.stop()


async def append(log: MemoryLog, topics: Topics, events: Sequence[RunEvent]) -> None:
    for event in events:
        await log.send(event_record(topics.events, event))


async def collect(sub: Subscription, within: float = 2) -> list[dict[str, Any]]:
    async def drain() -> list[dict[str, Any]]:
        return [event async for event in sub]

    return await asyncio.wait_for(drain(), within)


def interleave(*runs: list[RunEvent]) -> list[RunEvent]:
    out: list[RunEvent] = []
    for i in range(max(len(r) for r in runs)):
        out.extend(r[i] for r in runs if i < len(r))
    return out


async def test_a_subscription_yields_its_runs_events_in_order_and_ends_after_the_terminal_event(
    log: MemoryLog, topics: Topics, tap: EventTap
) -> None:
    mine = run_events("r1", "s1")
    same_session = run_events("r2", "s1")
    other_session = run_events("r3", "s2")
    sub = tap.subscribe("r1")

    await append(log, topics, interleave(mine, same_session, other_session))
    got = await collect(sub)

    assert [(e["event"], e["seq"], e.get("part", "")) for e in got] == [(e.event, e.seq, e.part) for e in mine]
    assert {e["run_id"] for e in got} == {"r1"}
    assert got[-1]["event"] == "RunCompleted"


async def test_events_appended_before_the_tap_started_are_not_delivered(log: MemoryLog, topics: Topics) -> None:
    await log.create_topics(topics.specs())
    events = run_events("r1", "s1")
    await append(log, topics, events[:2])
    tap = EventTap(log, topics)
    await tap.start()
    try:
        sub = tap.subscribe("r1")
        await append(log, topics, events[2:])
        got = await collect(sub)
    finally:
        await tap.stop()

    assert [e["event_id"] for e in got] == [e.event_id for e in events[2:]]


async def test_every_subscriber_of_a_run_gets_the_events_and_a_closed_one_gets_none(
    log: MemoryLog, topics: Topics, tap: EventTap
) -> None:
    first, second, closed = tap.subscribe("r1"), tap.subscribe("r1"), tap.subscribe("r1")
    closed.close()

    await append(log, topics, run_events("r1", "s1"))

    assert len(await collect(first)) == len(await collect(second)) == 7
    assert closed.queue.empty()


async def test_events_without_subscribers_are_dropped(log: MemoryLog, topics: Topics, tap: EventTap) -> None:
    await append(log, topics, run_events("r0", "s1"))
    await asyncio.sleep(0.05)  # the tap reads them while nobody listens
    sub = tap.subscribe("r1")

    await append(log, topics, run_events("r1", "s1"))

    assert {e["run_id"] for e in await collect(sub)} == {"r1"}


async def test_replay_run_reads_a_runs_recorded_events(log: MemoryLog, topics: Topics, tap: EventTap) -> None:
    mine = run_events("r1", "s1")
    await log.send(OutRecord(topics.events, b"s1", b"{}"))  # no run id: never anyone's
    await append(log, topics, interleave(mine, run_events("r2", "s1"), run_events("r3", "s2")))

    everything = await tap.replay_run("s1", "r1")
    later = await tap.replay_run("s1", "r1", after_seq=1)

    assert [e["event_id"] for e in everything] == [e.event_id for e in mine]
    assert [e["event_id"] for e in later] == ["r1:2", "r1:3"]
    assert await tap.replay_run("s1", "unknown") == []


async def test_a_tap_started_before_the_topics_exist_still_follows_them(log: MemoryLog, topics: Topics) -> None:
    tap = EventTap(log, topics)
    await tap.start()
    try:
        sub = tap.subscribe("r1")
        await asyncio.sleep(0.05)  # the tap polls before the first append creates the topic
        await append(log, topics, run_events("r1", "s1"))
        assert len(await collect(sub, 0.3)) == 7
    finally:
        await tap.stop()


async def test_stop_returns_while_events_are_arriving(log: MemoryLog, topics: Topics) -> None:
    await log.create_topics(topics.specs())
    for _ in range(20):
        tap = EventTap(log, topics)
        await tap.start()
        await asyncio.sleep(0.001)  # the tap waits for records
        await append(log, topics, run_events("r1", "s1")[:1])  # wakes it; the stop below races with the wakeup

        await asyncio.wait_for(tap.stop(), 2)


async def test_read_run_then_follow_sees_every_event_once_whatever_the_taps_lag(
    log: MemoryLog, topics: Topics, tap: EventTap
) -> None:
    # given a run half recorded, and a subscription made before reading it (the tap may still deliver old records)
    events = run_events("r1", "s1")
    await append(log, topics, events[:4])
    sub = tap.subscribe("r1")
    past, end = await tap.read_run("s1", "r1")
    sub.from_offset = end

    # when the rest is recorded
    await append(log, topics, events[4:])

    # then the read part and the live part together are the run, once
    live = await collect(sub)
    assert [e["event_id"] for e in past] == [e.event_id for e in events[:4]]
    assert [e["event_id"] for e in live] == [e.event_id for e in events[4:]]


async def test_a_subscription_ends_after_run_paused(log: MemoryLog, topics: Topics, tap: EventTap) -> None:
    common: dict[str, Any] = {"created_at": 1, "run_id": "r1", "session_id": "s1"}
    sub = tap.subscribe("r1")

    await append(log, topics, [RunStarted(seq=0, **common), RunPaused(seq=1, **common), RunContinued(seq=2, **common)])

    assert [e["event"] for e in await collect(sub)] == ["RunStarted", "RunPaused"]


async def test_find_session_scans_the_log_for_a_run(log: MemoryLog, topics: Topics, tap: EventTap) -> None:
    await log.send(OutRecord(topics.events, b"s9", b'{"run_id":"r9"}'))  # a record without a session id
    await append(log, topics, run_events("r1", "s2"))

    assert await tap.find_session("r1") == "s2"
    assert await tap.find_session("r9") is None
    assert await tap.find_session("unknown") is None


async def test_a_workflow_subscription_gets_its_step_runs_and_ends_with_the_workflow(
    log: MemoryLog, topics: Topics, tap: EventTap
) -> None:
    from engine import StepStarted, WorkflowCompleted, WorkflowStarted

    common: dict[str, Any] = {"created_at": 1, "run_id": "w1", "session_id": "s1", "workflow_id": "w"}
    step_run = run_events("w1~0", "s1")  # its RunCompleted must not end the workflow's stream
    workflow = [
        WorkflowStarted(seq=0, **common),
        StepStarted(seq=1, path="0", **common),
        *step_run,
        WorkflowCompleted(seq=2, **common),
    ]
    sub = tap.subscribe("w1")

    await append(log, topics, interleave(workflow, run_events("w2~0", "s1"), run_events("w11", "s1")))
    got = await collect(sub)
    past, _end = await tap.read_run("s1", "w1")

    assert [e["event_id"] for e in got] == [e.event_id for e in workflow]
    assert [e["event_id"] for e in past] == [e.event_id for e in workflow]
