"""Record codec: events, commands and work items <-> record bytes (orjson), plus headers.

Values are compact JSON objects (orjson); headers carry `event` (or `command` / `work`) and
`schema_version` so consumers can route without decoding the value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from engine import (
    Command,
    RunEvent,
    SchemaError,
    WorkItem,
    decode_command,
    decode_event,
    decode_work,
    is_progress_part,
)

from .records import Headers, Record, TopicPartition
from .transport import OutRecord

__all__ = [
    "PROGRESS_HEADER",
    "SCHEMA_VERSION",
    "SOURCE_HEADER",
    "command_record",
    "decode_value",
    "event_record",
    "is_progress",
    "read_command",
    "read_event",
    "read_work",
    "source_header",
    "sources_answered",
    "work_record",
]

SCHEMA_VERSION = b"1"


def _headers(name: str, tag: str) -> Headers:
    return ((name, tag.encode()), ("schema_version", SCHEMA_VERSION))


PROGRESS_HEADER = ("progress", b"1")
"""Marks a worker's progress event (part neither "" nor "done"): nothing the orchestrator decides on."""


SOURCE_HEADER = "src"
"""Names the input a decided event answers: `<topic>:<partition>:<offset>` of the command or event record."""


def event_record(topic: str, event: RunEvent, source: tuple[str, bytes] | None = None) -> OutRecord:
    """Encode a run event keyed by its session id.

    Worker progress events carry `PROGRESS_HEADER`; the orchestrator's decisions carry `source`, the
    `SOURCE_HEADER` of the input they were decided from (`source_header`).
    """
    headers = _headers("event", event.event)
    if is_progress_part(event.part):
        headers = (*headers, PROGRESS_HEADER)
    if source is not None:
        headers = (*headers, source)
    return OutRecord(topic, event.session_id.encode(), orjson.dumps(event.to_dict()), headers)


def source_header(record: Record) -> tuple[str, bytes]:
    """The `SOURCE_HEADER` of events decided from `record` (Kafka topic names cannot contain `:`)."""
    return (SOURCE_HEADER, f"{record.topic}:{record.partition}:{record.offset}".encode())


def sources_answered(records: Iterable[Record]) -> dict[TopicPartition, int]:
    """For each input partition named by the records' `SOURCE_HEADER`s: one past the last input answered.

    A decision commits in the transaction that commits its input's offset, so a consumer of those inputs
    has committed at least this far once the decision is readable. Records without the header (worker
    events, logs written before it existed) and malformed values are ignored.
    """
    answered: dict[TopicPartition, int] = {}
    for record in records:
        for name, value in record.headers:
            if name != SOURCE_HEADER:
                continue
            topic, _, rest = value.decode("utf-8", errors="replace").partition(":")
            partition, _, offset = rest.partition(":")
            if not (partition.isdigit() and offset.isdigit()):
                continue
            tp = TopicPartition(topic, int(partition))
            answered[tp] = max(answered.get(tp, 0), int(offset) + 1)
    return answered


def is_progress(record: Record) -> bool:
    """True for a worker progress event record (ModelRequestStarted, RunContent deltas, ToolCallStarted)."""
    return PROGRESS_HEADER in record.headers


def command_record(topic: str, command: Command) -> OutRecord:
    """Encode a command keyed by its session id."""
    return OutRecord(
        topic, command.session_id.encode(), orjson.dumps(command.to_dict()), _headers("command", command.command)
    )


def work_record(topic: str, work: WorkItem) -> OutRecord:
    """Encode a work item keyed by its run id."""
    return OutRecord(topic, work.run_id.encode(), orjson.dumps(work.to_dict()), _headers("work", work.kind))


def decode_value(record: Record) -> dict[str, Any]:
    """Decode a record value to a JSON object.

    Raises:
        SchemaError: the value is not valid JSON or not an object.
    """
    try:
        value = orjson.loads(record.value)
    except orjson.JSONDecodeError as exc:
        raise SchemaError(f"record {record.topic}/{record.partition}@{record.offset} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise SchemaError(f"record {record.topic}/{record.partition}@{record.offset} is not a JSON object")
    return value


def read_event(record: Record) -> RunEvent:
    """Decode a run-events record.

    Raises:
        SchemaError: undecodable value or unknown event.
    """
    return decode_event(decode_value(record))


def read_command(record: Record) -> Command:
    """Decode a run-commands record.

    Raises:
        SchemaError: undecodable value or unknown command.
    """
    return decode_command(decode_value(record))


def read_work(record: Record) -> WorkItem:
    """Decode a work record.

    Raises:
        SchemaError: undecodable value or unknown work kind.
    """
    return decode_work(decode_value(record))
