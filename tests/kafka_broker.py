"""Where the broker tests find Kafka, and whether they may skip.

The broker comes from `KAFKA_BOOTSTRAP_SERVERS` (what `scripts/kafka.sh start` prints). Without one, or
when nothing answers there, broker tests skip with that reason — except when `AGNOSTREAM_REQUIRE_BROKER=1`
(set by `.ci/run`), where a missing broker is an error, so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
import socket

import pytest

__all__ = ["BOOTSTRAP", "broker_marks"]

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")


def _reachable(servers: str) -> bool:
    host, _, port = servers.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except (OSError, ValueError):
        return False


def _unavailable() -> str | None:
    if not BOOTSTRAP:
        return "KAFKA_BOOTSTRAP_SERVERS is not set (start one: scripts/kafka.sh start)"
    if not _reachable(BOOTSTRAP):
        return f"no Kafka broker answers at {BOOTSTRAP}"
    return None


def broker_marks() -> list[pytest.MarkDecorator]:
    """Marks for a broker test module: `broker`, aiokafka's leaked-connection warnings, and the skip.

    Raises:
        RuntimeError: no broker while `AGNOSTREAM_REQUIRE_BROKER=1` (a collection error, so the run fails).
    """
    reason = _unavailable()
    if reason is not None and os.environ.get("AGNOSTREAM_REQUIRE_BROKER") == "1":
        raise RuntimeError(f"AGNOSTREAM_REQUIRE_BROKER=1 but {reason}")
    return [
        pytest.mark.broker,
        # aiokafka's consumer.stop() cancels an internal task and can leave a connection for the GC to close.
        pytest.mark.filterwarnings("ignore::ResourceWarning"),
        pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
        pytest.mark.skipif(reason is not None, reason=reason or ""),
    ]
