"""The log protocol both transports implement (embedded `MemoryLog`, Kafka `KafkaLog`).

Semantics follow Kafka: records are appended to a topic partition chosen from the key; each partition
is ordered by offset; consumers in a consumer group (`group_id`) share partitions and commit the
**next offset to read** per partition; a consumer without a group assigns partitions itself and seeks.
A `Transaction` appends records and commits consumer offsets atomically (Kafka's
consume-transform-produce with `send_offsets_to_transaction`): after a crash, either all of its records
are visible and its offsets committed, or none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from .records import Headers, Record, TopicPartition

__all__ = ["Consumer", "Log", "OutRecord", "RebalanceCallback", "TopicSpec", "Transaction"]


class OutRecord(NamedTuple):
    """A record to append: topic, key, value and headers (the partition comes from the key).

    A NamedTuple for the same reason as `streams.records.Record`.
    """

    topic: str
    key: bytes
    value: bytes
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create: name, partition count, replication factor and config (Kafka names)."""

    name: str
    partitions: int
    replication_factor: int = 1
    config: Mapping[str, str] | None = None


RebalanceCallback = Callable[[set[TopicPartition]], Awaitable[None]]
"""Called with the partitions a group consumer gained (on assign) or lost (on revoke)."""


class Transaction(Protocol):
    """Records and offset commits that become visible together."""

    def send(self, record: OutRecord) -> None:
        """Add a record to the transaction."""
        ...

    def commit_offsets(self, group_id: str, offsets: Mapping[TopicPartition, int]) -> None:
        """Add an offset commit: `offsets` maps each partition to the next offset to read.

        The embedded log commits it with the transaction. Kafka commits it right after the transaction when a
        member of `group_id` in this log holds the partitions (and in it otherwise, or when the transaction
        dead-letters a record): readers of the committed offset may see it lag the outputs briefly.
        """
        ...


class Consumer(Protocol):
    """Reads records from assigned partitions in offset order."""

    async def start(self) -> None:
        """Join the group (or start with manual assignment) and fetch committed positions."""
        ...

    async def stop(self) -> None:
        """Leave the group; uncommitted progress is lost (records are redelivered to the next owner)."""
        ...

    def assignment(self) -> set[TopicPartition]:
        """The partitions currently assigned to this consumer."""
        ...

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        """Assign partitions manually (only for consumers without a group)."""
        ...

    def seek(self, tp: TopicPartition, next_offset: int) -> None:
        """Set the next offset to read from `tp`."""
        ...

    async def position(self, tp: TopicPartition) -> int:
        """Return the next offset to read from `tp` (after the last record returned)."""
        ...

    async def getmany(self, timeout_ms: int = 1000, max_records: int = 500) -> dict[TopicPartition, list[Record]]:
        """Return available records per partition, waiting up to `timeout_ms` for the first one; may be empty."""
        ...

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit `offsets` (next offset to read per partition) for this consumer's group.

        Raises:
            CommitFailedError: a partition is no longer assigned to this consumer.
        """
        ...

    async def committed(self, tp: TopicPartition) -> int | None:
        """The group's committed next offset for `tp`, or None if nothing was committed."""
        ...


class Log(Protocol):
    """A partitioned, durable log: topics, appends, transactions and consumers."""

    shared_transactions: bool
    """True when one transaction may commit for several owners at once (`transaction(owner=None)`): the
    embedded log, whose members all live in one process. False when each owner commits on its own fenced
    producer (Kafka)."""

    async def start(self) -> None:
        """Open the log (connect / load)."""
        ...

    async def close(self) -> None:
        """Flush and close; pending appends complete first."""
        ...

    async def create_topics(self, specs: Sequence[TopicSpec]) -> None:
        """Create topics that do not exist yet (idempotent).

        Raises:
            TopicMismatchError: a topic exists with another partition count.
        """
        ...

    def partitions_for(self, topic: str) -> int:
        """Partition count of `topic`."""
        ...

    async def send(self, record: OutRecord) -> TopicPartition:
        """Append one record outside any transaction; returns once it is durable and visible."""
        ...

    async def send_many(self, records: Sequence[OutRecord]) -> None:
        """Append records outside any transaction (in order per partition); returns once durable and visible."""
        ...

    def transaction(self, owner: str | None = None) -> AbstractAsyncContextManager[Transaction]:
        """Open a transaction; its records and offsets become durable and visible together on exit.

        `owner` names the input this transaction commits for (a processor group's partition, e.g.
        `agno.process.model:3`, taken over with `fence`). A log whose members can outlive their assignment
        (Kafka) commits it so that a member that lost `owner` can no longer commit for it.

        Raises:
            CommitFailedError: `owner` was not taken over with `fence` by this log (or was released).
        """
        ...

    async def fence(self, owners: Collection[str]) -> None:
        """Take over `owners`: on return no earlier holder can commit for them.

        The earlier holders' open transactions are resolved (committed or aborted) by then, so what they
        committed is readable.
        """
        ...

    async def release(self, owners: Collection[str]) -> None:
        """Give up `owners` (after a rebalance moved them); pending commits for them finish first."""
        ...

    def consumer(
        self,
        topics: Sequence[str],
        *,
        group_id: str | None,
        on_assign: RebalanceCallback | None = None,
        on_revoke: RebalanceCallback | None = None,
        auto_offset_reset: str = "earliest",
        on_pause: RebalanceCallback | None = None,
    ) -> Consumer:
        """Create a consumer of `topics`; with `group_id` it joins that consumer group.

        `on_pause` is called with every owned partition when a rebalance starts that may take partitions away
        (Kafka's eager protocol), before any other member can own them: finish in-flight work there.
        """
        ...

    async def end_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """Return the offset after the last visible record of each partition (the "high watermark")."""
        ...

    async def settled_end_offsets(
        self, tps: Iterable[TopicPartition], timeout_s: float | None = None
    ) -> dict[TopicPartition, int]:
        """End offsets after every transaction that wrote below the current end is resolved (see KafkaLog).

        Raises:
            StreamTimeoutError: not settled within `timeout_s` (default: the log's own bound).
        """
        ...

    async def committed(self, group_id: str, tp: TopicPartition) -> int | None:
        """The committed next offset of consumer group `group_id` on `tp`, or None."""
        ...

    async def read(self, tp: TopicPartition, start: int, end: int) -> list[Record]:
        """Return the records of `tp` with `start <= offset < end` (a bounded scan, no group)."""
        ...

    def scan(self, topic: str, partitions: Collection[int] | None = None) -> AsyncIterator[Record]:
        """Every record of `topic` (of `partitions`, or all) visible when the scan starts.

        Records are not held all at once: each partition's come in offset order, partitions interleaved.
        """
        ...
