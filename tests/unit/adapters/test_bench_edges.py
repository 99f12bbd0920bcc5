"""A long run's last minute against its first (`stats.edges`, and the soak checks built on it)."""

from __future__ import annotations

from typing import Any

from adapters.bench.loadgen import LoadResult, Sample
from adapters.bench.report import checks
from adapters.bench.stats import EDGE_S, edges, summarize


def _load(duration_s: float, *, first_total_s: float, last_total_s: float, last_every_s: float = 0.5) -> LoadResult:
    """One request every 0.5 s (every `last_every_s` in the last minute); totals as given at the two edges."""
    samples = []
    t = 0.0
    while t < duration_s:
        in_last = t >= duration_s - EDGE_S
        total = last_total_s if in_last else first_total_s
        samples.append(Sample(start_s=t, ttft_s=0.1, total_s=total, error=None))
        t += last_every_s if in_last else 0.5
    return LoadResult(samples=samples, window_start=0.0, window_end=duration_s)


def test_edges_compare_the_first_and_last_minute_of_a_long_window() -> None:
    figures = edges(_load(600, first_total_s=0.4, last_total_s=0.5, last_every_s=0.625), 600)
    assert figures == {
        "first": {"rps": 2.0, "p95_total_ms": 400.0},
        "last": {"rps": 1.6, "p95_total_ms": 500.0},  # 96 requests in 60 s
    }


def test_no_edges_for_a_short_window() -> None:
    assert edges(_load(60, first_total_s=0.4, last_total_s=0.4), 60) is None
    assert summarize(_load(60, first_total_s=0.4, last_total_s=0.4), 60)["edges"] is None


def _soak_checks(result: LoadResult) -> dict[str, dict[str, Any]]:
    figures = summarize(result, 600) | {"server": {"rss_growth_pct": 2.0}}
    report = checks({"embedded": {"no_tools": figures}}, long_run=True)
    return {c["check"]: c for c in report if "minute" in c["check"]}


def test_a_run_that_slows_down_fails_the_edge_checks() -> None:
    found = _soak_checks(_load(600, first_total_s=0.4, last_total_s=0.5, last_every_s=0.625))
    rps = found["embedded req/s lost, last vs first minute (%)"]
    p95 = found["embedded p95 total gained, last vs first minute (%)"]
    assert (rps["value"], rps["status"]) == (20.0, "fail")  # 2.0 -> 1.6 req/s
    assert (p95["value"], p95["status"]) == (25.0, "fail")  # 400 -> 500 ms


def test_a_run_that_speeds_up_passes_the_edge_checks() -> None:
    found = _soak_checks(_load(600, first_total_s=0.5, last_total_s=0.45, last_every_s=0.4))
    assert {c["status"] for c in found.values()} == {"pass"}
    assert found["embedded req/s lost, last vs first minute (%)"]["value"] < 0
