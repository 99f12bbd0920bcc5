"""Shared helpers of the Kafka transport: error translation, record/partition conversion, producer health."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from aiokafka import TopicPartition as KafkaTP  # type: ignore[import-untyped]
from aiokafka import errors as kafka_errors

from .errors import BrokerUnavailableError, CommitFailedError, StreamError, StreamTimeoutError
from .records import Record, TopicPartition

__all__ = [
    "METADATA_BACKOFF_S",
    "_SEQUENCE_BREAKERS",
    "_check_alive",
    "_map_kafka_errors",
    "_paced",
    "_record",
    "_sender_stopped",
    "_tp",
]

_SEQUENCE_BREAKERS = (
    kafka_errors.OutOfOrderSequenceNumber,
    kafka_errors.LeaderNotAvailableError,
    kafka_errors.NotLeaderForPartitionError,
    kafka_errors.KafkaTimeoutError,
)
"""Errors of an idempotent append after which the producer's sequences may have a gap (see `KafkaLog._appender`)."""


@contextlib.contextmanager
def _map_kafka_errors(what: str) -> Iterator[None]:
    """Translate aiokafka errors into stream errors (never let a library exception escape)."""
    try:
        yield
    except kafka_errors.CommitFailedError as exc:
        raise CommitFailedError(f"{what}: {exc}") from exc
    except (kafka_errors.KafkaTimeoutError, kafka_errors.RequestTimedOutError) as exc:
        raise StreamTimeoutError(f"{what}: {exc}") from exc
    except (
        kafka_errors.KafkaConnectionError,
        kafka_errors.NodeNotReadyError,
        kafka_errors.KafkaUnavailableError,
    ) as exc:
        raise BrokerUnavailableError(f"{what}: Kafka is unreachable ({exc}); check the bootstrap servers") from exc
    except kafka_errors.KafkaError as exc:
        raise StreamError(f"{what}: {type(exc).__name__}: {exc}") from exc


def _tp(tp: TopicPartition) -> KafkaTP:
    return KafkaTP(tp.topic, tp.partition)


def _record(r: Any) -> Record:
    headers = tuple((k, bytes(v)) for k, v in (r.headers or ()))
    return Record(r.topic, r.partition, r.offset, r.key, r.value, headers, r.timestamp)


def _sender_stopped(producer: Any) -> bool:
    """True when `producer`'s background sender has ended (aiokafka ends it on a fatal error)."""
    task = getattr(getattr(producer, "_sender", None), "sender_task", None)
    return task is not None and task.done()


def _check_alive(producer: Any) -> None:
    """Fail at once when `producer` can no longer finish a transaction.

    After a fatal error (aiokafka's sender ends, its transaction manager enters FATAL_ERROR: e.g.
    OutOfOrderSequenceNumber after a broker restart) a new transaction fails an assertion, and one that
    registered its offsets after the sender ended would wait forever. Failing with a `StreamError` instead
    lets the caller leave its group, which releases this producer and fences a new one.

    Raises:
        StreamError: the producer is in that state.
    """
    manager = getattr(producer, "_txn_manager", None)
    if _sender_stopped(producer) or (manager is not None and manager.is_fatal_error()):
        sender = producer._sender.sender_task
        ended = sender.done() and not sender.cancelled() and sender.exception() is not None
        why = repr(sender.exception()) if ended else "its transaction manager is in FATAL_ERROR"
        raise StreamError(f"the transactional producer has failed fatally ({why}); it must be fenced again")


METADATA_BACKOFF_S = (0.1, 1.0)
"""A failed metadata update's pause before it reports failure, seconds: first, then doubling up to the second.

The Java client's `retry.backoff.ms` and `retry.backoff.max.ms` defaults for metadata.
"""

_Client = TypeVar("_Client")


def _paced(
    owner: _Client,
    backoff_s: tuple[float, float] = METADATA_BACKOFF_S,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> _Client:
    """Pace `owner`'s failed metadata updates (an aiokafka producer, consumer or admin client); returns it.

    aiokafka's sender and fetcher ask for new metadata as soon as an update fails and wait for nothing
    else, so with the broker unreachable (connections refused at once) they loop without pause: measured,
    one consumer and one producer of a stopped broker made ~8,000 metadata attempts a second, a full core,
    each logged twice. Here a failed update waits before it reports failure (`backoff_s`: 0.1 s, doubling
    up to 1 s; a success resets it), and every caller waits on that update. Successful updates are untouched.
    """
    client: Any = getattr(owner, "client", None) or owner._client  # type: ignore[attr-defined]
    update = client._metadata_update
    first, most = backoff_s
    failures = 0

    async def paced_update(cluster_metadata: Any, topics: Any) -> bool:
        nonlocal failures
        ok = bool(await update(cluster_metadata, topics))
        if ok:
            failures = 0
        else:
            await sleep(min(most, first * 2**failures))
            failures += 1
        return ok

    client._metadata_update = paced_update
    return owner
