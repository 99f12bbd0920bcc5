"""Read the run-events of a recorded log: an embedded log file (SQLite) or a JSONL export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from engine import ConfigurationError
from streams import MemoryLog, TopicPartition, Topics

__all__ = ["read_events"]

_SQLITE_MAGIC = b"SQLite format 3\x00"


async def read_events(path: str | Path, topics: Topics | None = None) -> AsyncIterator[dict[str, Any]]:
    """Yield run-event record values of the log at `path`, partition by partition in offset order.

    A `.jsonl` file yields its lines in order. Sessions never span partitions, so per-session order is
    the log order either way.

    Raises:
        ConfigurationError: the file does not exist or is neither SQLite nor JSONL.
    """
    p = Path(path)
    if not p.exists():
        raise ConfigurationError(f"log file {str(p)!r} does not exist")
    with p.open("rb") as f:
        head = f.read(16)
    if head != _SQLITE_MAGIC:
        with p.open("rb") as f:
            for line_no, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        raise ConfigurationError(f"{p}:{line_no}: not JSON ({exc})") from exc
        return
    t = topics or Topics()
    log = MemoryLog(p)
    await log.start()
    try:
        n = log.partitions_for(t.events)
        for partition in range(n):
            tp = TopicPartition(t.events, partition)
            end = (await log.end_offsets([tp]))[tp]
            for record in await log.read(tp, 0, end):
                yield orjson.loads(record.value)
    finally:
        await log.close()
