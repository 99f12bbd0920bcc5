"""The log: protocols, the embedded log, codec, processors (orchestrator, worker loop) and the event tap.

Owns: topics/partitions/offsets/consumer groups (`transport`, `memory`), record encoding (`codec`), the
consume -> decide -> append -> commit loops (`processor`, `orchestrator`, `worker`), `tap` and the
`cancel_watch` that lets workers stop for a cancelled run.
May import: `engine` only (plus aiokafka in `kafka`, orjson, stdlib asyncio/sqlite3).
"""

import importlib
import typing

from .cancel_watch import CancelWatch
from .codec import (
    SCHEMA_VERSION,
    command_record,
    decode_value,
    event_record,
    is_progress,
    read_command,
    read_event,
    read_work,
    work_record,
)
from .errors import (
    BrokerUnavailableError,
    CommitFailedError,
    LogClosedError,
    StreamError,
    StreamTimeoutError,
    TopicMismatchError,
)
from .memory import MemoryLog
from .orchestrator import ORCHESTRATOR_GROUP, Orchestrator
from .partitioner import murmur2, partition_for
from .processor import BatchProcessor, deadletter_record, run_processor
from .records import Headers, Position, Record, TopicPartition
from .tap import STREAM_END, EventTap, Subscription
from .telemetry import TELEMETRY_VERSION, telemetry_envelope, telemetry_record
from .topics import Topics
from .transport import Consumer, Log, OutRecord, RebalanceCallback, TopicSpec, Transaction
from .worker import Emit, WorkerLoop, WorkHandler

if typing.TYPE_CHECKING:
    from .kafka import KafkaLog

_LAZY = {"KafkaLog": ".kafka"}
"""Public names imported on first use: aiokafka is loaded only by deployments on Kafka."""


def __getattr__(name: str) -> typing.Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ORCHESTRATOR_GROUP",
    "SCHEMA_VERSION",
    "STREAM_END",
    "TELEMETRY_VERSION",
    "BatchProcessor",
    "BrokerUnavailableError",
    "CancelWatch",
    "CommitFailedError",
    "Consumer",
    "Emit",
    "EventTap",
    "Headers",
    "KafkaLog",
    "Log",
    "LogClosedError",
    "MemoryLog",
    "Orchestrator",
    "OutRecord",
    "Position",
    "RebalanceCallback",
    "Record",
    "StreamError",
    "StreamTimeoutError",
    "Subscription",
    "TopicMismatchError",
    "TopicPartition",
    "TopicSpec",
    "Topics",
    "Transaction",
    "WorkHandler",
    "WorkerLoop",
    "command_record",
    "deadletter_record",
    "decode_value",
    "event_record",
    "is_progress",
    "murmur2",
    "partition_for",
    "read_command",
    "read_event",
    "read_work",
    "run_processor",
    "telemetry_envelope",
    "telemetry_record",
    "work_record",
]
