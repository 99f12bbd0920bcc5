"""Check a BFCL harness log from its run-events export alone, in a fresh process.

`python -m adapters.bfcl.rebuild --events events.jsonl --views views.db` rebuilds the sessions view
from the JSONL with `projections.rebuild_view`, compares it with every row of the projection
database (`SqliteViewStore.all_rows()`), and runs `engine.replay_check` over the same records with agents rebuilt
from the bfcl func docs (no tool entrypoints: replay never executes tools; each session id is a
case id, which names its category, e.g. `multi_turn_base_7`). It prints one JSON object:

    {"sessions": {"rebuilt": int, "stored": int, "equal": int, "mismatched": [{"session_id", "diffs"}]},
     "runs": {"rebuilt": int, "stored": int},
     "replay": {"events", "runs", "decisions_checked", "divergences": [...]},
     "ok": bool}

and exits 0 when every session (row and runs) is equal and replay found no divergence, else 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from engine import Agent, replay_check
from projections import SqliteViewStore, rebuild_view

from ._cases import BfclDataError, load_cases
from ._harness import build_agents, scripted_model

__all__ = ["check", "check_in_fresh_process", "compare_views", "main", "read_jsonl", "replay_agents"]

_MAX_DIFFS = 20


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Record values of a JSONL export, in file order."""
    with path.open("rb") as f:
        return [orjson.loads(line) for line in f if line.strip()]


def _diff(path: str, a: Any, b: Any) -> Iterator[str]:
    """Paths where `a` (rebuilt) and `b` (stored) differ, e.g. `runs.x.run_data.metrics.input_tokens`."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                yield f"{path}.{key} (only in {'stored' if key not in a else 'rebuilt'})"
            else:
                yield from _diff(f"{path}.{key}", a[key], b[key])
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _diff(f"{path}[{i}]", x, y)
    elif a != b:
        yield f"{path}: rebuilt {a!r:.80} != stored {b!r:.80}"


def compare_views(
    rebuilt: tuple[Mapping[str, dict[str, Any]], Mapping[str, dict[str, Any]]],
    stored: tuple[Mapping[str, dict[str, Any]], Mapping[str, dict[str, Any]]],
) -> dict[str, Any]:
    """Compare (sessions, runs) rows session by session: the session row and all its run rows, exactly.

    Returns:
        `{"rebuilt", "stored", "equal", "mismatched": [{"session_id", "diffs"}]}`; a session present on
        one side only is a mismatch; `diffs` lists at most 20 differing paths.
    """
    (r_sessions, r_runs), (s_sessions, s_runs) = rebuilt, stored
    mismatched: list[dict[str, Any]] = []
    for session_id in sorted(set(r_sessions) | set(s_sessions)):
        a = {"session": r_sessions.get(session_id), "runs": _runs_of(r_runs, session_id)}
        b = {"session": s_sessions.get(session_id), "runs": _runs_of(s_runs, session_id)}
        if a != b:
            diffs = [d for _, d in zip(range(_MAX_DIFFS), _diff(session_id, a, b), strict=False)]
            mismatched.append({"session_id": session_id, "diffs": diffs})
    return {
        "rebuilt": len(r_sessions),
        "stored": len(s_sessions),
        "equal": len(set(r_sessions) | set(s_sessions)) - len(mismatched),
        "mismatched": mismatched,
    }


def _runs_of(runs: Mapping[str, dict[str, Any]], session_id: str) -> dict[str, dict[str, Any]]:
    return {run_id: row for run_id, row in runs.items() if row.get("session_id") == session_id}


def replay_agents(session_ids: Sequence[str]) -> dict[str, Agent]:
    """The agents of the cases behind `session_ids` (case ids), rebuilt from the func docs (no entrypoints).

    Raises:
        BfclDataError: a session id is not a case id of a known category.
    """
    wanted = set(session_ids)
    agents: dict[str, Agent] = {}
    for category in sorted({session_id.rsplit("_", 1)[0] for session_id in wanted}):
        for case in load_cases(category):
            if case.id in wanted:
                wanted.discard(case.id)
                agents.update(build_agents(case, scripted_model(())))
    if wanted:
        raise BfclDataError(f"sessions {sorted(wanted)[:5]} are not BFCL case ids")
    return agents


def check(events_path: Path, views_path: Path) -> dict[str, Any]:
    """Rebuild, compare and replay-check (see module docstring); return the report dict."""
    values = read_jsonl(events_path)
    view = rebuild_view(values)
    stored = SqliteViewStore(views_path).all_rows()
    sessions = compare_views((view.sessions, view.runs), stored)
    replay = replay_check(values, replay_agents(sorted(view.sessions)))
    report: dict[str, Any] = {
        "sessions": sessions,
        "runs": {"rebuilt": len(view.runs), "stored": len(stored[1])},
        "replay": {
            "events": replay.events,
            "runs": replay.runs,
            "decisions_checked": replay.decisions_checked,
            "divergences": [d.to_dict() for d in replay.divergences],
        },
    }
    report["ok"] = (
        not sessions["mismatched"]
        and sessions["rebuilt"] == sessions["stored"]
        and len(view.runs) == len(stored[1])
        and replay.ok
    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code (0: rebuild equal and no replay divergence)."""
    parser = argparse.ArgumentParser(prog="python -m adapters.bfcl.rebuild", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, required=True, help="run-events JSONL export")
    parser.add_argument("--views", type=Path, required=True, help="projection database (views.db)")
    args = parser.parse_args(argv)
    report = check(args.events, args.views)
    sys.stdout.write(orjson.dumps(report, default=repr).decode() + "\n")
    return 0 if report["ok"] else 1


def check_in_fresh_process(events_path: Path, views_path: Path, *, timeout_s: float = 600.0) -> dict[str, Any]:
    """Run this module in a new interpreter on the two files and return its report.

    The new process shares nothing with the caller but the files, so the check shows the log file
    alone suffices. A crash of the child is returned as `{"ok": false, "error": ...}`.
    """
    command = [sys.executable, "-m", "adapters.bfcl.rebuild", "--events", str(events_path), "--views", str(views_path)]
    done = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
    try:
        report: dict[str, Any] = orjson.loads(done.stdout)
    except orjson.JSONDecodeError:
        return {"ok": False, "error": f"exit {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}"}
    return report


if __name__ == "__main__":
    sys.exit(main())
