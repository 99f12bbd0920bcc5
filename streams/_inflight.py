"""Offset bookkeeping for workers that process a partition's records concurrently.

Records of one partition may finish out of order; the offset a worker may commit is the lowest offset
still in flight (or one past the highest dispatched when none is). A record stays in flight until its
answer has committed. Records that finished above it
will be redelivered after a crash, which is why workers also check the log before re-executing.
"""

from __future__ import annotations

from .records import TopicPartition

__all__ = ["InFlight"]


class InFlight:
    """Tracks dispatched and committed offsets per partition; `committing` gives the next offset to commit."""

    def __init__(self) -> None:
        self._open: dict[TopicPartition, set[int]] = {}
        self._next: dict[TopicPartition, int] = {}

    def dispatched(self, tp: TopicPartition, offset: int) -> None:
        """Record that the record at `offset` started processing."""
        self._open.setdefault(tp, set()).add(offset)
        self._next[tp] = max(self._next.get(tp, 0), offset + 1)

    def committing(self, tp: TopicPartition, offset: int) -> int | None:
        """The next offset safe to commit with the answer of `offset`, which stays in flight until `committed`.

        That is the lowest other offset in flight, or one past the highest dispatched. An answer whose commit
        has not succeeded yet keeps every other commit below it, so a failed commit never leaves a later one
        past its record. (Two commits under way together may land in either order; a lower committed offset
        only means that more items are checked against the log after a crash.)

        Returns None when `offset` is not in flight (its partition was dropped on revoke meanwhile): the
        caller must not commit, or it would rewind the new owner's committed offset.
        """
        open_ = self._open.get(tp)
        if open_ is None or offset not in open_:
            return None
        others = [o for o in open_ if o != offset]
        return min(others) if others else self._next.get(tp, 0)

    def committed(self, tp: TopicPartition, offset: int) -> None:
        """Record that the answer of `offset` committed: it is no longer in flight."""
        open_ = self._open.get(tp)
        if open_ is not None:
            open_.discard(offset)

    def holds(self, tp: TopicPartition, offset: int) -> bool:
        """True while `offset` is in flight (dispatched, not committed, its partition not dropped)."""
        return offset in self._open.get(tp, ())

    def drop(self, tps: set[TopicPartition]) -> None:
        """Forget partitions that were revoked."""
        for tp in tps:
            self._open.pop(tp, None)
            self._next.pop(tp, None)
