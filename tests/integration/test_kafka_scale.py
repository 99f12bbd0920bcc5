"""The Kafka scale run with a small load (marker `broker`): the code of `make kafka-scale`, no timing assertions.

Two orchestrators, two model workers, two tool workers and a projection worker as separate processes; 60 runs
with one or two tool calls each, some sessions with two runs. Every run completes exactly once, no event id is
repeated in the committed log, every tool call completed exactly once, and the projection shows every run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.kafka_scale import ScaleConfig, run_scale, summary
from tests.kafka_broker import BOOTSTRAP, broker_marks

pytestmark = [*broker_marks(), pytest.mark.slow, pytest.mark.timeout(90)]

RUNS = 60


async def test_small_scale_run_completes_every_run_exactly_once(tmp_path: Path) -> None:
    report = await run_scale(ScaleConfig(BOOTSTRAP, tmp_path, runs=RUNS, partitions=4, warmup=4, timeout_s=40))
    print(summary(report))
    assert report["workers"] == {"orchestrator": 2, "model": 2, "tool": 2, "projection": 1}
    assert report["sessions"] < RUNS  # some sessions have several runs
    assert (report["completed"], report["errors"], report["not_ended"]) == (RUNS, 0, 0)
    check = report["log_check"]
    assert (check["missing"], check["multi_terminal"], check["duplicates"]) == ([], [], 0)
    calls = check["tool_calls"]
    assert calls["completed"] == calls["expected"] == RUNS // 2 * 3 + 4 // 2 * 3
    assert (calls["completed_twice"], calls["failed"], calls["wrong_count_runs"]) == (0, 0, [])
    assert report["projection_runs_completed"] == RUNS + 4
    assert report["workers_exited_early"] == {}
    assert report["worker_tracebacks"] == 0
    assert report["ok"] is True
