"""Exactly once inside Kafka under fault injection (marker `broker`, slow).

Separate worker processes (2 orchestrators, 2 model workers, 2 tool workers, 1 projection worker) run
a load of runs with parallel tool calls while random workers are SIGKILLed and restarted with the same
instance id (their transactional id fences the dead incarnation). Afterwards: every run has exactly one
terminal event and it is RunCompleted; no decision or answer event id appears twice in the committed log;
no progress event id repeats either; the projection shows each run once; and no tool call was executed
again after its completion was committed.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka import TopicPartition as KafkaTP

from engine import StartRun
from projections import SqliteViewStore
from streams import KafkaLog, Record, TopicPartition, Topics, command_record
from tests.kafka_broker import BOOTSTRAP, broker_marks

ROOT = Path(__file__).resolve().parents[2]
RUNS = 80
ROLES = ("orchestrator", "orchestrator", "model", "model", "tool", "tool", "projection")

pytestmark = [*broker_marks(), pytest.mark.slow, pytest.mark.fault, pytest.mark.timeout(420)]


class Workers:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.kills = 0

    def start(self, slot: int) -> None:
        role = ROLES[slot]
        with (self.tmp / f"worker-{slot}.log").open("ab") as log:
            self.procs[slot] = subprocess.Popen(
                [
                    sys.executable, "-m", "adapters.cli", "worker", "--role", role,
                    "--broker", f"kafka://{BOOTSTRAP}", "--agents", "tests.integration.fault_agents",
                    "--db", str(self.tmp / "views.db"), "--instance", f"{self.env['AGNOSTREAM_TOPIC_PREFIX']}{slot}",
                ],
                env=self.env, stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT,
            )  # fmt: skip

    def kill_and_restart(self, slot: int) -> None:
        with (self.tmp / "kills.txt").open("a") as f:
            f.write(f"{time.time():.3f} slot={slot} role={ROLES[slot]} pid={self.procs[slot].pid}\n")
        self.procs[slot].send_signal(signal.SIGKILL)
        self.procs[slot].wait(timeout=10)
        self.kills += 1
        self.start(slot)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def read_all(log: KafkaLog, topic: str) -> list[Record]:
    tps = [TopicPartition(topic, p) for p in range(log.partitions_for(topic))]
    ends = await log.end_offsets(tps)
    return [r for tp in tps for r in await log.read(tp, 0, ends[tp])]


async def test_sigkilled_workers_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    prefix = f"fault-{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix=prefix, partitions=4)
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "AGNOSTREAM_TOPIC_PREFIX": prefix, "AGNOSTREAM_PARTITIONS": "4",
        "AGNOSTREAM_CONTENT_FLUSH_MS": "5",
    }  # fmt: skip
    marks = tmp_path / "marks.txt"
    log = KafkaLog(BOOTSTRAP)
    await log.start()
    await log.create_topics(topics.specs())
    workers = Workers(tmp_path, env)
    rng = random.Random(20261122)
    run_ids = [f"run-{i}" for i in range(RUNS)]
    try:
        for slot in range(len(ROLES)):
            workers.start(slot)

        async def submit() -> None:  # a steady load, so kills land while runs are in every stage
            for i, run_id in enumerate(run_ids):
                command = StartRun(
                    run_id=run_id, session_id=f"s{i % 8}", created_at=int(time.time()), agent_id="fault",
                    message=f"{marks}|{run_id}",
                )  # fmt: skip
                await log.send(command_record(topics.commands, command))
                await asyncio.sleep(0.15)

        submitter = asyncio.create_task(submit())
        deadline = time.monotonic() + 300
        next_kill = time.monotonic() + rng.uniform(0.3, 0.8)
        while True:
            events = [orjson.loads(r.value) for r in await read_all(log, topics.events)]
            done = {e["run_id"] for e in events if e["event"] in ("RunCompleted", "RunError", "RunCancelled")}
            if done >= set(run_ids):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"{len(done)}/{RUNS} runs finished; kills={workers.kills}; {await _offsets(log, topics)}")
            assert not (submitter.done() and submitter.exception())
            if time.monotonic() > next_kill and not submitter.done():
                workers.kill_and_restart(rng.randrange(len(ROLES)))
                next_kill = time.monotonic() + rng.uniform(0.5, 1.5)
            await asyncio.sleep(0.25)
        records = await read_all(log, topics.events)
        work_records = [*await read_all(log, topics.work_model), *await read_all(log, topics.work_tools)]
        # The projection worker catches up on its own; give it a moment before reading its view.
        store = SqliteViewStore(tmp_path / "views.db")
        await asyncio.to_thread(store.open)
        view_deadline = time.monotonic() + 60
        while True:
            _sessions, rows = await asyncio.to_thread(store.all_rows)
            if len(rows) == RUNS and all(r["status"] == "COMPLETED" for r in rows.values()):
                break
            assert time.monotonic() < view_deadline, f"projection shows {len(rows)} runs"
            await asyncio.sleep(0.5)
    finally:
        workers.stop_all()
        await log.close()
    assert workers.kills >= 5

    events = [orjson.loads(r.value) for r in records]
    terminal = Counter(e["run_id"] for e in events if e["event"] in ("RunCompleted", "RunError", "RunCancelled"))
    assert terminal == dict.fromkeys(run_ids, 1)
    assert all(e["event"] != "RunError" for e in events)
    ids = Counter(e["event_id"] for e in events)
    assert [i for i, n in ids.items() if n > 1] == [], _duplicates_report(ids, events, records, work_records)

    assert sorted(rows) == sorted(run_ids)
    for run_id, row in rows.items():
        messages = row["run_data"]["messages"]
        roles = [m["role"] for m in messages]
        assert roles == ["user", "assistant", "tool", "tool", "assistant", "tool", "assistant"], _run_report(
            run_id, roles, events, records
        )
        assert len({m["id"] for m in messages}) == len(messages), _run_report(run_id, roles, events, records)

    _assert_no_execution_after_committed_completion(events, records, marks)


async def _offsets(log: KafkaLog, topics: Topics) -> str:
    """Last stable vs high-watermark offsets of the run-events partitions (an open transaction shows as a gap)."""
    tps = [TopicPartition(topics.events, p) for p in range(log.partitions_for(topics.events))]
    stable = await log.end_offsets(tps)
    reader = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, isolation_level="read_uncommitted")
    await reader.start()
    try:
        ends = await reader.end_offsets([KafkaTP(tp.topic, tp.partition) for tp in tps])
    finally:
        await reader.stop()
    high = {tp: ends[KafkaTP(tp.topic, tp.partition)] for tp in tps}
    return ", ".join(f"events/{tp.partition}: stable {stable[tp]} high {high[tp]}" for tp in tps)


def _duplicates_report(
    ids: Counter[str], events: list[dict[str, Any]], records: list[Record], work_records: list[Record]
) -> str:
    """Where each duplicated event id sits in the log, and whether its work item was produced twice."""
    work_ids = Counter(
        f"{w['run_id']}:{w['seq']}" for w in (orjson.loads(r.value) for r in work_records) if isinstance(w, dict)
    )
    lines = []
    for dup in (i for i, n in ids.items() if n > 1):
        where = [
            (r.partition, r.offset, r.timestamp_ms)
            for e, r in zip(events, records, strict=True)
            if e["event_id"] == dup
        ]
        item = dup.rsplit(":", 1)[0]
        lines.append(f"{dup}: at {where}; work records of {item}: {work_ids.get(item, 0)}")
    return "\n".join(lines)


def _run_report(run_id: str, roles: list[str], events: list[dict[str, Any]], records: list[Record]) -> str:
    """A run's projected roles and every event of it in the log: name, seq, event id, partition/offset, time."""
    lines = [f"run {run_id}: projected roles {roles}"]
    for event, record in zip(events, records, strict=True):
        if event["run_id"] == run_id:
            lines.append(
                f"  {event['event']} seq={event.get('seq')} id={event['event_id']} "
                f"at {record.partition}/{record.offset} t={record.timestamp_ms}"
            )
    return "\n".join(lines)


def _assert_no_execution_after_committed_completion(
    events: list[dict[str, Any]], records: list[Record], marks: Path
) -> None:
    executions: dict[tuple[str, int], list[tuple[int, float, float]]] = {}
    for line in marks.read_text().splitlines():
        token, n, pid, start, end = line.split()
        executions.setdefault((token, int(n)), []).append((int(pid), float(start), float(end)))
    committed_at = {}
    for event, record in zip(events, records, strict=True):
        if event["event"] == "ToolCallCompleted":
            args = event["tool"]["tool_args"]
            committed_at[(args["token"], args["n"])] = record.timestamp_ms / 1000
    assert set(committed_at) == set(executions)
    for call, runs in executions.items():
        # An execution may repeat only if it started before the completion was appended (its process died
        # before committing); none may start after a committed completion (1 s slack for the commit itself).
        late = [r for r in runs if r[1] > committed_at[call] + 1.0]
        assert late == [], f"{call} executed again after its completion was committed: {runs}"
