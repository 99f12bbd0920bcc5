"""Partitions move between live worker processes (issue 3 item 3; marker `broker`).

Separate worker processes (one orchestrator, one model worker, two tool workers) on a real broker. The tool
work topic's partitions are spread across both tool workers (the group description of the Kafka admin API
shows it); runs whose slow tool calls land on each worker are started, and one tool worker is SIGKILLed while
calls are in flight on both. Its partitions move to the survivor, which executes the interrupted calls again,
and every run completes with exactly one terminal event and each tool call completed exactly once in the
committed log. Then a third tool worker starts: the partitions spread to it and it executes the calls of runs
on its partitions.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from pathlib import Path

import orjson
import pytest

from adapters.tool_worker import TOOL_GROUP
from engine import StartRun
from scripts.kafka_harness import (
    GROUP_OF_ROLE,
    Groups,
    Tracker,
    Workers,
    check_log,
    log_ok,
    read_all,
    submit,
)
from streams import KafkaLog, TopicPartition, Topics, partition_for
from tests.kafka_broker import BOOTSTRAP, broker_marks

pytestmark = [*broker_marks(), pytest.mark.slow, pytest.mark.timeout(150)]

PARTITIONS = 4
Call = tuple[str, int]
"""A tool call: (run token = run id, call number)."""


def runs_on(prefix: str, tag: str, partitions: set[TopicPartition], count: int) -> list[str]:
    """`count` run ids whose tool work lands on `partitions` (work items are keyed by run id)."""
    wanted = {tp.partition for tp in partitions}
    ids = (f"{prefix}{tag}-{i}" for i in itertools.count())
    return list(itertools.islice((r for r in ids if partition_for(r.encode(), PARTITIONS) in wanted), count))


def start_runs(run_ids: list[str], marks: Path) -> list[StartRun]:
    return [
        StartRun(run_id=r, session_id=f"{r}-s", created_at=int(time.time()), agent_id="slow", message=f"{marks}|{r}")
        for r in run_ids
    ]


def in_flight(marks: Path) -> dict[int, set[Call]]:
    """Calls started but not ended, by pid."""
    started: dict[int, set[Call]] = {}
    ended: set[tuple[str, int, int]] = set()
    for line in marks.read_text().splitlines() if marks.exists() else []:
        token, n, pid, what, _at = line.split()
        if what == "start":
            started.setdefault(int(pid), set()).add((token, int(n)))
        else:
            ended.add((token, int(n), int(pid)))
    return {pid: {c for c in calls if (*c, pid) not in ended} for pid, calls in started.items()}


async def wait_in_flight_on(marks: Path, pids: set[int], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(in_flight(marks).get(pid) for pid in pids):
        assert time.monotonic() < deadline, f"no calls in flight on every one of {pids}: {in_flight(marks)}"
        await asyncio.sleep(0.05)


async def test_partitions_move_to_the_survivor_and_spread_to_a_new_worker(tmp_path: Path) -> None:
    prefix = f"rebal-{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix=prefix, partitions=PARTITIONS)
    every = {TopicPartition(topics.work_tools, p) for p in range(PARTITIONS)}
    marks = tmp_path / "marks.txt"
    log = KafkaLog(BOOTSTRAP, client_id="rebalance-test", default_partitions=PARTITIONS)
    workers = Workers(BOOTSTRAP, topics, tmp_path, agents="tests.integration.rebalance_agents")
    groups = Groups(BOOTSTRAP)
    tracker = Tracker(log, topics)
    await log.start()
    try:
        await log.create_topics(topics.specs())
        await groups.start()
        for role, name in (("orchestrator", "orch"), ("model", "model"), ("tool", "tool-a"), ("tool", "tool-b")):
            workers.start(role, name)
        for role, group_id in GROUP_OF_ROLE.items():
            await groups.wait_for(group_id, topics, workers, set(workers.named(role)), timeout_s=60)
        # Spread: both tool workers own partitions of the tool work topic (range assignment: two each).
        spread = await groups.wait_for(TOOL_GROUP, topics, workers, {"tool-a", "tool-b"}, timeout_s=10)
        assert sorted(len(tps) for tps in spread.values()) == [2, 2]
        pid_a, pid_b = workers.procs["tool-a"].pid, workers.procs["tool-b"].pid
        await tracker.start()

        # Slow calls in flight on both workers, then SIGKILL tool-b.
        first = runs_on(prefix, "a", spread["tool-a"], 3) + runs_on(prefix, "b", spread["tool-b"], 3)
        await submit(log, topics, start_runs(first, marks))
        await wait_in_flight_on(marks, {pid_a, pid_b}, timeout_s=30)
        workers.kill("tool-b")
        killed_at = time.monotonic()
        interrupted = in_flight(marks)[pid_b]

        # Its partitions move to the survivor (after the static member's session timeout), and every run ends.
        moved = await groups.wait_for(TOOL_GROUP, topics, workers, {"tool-a"}, timeout_s=40)
        move_s = time.monotonic() - killed_at
        assert moved == {"tool-a": every}
        assert await tracker.wait(first, timeout_s=40) == set()

        # Scale out: a third tool worker gets partitions and executes the calls of runs on them.
        workers.start("tool", "tool-c")
        spread = await groups.wait_for(TOOL_GROUP, topics, workers, {"tool-a", "tool-c"}, timeout_s=40)
        assert sorted(len(tps) for tps in spread.values()) == [2, 2]
        pid_c = workers.procs["tool-c"].pid
        on_c = runs_on(prefix, "c", spread["tool-c"], 3)
        second = [*on_c, *runs_on(prefix, "a2", spread["tool-a"], 1)]
        await submit(log, topics, start_runs(second, marks))
        assert await tracker.wait(second, timeout_s=40) == set()
        records = await read_all(log, topics.events)
    finally:
        await tracker.stop()
        await groups.close()
        workers.stop_all()
        await log.close()

    check = check_log(records, dict.fromkeys([*first, *second], 2))
    assert log_ok(check, len(first) + len(second)), check
    assert move_s < 30
    completed_by = {
        (e["tool"]["tool_args"]["token"], e["tool"]["tool_args"]["n"]): int(e["tool"]["result"].split()[-1])
        for e in (orjson.loads(r.value) for r in records)
        if e["event"] == "ToolCallCompleted"
    }
    # The calls interrupted by the kill finished elsewhere: executed again and completed by the survivor.
    assert interrupted
    assert {completed_by[call] for call in interrupted} == {pid_a}
    # The new worker did the tool work of the runs on its partitions.
    assert {completed_by[(run, n)] for run in on_c for n in (1, 2)} == {pid_c}
