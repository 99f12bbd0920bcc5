"""The `agnostream` command line: serve, run, replay, export, bfcl.

    agnostream serve  [--agents MODULE] [--host H] [--port P] [--log FILE] [--db FILE|URL] [--broker B] [--roles R]
    agnostream worker --role orchestrator|model|tool|projection|all --broker kafka://HOST:PORT [--agents M]
    agnostream topics create|describe [--broker B]
    agnostream run    --agent ID [--session-id S] [--url URL] MESSAGE
    agnostream replay --log FILE [--agents MODULE] [--json]
    agnostream export --log FILE --out FILE.jsonl
    agnostream bfcl   [--category C] [--limit N] [--out FILE]
    agnostream providers [--json | --markdown]
    agnostream bench  [--concurrency C] [--duration S] [--targets floor,embedded,kafka,agno] ...

Defaults come from `adapters.settings` (AGNOSTREAM_* variables); flags override them. `run` without
`--url` runs the agent in-process on the embedded log (no server, no Kafka, no API key for the demo).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from engine import ConfigurationError, EngineError, decode_event
from projections import make_view_store
from streams import Topics

from . import bench as cli_bench
from . import cli_providers
from .agents_loader import load_agents, load_teams, load_workflows
from .brokers import make_log, parse_broker
from .gc_tuning import tune_for_serving
from .logfile import read_events
from .replay_shards import replay_log
from .runtime import ALL_ROLES, STOP_GRACE_S, Runtime
from .settings import load_settings

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    settings, _keys = load_settings()
    parser = argparse.ArgumentParser(prog="agnostream", description="Event-sourced agno-compatible agent runtime")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="HTTP API + all processors in one process on the embedded log")
    serve.add_argument("--agents", default=settings.agents, help="module defining `agents` (AGNOSTREAM_AGENTS)")
    serve.add_argument("--host", default=settings.host)
    serve.add_argument("--port", type=int, default=settings.port)
    serve.add_argument("--log", default=settings.log_path, help="embedded log file (AGNOSTREAM_LOG_PATH)")
    serve.add_argument(
        "--db", default=settings.view_db, help="projection database: SQLite file or postgresql:// URL "
        "(AGNOSTREAM_DB_URL, else AGNOSTREAM_DB_PATH)",
    )  # fmt: skip
    serve.add_argument("--broker", default=settings.broker, help="'embedded' or kafka://HOST:PORT (AGNOSTREAM_BROKER)")
    serve.add_argument(
        "--roles", default=None, help="processors in this process, comma-separated or 'all' (default: all on the "
        "embedded log, none on Kafka where `agnostream worker` runs them)",
    )  # fmt: skip

    worker = sub.add_parser("worker", help="run processors of one role against the broker (a consumer group each)")
    worker.add_argument("--role", required=True, choices=[*ALL_ROLES, "all"])
    worker.add_argument("--broker", default=settings.broker)
    worker.add_argument("--agents", default=settings.agents)
    worker.add_argument("--log", default=settings.log_path)
    worker.add_argument("--db", default=settings.view_db)
    worker.add_argument(
        "--instance", default=None, help="stable instance id: fences this worker's previous incarnation"
    )

    topics = sub.add_parser("topics", help="create or describe the topics (idempotent)")
    topics.add_argument("action", choices=["create", "describe"])
    topics.add_argument("--broker", default=settings.broker)
    topics.add_argument("--log", default=settings.log_path)

    run = sub.add_parser("run", help="run an agent once and stream its answer to the terminal")
    run.add_argument("--agent", required=True, help="agent id")
    run.add_argument("--agents", default=settings.agents)
    run.add_argument("--session-id", default=None)
    run.add_argument("--user-id", default=None)
    run.add_argument("--url", default=None, help="a running agnostream/AgentOS server; default: run in-process")
    run.add_argument("--log", default=settings.log_path)
    run.add_argument("--db", default=settings.view_db)
    run.add_argument("--events", action="store_true", help="print every event, not only the content")
    run.add_argument("message")

    replay = sub.add_parser("replay", help="fold a recorded log through the engine and report divergences")
    replay.add_argument("--log", required=True, help="embedded log file (.db) or a JSONL export")
    replay.add_argument("--agents", default=settings.agents)
    replay.add_argument("--json", action="store_true", help="print the report as JSON")
    replay.add_argument("--workers", type=int, default=1, help="processes to split the log's sessions over (default 1)")

    export = sub.add_parser("export", help="export the run-events topic of an embedded log as JSONL")
    export.add_argument("--log", required=True)
    export.add_argument("--out", required=True)

    bfcl = sub.add_parser("bfcl", help="run BFCL multi-turn cases through the engine (needs bfcl-eval)")
    bfcl.add_argument("rest", nargs=argparse.REMAINDER)

    cli_providers.add_parser(sub)
    cli_bench.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `agnostream` console script; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bfcl"]:  # its own flags: argparse's REMAINDER does not pass leading options through
        from .bfcl.__main__ import main as bfcl_main

        return bfcl_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "worker":
            return asyncio.run(_worker(args))
        if args.command == "topics":
            return asyncio.run(_topics(args))
        if args.command == "run":
            return asyncio.run(_run(args))
        if args.command == "replay":
            return _replay(args)
        if args.command == "export":
            return asyncio.run(_export(args))
        if args.command == "providers":
            return cli_providers.providers(args, load_settings()[1])
        if args.command == "bench":
            return cli_bench.bench(args)
    except EngineError as exc:
        print(f"agnostream: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 2


def _runtime(
    agents_module: str,
    log_path: str,
    view_db: str | None,
    *,
    broker: str = "embedded",
    roles: Sequence[str] = ALL_ROLES,
    transactional_id: str | None = None,
) -> Runtime:
    """The runtime; `view_db` None means no sessions view (a worker without the projection role)."""
    settings, _keys = load_settings()
    log = make_log(
        broker,
        log_path=log_path,
        partitions=settings.partitions,
        transactional_id=transactional_id,
        txn_retry_backoff_ms=settings.kafka_txn_retry_backoff_ms,
        offset_commit_interval_ms=settings.kafka_offset_commit_ms,
    )
    return Runtime(
        log,
        Topics(settings.topic_prefix, settings.partitions),
        load_agents(agents_module),
        view_store=make_view_store(view_db) if view_db is not None else None,
        workflows=load_workflows(agents_module),
        teams=load_teams(agents_module),
        roles=roles,
        content_flush_s=settings.content_flush_ms / 1000,
        view_batch_s=settings.view_batch_ms / 1000,
        tool_timeout_s=settings.tool_timeout_s,
    )


def _roles(value: str | None, broker: str) -> tuple[str, ...]:
    if value is None:
        return ALL_ROLES if parse_broker(broker).kind == "embedded" else ()
    if value == "all":
        return ALL_ROLES
    roles = tuple(r for r in value.split(",") if r)
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ConfigurationError(f"unknown roles {sorted(unknown)} (--roles); use {', '.join(ALL_ROLES)} or 'all'")
    return roles


async def _worker(args: argparse.Namespace) -> int:
    import signal

    roles = ALL_ROLES if args.role == "all" else (args.role,)
    txn = f"agnostream-{args.role}-{args.instance}" if args.instance else None
    # Only the projection role touches the sessions view: other workers open no database connection.
    view_db = args.db if "projection" in roles else None
    runtime = _runtime(args.agents, args.log, view_db, broker=args.broker, roles=roles, transactional_id=txn)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    tune_for_serving(load_settings()[0].gc_gen0_threshold)
    print(f"agnostream worker {args.role} on {args.broker}", file=sys.stderr)
    try:
        await stop.wait()
    finally:
        await runtime.stop()
    return 0


async def _topics(args: argparse.Namespace) -> int:
    settings, _keys = load_settings()
    topics = Topics(settings.topic_prefix, settings.partitions)
    log = make_log(args.broker, log_path=args.log, partitions=settings.partitions)
    await log.start()
    try:
        if args.action == "create":
            await log.create_topics(topics.specs())
        elif (describe := getattr(log, "describe", None)) is not None:  # Kafka: read the counts from the broker
            await describe([spec.name for spec in topics.specs()])
        for spec in topics.specs():
            print(f"{spec.name}\tpartitions={log.partitions_for(spec.name)}\tconfig={dict(spec.config or {})}")
    finally:
        await log.close()
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .http import create_app

    settings, _keys = load_settings()
    key = settings.os_security_key.get_secret_value() if settings.os_security_key else None
    runtime = _runtime(args.agents, args.log, args.db, broker=args.broker, roles=_roles(args.roles, args.broker))
    app = create_app(runtime, security_key=key)
    tune_for_serving(settings.gc_gen0_threshold)
    print(f"agnostream serving on http://{args.host}:{args.port} (log: {args.log})", file=sys.stderr)
    # On SIGTERM uvicorn waits for the requests in hand, and one waiting on a run whose log is gone (the broker
    # down) never ends: after STOP_GRACE_S they are cancelled and the runtime stops (its runs resume from the log).
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=int(STOP_GRACE_S),
    )
    return 0


async def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(highlight=False)
    if args.url:
        return await _run_remote(args, console)
    runtime = _runtime(args.agents, args.log, args.db)
    if args.agent not in runtime.agents:
        raise ConfigurationError(f"unknown agent {args.agent!r}; agents in {args.agents}: {', '.join(runtime.agents)}")
    await runtime.start()
    status = 0
    try:
        command, subscription = await runtime.start_run(
            args.agent, args.message, session_id=args.session_id, user_id=args.user_id
        )
        console.print(f"[dim]run {command.run_id} · session {command.session_id}[/dim]")
        async for value in subscription:
            status = _print_event(console, decode_event(value).to_agno(), args.events) or status
        console.print()
    finally:
        await runtime.stop()
    return status


async def _run_remote(args: argparse.Namespace, console: Any) -> int:
    import httpx

    form = {"message": args.message, "stream": "true"}
    if args.session_id:
        form["session_id"] = args.session_id
    status = 0
    async with (
        httpx.AsyncClient(base_url=args.url, timeout=None) as client,
        client.stream("POST", f"/agents/{args.agent}/runs", data=form) as response,
    ):
        if response.status_code >= 400:
            await response.aread()
            console.print(f"[red]HTTP {response.status_code}: {response.text}[/red]")
            return 1
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                status = _print_event(console, orjson.loads(line[6:]), args.events) or status
    console.print()
    return status


def _print_event(console: Any, event: dict[str, Any], verbose: bool) -> int:
    name = event.get("event")
    if name == "RunContent":
        console.print(event.get("content", ""), end="")
    elif name == "ToolCallStarted" and verbose is False:
        tool = event.get("tool") or {}
        console.print(f"[cyan]→ {tool.get('tool_name')}({tool.get('tool_args')})[/cyan]")
    elif name == "RunError":
        console.print(f"[red]RunError ({event.get('error_type')}): {event.get('content')}[/red]")
        return 1
    if verbose and name != "RunContent":
        console.print(f"[dim]{orjson.dumps(event).decode()}[/dim]")
    return 0


async def _export(args: argparse.Namespace) -> int:
    count = 0
    with Path(args.out).open("wb") as out:
        async for value in read_events(args.log):
            out.write(orjson.dumps(value) + b"\n")
            count += 1
    print(f"exported {count} events to {args.out}", file=sys.stderr)
    return 0


def _replay(args: argparse.Namespace) -> int:
    summary = replay_log(args.log, args.agents, workers=args.workers)
    if args.json:
        print(orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        print(f"{summary.events} events, {summary.runs} runs, {summary.decisions_checked} decisions checked")
        for d in summary.divergences:
            print(
                f"DIVERGENCE run_id={d['run_id']} seq={d['seq']}\n  expected: {d['expected']}\n  got:      {d['got']}"
            )
        print("no divergence" if summary.ok else f"{len(summary.divergences)} run(s) diverged")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
