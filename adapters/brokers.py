"""Choose the log from the `--broker` / `AGNOSTREAM_BROKER` setting: `embedded` or `kafka://HOST:PORT[,HOST:PORT]`."""

from __future__ import annotations

from dataclasses import dataclass

from engine import ConfigurationError
from streams import Log, MemoryLog

__all__ = ["BrokerUrl", "make_log", "parse_broker"]


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    """A parsed broker setting: `kind` is "embedded" or "kafka"; `bootstrap_servers` for Kafka."""

    kind: str
    bootstrap_servers: str = ""


def parse_broker(value: str) -> BrokerUrl:
    """Parse `embedded` or `kafka://host:port[,host:port]`.

    Raises:
        ConfigurationError: any other value (names the setting and the accepted forms).
    """
    if value in ("", "embedded"):
        return BrokerUrl("embedded")
    if value.startswith("kafka://") and len(value) > len("kafka://"):
        servers = value[len("kafka://") :].rstrip("/")
        if all(":" in s for s in servers.split(",")):
            return BrokerUrl("kafka", servers)
    raise ConfigurationError(
        f"invalid broker {value!r} (AGNOSTREAM_BROKER / --broker): use 'embedded' or 'kafka://HOST:PORT[,HOST:PORT]'"
    )


def make_log(
    broker: str,
    *,
    log_path: str,
    partitions: int,
    transactional_id: str | None = None,
    client_id: str = "agnostream",
    txn_retry_backoff_ms: int = 20,
    offset_commit_interval_ms: int = 100,
) -> Log:
    """Build the log for `broker`: the embedded log on `log_path`, or a Kafka log.

    `txn_retry_backoff_ms` and `offset_commit_interval_ms` (Kafka only, settings
    `AGNOSTREAM_KAFKA_TXN_RETRY_BACKOFF_MS` and `AGNOSTREAM_KAFKA_OFFSET_COMMIT_MS`): see `KafkaLog`.

    Raises:
        ConfigurationError: the broker setting is invalid.
    """
    url = parse_broker(broker)
    if url.kind == "embedded":
        return MemoryLog(log_path, default_partitions=partitions)
    from streams.kafka import KafkaLog  # aiokafka only for deployments on Kafka

    return KafkaLog(
        url.bootstrap_servers,
        transactional_id=transactional_id,
        client_id=client_id,
        default_partitions=partitions,
        group_instance_id=transactional_id,
        txn_retry_backoff_ms=txn_retry_backoff_ms,
        offset_commit_interval_ms=offset_commit_interval_ms,
    )
