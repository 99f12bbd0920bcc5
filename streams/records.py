"""Record and position types, in Kafka's vocabulary (topic, partition, offset)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Headers", "Position", "Record", "TopicPartition"]

Headers = tuple[tuple[str, bytes], ...]
"""Record headers as (name, value) pairs, in order."""


@dataclass(frozen=True, slots=True, order=True)
class TopicPartition:
    """A partition of a topic (as aiokafka's `TopicPartition`)."""

    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class Position:
    """The place of one record: its topic, partition and offset (the record's own offset, not "next")."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Record:
    """One record read from a topic partition.

    Attributes:
        topic: topic name.
        partition: partition number.
        offset: this record's offset in the partition (the next offset to read is `offset + 1`).
        key: record key bytes (the session id or run id), or None.
        value: record value bytes (orjson-encoded JSON object).
        headers: record headers; `event` / `schema_version` for run events.
        timestamp_ms: append time, milliseconds since the epoch.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Headers
    timestamp_ms: int

    @property
    def tp(self) -> TopicPartition:
        """The record's topic partition."""
        return TopicPartition(self.topic, self.partition)
