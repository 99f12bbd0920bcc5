"""The benchmark report's server-core demand: busy ms per request, and how the markdown table shows it."""

from __future__ import annotations

from typing import Any

from adapters.bench.report import markdown
from adapters.bench.stats import core_ms_per_request


def test_core_ms_per_request_is_busy_time_over_requests() -> None:
    assert core_ms_per_request(98.0, 140.0) == 7.0  # 0.98 s of the core each second over 140 requests
    assert core_ms_per_request(50.0, 0.0) is None


def _figures(
    *, server: dict[str, Any] | None, broker: dict[str, Any] | None, machine: dict[str, Any]
) -> dict[str, Any]:
    latency = {"p50": 1.0, "p95": 2.0, "p99": 3.0, "mean": 1.0, "max": 3.0}
    return {
        "requests": 10, "ok": 10, "errors": 0, "rps": 140.0, "ttft_ms": latency, "total_ms": latency,
        "server": server, "broker": broker, "client": {"loadgen_cpu_pct": 5.0, "fake_model_cpu_pct": 6.0},
        "machine": machine,
    }  # fmt: skip


def _row(table: str, target: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {target} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_table_shows_broker_cpu_and_the_server_cores_demand() -> None:
    kafka = _figures(
        server={"peak_rss_mb": 88.0, "cpu_mean_pct": 75.0},
        broker={"peak_rss_mb": 660.0, "cpu_mean_pct": 23.0},
        machine={"core_busy_pct": [98.0, 17.0], "server_core_ms_per_request": 7.0},
    )
    floor = _figures(server=None, broker=None, machine={"core_busy_pct": [2.0, 30.0]})
    report = {
        "config": {"concurrency": 100, "duration_s": 20.0, "warmup_s": 5.0, "tokens": 64, "ttft_ms": 50, "token_ms": 5},
        "machine": {"cpu_model": "test", "cpus": 2, "pinned": True},
        "results": {"floor": {"tools": floor}, "kafka": {"tools": kafka}},
        "checks": [],
    }
    table = markdown(report)
    header = _row(table, "target")
    kafka_row = dict(zip(header, _row(table, "kafka"), strict=True))
    assert kafka_row["broker RSS MB / CPU %"] == "660.0 / 23.0"
    assert kafka_row["server core busy %, ms / request"] == "98.0, 7.0"
    floor_row = dict(zip(header, _row(table, "floor"), strict=True))
    assert floor_row["broker RSS MB / CPU %"] == "-"
    assert floor_row["server core busy %, ms / request"] == "-"  # no server: no demand to show
