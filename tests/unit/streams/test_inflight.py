"""InFlight: the offset a concurrent worker may commit is the lowest still in flight."""

from __future__ import annotations

from streams import TopicPartition
from streams._inflight import InFlight

TP = TopicPartition("work", 0)
OTHER = TopicPartition("work", 1)


def test_nothing_dispatched_commits_zero() -> None:
    assert InFlight().safe_commit(TP) == 0


def test_in_order_completion_advances_one_by_one() -> None:
    inflight = InFlight()
    for offset in (0, 1, 2):
        inflight.dispatched(TP, offset)

    assert inflight.finished(TP, 0) == 1
    assert inflight.finished(TP, 1) == 2
    assert inflight.finished(TP, 2) == 3
    assert inflight.busy() == 0


def test_out_of_order_completion_holds_at_the_lowest_open_offset() -> None:
    inflight = InFlight()
    for offset in (5, 6, 7):
        inflight.dispatched(TP, offset)

    assert inflight.finished(TP, 7) == 5
    assert inflight.finished(TP, 6) == 5
    assert inflight.busy() == 1
    assert inflight.finished(TP, 5) == 8


def test_partitions_are_independent() -> None:
    inflight = InFlight()
    inflight.dispatched(TP, 0)
    inflight.dispatched(OTHER, 10)

    assert inflight.finished(OTHER, 10) == 11
    assert inflight.safe_commit(TP) == 0
    assert inflight.busy() == 1


def test_drop_forgets_revoked_partitions() -> None:
    inflight = InFlight()
    inflight.dispatched(TP, 3)
    inflight.dispatched(OTHER, 4)

    inflight.drop({TP})

    assert inflight.safe_commit(TP) == 0
    assert inflight.busy() == 1
    assert inflight.safe_commit(OTHER) == 4


def test_finishing_an_offset_dropped_on_revoke_gives_nothing_to_commit() -> None:
    inflight = InFlight()
    inflight.dispatched(TP, 3)
    inflight.drop({TP})

    assert inflight.finished(TP, 3) is None


def test_finishing_an_old_offset_after_reassignment_gives_nothing_to_commit() -> None:
    inflight = InFlight()
    inflight.dispatched(TP, 3)
    inflight.drop({TP})
    inflight.dispatched(TP, 8)  # assigned again, redelivered from a later committed offset

    assert inflight.finished(TP, 3) is None
    assert inflight.finished(TP, 8) == 9


def test_finishing_an_unknown_offset_gives_nothing_to_commit() -> None:
    inflight = InFlight()
    inflight.dispatched(TP, 0)

    assert inflight.finished(TP, 1) is None
    assert inflight.finished(OTHER, 0) is None
    assert inflight.finished(TP, 0) == 1
