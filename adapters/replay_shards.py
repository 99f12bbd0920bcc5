"""`agnostream replay` over several processes: the log's sessions split into shards, one process each.

A replay folds each session on its own (a run, its team members and its workflow steps all live in one
session), so sessions can be replayed in parallel the way Kafka consumers split a topic: shard `i` of
`n` takes the sessions whose id hashes to `i` (CRC-32, computed in C: the shard test runs on every line).
Every shard of a JSONL export reads the whole file and skips the other shards' records before decoding
them: a line's session id is found without parsing it (orjson writes `"session_id":"…"` compactly; a line
where it is not found, or found more than once, is parsed). An embedded log is split by partition instead
(shard `i` reads the partitions `p % n == i`): sessions never span partitions. The shard reports are
merged: counts add up and divergences are concatenated in (run_id, seq) order, so the merged report does
not depend on the number of shards.

Shards run in worker processes (`ProcessPoolExecutor`, spawn) when `workers > 1`, else in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import zlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from engine import ConfigurationError, replay_check

from .agents_loader import load_agents, load_teams, load_workflows
from .logfile import is_sqlite_log, jsonl_records, read_events

__all__ = ["ReplaySummary", "replay_log", "shard_of"]

_SESSION_KEY = b'"session_id":"'
_REPLAY_GC_THRESHOLDS = (200_000, 20, 1000)
"""gen0 allocations, and gen0 / gen1 collections per next-generation collection (CPython: 700, 10, 10)."""


def shard_of(session_id: str, shards: int) -> int:
    """The shard (0 ≤ shard < `shards`) of a session: CRC-32 of its id modulo `shards`."""
    return zlib.crc32(session_id.encode()) % shards if shards > 1 else 0


@dataclass(slots=True)
class ReplaySummary:
    """A replay report in plain data: what `agnostream replay --json` prints.

    Attributes:
        events: run events folded.
        runs: distinct run ids.
        decisions_checked: recorded decisions compared with a re-decision.
        divergences: the first divergence of each diverged run (`Divergence.to_dict()`), by (run_id, seq).
        shards: how many shards (processes) the log was split into.
    """

    events: int = 0
    runs: int = 0
    decisions_checked: int = 0
    divergences: list[dict[str, Any]] = field(default_factory=list)
    shards: int = 1

    @property
    def ok(self) -> bool:
        """True when no run diverged."""
        return not self.divergences

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `agnostream replay --json`."""
        return {
            "events": self.events,
            "runs": self.runs,
            "decisions_checked": self.decisions_checked,
            "divergences": self.divergences,
            "shards": self.shards,
        }

    def add(self, other: ReplaySummary) -> None:
        """Merge another shard's summary into this one."""
        self.events += other.events
        self.runs += other.runs
        self.decisions_checked += other.decisions_checked
        self.divergences = sorted([*self.divergences, *other.divergences], key=lambda d: (d["run_id"], d["seq"]))


def replay_log(path: str | Path, agents_module: str, *, workers: int = 1) -> ReplaySummary:
    """Replay the run events of the log at `path` against the registries of `agents_module`.

    Args:
        path: an embedded log file (SQLite) or a JSONL export of the run-events topic.
        agents_module: the module whose `get_agents` / `get_teams` / `get_workflows` built the log's runs.
        workers: processes to split the sessions over (1 = this process).

    Raises:
        ConfigurationError: `workers` < 1, the file is missing or unreadable, or the module does not load.
        SchemaError: a record does not decode.
    """
    if workers < 1:
        raise ConfigurationError(f"--workers must be >= 1, got {workers}")
    if not Path(path).exists():
        raise ConfigurationError(f"log file {str(path)!r} does not exist")
    if workers == 1:
        return replay_shard(str(path), agents_module, 0, 1)
    merged = ReplaySummary(shards=workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(replay_shard, str(path), agents_module, i, workers) for i in range(workers)]
        for future in futures:
            merged.add(future.result())
    return merged


def replay_shard(path: str, agents_module: str, shard: int, shards: int) -> ReplaySummary:
    """Replay shard `shard` of `shards` of the log (runs in a worker process; see module docstring)."""
    agents, workflows, teams = load_agents(agents_module), load_workflows(agents_module), load_teams(agents_module)
    with _batch_gc():
        report = replay_check(_shard_records(path, shard, shards), agents, workflows=workflows, teams=teams)
    return ReplaySummary(
        events=report.events,
        runs=report.runs,
        decisions_checked=report.decisions_checked,
        divergences=sorted((d.to_dict() for d in report.divergences), key=lambda d: (d["run_id"], d["seq"])),
        shards=shards,
    )


def _shard_records(path: str, shard: int, shards: int) -> Iterator[dict[str, Any]]:
    if is_sqlite_log(path):
        # Sessions never span partitions: a shard of the log's partitions is a shard of its sessions.
        yield from asyncio.run(_collect(path, shard, shards))
        return
    if shards == 1:
        yield from jsonl_records(path)
        return

    def other_shard(line: bytes) -> bool:  # decided without parsing the line when its session id is plain
        session_id = _session_id(line)
        return session_id is not None and shard_of(session_id, shards) != shard

    for record in jsonl_records(path, skip=other_shard):
        if shard_of(str(record.get("session_id", "")), shards) == shard:
            yield record


def _session_id(line: bytes) -> str | None:
    """The session id of a compact JSON record line, or None when it is not written as `"session_id":"…"`."""
    start = line.find(_SESSION_KEY)
    if start < 0 or line.count(_SESSION_KEY) > 1:  # a nested object's session id could come first
        return None
    start += len(_SESSION_KEY)
    end = line.find(b'"', start)
    if end < 0 or b"\\" in line[start:end]:
        return None
    return line[start:end].decode()


@contextlib.contextmanager
def _batch_gc() -> Iterator[None]:
    """Collect cycles less often while a replay folds.

    Its session states are millions of long-lived objects, and at the default thresholds the collector
    rescans them all again and again (1M events: 27k -> 37k events/s in one process). Cycles are still
    collected, later.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(*_REPLAY_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


async def _collect(path: str, shard: int, shards: int) -> list[dict[str, Any]]:
    return [value async for value in read_events(path, shard=(shard, shards))]
