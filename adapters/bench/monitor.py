"""Resource sampling of the processes under test (psutil): RSS and CPU time every `interval_s`.

`ProcessMonitor` samples one process (and, optionally, its descendants) on the event loop of the load
generator; a sample is two `/proc` reads, cheap next to the load. The summary gives the peak RSS over
the whole run, the RSS when the measured window opened and when it closed (for the growth check), and
the mean CPU over the window from the CPU-time difference (100 % = one core busy).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

__all__ = ["CoreLoad", "ProcessMonitor", "ResourceSummary"]

_MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ResourceSummary:
    """Resource use of one process over a run.

    Attributes:
        peak_rss_mb: highest RSS sampled (MiB), warm-up included.
        rss_window_start_mb / rss_window_end_mb: RSS at the first / last sample of the measured window (MiB).
        rss_growth_pct: growth over the window in percent of the start value.
        cpu_mean_pct: CPU time over the window / wall time, in percent of one core.
        samples: samples taken.
    """

    peak_rss_mb: float
    rss_window_start_mb: float
    rss_window_end_mb: float
    rss_growth_pct: float
    cpu_mean_pct: float
    samples: int

    def to_dict(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (values rounded to 0.1)."""
        return {
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "rss_window_start_mb": round(self.rss_window_start_mb, 1),
            "rss_window_end_mb": round(self.rss_window_end_mb, 1),
            "rss_growth_pct": round(self.rss_growth_pct, 1),
            "cpu_mean_pct": round(self.cpu_mean_pct, 1),
            "samples": self.samples,
        }


@dataclass(slots=True)
class _Sample:
    at: float
    rss: int
    cpu_s: float


@dataclass(slots=True)
class ProcessMonitor:
    """Sample process `pid` every `interval_s` seconds between `start()` and `stop()`.

    Args:
        pid: the process.
        interval_s: seconds between samples.
        include_children: add the RSS and CPU of the process's descendants (read at each sample).
    """

    pid: int
    interval_s: float = 0.5
    include_children: bool = False
    _samples: list[_Sample] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _window: list[float] = field(default_factory=list)

    def start(self) -> None:
        """Begin sampling (one sample now, then every `interval_s`)."""
        self._task = asyncio.create_task(self._run())

    def mark(self) -> None:
        """Take a sample now and remember it as a window boundary (call at the window's start and end)."""
        now = time.monotonic()
        self._window.append(now)
        self._sample(now)

    async def stop(self) -> ResourceSummary | None:
        """Stop sampling; the summary, or None when the process could not be sampled at all."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.summary()

    def summary(self) -> ResourceSummary | None:
        """Summarise the samples so far (see `ResourceSummary`); None without samples."""
        if not self._samples:
            return None
        samples = sorted(self._samples, key=lambda s: s.at)
        lo = self._window[0] if self._window else samples[0].at
        hi = self._window[1] if len(self._window) > 1 else samples[-1].at
        inside = [s for s in samples if lo <= s.at <= hi] or samples
        first, last = inside[0], inside[-1]
        wall = last.at - first.at
        cpu = 100.0 * (last.cpu_s - first.cpu_s) / wall if wall > 0 else 0.0
        growth = 100.0 * (last.rss - first.rss) / first.rss if first.rss else 0.0
        return ResourceSummary(
            peak_rss_mb=max(s.rss for s in samples) / _MB,
            rss_window_start_mb=first.rss / _MB,
            rss_window_end_mb=last.rss / _MB,
            rss_growth_pct=growth,
            cpu_mean_pct=cpu,
            samples=len(samples),
        )

    async def _run(self) -> None:
        while True:
            self._sample(time.monotonic())
            await asyncio.sleep(self.interval_s)

    def _sample(self, now: float) -> None:
        try:
            proc = psutil.Process(self.pid)
            procs = [proc, *proc.children(recursive=True)] if self.include_children else [proc]
            rss = 0
            cpu_s = 0.0
            for p in procs:
                with p.oneshot():
                    rss += p.memory_info().rss
                    times = p.cpu_times()
                    cpu_s += times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return
        self._samples.append(_Sample(now, rss, cpu_s))


@dataclass(slots=True)
class CoreLoad:
    """How busy each CPU core was between two `mark()` calls, whoever kept it busy.

    The benchmark cannot keep other processes off its cores; comparing a core's busy time with the
    pinned process's own CPU shows how much of that core something else took during the window.
    """

    _marks: list[list[Any]] = field(default_factory=list)

    def mark(self) -> None:
        """Read the per-core CPU times now (call at the window's start and end)."""
        self._marks.append(psutil.cpu_times(percpu=True))

    def busy_pct(self) -> list[float]:
        """Per core, percent of the window it was not idle; empty without two marks."""
        if len(self._marks) < 2:
            return []
        out = []
        for before, after in zip(self._marks[0], self._marks[-1], strict=True):
            total = sum(after) - sum(before)
            idle = (after.idle + getattr(after, "iowait", 0.0)) - (before.idle + getattr(before, "iowait", 0.0))
            out.append(round(100.0 * (1 - idle / total), 1) if total > 0 else 0.0)
        return out
