"""CLI: run a BFCL multi-turn category through the runtime and check the log.

    python -m adapters.bfcl [--category multi_turn_base] [--limit N] [--out artifacts/bfcl.json]
                            [--workdir DIR] [--concurrency 16]

Progress goes to stderr (a rich progress bar); the last line on stdout is exactly `N passed, M failed`
(plus `, K skipped` when some cases' ground truth is not executable). The JSON report holds the
summary, every case's result, the fresh-process rebuild/replay check, the wall time in seconds and the
number of events. Exit status 0 only when no case failed, the rebuilt view equals the projection and
replay found no divergence.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ._cases import CATEGORIES, load_cases
from ._harness import CaseResult, HarnessRun, run_cases
from .rebuild import check_in_fresh_process


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m adapters.bfcl", description=__doc__.splitlines()[0])
    parser.add_argument("--category", default="multi_turn_base", choices=CATEGORIES)
    parser.add_argument("--limit", type=int, default=None, help="run only the first N cases")
    parser.add_argument("--out", type=Path, default=Path("artifacts/bfcl.json"), help="JSON report path")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="log/view files (default artifacts/bfcl-work/<category>)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="cases in flight at once")
    parser.add_argument("--broker", default="embedded", help="'embedded' (default) or kafka://HOST:PORT")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace, console: Console) -> HarnessRun:
    cases = load_cases(args.category, limit=args.limit)
    counts: Counter[str] = Counter()
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}"),
    )  # fmt: skip
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(args.category, total=len(cases), counts="")

        def on_result(result: CaseResult) -> None:
            counts[result.status] += 1
            progress.update(task, advance=1, counts=" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
            if result.status == "failed":
                progress.console.print(f"[red]FAILED[/red] {result.id}: {result.reason}", markup=True, highlight=False)

        workdir = args.workdir or Path("artifacts/bfcl-work") / args.category
        return await run_cases(cases, workdir, concurrency=args.concurrency, on_result=on_result, broker=args.broker)


def _summary_line(passed: int, failed: int, skipped: int) -> str:
    line = f"{passed} passed, {failed} failed"
    return f"{line}, {skipped} skipped" if skipped else line


def _report(args: argparse.Namespace, run: HarnessRun, check: dict[str, Any], wall_s: float) -> dict[str, Any]:
    statuses = Counter(r.status for r in run.results)
    return {
        "category": args.category,
        "summary": {
            "cases": len(run.results),
            "passed": statuses["passed"],
            "failed": statuses["failed"],
            "skipped": statuses["gt_error"],
            "runs": sum(r.turns for r in run.results),
            "tool_calls": sum(r.tool_calls for r in run.results),
            "tool_errors": sum(r.tool_errors for r in run.results),
            "all_runs_completed": all(r.runs_completed for r in run.results),
        },
        "wall_s": round(wall_s, 3),
        "harness_wall_s": round(run.wall_s, 3),
        "events": run.events,
        "concurrency": args.concurrency,
        "broker": args.broker,
        "files": {"log": str(run.log_path), "views": str(run.views_path), "events": str(run.events_path)},
        "rebuild": check,
        "cases": [r.to_dict() for r in run.results],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    args = _parse_args(argv)
    console = Console(stderr=True, highlight=False)
    started = time.perf_counter()
    run = asyncio.run(_run(args, console))
    check = check_in_fresh_process(run.events_path, run.views_path)
    wall_s = time.perf_counter() - started
    report = _report(args, run, check, wall_s)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2, default=repr))
    sessions, replay = check.get("sessions", {}), check.get("replay", {})
    console.print(
        f"rebuild: {sessions.get('equal', 0)}/{sessions.get('stored', 0)} sessions equal to the projection; "
        f"replay: {replay.get('decisions_checked', 0)} decisions checked, "
        f"{len(replay.get('divergences', []))} divergences; {run.events} events; {wall_s:.1f}s; report {args.out}",
        soft_wrap=True,
    )
    if check.get("error"):
        console.print(f"rebuild process failed: {check['error']}", markup=False, soft_wrap=True)
    summary = report["summary"]
    sys.stdout.write(_summary_line(summary["passed"], summary["failed"], summary["skipped"]) + "\n")
    return 0 if summary["failed"] == 0 and check.get("ok") is True else 1


if __name__ == "__main__":
    sys.exit(main())
