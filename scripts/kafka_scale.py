"""The Kafka scale run (issue 3 item 9): worker processes on one machine, a load of runs, throughput and latency.

    python -m scripts.kafka_scale --broker kafka://127.0.0.1:29092 [--runs 500] [--orchestrators 2] [--models 2]
        [--tools 2] [--partitions 8] [--sessions N] [--rate RUNS_PER_S] [--warmup 8] [--out artifacts/kafka-scale.json]

(`make kafka-scale` runs it with the defaults against `KAFKA_BOOTSTRAP_SERVERS`.) On fresh topics (a unique prefix):
1. creates the topics with `--partitions` partitions each;
2. starts every worker as its own process (`agnostream worker --role R --instance I`): the orchestrators, model
   workers and tool workers, plus one projection worker, all loading the demo agents (`adapters.demo.agents`,
   scripted model: one `get_weather` call, or `get_weather` and `get_local_time` in parallel when the message
   asks for the time, then a streamed answer);
3. waits until each consumer group is stable with every partition assigned and every one of its workers owning
   some (the Kafka admin API's group description), then runs `--warmup` runs to the end (not measured: the first
   run on a partition pays for connections, transaction set-up and state rebuilds);
4. produces the StartRun commands (all at once, or `--rate` per second) and follows the run-events topic
   (read_committed): a run's end-to-end latency runs from its command's send to the arrival of its terminal event,
   and runs/s is the measured runs over the time from the first send to the last terminal event;
5. checks the committed log (measured and warm-up runs): every run has exactly one terminal event and it is
   RunCompleted, no event id appears twice, every tool call was completed exactly once; and the projection
   worker's view shows every run completed;
6. writes the report (JSON) and prints a summary; the exit status is 1 when a check failed.

`tests/integration/test_kafka_scale.py` runs the same code with a small load.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import subprocess
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from engine import StartRun
from projections import SqliteViewStore
from scripts.kafka_harness import (
    GROUP_OF_ROLE,
    ROOT,
    Groups,
    Tracker,
    Workers,
    check_log,
    log_ok,
    read_all,
    submit,
)
from streams import KafkaLog, Topics

CITIES = ("Paris", "London", "Tokyo", "Berlin")


@dataclass(slots=True)
class ScaleConfig:
    """One scale run. Durations are seconds; `rate` is runs per second (0 = all at once)."""

    bootstrap: str
    work_dir: Path
    runs: int = 500
    orchestrators: int = 2
    models: int = 2
    tools: int = 2
    partitions: int = 8
    sessions: int | None = None
    """Distinct sessions of the measured runs (runs share them round-robin); default 4/5 of the runs."""
    rate: float = 0.0
    warmup: int = 8
    """Runs taken to the end before the measured load (each on its own session)."""
    timeout_s: float = 600.0
    """Bound on waiting for the measured runs to end, seconds."""
    prefix: str = field(default_factory=lambda: f"scale-{uuid.uuid4().hex[:8]}.")


def commands(prefix: str, kind: str, runs: int, sessions: int) -> tuple[list[StartRun], dict[str, int]]:
    """`runs` StartRun commands on `sessions` sessions, and the tool calls each run completes (1 or 2, alternating).

    Run ids are `<prefix><kind>-<i>`; even runs ask for the weather and the time (two parallel tool calls).
    """
    out, calls = [], {}
    for i in range(runs):
        city, with_time = CITIES[i % len(CITIES)], i % 2 == 0
        message = f"What's the weather and the time in {city}?" if with_time else f"What's the weather in {city}?"
        run_id = f"{prefix}{kind}-{i}"
        session_id = f"{prefix}{kind}-s{i % sessions}"
        command = StartRun(
            run_id=run_id, session_id=session_id, created_at=int(time.time()), agent_id="weather", message=message
        )
        out.append(command)
        calls[run_id] = 2 if with_time else 1
    return out, calls


@dataclass(slots=True)
class _Outcome:
    """What one scale run observed (the raw material of the report)."""

    sent: dict[str, float]
    tracker: Tracker
    check: dict[str, Any]
    projected: int
    exited: dict[str, int]
    tracebacks: int
    startup_s: float
    sessions: int
    load_at_start: float | None


async def run_scale(cfg: ScaleConfig) -> dict[str, Any]:
    """Run the load described by `cfg` end to end (see the module docstring) and return the report."""
    load_at_start = _load()
    topics = Topics(prefix=cfg.prefix, partitions=cfg.partitions)
    warmup, warm_calls = commands(cfg.prefix, "warmup", cfg.warmup, max(1, cfg.warmup))
    load, calls = commands(cfg.prefix, "run", cfg.runs, cfg.sessions or max(1, cfg.runs * 4 // 5))
    log = KafkaLog(cfg.bootstrap, client_id="agnostream-scale", default_partitions=cfg.partitions)
    workers = Workers(cfg.bootstrap, topics, cfg.work_dir)
    groups = Groups(cfg.bootstrap)
    tracker = Tracker(log, topics)
    await log.start()
    try:
        await log.create_topics(topics.specs())
        await groups.start()
        startup_s = await _start_workers(cfg, topics, workers, groups)
        await tracker.start()
        if warmup:
            await submit(log, topics, warmup)
            if late := await tracker.wait(warm_calls, 120):
                raise TimeoutError(f"{len(late)} warm-up runs did not end in 120 s; worker logs in {cfg.work_dir}")
        sent = await submit(log, topics, load, cfg.rate)
        await tracker.wait(sent, cfg.timeout_s)
        check = check_log(await read_all(log, topics.events), {**warm_calls, **calls})
        projected = await _projected_runs(cfg.work_dir / "views.db", {**warm_calls, **calls}.keys(), timeout_s=60)
        exited = workers.exited()
    finally:
        await tracker.stop()
        await groups.close()
        workers.stop_all()
        await log.close()
    sessions = len({c.session_id for c in load})
    outcome = _Outcome(
        sent, tracker, check, projected, exited, workers.tracebacks(), startup_s, sessions, load_at_start
    )
    return _report(cfg, outcome)


async def _start_workers(cfg: ScaleConfig, topics: Topics, workers: Workers, groups: Groups) -> float:
    """Start every worker and wait until each group spreads its partitions over its workers; return the seconds."""
    start = time.monotonic()
    counts = {"orchestrator": cfg.orchestrators, "model": cfg.models, "tool": cfg.tools, "projection": 1}
    for role, n in counts.items():
        for i in range(n):
            workers.start(role, f"{role}-{i}")
    for role, group_id in GROUP_OF_ROLE.items():
        await groups.wait_for(group_id, topics, workers, set(workers.named(role)), timeout_s=90)
    return time.monotonic() - start


def _report(cfg: ScaleConfig, o: _Outcome) -> dict[str, Any]:
    ended = [r for r in o.sent if r in o.tracker.arrived]
    latencies = sorted((o.tracker.arrived[r] - o.sent[r]) * 1000 for r in ended)
    first = min(o.sent.values())
    wall_s = max((o.tracker.arrived[r] for r in ended), default=first) - first
    completed = sum(1 for r in ended if o.tracker.outcome[r] == "RunCompleted")
    report = {
        "runs": cfg.runs,
        "completed": completed,
        "errors": sum(1 for r in ended if o.tracker.outcome[r] == "RunError"),
        "not_ended": cfg.runs - len(ended),
        "wall_s": round(wall_s, 3),
        "runs_per_s": round(len(ended) / wall_s, 2) if wall_s > 0 else 0.0,
        "e2e_ms": {
            name: round(_percentile(latencies, q), 1) if latencies else None
            for name, q in (("min", 0.0), ("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
        },
        "duplicates": o.check["duplicates"],
        "log_check": o.check,
        "projection_runs_completed": o.projected,
        "warmup_runs": cfg.warmup,
        "load": "all at once" if cfg.rate <= 0 else f"{cfg.rate:g} runs/s",
        "sessions": o.sessions,
        "agent": "weather (adapters.demo.agents): scripted model, 1 or 2 parallel tool calls, then a streamed answer",
        "workers": {"orchestrator": cfg.orchestrators, "model": cfg.models, "tool": cfg.tools, "projection": 1},
        "workers_exited_early": o.exited,
        "worker_tracebacks": o.tracebacks,
        "startup_s": round(o.startup_s, 2),
        "partitions": cfg.partitions,
        "broker": cfg.bootstrap,
        "topic_prefix": cfg.prefix,
        "machine": {**_machine(), "load_avg_1m_at_start": o.load_at_start, "load_avg_1m_at_end": _load()},
        "commit": _commit(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    runs_checked = cfg.runs + cfg.warmup
    report["ok"] = (
        completed == cfg.runs and log_ok(o.check, runs_checked) and o.projected == runs_checked and not o.exited
    )
    return report


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..1) of ascending `sorted_values`."""
    return sorted_values[max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))]


async def _projected_runs(db: Path, run_ids: Collection[str], *, timeout_s: float) -> int:
    """How many of `run_ids` the projection worker's view shows COMPLETED, once it is all or `timeout_s` passed."""
    store = SqliteViewStore(db)
    await asyncio.to_thread(store.open)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            _sessions, rows = await asyncio.to_thread(store.all_rows)
            completed = sum(1 for r in run_ids if r in rows and rows[r]["status"] == "COMPLETED")
            if completed == len(run_ids) or time.monotonic() > deadline:
                return completed
            await asyncio.sleep(0.5)
    finally:
        await asyncio.to_thread(store.close)


def _machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo")
    lines = meminfo.read_text().splitlines() if meminfo.exists() else []
    mem_kb = next((int(line.split()[1]) for line in lines if line.startswith("MemTotal")), 0)
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1) if mem_kb else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def _load() -> float | None:
    """The 1-minute load average (other processes on the machine skew the numbers; the report says how much)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return None
    return out.stdout.strip() or None


def summary(report: Mapping[str, Any]) -> str:
    """Two lines: the numbers and the setup."""
    e2e, w = report["e2e_ms"], report["workers"]
    return (
        f"{report['completed']}/{report['runs']} runs completed ({report['errors']} errors, {report['duplicates']} "
        f"duplicate event ids) in {report['wall_s']} s: {report['runs_per_s']} runs/s; end to end p50 {e2e['p50']} ms, "
        f"p95 {e2e['p95']} ms, p99 {e2e['p99']} ms, max {e2e['max']} ms\n"
        f"{w['orchestrator']} orchestrators, {w['model']} model, {w['tool']} tool, {w['projection']} projection "
        f"worker(s); {report['partitions']} partitions per topic; load {report['load']}; "
        f"{report['machine']['cpus']} CPUs (load {report['machine']['load_avg_1m_at_start']}); "
        f"{report['worker_tracebacks']} worker tracebacks; {'OK' if report['ok'] else 'FAILED'}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run the scale run, write the report; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m scripts.kafka_scale", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--broker", default=f"kafka://{os.environ.get('KAFKA_BOOTSTRAP_SERVERS', '127.0.0.1:29092')}")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--orchestrators", type=int, default=2)
    parser.add_argument("--models", type=int, default=2)
    parser.add_argument("--tools", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--sessions", type=int, default=None, help="distinct sessions (default: 4/5 of the runs)")
    parser.add_argument("--rate", type=float, default=0.0, help="runs per second (default 0: all at once)")
    parser.add_argument("--warmup", type=int, default=8, help="unmeasured runs taken to the end first")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the runs to end")
    parser.add_argument("--out", default="artifacts/kafka-scale.json")
    parser.add_argument("--work-dir", default=None, help="worker logs and views (default: a new temp dir)")
    args = parser.parse_args(argv)
    work_dir = Path(args.work_dir or f"/tmp/agnostream-scale-{uuid.uuid4().hex[:8]}")
    work_dir.mkdir(parents=True, exist_ok=True)
    cfg = ScaleConfig(
        args.broker.removeprefix("kafka://"), work_dir, runs=args.runs, orchestrators=args.orchestrators,
        models=args.models, tools=args.tools, partitions=args.partitions, sessions=args.sessions, rate=args.rate,
        warmup=args.warmup, timeout_s=args.timeout,
    )  # fmt: skip
    report = asyncio.run(run_scale(cfg))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    print(summary(report))
    print(f"report: {out}; worker logs: {work_dir}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
