"""tune_for_serving: what exists is frozen out of the collector's walks, and gen-0 collects less often."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from adapters.gc_tuning import tune_for_serving


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.mark.usefixtures("restore_gc")
def test_existing_objects_are_frozen_and_gen0_waits_for_the_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    tune_for_serving(5_000)

    assert gc.get_threshold() == (5_000, 10, 10)
    assert gc.get_freeze_count() > 1_000  # the imported modules' objects
    collections_before = gc.get_stats()[0]["collections"]
    kept = [[i] for i in range(3_000)]  # 3 000 net container allocations: under the new threshold
    assert gc.get_stats()[0]["collections"] == collections_before
    assert len(kept) == 3_000


@pytest.mark.usefixtures("restore_gc")
def test_garbage_made_before_tuning_is_collected_not_frozen() -> None:
    gc.disable()  # no automatic collection between making the garbage and tuning
    try:
        cycle = weakref.ref(_Cycle())
        assert cycle() is not None
        tune_for_serving(700)
    finally:
        gc.enable()
    assert cycle() is None
