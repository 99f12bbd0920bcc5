"""Garbage-collector settings of the long-running processes (`agnostream serve` and `agnostream worker`).

CPython collects generation 0 after every 700 net allocations of container objects, and each collection
also walks everything the process imported. In the benchmark (C=100, one tool call per request, 20 s on
one core) that meant ~70 collections a second taking ~5 % of the server's CPU with the imports frozen and
~10 % without, and every ~2 s a full collection of 50-90 ms that found no garbage at all but held the event
loop the whole time: the loop's p99 lateness was 20-35 ms. Almost everything a request allocates is freed
by reference counting, so the collector has little to find.

`tune_for_serving` runs once the server's modules are imported: it freezes what exists (the imported
modules, the app; `gc.freeze`) so no collection walks it again, and raises the generation-0 threshold
(settings `AGNOSTREAM_GC_GEN0_THRESHOLD`, default 10 000). With both, the same run collected ~9 times in
20 s (~70 ms in all). Tests and embedding code keep CPython's defaults: only the CLI calls this.
"""

from __future__ import annotations

import gc

__all__ = ["tune_for_serving"]


def tune_for_serving(gen0_threshold: int) -> None:
    """Collect once, freeze every object that exists now and set the generation-0 threshold.

    Args:
        gen0_threshold: net container allocations between two generation-0 collections (CPython's default
            is 700); generations 1 and 2 keep their thresholds. 0 turns automatic collection off.
    """
    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
