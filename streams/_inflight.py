"""Offset bookkeeping for workers that process a partition's records concurrently.

Records of one partition may finish out of order; the offset a worker may commit is the lowest offset
still in flight (or one past the highest dispatched when none is). Records that finished above it
will be redelivered after a crash, which is why workers also check the log before re-executing.
"""

from __future__ import annotations

from .records import TopicPartition

__all__ = ["InFlight"]


class InFlight:
    """Tracks dispatched and finished offsets per partition; `safe_commit` gives the next offset to commit."""

    def __init__(self) -> None:
        self._open: dict[TopicPartition, set[int]] = {}
        self._next: dict[TopicPartition, int] = {}

    def dispatched(self, tp: TopicPartition, offset: int) -> None:
        """Record that the record at `offset` started processing."""
        self._open.setdefault(tp, set()).add(offset)
        self._next[tp] = max(self._next.get(tp, 0), offset + 1)

    def finished(self, tp: TopicPartition, offset: int) -> int | None:
        """Record that `offset` finished; return the next offset that is safe to commit for `tp`.

        Returns None when `offset` is not in flight (its partition was dropped on revoke meanwhile):
        the caller must not commit, or it would rewind the new owner's committed offset.
        """
        open_ = self._open.get(tp)
        if open_ is None or offset not in open_:
            return None
        open_.discard(offset)
        return self.safe_commit(tp)

    def safe_commit(self, tp: TopicPartition) -> int:
        """Lowest offset still in flight, or one past the highest dispatched offset."""
        open_ = self._open.get(tp)
        if open_:
            return min(open_)
        return self._next.get(tp, 0)

    def drop(self, tps: set[TopicPartition]) -> None:
        """Forget partitions that were revoked."""
        for tp in tps:
            self._open.pop(tp, None)
            self._next.pop(tp, None)

    def busy(self) -> int:
        """Number of records in flight over all partitions."""
        return sum(len(s) for s in self._open.values())
