"""Shared helpers of the Kafka transport: error translation and record/partition conversion."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from aiokafka import TopicPartition as KafkaTP  # type: ignore[import-untyped]
from aiokafka import errors as kafka_errors

from .errors import BrokerUnavailableError, CommitFailedError, StreamError, StreamTimeoutError
from .records import Record, TopicPartition

__all__ = ["_map_kafka_errors", "_record", "_tp"]


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
