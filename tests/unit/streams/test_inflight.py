"""InFlight: the offset a concurrent worker may commit stays below every record whose answer is not committed."""

from __future__ import annotations

from streams import TopicPartition
from streams._inflight import InFlight

TP = TopicPartition("work", 0)
OTHER = TopicPartition("work", 1)


def _answer(inflight: InFlight, tp: TopicPartition, offset: int) -> int | None:
    """Commit the answer of `offset` successfully; the offset committed with it."""
    safe = inflight.committing(tp, offset)
    if safe is not None:
        inflight.committed(tp, offset)
    return safe


def test_in_order_answers_advance_one_by_one() -> None:
    inflight = InFlight()
    for offset in (0, 1, 2):
        inflight.dispatched(TP, offset)

    assert [_answer(inflight, TP, o) for o in (0, 1, 2)] == [1, 2, 3]
    assert not inflight.holds(TP, 2)


def test_out_of_order_answers_hold_at_the_lowest_open_offset() -> None:
    inflight = InFlight()
    for offset in (5, 6, 7):
        inflight.dispatched(TP, offset)

    assert _answer(inflight, TP, 7) == 5
    assert _answer(inflight, TP, 6) == 5
    assert _answer(inflight, TP, 5) == 8


def test_an_answer_whose_commit_is_pending_keeps_later_commits_below_it() -> None:
    inflight = InFlight()
    for offset in (0, 1):
        inflight.dispatched(TP, offset)

    assert inflight.committing(TP, 0) == 1  # offset 0's commit is under way (it may still fail)
    assert _answer(inflight, TP, 1) == 0  # so offset 1's commit must not pass it
    assert inflight.holds(TP, 0)


def test_a_failed_commit_leaves_the_record_in_flight_for_its_retry() -> None:
    inflight = InFlight()
    inflight.dispatched(TP, 0)
    inflight.dispatched(TP, 1)

    assert inflight.committing(TP, 0) == 1  # ... and this commit fails: `committed` is never called
    assert _answer(inflight, TP, 1) == 0
    assert inflight.holds(TP, 0)
    assert _answer(inflight, TP, 0) == 2  # the retry commits past both


def test_partitions_are_independent() -> None:
    inflight = InFlight()
    inflight.dispatched(TP, 0)
    inflight.dispatched(OTHER, 10)

    assert _answer(inflight, OTHER, 10) == 11
    assert inflight.holds(TP, 0)


def test_drop_forgets_revoked_partitions() -> None:
    inflight = InFlight()
    inflight.dispatched(TP, 3)
    inflight.dispatched(OTHER, 4)

    inflight.drop({TP})

    assert not inflight.holds(TP, 3)
    assert inflight.holds(OTHER, 4)
    assert inflight.committing(TP, 3) is None


def test_answering_an_old_offset_after_reassignment_gives_nothing_to_commit() -> None:
    inflight = InFlight()
    inflight.dispatched(TP, 3)
    inflight.drop({TP})
    inflight.dispatched(TP, 8)  # assigned again, redelivered from a later committed offset

    assert inflight.committing(TP, 3) is None
    assert _answer(inflight, TP, 8) == 9


def test_answering_an_unknown_offset_gives_nothing_to_commit() -> None:
    inflight = InFlight()
    inflight.dispatched(TP, 0)

    assert inflight.committing(TP, 1) is None
    assert inflight.committing(OTHER, 0) is None
    assert _answer(inflight, TP, 0) == 1
