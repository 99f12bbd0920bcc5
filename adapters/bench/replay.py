"""Replay throughput: build a run-events log of N events and time `agnostream replay` over it.

The log is made from real runs, not invented records: the run events the benchmark's embedded servers
wrote (`template_logs`) are copied until the log holds at least N events, each copy with new run and
session ids (uuid strings of the same length) and the message ids derived from them recomputed, so
every copy is a valid, independent set of runs that replays without divergence. Whole copies only,
so no run is cut in half. The file is JSONL, which
`agnostream replay --log` reads as it reads an embedded log's run-events topic.

The figure is N over the wall time of the `agnostream replay` process (process start and module
imports included, so it is a lower bound); `events_per_s_steady` subtracts the wall time of the same
command over one copy (startup plus one copy's work, so it slightly overstates). It is measured for one
process pinned to the server core and, with `workers` > 1, for `--workers N` over every core (a replay
splits the log's sessions over processes as Kafka consumers split partitions: `adapters.replay_shards`).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from engine import ConfigurationError, message_id

from ..logfile import read_events
from .monitor import ProcessMonitor
from .processes import Pinning

__all__ = ["ReplayLog", "build_replay_log", "time_replay"]


@dataclass(frozen=True, slots=True)
class ReplayLog:
    """A built replay log: its path, event, run and template-copy counts, and uuids left unrenamed.

    `unmapped_ids` counts uuid-shaped values of the template that are neither a run or session id nor a
    known derived message id; if the engine starts deriving another id from the run id, copies share
    it and replay reports divergences, and this count says why.
    """

    path: Path
    events: int
    runs: int
    copies: int
    unmapped_ids: int = 0


_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

Parts = tuple[str | int, ...]
"""The arguments of one `engine.message_id` call; the run id appears in its string parts."""


def _renamed(identifier: str, copy: int) -> str:
    """`identifier` with its last 12 characters replaced by `copy` in hex (a uuid stays uuid-shaped)."""
    return identifier[:-12] + f"{copy:012x}" if len(identifier) > 12 else f"{identifier}-{copy:x}"


def _derivations(run_id: str, seqs: set[int], event_ids: set[str]) -> list[Parts]:
    """The `message_id` arguments the engine and workers derive a run's message ids from.

    A copy with a new run id must carry the ids derived from the new one, or replay would (rightly)
    see different decisions. The derivations: the run's user and system messages, each model
    answer's assistant message (per `seq`), each tool result (per tool event id).
    """
    parts: list[Parts] = [(run_id, 0, "user"), (run_id, 0, "system")]
    parts += [(run_id, seq, "assistant") for seq in sorted(seqs)]
    parts += [(eid, "tool") for eid in sorted(event_ids)]
    return parts


@dataclass(slots=True)
class _Line:
    """One template event: its JSON, run and session ids, and the derived ids in it (old id, parts)."""

    raw: bytes
    run_id: str
    session_id: str
    derived: list[tuple[bytes, Parts]]

    def copy(self, n: int, cache: dict[bytes, bytes]) -> bytes:
        """The event as it is in copy `n` (0 = the template itself); `cache` holds copy `n`'s derived ids."""
        if n == 0:
            return self.raw
        run, new_run = self.run_id, _renamed(self.run_id, n)
        raw = self.raw
        for old, parts in self.derived:
            new = cache.get(old)
            if new is None:
                new_parts = tuple(p.replace(run, new_run) if isinstance(p, str) else p for p in parts)
                new = cache[old] = message_id(*new_parts).encode()
            raw = raw.replace(old, new)
        raw = raw.replace(run.encode(), new_run.encode())
        return raw.replace(self.session_id.encode(), _renamed(self.session_id, n).encode())


async def _template(logs: Sequence[Path]) -> tuple[list[_Line], set[bytes]]:
    """The run events of `logs` in log order, with what to rename; and any uuid that nothing renames."""
    values = [value for path in logs async for value in read_events(path)]
    seqs: dict[str, set[int]] = {}
    event_ids: dict[str, set[str]] = {}
    for value in values:
        seqs.setdefault(value["run_id"], set()).add(int(value.get("seq", 0)))
        event_ids.setdefault(value["run_id"], set()).add(str(value.get("event_id", "")))
    derived = {
        run: [(message_id(*p).encode(), p) for p in _derivations(run, seqs[run], event_ids[run])] for run in seqs
    }
    lines: list[_Line] = []
    unmapped: set[bytes] = set()
    for value in values:
        run, session = value["run_id"], value["session_id"]
        raw = orjson.dumps(value)
        present = [(old, parts) for old, parts in derived[run] if old in raw]
        known = {run.encode(), session.encode(), *(old for old, _p in present)}
        unmapped.update(u for u in _UUID.findall(raw) if u not in known)
        lines.append(_Line(raw, run, session, present))
    return lines, unmapped


async def build_replay_log(
    template_logs: Sequence[Path], events: int, out: Path, *, first_copy_out: Path | None = None
) -> ReplayLog:
    """Write at least `events` run events to `out` (JSONL) from copies of `template_logs`' runs.

    Args:
        template_logs: embedded log files whose run events are copied.
        events: the minimum number of events to write (whole copies of the template).
        out: the JSONL file to write.
        first_copy_out: where to write the template alone as well (one copy), or None.

    Raises:
        ConfigurationError: the template logs hold no run events.
    """
    template, unmapped = await _template(template_logs)
    if not template:
        raise ConfigurationError(f"no run events in {', '.join(map(str, template_logs))} to build a replay log from")
    runs = len({line.run_id for line in template})
    copies = max(1, -(-events // len(template)))
    with out.open("wb") as f:
        for copy in range(copies):
            cache: dict[bytes, bytes] = {}
            block = b"\n".join(line.copy(copy, cache) for line in template) + b"\n"
            f.write(block)
            if copy == 0 and first_copy_out is not None:
                first_copy_out.write_bytes(block)
    return ReplayLog(out, copies * len(template), copies * runs, copies, len(unmapped))


async def _replay_once(
    prefix: Sequence[str], python: str, log: Path, workers: int = 1
) -> tuple[float, dict[str, Any], float | None]:
    """Run `agnostream replay --json --workers N` on `log`: (wall seconds, its report, peak RSS MiB).

    The peak RSS is the sum over the command and its worker processes.
    """
    argv = [*prefix, python, "-m", "adapters.cli", "replay", "--log", str(log), "--agents", "adapters.bench.agent"]
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *argv, "--json", "--workers", str(workers), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    monitor = ProcessMonitor(process.pid, interval_s=0.25, include_children=True)
    monitor.start()
    out, err = await process.communicate()
    wall = time.monotonic() - started
    summary = await monitor.stop()
    try:
        report: dict[str, Any] = orjson.loads(out)
    except orjson.JSONDecodeError as exc:
        raise ConfigurationError(
            f"agnostream replay failed (exit {process.returncode}): {err.decode()[-2000:]}"
        ) from exc
    return wall, report, None if summary is None else summary.peak_rss_mb


async def time_replay(
    pin: Pinning, python: str, template_logs: Sequence[Path], events: int, workdir: Path, *, workers: int = 1
) -> dict[str, Any]:
    """Build a log of >= `events` events and time `agnostream replay` over it (see module docstring).

    One process pinned to the server core is always timed; with `workers` > 1, `--workers N` unpinned
    (every core) is timed as well and gives the headline figures (`events_per_s`, `wall_s`, ...), the
    single-process ones staying under `one_process`.

    Raises:
        ConfigurationError: no template events, or the replay command failed.
    """
    built = time.monotonic()
    one = workdir / "replay-one-copy.jsonl"
    log = await build_replay_log(template_logs, events, workdir / "replay.jsonl", first_copy_out=one)
    build_s = time.monotonic() - built
    single = await _timed(pin.server, python, log, one, 1)
    figures = single if workers == 1 else {**await _timed((), python, log, one, workers), "one_process": single}
    return {
        "unmapped_ids": log.unmapped_ids,
        "log_bytes": log.path.stat().st_size,
        "build_s": round(build_s, 2),
    } | figures


async def _timed(prefix: Sequence[str], python: str, log: ReplayLog, one: Path, workers: int) -> dict[str, Any]:
    base_wall, _base, _rss = await _replay_once(prefix, python, one, workers)
    wall, report, peak_rss = await _replay_once(prefix, python, log.path, workers)
    steady = wall - base_wall
    return {
        "workers": workers,
        "pinned": bool(prefix),
        "events": report.get("events", log.events),
        "runs": report.get("runs", log.runs),
        "decisions_checked": report.get("decisions_checked"),
        "divergences": len(report.get("divergences") or []),
        "wall_s": round(wall, 3),
        "startup_and_one_copy_s": round(base_wall, 3),
        "events_per_s": round(log.events / wall) if wall > 0 else 0,
        "events_per_s_steady": round((log.events - log.events // log.copies) / steady) if steady > 0 else 0,
        "peak_rss_mb": None if peak_rss is None else round(peak_rss, 1),
    }
