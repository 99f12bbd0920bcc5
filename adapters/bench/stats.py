"""Latency statistics of a load run: percentiles of TTFT and total time, throughput and errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .loadgen import LoadResult

__all__ = ["EDGE_S", "edges", "latency_summary", "percentile", "summarize"]

EDGE_S = 60.0
"""Length of the first and the last stretch of a long window that `edges` compares, seconds."""


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0..100) of `values` (sorted ascending), linearly interpolated; 0.0 when empty."""
    if not values:
        return 0.0
    rank = (len(values) - 1) * q / 100.0
    lo = int(rank)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (rank - lo)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / p99 / mean / max of `seconds`, in milliseconds rounded to 0.1; zeros when empty."""
    ordered = sorted(seconds)
    mean = sum(ordered) / len(ordered) if ordered else 0.0
    out = {f"p{q}": percentile(ordered, q) for q in (50, 95, 99)}
    out["mean"] = mean
    out["max"] = ordered[-1] if ordered else 0.0
    return {k: round(v * 1000, 1) for k, v in out.items()}


def summarize(result: LoadResult, duration_s: float) -> dict[str, Any]:
    """The load figures of one run.

    `requests` counts requests started in the measured window; `rps` is that count over `duration_s`.
    TTFT covers requests that produced a first token, total time the successful requests.
    """
    samples = result.samples
    ok = [s for s in samples if s.error is None]
    errors = len(samples) - len(ok)
    return {
        "requests": len(samples),
        "ok": len(ok),
        "errors": errors,
        "error_rate": round(errors / len(samples), 4) if samples else 0.0,
        "error_kinds": result.error_kinds,
        "error_examples": list(result.error_examples),
        "rps": round(len(samples) / duration_s, 2) if duration_s > 0 else 0.0,
        "ttft_ms": latency_summary([s.ttft_s for s in ok if s.ttft_s is not None]),
        "total_ms": latency_summary([s.total_s for s in ok]),
        "edges": edges(result, duration_s),
    }


def edges(result: LoadResult, duration_s: float) -> dict[str, dict[str, float]] | None:
    """req/s and p95 total (ms) of the requests started in the first and the last `EDGE_S` of the window.

    Within one long run, a slowdown as sessions and logs grow shows as the last stretch falling behind the
    first, whatever the machine's speed that day. None when the window is shorter than five times `EDGE_S`.
    Returns `{"first": {"rps", "p95_total_ms"}, "last": {...}}`.
    """
    if duration_s < 5 * EDGE_S:
        return None
    out = {}
    for name, lo in (("first", 0.0), ("last", duration_s - EDGE_S)):
        stretch = [s for s in result.samples if lo <= s.start_s < lo + EDGE_S]
        totals = sorted(s.total_s for s in stretch if s.error is None)
        out[name] = {"rps": round(len(stretch) / EDGE_S, 2), "p95_total_ms": round(percentile(totals, 95) * 1000, 1)}
    return out


def core_ms_per_request(core_busy_pct: float, rps: float) -> float | None:
    """Busy time of one core per request, in ms: `core_busy_pct` (% of the core over the window) / `rps`.

    For the server core this is the demand D of every process on it (server, broker placed there, kernel).
    When that core is saturated (≥ ~95 % busy), a closed loop of C sessions without think time settles at a
    mean total time of about C * D (Little's law): the latency is then set by D, not by any one hop.
    None without requests.
    """
    if rps <= 0:
        return None
    return round(core_busy_pct * 10 / rps, 2)
