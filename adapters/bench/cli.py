"""`agnostream bench`: the flags, and the entry point that runs the benchmark and prints the table.

    agnostream bench [--concurrency C] [--duration S] [--warmup S] [--tools | --no-tools]
                     [--targets floor,embedded,kafka,agno] [--tokens N] [--ttft-ms MS] [--token-ms MS]
                     [--out artifacts/bench.json] [--agno-python PATH] [--kafka HOST:PORT]
                     [--kafka-port P] [--kafka-data DIR] [--kafka-partitions N] [--broker-core C]
                     [--broker-warmup S]
                     [--replay-events N] [--replay-workers N]
                     [--baseline FILE]
                     [--no-pin] [--strict] [--keep-workdir]

Without `--tools`/`--no-tools` both tool modes run. This module imports only argparse-level things,
so `agnostream --help` stays fast; the benchmark's modules load when the command runs.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

__all__ = ["DEFAULT_AGNO_PYTHON", "add_parser", "bench"]

DEFAULT_AGNO_PYTHON = Path(".venv-bench-agno/bin/python")
"""Where `make bench-agno-venv` puts agno's python (relative to the working directory)."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `bench` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "bench",
        help="benchmark agnostream (embedded, Kafka) against the model floor and agno's AgentOS",
        description="Benchmark: a fake OpenAI-compatible model, C concurrent sessions for D seconds; writes "
        "artifacts/bench.json and bench.md. The 10-minute soak of issue 6 is --duration 600 --baseline FILE.",
    )
    p.add_argument("--concurrency", "-c", type=int, default=100, help="concurrent sessions (default 100)")
    p.add_argument("--duration", type=float, default=60.0, help="measured seconds per target and mode (60)")
    p.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds of load first (5)")
    p.add_argument(
        "--tools", action=argparse.BooleanOptionalAction, default=None,
        help="only the mode with one tool call per request (--tools) or without (--no-tools); default both",
    )  # fmt: skip
    p.add_argument("--targets", default="floor,embedded,kafka,agno", help="comma-separated, in run order")
    p.add_argument("--tokens", type=int, default=64, help="tokens per fake-model answer (64)")
    p.add_argument("--ttft-ms", type=float, default=50.0, help="fake model: ms to the first token (50)")
    p.add_argument("--token-ms", type=float, default=5.0, help="fake model: ms per further token (5)")
    p.add_argument("--out", type=Path, default=Path("artifacts/bench.json"), help="JSON report (+ .md next to it)")
    p.add_argument("--agno-python", type=Path, default=None, help=f"agno venv python (default {DEFAULT_AGNO_PYTHON})")
    p.add_argument("--kafka", default=None, help="bootstrap servers of a running broker (default: start one)")
    p.add_argument("--kafka-port", type=int, default=49092, help="port of the broker started here (49092)")
    p.add_argument("--kafka-data", type=Path, default=None, help="data dir of the broker started here (temp)")
    p.add_argument(
        "--kafka-partitions", type=int, default=1,
        help="partitions per topic of the Kafka target's server (AGNOSTREAM_PARTITIONS; 1)",
    )  # fmt: skip
    p.add_argument(
        "--broker-core", choices=("server", "client"), default="server",
        help="core of a broker started here: the server's (default; part of the system under test) or the "
        "load generator's (like a broker on a machine of its own)",
    )  # fmt: skip
    p.add_argument(
        "--broker-warmup", type=float, default=90.0,
        help="extra unmeasured seconds of load before the first Kafka measurement (JIT warm-up; 90)",
    )  # fmt: skip
    p.add_argument("--replay-events", type=int, default=0, help="also time `agnostream replay` over N events")
    p.add_argument(
        "--replay-workers",
        type=int,
        default=1,
        help="also time `agnostream replay --workers N` over every core (default 1: only the pinned process)",
    )
    p.add_argument("--baseline", type=Path, default=None, help="a 60 s report to compare a long run with")
    p.add_argument("--request-timeout", type=float, default=120.0, help="seconds before a request is an error")
    p.add_argument("--no-pin", action="store_true", help="do not pin server and client to different cores")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target check fails")
    p.add_argument("--keep-workdir", action="store_true", help="keep temporary logs and server logs")


def bench(args: argparse.Namespace) -> int:
    """Run the benchmark from parsed `args`; print the markdown report; the exit code.

    Raises:
        ConfigurationError: an unknown target, --kafka-partitions below 1, a negative --broker-warmup, or
            the fake model could not start.
    """
    from engine import ConfigurationError

    from .report import MODES, TARGETS, markdown
    from .run import BenchOptions, run_bench

    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown or not targets:
        raise ConfigurationError(f"unknown --targets {unknown}; use a comma-separated subset of {','.join(TARGETS)}")
    if args.kafka_partitions < 1:
        raise ConfigurationError(f"--kafka-partitions must be >= 1, got {args.kafka_partitions}")
    if args.broker_warmup < 0:
        raise ConfigurationError(f"--broker-warmup must be >= 0 seconds, got {args.broker_warmup}")
    modes = MODES if args.tools is None else (("tools",) if args.tools else ("no_tools",))
    agno_python = args.agno_python
    if agno_python is None and "agno" in targets:
        agno_python = DEFAULT_AGNO_PYTHON.absolute() if DEFAULT_AGNO_PYTHON.exists() else DEFAULT_AGNO_PYTHON
    opts = BenchOptions(
        concurrency=args.concurrency,
        duration_s=args.duration,
        warmup_s=args.warmup,
        modes=modes,
        targets=targets,
        tokens=args.tokens,
        ttft_ms=args.ttft_ms,
        token_ms=args.token_ms,
        out=args.out,
        agno_python=agno_python,
        kafka_bootstrap=args.kafka,
        kafka_port=args.kafka_port,
        kafka_data=args.kafka_data,
        kafka_partitions=args.kafka_partitions,
        broker_core=args.broker_core,
        broker_warmup_s=args.broker_warmup,
        replay_events=args.replay_events,
        replay_workers=args.replay_workers,
        pin=not args.no_pin,
        baseline=args.baseline,
        request_timeout_s=args.request_timeout,
        keep_workdir=args.keep_workdir,
    )
    report = asyncio.run(run_bench(opts))
    print(markdown(report))
    print(f"wrote {opts.out} and {opts.out.with_suffix('.md')}")
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    return 1 if args.strict and failed else 0
