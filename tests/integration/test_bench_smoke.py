"""`agnostream bench` end to end with tiny settings: it completes and writes a complete report.

No timing assertions (benchmarks never are, in the test suite): only that every target and mode ran
requests without errors and that the report has the documented keys.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from adapters.bench.hops import HOPS
from tests.kafka_broker import BOOTSTRAP, broker_marks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

LATENCY_KEYS = {"p50", "p95", "p99", "mean", "max"}
FIGURE_KEYS = {
    "requests", "ok", "errors", "error_rate", "error_kinds", "error_examples", "rps",
    "ttft_ms", "total_ms", "server", "broker", "client", "machine",
}  # fmt: skip


def test_bench_smoke_writes_report(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    argv = [
        sys.executable, "-m", "adapters.cli", "bench",
        "--concurrency", "2", "--duration", "2", "--warmup", "0.5",
        "--targets", "floor,embedded", "--tokens", "16", "--token-ms", "2",
        "--replay-events", "300", "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, timeout=80, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]

    report = orjson.loads(out.read_bytes())
    assert {"version", "machine", "config", "results", "replay", "checks", "notes"} <= report.keys()
    assert report["config"]["concurrency"] == 2
    assert set(report["results"]) == {"floor", "embedded"}, report["notes"]
    for target, modes in report["results"].items():
        assert set(modes) == {"no_tools", "tools"}
        for mode, figures in modes.items():
            assert figures.keys() >= FIGURE_KEYS
            assert figures["requests"] > 0, (target, mode)
            assert figures["errors"] == 0, (target, mode, figures["error_kinds"], figures["error_examples"])
            assert set(figures["ttft_ms"]) == LATENCY_KEYS
            assert set(figures["total_ms"]) == LATENCY_KEYS
            if target == "embedded":
                assert figures["server"]["peak_rss_mb"] > 0
                assert "cpu_mean_pct" in figures["server"]
                if report["machine"]["pinned"]:  # the server core's busy time, shared out over the requests
                    busy = figures["machine"]["core_busy_pct"][0]
                    assert figures["machine"]["server_core_ms_per_request"] == round(busy * 10 / figures["rps"], 2)
                # every hop of the run's path was seen in the window (the tool hops only with a tool call)
                hops = {h["hop"]: h for h in figures["hops"]}
                tool_hops = {"tool worker: pick-up", "tool: execution", "orchestrator: tool answer"}
                assert set(hops) == (set(HOPS) if mode == "tools" else set(HOPS) - tool_hops), (mode, hops)
                # runs whose command landed in the window: at most C of them were requested just before it
                assert 0 < hops["run: total"]["n"] <= figures["requests"] + 2
                assert hops["run: first token"]["p50_ms"] <= hops["run: total"]["p50_ms"]
    assert report["replay"]["events"] >= 300
    assert report["replay"]["divergences"] == 0
    assert {c["status"] for c in report["checks"]} <= {"pass", "fail", "n/a"}

    table = out.with_suffix(".md").read_text()
    assert "| embedded | yes |" in table
    assert "## Issue 6 targets" in table
    assert "| model worker: pick-up |" in table


def _on_a_broker(test: Callable[..., None]) -> Callable[..., None]:
    """Marks of a broker test (`tests.kafka_broker.broker_marks`): skipped without a reachable broker."""
    for mark in broker_marks():
        test = mark(test)
    return test


@_on_a_broker
def test_bench_smoke_on_kafka_reports_the_kafka_runs_hops(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    argv = [
        sys.executable, "-m", "adapters.cli", "bench",
        "--concurrency", "2", "--duration", "2", "--warmup", "0.5", "--broker-warmup", "0",
        "--targets", "kafka", "--tools", "--tokens", "16", "--token-ms", "2",
        "--kafka", BOOTSTRAP, "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, timeout=110, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]

    figures = orjson.loads(out.read_bytes())["results"]["kafka"]["tools"]
    assert figures["requests"] > 0
    assert figures["errors"] == 0, (figures["error_kinds"], figures["error_examples"])
    # the hops come from the committed records of the server's own topics, in the measured window
    hops = {h["hop"]: h for h in figures["hops"]}
    assert set(hops) == set(HOPS), hops
    assert 0 < hops["run: total"]["n"] <= figures["requests"] + 2
    assert hops["run: first token"]["p50_ms"] <= hops["run: total"]["p50_ms"]
    table = out.with_suffix(".md").read_text()
    assert "## Where the Kafka runs' time went" in table
    assert "## Where the embedded runs' time went" not in table
