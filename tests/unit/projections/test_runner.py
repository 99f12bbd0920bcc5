"""SessionsProjection on the embedded log, on both view backends: resuming after a crash, several writers.

A writer's batch and its positions are one transaction, so a new process resumes exactly at the stored
positions; and when several processes project into one database (API server replicas sharing one
PostgreSQL view), a batch read from positions another writer has since moved is dropped, never merged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

from engine import decode_event
from projections import PositionConflictError, SessionsProjection, ViewStore, rebuild_view
from streams import MemoryLog, TopicPartition, Topics, event_record
from tests.view_backends import Backend, record_log

TOPICS = Topics(partitions=4)
RUNS = [(f"r{i}", f"s{i % 5}") for i in range(12)]

Call = tuple[dict[TopicPartition, int], Mapping[TopicPartition, int] | None, str]


async def new_log() -> MemoryLog:
    log = MemoryLog(None, default_partitions=TOPICS.partitions)
    await log.start()
    await log.create_topics(TOPICS.specs())
    return log


async def append(log: MemoryLog, values: list[dict[str, Any]]) -> None:
    await log.send_many([event_record(TOPICS.events, decode_event(v)) for v in values])


async def end_offsets(log: MemoryLog) -> dict[TopicPartition, int]:
    ends = await log.end_offsets([TopicPartition(TOPICS.events, p) for p in range(TOPICS.partitions)])
    return {tp: n for tp, n in ends.items() if n}


def spy_apply(store: ViewStore) -> list[Call]:
    """Record each `store.apply`: (positions, expected, "applied" | "conflict")."""
    calls: list[Call] = []
    original = store.apply

    def apply(
        projection: str,
        sessions: Any,
        runs: Any,
        positions: Mapping[TopicPartition, int],
        *,
        expected: Mapping[TopicPartition, int] | None = None,
    ) -> None:
        try:
            original(projection, sessions, runs, positions, expected=expected)
        except PositionConflictError:
            calls.append((dict(positions), expected, "conflict"))
            raise
        calls.append((dict(positions), expected, "applied"))

    store.apply = apply  # type: ignore[method-assign]
    return calls


async def run_until_caught_up(projection: SessionsProjection) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(projection.run(stop))
    try:
        await projection.wait_caught_up()
    finally:
        stop.set()
        await task


def assert_view_equals_rebuild(store: ViewStore, values: list[dict[str, Any]]) -> None:
    rebuilt = rebuild_view(values)
    sessions, runs = store.all_rows()
    assert sessions == rebuilt.sessions
    assert runs == rebuilt.runs


async def test_a_new_process_resumes_from_the_positions_stored_with_the_view(backend: Backend) -> None:
    # given a projection that applied the first runs, then crashed (cancelled mid-run, store closed)
    values = record_log(RUNS)
    half = len(values) // 2
    log = await new_log()
    await append(log, values[:half])
    first = SessionsProjection(log, TOPICS, backend.new_store())
    task = asyncio.create_task(first.run(asyncio.Event()))
    await first.wait_caught_up()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await first.close()
    at_crash = await end_offsets(log)

    # when more runs happen and a new process projects into the same database
    await append(log, values[half:])
    second = SessionsProjection(log, TOPICS, backend.new_store())
    await second.open()
    calls = spy_apply(second.store)
    try:
        assert second.store.positions("sessions") == at_crash
        await run_until_caught_up(second)

        # then it read on from the stored positions (nothing twice) and the view is the full log's
        assert calls
        positions, expected, outcome = calls[0]
        assert outcome == "applied"
        assert expected == {tp: at_crash.get(tp, 0) for tp in positions}
        assert_view_equals_rebuild(second.store, values)
        assert second.store.positions("sessions") == await end_offsets(log)
    finally:
        await second.close()
        await log.close()


async def test_a_writer_behind_another_drops_its_batch_and_reads_on_from_the_stored_positions(
    backend: Backend,
) -> None:
    # given a second writer opened (positions read) before the first projected the whole log
    values = record_log(RUNS)
    log = await new_log()
    await append(log, values)
    ahead = SessionsProjection(log, TOPICS, backend.new_store())
    behind = SessionsProjection(log, TOPICS, backend.new_store())
    await behind.open()
    calls = spy_apply(behind.store)
    try:
        await run_until_caught_up(ahead)

        # when the writer behind runs
        await run_until_caught_up(behind)

        # then its batch from stale positions was refused and it caught up without writing
        assert [outcome for _, _, outcome in calls] == ["conflict"]
        assert_view_equals_rebuild(ahead.store, values)
        assert behind.store.positions("sessions") == await end_offsets(log)
    finally:
        await ahead.close()
        await behind.close()
        await log.close()


async def test_two_writers_projecting_at_once_build_the_view_a_rebuild_builds(backend: Backend) -> None:
    # given two projection processes on one view database, both following the log
    values = record_log(RUNS)
    log = await new_log()
    writers = [SessionsProjection(log, TOPICS, backend.new_store()) for _ in range(2)]
    stop = asyncio.Event()
    for w in writers:
        await w.open()
    tasks = [asyncio.create_task(w.run(stop)) for w in writers]
    try:
        # when runs arrive in small pieces while both write
        for start in range(0, len(values), 5):
            await append(log, values[start : start + 5])
            await asyncio.sleep(0.002)
        for w in writers:
            await w.wait_caught_up()
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    # then the shared view is exactly the log's, whoever wrote which batch
    try:
        assert_view_equals_rebuild(writers[0].store, values)
        assert writers[1].store.all_rows() == writers[0].store.all_rows()
        assert writers[0].store.positions("sessions") == await end_offsets(log)
    finally:
        for w in writers:
            await w.close()
        await log.close()


async def test_under_load_the_view_is_written_once_per_batch_interval(backend: Backend) -> None:
    values = record_log(RUNS)
    log = await new_log()
    projection = SessionsProjection(log, TOPICS, backend.new_store(), batch_interval_s=0.6)
    await projection.open()
    written: list[float] = []
    original = projection.store.apply

    def apply(*args: Any, **kwargs: Any) -> None:
        written.append(time.monotonic())
        original(*args, **kwargs)

    projection.store.apply = apply  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(projection.run(stop))
    try:
        # a record after a quiet spell is written at once
        started = time.monotonic()
        await append(log, values[:1])
        await projection.wait_caught_up()
        assert written
        assert written[0] - started < 0.5
        # records arriving within the interval after it wait for it and go in one write
        for value in values[1:4]:
            await append(log, [value])
            await asyncio.sleep(0.05)
        await projection.wait_caught_up()
        assert len(written) == 2
        # the interval runs from when a batch was read; its write starts a fold later
        assert written[1] - written[0] >= 0.5
        await append(log, values[4:])
        await projection.wait_caught_up()
        assert_view_equals_rebuild(projection.store, values)
    finally:
        stop.set()
        await task
        await projection.close()
        await log.close()
