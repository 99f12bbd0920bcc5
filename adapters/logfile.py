"""Read the run-events of a recorded log: an embedded log file (SQLite) or a JSONL export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from engine import ConfigurationError
from streams import MemoryLog, Topics

__all__ = ["is_sqlite_log", "jsonl_records", "read_events"]

_SQLITE_MAGIC = b"SQLite format 3\x00"


def is_sqlite_log(path: str | Path) -> bool:
    """True when `path` is an embedded log file (SQLite), False for anything else (a JSONL export).

    Raises:
        ConfigurationError: the file does not exist.
    """
    p = Path(path)
    if not p.exists():
        raise ConfigurationError(f"log file {str(p)!r} does not exist")
    with p.open("rb") as f:
        return f.read(16) == _SQLITE_MAGIC


def jsonl_records(path: str | Path, *, skip: Callable[[bytes], bool] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL export in order; a line `skip` returns True for is passed over unparsed.

    Raises:
        ConfigurationError: a line is not JSON (names the file and line).
    """
    with Path(path).open("rb") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip() or (skip is not None and skip(line)):
                continue
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ConfigurationError(f"{path}:{line_no}: not JSON ({exc})") from exc


async def read_events(
    path: str | Path, topics: Topics | None = None, *, shard: tuple[int, int] = (0, 1)
) -> AsyncIterator[dict[str, Any]]:
    """Yield run-event record values of the log at `path`, each partition's in offset order.

    The partitions of an embedded log come interleaved as they were appended.

    A `.jsonl` file yields its lines in order. Sessions never span partitions, so per-session order is
    the log order either way.

    Args:
        path: the embedded log file or JSONL export.
        topics: the topic names (default `Topics()`).
        shard: `(i, n)`: of an embedded log, only the partitions `p` with `p % n == i` (a JSONL file is
            read whole).

    Raises:
        ConfigurationError: the file does not exist or is neither SQLite nor JSONL.
    """
    p = Path(path)
    if not is_sqlite_log(p):
        for value in jsonl_records(p):
            yield value
        return
    t = topics or Topics()
    log = MemoryLog(p)
    await log.start()
    try:
        partitions = range(shard[0], log.partitions_for(t.events), shard[1])
        async for record in log.scan(t.events, partitions):
            yield orjson.loads(record.value)
    finally:
        await log.close()
