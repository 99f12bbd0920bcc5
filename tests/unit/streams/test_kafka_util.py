"""`_kafka_util._paced`: a failed metadata update waits (0.1 s doubling to 1 s) before it reports failure."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]

from streams._kafka_util import _paced


class Client:
    """An aiokafka client whose metadata updates answer from `outcomes`."""

    def __init__(self, *outcomes: bool) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[Any, Any]] = []

    async def _metadata_update(self, cluster_metadata: Any, topics: Any) -> bool:
        self.calls.append((cluster_metadata, topics))
        return self.outcomes.pop(0)


class Owner:
    def __init__(self, client: Client) -> None:
        self._client = client


async def test_failed_updates_wait_longer_each_time_up_to_the_cap_and_a_success_resets_them() -> None:
    client = Client(False, False, False, False, False, True, False)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    owner = _paced(Owner(client), (0.1, 1.0), sleep)
    results = [await client._metadata_update("cluster", {"t"}) for _ in range(7)]

    assert results == [False, False, False, False, False, True, False]
    assert slept == [0.1, 0.2, 0.4, 0.8, 1.0, 0.1]  # none after the success, and afresh after it
    assert client.calls == [("cluster", {"t"})] * 7  # the real update still runs every time
    assert owner._client is client


async def test_every_aiokafka_client_kind_is_paced_in_place() -> None:
    owners = [
        AIOKafkaProducer(bootstrap_servers="127.0.0.1:1"),
        AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1"),
        AIOKafkaAdminClient(bootstrap_servers="127.0.0.1:1"),
    ]
    for owner in owners:
        client = getattr(owner, "client", None) or owner._client
        original = client._metadata_update

        assert _paced(owner) is owner
        assert client._metadata_update != original
        assert client._metadata_update.__name__ == "paced_update"
    await owners[0].stop()
    await owners[1].stop()
    await owners[2].close()
