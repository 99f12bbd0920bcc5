"""One benchmark run: every target and tool mode against one fake model, then the report.

For each target (`floor`, `embedded`, `kafka`, `agno`, in that order) and tool mode it starts a fresh
server (fresh log, views and topics), waits for `/health`, runs the load generator in this process
while sampling the server's (and the broker's) RSS and CPU, stops the server and moves on. A target
that cannot run here (no agno venv, no Kafka) is skipped with a note, so every ratio in one report
comes from one run on one machine. Then, with `replay_events`, it times `agnostream replay`.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
import psutil

from engine import ConfigurationError

from .agent import AGENT_SPEC, MODEL_ID, agent_id_for
from .hops import kafka_run_hops, run_hops
from .loadgen import AgentOSRequest, LoadConfig, ModelRequest, Request, prime, run_load
from .monitor import CoreLoad, ProcessMonitor
from .processes import Pinning, Server, pinning, start_agno, start_agnostream, start_fake_model, start_kafka, stop_kafka
from .replay import time_replay
from .report import MODES, TARGETS, checks, markdown
from .stats import core_ms_per_request, summarize

__all__ = ["BenchOptions", "run_bench"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchOptions:
    """What to benchmark and how (the `agnostream bench` flags).

    Attributes:
        concurrency: concurrent sessions.
        duration_s: measured seconds per target and mode (after `warmup_s`).
        warmup_s: seconds of unmeasured load before each measurement.
        modes: tool modes to run, from `report.MODES`.
        targets: targets to run, from `report.TARGETS`.
        tokens / ttft_ms / token_ms: the fake model's answer length and speed.
        out: the JSON report; the markdown goes next to it with the suffix `.md`.
        agno_python: python of the agno venv, or None to skip agno.
        kafka_bootstrap: an existing broker to use, or None to start one with scripts/kafka.sh.
        kafka_port / kafka_data: port and data directory of a broker started here.
        kafka_partitions: partitions per topic of the Kafka target (AGNOSTREAM_PARTITIONS of its server).
            Each partition number commits on a transactional producer of its own (zombie fencing without
            KIP-447), so with one server process every partition beyond the first splits its group commits:
            on the 2-vCPU machine 12 partitions cost 2.7-3.1 ms of broker CPU per request against 1.0-1.3
            with 1, and 107-109 req/s against 141-172. One partition is what a single process should run with.
        broker_core: where a broker started here runs: "server" (its core: the broker is part of the system
            under test) or "client" (the load generator's and fake model's core, like a broker on a machine
            of its own).
        broker_warmup_s: extra seconds of unmeasured load before the first Kafka measurement, so the broker
            is measured warm, as a long-running broker is: a fresh JVM spends its first minute or two
            compiling its hot paths (one compiler thread took ~24 % of the machine 60 s in), and req/s of
            the Kafka target rose from 51 to 119 over its first ~2 minutes of load on the 2-vCPU machine.
        replay_events: size of the replay log (0 = no replay measurement).
        replay_workers: `agnostream replay --workers` for the headline replay figure (one pinned process is
            timed as well).
        pin: pin server and client to different cores when possible.
        baseline: an earlier report to compare a long run with.
        request_timeout_s: limit of one request, seconds.
        keep_workdir: keep the temporary logs and server logs (path in the report's notes).
    """

    concurrency: int = 100
    duration_s: float = 60.0
    warmup_s: float = 5.0
    modes: tuple[str, ...] = MODES
    targets: tuple[str, ...] = TARGETS
    tokens: int = 64
    ttft_ms: float = 50.0
    token_ms: float = 5.0
    out: Path = Path("artifacts/bench.json")
    agno_python: Path | None = None
    kafka_bootstrap: str | None = None
    kafka_port: int = 49092
    kafka_data: Path | None = None
    kafka_partitions: int = 1
    broker_core: str = "server"
    broker_warmup_s: float = 90.0
    replay_events: int = 0
    replay_workers: int = 1
    pin: bool = True
    baseline: Path | None = None
    request_timeout_s: float = 120.0
    keep_workdir: bool = False


@dataclass(slots=True)
class _Context:
    opts: BenchOptions
    pin: Pinning
    workdir: Path
    model_url: str
    fake: Server
    notes: list[str] = field(default_factory=list)
    broker: tuple[str, int | None] | None = None
    started_broker: bool = False
    broker_warm: bool = False
    kafka_prefix: str = ""
    """Topic prefix of the last Kafka target's server (its runs' hops are read from these topics)."""


async def run_bench(opts: BenchOptions) -> dict[str, Any]:
    """Run the benchmark and write `opts.out` and its `.md`; return the report dict."""
    pin = pinning(opts.pin)
    workdir = Path(tempfile.mkdtemp(prefix="agnostream-bench-"))
    fake, model_url = await start_fake_model(
        pin, workdir, tokens=opts.tokens, ttft_ms=opts.ttft_ms, token_ms=opts.token_ms
    )
    ctx = _Context(opts, pin, workdir, model_url, fake, notes=[pin.note])
    results: dict[str, dict[str, Any]] = {}
    replay: dict[str, Any] | None = None
    started = datetime.now(UTC)
    try:
        for target in opts.targets:
            for mode in opts.modes:
                figures = await _run_target(ctx, target, mode)
                if figures is None:
                    break
                results.setdefault(target, {})[mode] = figures
        if opts.replay_events > 0:
            replay = await _replay(ctx)
    finally:
        await fake.stop()
        if ctx.started_broker:
            await stop_kafka(port=opts.kafka_port, data_dir=_kafka_data(ctx))
        if opts.keep_workdir:
            ctx.notes.append(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report = _report(ctx, results, replay, started)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    opts.out.with_suffix(".md").write_text(markdown(report))
    return report


def _kafka_data(ctx: _Context) -> Path:
    return ctx.opts.kafka_data or ctx.workdir / "kafka"


async def _run_target(ctx: _Context, target: str, mode: str) -> dict[str, Any] | None:
    """Start the target's server, measure one mode, stop it; None (with a note) when the target is skipped."""
    tools = mode == "tools"
    if target == "floor":
        return await _measure(ctx, ModelRequest(ctx.model_url, MODEL_ID, tools), None, None)
    try:
        server, broker_pid = await _start(ctx, target, mode)
    except ConfigurationError as exc:
        ctx.notes.append(f"{target}: skipped: {exc}")
        return None
    request = AgentOSRequest(server.base_url, agent_id_for(tools))
    try:
        # A server is ready when a whole run succeeds, not when /health answers (Kafka: group joins, leaders).
        primed = time.monotonic()
        error = await prime(request, timeout_s=max(120.0, ctx.opts.request_timeout_s))
        if error is not None:
            ctx.notes.append(f"{server.name}: no run succeeded before the load started (last error: {error})")
        elif time.monotonic() - primed > 2:
            ctx.notes.append(f"{server.name}: first run took {time.monotonic() - primed:.1f} s (not measured)")
        warmup_s = ctx.opts.warmup_s
        if target == "kafka" and not ctx.broker_warm:
            ctx.broker_warm = True
            if ctx.opts.broker_warmup_s > 0:
                warmup_s += ctx.opts.broker_warmup_s
                ctx.notes.append(
                    f"kafka: the broker got {ctx.opts.broker_warmup_s:.0f} s of unmeasured load before "
                    f"{server.name} was measured (JIT warm-up; --broker-warmup)"
                )
        figures = await _measure(ctx, request, server, broker_pid, warmup_s=warmup_s)
    finally:
        await server.stop()
    # Where the runs' time went, from the stopped server's log.
    window = figures["window_ms"]
    since, until = window.get("start", 0), window.get("end")
    if target == "embedded":
        figures["hops"] = await run_hops(ctx.workdir / f"{server.name}-log.db", since_ms=since, until_ms=until)
    elif target == "kafka" and ctx.broker is not None:
        figures["hops"] = await kafka_run_hops(ctx.broker[0], prefix=ctx.kafka_prefix, since_ms=since, until_ms=until)
    return figures


async def _start(ctx: _Context, target: str, mode: str) -> tuple[Server, int | None]:
    """Start the server of `target` for one mode.

    Raises:
        ConfigurationError: the target cannot run here (the message says why).
    """
    if target == "embedded":
        return await start_agnostream(ctx.pin, ctx.workdir, name=f"embedded-{mode}", model_url=ctx.model_url), None
    if target == "kafka":
        bootstrap, broker_pid = await _broker(ctx)
        ctx.kafka_prefix = f"bench{uuid.uuid4().hex[:8]}."
        server = await start_agnostream(
            ctx.pin, ctx.workdir, name=f"kafka-{mode}", model_url=ctx.model_url,
            broker=f"kafka://{bootstrap}", topic_prefix=ctx.kafka_prefix,
            partitions=ctx.opts.kafka_partitions,
        )  # fmt: skip
        return server, broker_pid
    if target == "agno":
        python = ctx.opts.agno_python
        if python is None or not python.exists():
            raise ConfigurationError(f"no agno venv python at {python} (make bench-agno-venv, or --agno-python)")
        spec = orjson.dumps(AGENT_SPEC).decode()
        return await start_agno(ctx.pin, ctx.workdir, python=python, model_url=ctx.model_url, spec_json=spec), None
    raise ConfigurationError(f"unknown target {target!r}; use {', '.join(TARGETS)}")


async def _broker(ctx: _Context) -> tuple[str, int | None]:
    if ctx.broker is None:
        if ctx.opts.kafka_bootstrap:
            ctx.broker = (ctx.opts.kafka_bootstrap, _listener_pid(ctx.opts.kafka_bootstrap))
            ctx.notes.append(f"kafka: existing broker {ctx.opts.kafka_bootstrap} (not pinned)")
        else:
            ctx.started_broker = True
            ctx.broker = await start_kafka(
                ctx.pin, port=ctx.opts.kafka_port, data_dir=_kafka_data(ctx), core=ctx.opts.broker_core
            )
            where = "the server" if ctx.opts.broker_core == "server" else "the load generator (--broker-core client)"
            ctx.notes.append(
                f"kafka: broker started by scripts/kafka.sh on port {ctx.opts.kafka_port}, pinned with {where}"
            )
        ctx.notes.append(
            f"kafka: topics with {ctx.opts.kafka_partitions} partition(s) each (--kafka-partitions; one transactional "
            "producer per partition number, so a single server process commits most cheaply with one)"
        )
    return ctx.broker


def _listener_pid(bootstrap: str) -> int | None:
    """The pid listening on the first bootstrap server's port, when this user may see it."""
    try:
        port = int(bootstrap.split(",")[0].rsplit(":", 1)[1])
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return conn.pid
    except (ValueError, IndexError, psutil.Error):
        return None
    return None


async def _measure(
    ctx: _Context, request: Request, server: Server | None, broker_pid: int | None, *, warmup_s: float | None = None
) -> dict[str, Any]:
    opts = ctx.opts
    monitors = {
        "server": ProcessMonitor(server.pid) if server is not None else None,
        "broker": ProcessMonitor(broker_pid) if broker_pid is not None else None,
        "fake_model": ProcessMonitor(ctx.fake.pid),
        "loadgen": ProcessMonitor(os.getpid()),
    }
    active = [m for m in monitors.values() if m is not None]
    for m in active:
        m.start()
    cores = CoreLoad()
    window_ms: dict[str, int] = {}

    def mark(what: str) -> None:
        window_ms[what] = int(time.time() * 1000)
        cores.mark()
        for m in active:
            m.mark()

    config = LoadConfig(
        concurrency=opts.concurrency,
        duration_s=opts.duration_s,
        warmup_s=opts.warmup_s if warmup_s is None else warmup_s,
        request_timeout_s=opts.request_timeout_s,
    )
    result = await run_load(request, config, on_window=mark)
    summaries = {name: (await m.stop()) if m is not None else None for name, m in monitors.items()}
    figures = summarize(result, opts.duration_s)
    figures["server"] = summaries["server"].to_dict() if summaries["server"] else None
    figures["broker"] = summaries["broker"].to_dict() if summaries["broker"] else None
    fake, loadgen = summaries["fake_model"], summaries["loadgen"]
    figures["client"] = {
        "loadgen_cpu_pct": round(loadgen.cpu_mean_pct, 1) if loadgen else None,
        "fake_model_cpu_pct": round(fake.cpu_mean_pct, 1) if fake else None,
    }
    figures["machine"] = _machine_load(ctx, cores, figures)
    figures["window_ms"] = window_ms
    foreign = figures["machine"].get("server_core_foreign_pct") or 0.0
    if server is not None and foreign > 15:
        ctx.notes.append(
            f"{server.name}: other processes took {foreign:.0f} % of the server core during the window "
            "(the machine was not quiet; its latencies are inflated)"
        )
    if server is not None and server.process.returncode is not None:
        ctx.notes.append(f"{server.name} exited during the run:\n{server.log_tail()}")
    return figures


def _machine_load(ctx: _Context, cores: CoreLoad, figures: dict[str, Any]) -> dict[str, Any]:
    """Per-core busy % over the window and, when pinned, how much of the server core others took."""
    busy = cores.busy_pct()
    out: dict[str, Any] = {"core_busy_pct": busy, "loadavg_1m": round(os.getloadavg()[0], 2)}
    if ctx.pin.enabled and busy:
        ours = sum((figures.get(k) or {}).get("cpu_mean_pct", 0.0) for k in ("server", "broker"))
        out["server_core_foreign_pct"] = round(max(0.0, busy[0] - ours), 1)
        if figures.get("server"):
            out["server_core_ms_per_request"] = core_ms_per_request(busy[0], figures["rps"])
        client = figures["client"]
        out["client_core_foreign_pct"] = round(
            max(0.0, busy[1] - (client["loadgen_cpu_pct"] or 0.0) - (client["fake_model_cpu_pct"] or 0.0)), 1
        )
    return out


async def _replay(ctx: _Context) -> dict[str, Any] | None:
    logs = sorted(ctx.workdir.glob("embedded-*-log.db"))
    if not logs:
        server = await start_agnostream(ctx.pin, ctx.workdir, name="embedded-template", model_url=ctx.model_url)
        try:
            config = LoadConfig(concurrency=10, duration_s=2.0, warmup_s=0.0)
            await run_load(AgentOSRequest(server.base_url, agent_id_for(True)), config)
        finally:
            await server.stop()
        logs = [ctx.workdir / "embedded-template-log.db"]
    try:
        return await time_replay(
            ctx.pin, sys.executable, logs, ctx.opts.replay_events, ctx.workdir, workers=ctx.opts.replay_workers
        )
    except ConfigurationError as exc:
        ctx.notes.append(f"replay: failed: {exc}")
        return None


def _machine(pin: Pinning) -> dict[str, Any]:
    cpu_model = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model,
        "cpus": os.cpu_count(),
        "memory_mb": round(psutil.virtual_memory().total / 1024 / 1024),
        "pinned": pin.enabled,
        "agnostream_version": _version("agnostream"),
    }


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _report(
    ctx: _Context, results: dict[str, dict[str, Any]], replay: dict[str, Any] | None, started: datetime
) -> dict[str, Any]:
    opts = ctx.opts
    baseline = orjson.loads(opts.baseline.read_bytes())["results"] if opts.baseline else None
    config = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()}
    config.update(ttft_ms=opts.ttft_ms, token_ms=opts.token_ms, model=MODEL_ID, agents=AGENT_SPEC)
    if (opts.concurrency, opts.duration_s) != (100, 60.0):
        ctx.notes.append("the issue's targets are defined at C=100, D=60 s; this run used other settings")
    return {
        "version": 1,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "wall_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        "machine": _machine(ctx.pin),
        "config": config,
        "results": results,
        "replay": replay,
        "checks": checks(results, replay=replay, baseline=baseline, long_run=opts.duration_s >= 600),
        "notes": ctx.notes,
        "command": " ".join(sys.argv),
    }
