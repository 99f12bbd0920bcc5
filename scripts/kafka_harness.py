"""Helpers to run agnostream worker processes on Kafka and check what they wrote (scale and rebalance runs).

- `Workers`: `agnostream worker` processes of one deployment (start, SIGKILL, stop; map group members to them);
- `Groups`: consumer-group state and partition assignment through the Kafka admin API (DescribeGroups);
- `Tracker`: follows the run-events topic (read_committed) and notes when each run's terminal event arrives;
- `submit`, `read_all`, `check_log`, `log_ok`: produce StartRun commands; read and check the committed log.

Used by `scripts/kafka_scale.py`, `tests/integration/test_kafka_scale.py` and `test_kafka_rebalance.py`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment  # type: ignore[import-untyped]

from adapters.model_worker import MODEL_GROUP
from adapters.tool_worker import TOOL_GROUP
from engine import StartRun
from streams import ORCHESTRATOR_GROUP, Consumer, KafkaLog, Record, TopicPartition, Topics, command_record

__all__ = [
    "GROUP_OF_ROLE",
    "ROOT",
    "TERMINAL",
    "Assignment",
    "Groups",
    "Tracker",
    "Workers",
    "check_log",
    "group_topics",
    "log_ok",
    "read_all",
    "submit",
]

ROOT = Path(__file__).resolve().parents[1]
TERMINAL = frozenset({"RunCompleted", "RunError", "RunCancelled"})
GROUP_OF_ROLE = {"orchestrator": ORCHESTRATOR_GROUP, "model": MODEL_GROUP, "tool": TOOL_GROUP}
"""The consumer group each worker role joins (the projection worker reads without a group)."""


class Workers:
    """Worker processes (`python -m adapters.cli worker`) of one deployment; stderr goes to `<work_dir>/<name>.log`.

    A worker's `--instance` is `<prefix><name>`, so its transactional id and static group member id are
    `agnostream-<role>-<prefix><name>`: unique to this deployment, and a member of a group can be told by its id.
    """

    def __init__(self, bootstrap: str, topics: Topics, work_dir: Path, *, agents: str = "adapters.demo.agents") -> None:
        self.work_dir = work_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.roles: dict[str, str] = {}
        self._broker = f"kafka://{bootstrap}"
        self._prefix = topics.prefix
        self._agents = agents
        self._env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
            "AGNOSTREAM_TOPIC_PREFIX": topics.prefix,
            "AGNOSTREAM_PARTITIONS": str(topics.partitions),
            "AGNOSTREAM_DEMO_PROVIDER": "scripted",
        }

    def start(self, role: str, name: str) -> None:
        """Start worker `name` of `role` (orchestrator, model, tool, projection or all)."""
        argv = [
            sys.executable, "-m", "adapters.cli", "worker", "--role", role, "--broker", self._broker,
            "--agents", self._agents, "--db", str(self.work_dir / "views.db"), "--instance", f"{self._prefix}{name}",
        ]  # fmt: skip
        with (self.work_dir / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(argv, env=self._env, stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT)
        self.roles[name] = role

    def kill(self, name: str) -> None:
        """SIGKILL worker `name` and reap it."""
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(timeout=10)

    def owner(self, member_id: str) -> str:
        """The worker name behind a consumer-group member id (the member id itself if not one of ours)."""
        for name, role in self.roles.items():
            if member_id.startswith(f"agnostream-{role}-{self._prefix}{name}-"):
                return name
        return member_id

    def named(self, role: str) -> list[str]:
        """Names of the workers of `role`, in start order."""
        return [name for name, r in self.roles.items() if r == role]

    def exited(self) -> dict[str, int]:
        """Exit codes of the workers that have exited."""
        return {name: code for name, proc in self.procs.items() if (code := proc.poll()) is not None}

    def log_tail(self, name: str, lines: int = 20) -> str:
        """The last `lines` lines of worker `name`'s log."""
        return "\n".join((self.work_dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])

    def tracebacks(self) -> int:
        """Tracebacks logged by every worker so far."""
        return sum((self.work_dir / f"{n}.log").read_text(errors="replace").count("Traceback") for n in self.procs)

    def stop_all(self) -> None:
        """SIGTERM every live worker and wait for it (SIGKILL after 20 s)."""
        live = [p for p in self.procs.values() if p.poll() is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        for proc in live:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


Assignment = dict[str, set[TopicPartition]]
"""Partitions (of the watched topics) per owner: worker name, or the member id of a member not ours."""


class Groups:
    """Consumer-group state and partition assignment, read with the Kafka admin API (DescribeGroups)."""

    def __init__(self, bootstrap: str) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="agnostream-scale")

    async def start(self) -> None:
        await self._admin.start()

    async def close(self) -> None:
        await self._admin.close()

    async def describe(self, group_id: str, topics: Iterable[str], workers: Workers) -> tuple[str, Assignment]:
        """The group's state (`Stable`, `PreparingRebalance`, ...) and its owners of `topics`' partitions.

        Members owning none of `topics`' partitions are left out: the group ids are shared by every deployment
        on the cluster, and a stopped static member stays listed until its session times out.
        """
        wanted = set(topics)
        (response,) = await self._admin.describe_consumer_groups([group_id])
        group = response.groups[0]
        state, members = group[2], group[5]
        owners: Assignment = {}
        for member in members:
            member_id, raw = member[0], member[-1]
            assignment = ConsumerProtocolMemberAssignment.decode(raw).assignment if raw else []
            tps = {TopicPartition(t, p) for t, ps in assignment if t in wanted for p in ps}
            if tps:
                owners.setdefault(workers.owner(member_id), set()).update(tps)
        return str(state), owners

    async def wait_for(
        self,
        group_id: str,
        topics: Topics,
        workers: Workers,
        owners: set[str],
        *,
        timeout_s: float,
    ) -> Assignment:
        """Wait until `group_id` is stable with its topics' partitions spread over exactly `owners`.

        Every partition is assigned once, and every owner has at least one. Raises RuntimeError at once when one of
        `owners` has exited (with the end of its log), TimeoutError with the last description after `timeout_s`.
        """
        wanted = group_topics(group_id, topics)
        every = {TopicPartition(t, p) for t in wanted for p in range(topics.partitions)}
        deadline = time.monotonic() + timeout_s
        while True:
            state, assignment = await self.describe(topics.group(group_id), wanted, workers)
            owned = [tp for tps in assignment.values() for tp in tps]
            if state == "Stable" and set(assignment) == owners and sorted(owned) == sorted(every):
                return assignment
            if dead := sorted(owners & set(workers.exited())):
                raise RuntimeError(f"worker {dead[0]} exited; its log ends:\n{workers.log_tail(dead[0])}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group_id}: {state}, owners {sorted(assignment)} (wanted {sorted(owners)})")
            await asyncio.sleep(0.25)


def group_topics(group_id: str, topics: Topics) -> list[str]:
    """The topics a processor group consumes."""
    if group_id == ORCHESTRATOR_GROUP:
        return [topics.commands, topics.events]
    return [topics.work_model if group_id == MODEL_GROUP else topics.work_tools]


class Tracker:
    """Follows the run-events topic (read_committed, no group) and notes each terminal event's arrival."""

    def __init__(self, log: KafkaLog, topics: Topics) -> None:
        self._log = log
        self._topic = topics.events
        self.arrived: dict[str, float] = {}
        """`time.monotonic()` at which a run's first terminal event was read, by run id."""
        self.outcome: dict[str, str] = {}
        """The first terminal event of each ended run (`RunCompleted`, `RunError`, `RunCancelled`), by run id."""
        self._consumer: Consumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = self._log.consumer([self._topic], group_id=None)
        await consumer.start()
        tps = [TopicPartition(self._topic, p) for p in range(self._log.partitions_for(self._topic))]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        self._consumer = consumer
        self._task = asyncio.create_task(self._follow(consumer))

    async def _follow(self, consumer: Consumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            now = time.monotonic()
            for records in batch.values():
                for record in records:
                    event = orjson.loads(record.value)
                    if event.get("event") in TERMINAL and not event.get("part") and event["run_id"] not in self.arrived:
                        self.arrived[event["run_id"]] = now
                        self.outcome[event["run_id"]] = event["event"]

    async def wait(self, run_ids: Iterable[str], timeout_s: float) -> set[str]:
        """Wait until every run in `run_ids` has ended (or `timeout_s` passed); return the ones that did not."""
        wanted = set(run_ids)
        deadline = time.monotonic() + timeout_s
        while (missing := wanted - set(self.arrived)) and time.monotonic() < deadline:
            if self._task is not None and self._task.done():
                self._task.result()  # the follower failed: raise its error
            await asyncio.sleep(0.1)
        return missing

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()


async def submit(log: KafkaLog, topics: Topics, commands: Sequence[StartRun], rate: float = 0.0) -> dict[str, float]:
    """Produce `commands` (all at once when `rate` <= 0, else `rate` per second); return each send's monotonic time."""
    if rate <= 0:
        sent_at = time.monotonic()
        await log.send_many([command_record(topics.commands, c) for c in commands])
        return dict.fromkeys((c.run_id for c in commands), sent_at)
    sent: dict[str, float] = {}
    sends = []
    start = time.monotonic()
    for i, command in enumerate(commands):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        sent[command.run_id] = time.monotonic()
        sends.append(asyncio.create_task(log.send(command_record(topics.commands, command))))
    await asyncio.gather(*sends)
    return sent


async def read_all(log: KafkaLog, topic: str) -> list[Record]:
    """Every committed record of `topic`, partition by partition (after open transactions settle)."""
    tps = [TopicPartition(topic, p) for p in range(log.partitions_for(topic))]
    ends = await log.settled_end_offsets(tps)
    return [r for tp in tps for r in await log.read(tp, 0, ends[tp])]


def check_log(records: Sequence[Record], expected_calls: Mapping[str, int]) -> dict[str, Any]:
    """Check the committed run events of the runs in `expected_calls` (run id -> tool calls it must complete).

    Returns counts: `completed` (runs whose single terminal event is RunCompleted), `errors` (RunError events),
    `missing` / `multi_terminal` (runs with no / several terminal events), `duplicates` (event ids appearing more
    than once), `tool_calls` (expected, completed, completed more than once, failed, runs with a wrong count).
    """
    events = [orjson.loads(r.value) for r in records]
    terminal = [e for e in events if e.get("event") in TERMINAL and not e.get("part")]
    ends = Counter(e["run_id"] for e in terminal)
    completions = Counter(
        (e["run_id"], e["tool"]["tool_call_id"]) for e in events if e.get("event") == "ToolCallCompleted"
    )
    calls_per_run = Counter(run_id for run_id, _ in completions)
    ids = Counter(e["event_id"] for e in events)
    return {
        "events": len(events),
        "completed": sum(1 for e in terminal if e["event"] == "RunCompleted" and ends[e["run_id"]] == 1),
        "errors": sum(1 for e in terminal if e["event"] == "RunError"),
        "missing": sorted(r for r in expected_calls if ends[r] == 0),
        "multi_terminal": sorted(r for r in expected_calls if ends[r] > 1),
        "duplicates": sum(1 for n in ids.values() if n > 1),
        "tool_calls": {
            "expected": sum(expected_calls.values()),
            "completed": len(completions),
            "completed_twice": sum(1 for n in completions.values() if n > 1),
            "failed": sum(1 for e in events if e.get("event") == "ToolCallError"),
            "wrong_count_runs": sorted(r for r, n in expected_calls.items() if calls_per_run[r] != n),
        },
    }


def log_ok(check: Mapping[str, Any], runs: int) -> bool:
    """True when `check_log`'s counts show every run completed once and every tool call completed once."""
    calls = check["tool_calls"]
    return (
        check["completed"] == runs
        and check["errors"] == 0
        and not check["missing"]
        and not check["multi_terminal"]
        and check["duplicates"] == 0
        and calls["completed"] == calls["expected"]
        and calls["completed_twice"] == 0
        and calls["failed"] == 0
        and not calls["wrong_count_runs"]
    )
