"""The per-hop breakdown of the benchmark (`adapters.bench.hops`): hop pairing, and reading a real log file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

from adapters.bench.hops import HopCollector, run_hops
from streams import MemoryLog, OutRecord, Topics


def _tool_run(run_id: str = "r1") -> list[tuple[int, dict[str, Any]]]:
    """One agent run with one tool call, as (timestamp ms, event) in log order."""
    e = [
        (1010, "RunStarted", None, None),
        (1010, "ModelRequested", 1, None),
        (1020, "ModelRequestStarted", 1, "start~a"),
        (1100, "ModelRequestCompleted", 1, "done"),
        (1105, "ToolCallRequested", 2, None),
        (1112, "ToolCallStarted", 2, "start~b"),
        (1130, "ToolCallCompleted", 2, "done"),
        (1140, "ModelRequested", 3, None),
        (1150, "ModelRequestStarted", 3, "start~c"),
        (1210, "RunContent", 3, "d1~c"),
        (1260, "RunContent", 3, "d2~c"),
        (1500, "ModelRequestCompleted", 3, "done"),
        (1505, "RunContentCompleted", None, None),
        (1505, "RunCompleted", None, None),
    ]
    return _events(e, run_id)


Row = tuple[int, str, int | None, str | None]


def _events(rows: list[Row], run_id: str = "r1") -> list[tuple[int, dict[str, Any]]]:
    """(timestamp ms, event name, seq, part) rows as (timestamp ms, event value) pairs of run `run_id`."""
    return [(ts, {"event": name, "run_id": run_id, "seq": seq, "part": part}) for ts, name, seq, part in rows]


def _by_hop(collector: HopCollector) -> dict[str, dict[str, Any]]:
    return {h["hop"]: h for h in collector.summary()}


def test_pairs_each_hop_of_a_run_with_a_tool_call() -> None:
    collector = HopCollector()
    collector.command({"command": "StartRun", "run_id": "r1"}, 1000)
    for ts, event in _tool_run():
        collector.event(event, ts)

    hops = {name: h["p50_ms"] for name, h in _by_hop(collector).items()}
    assert hops == {
        "orchestrator: start": 10,
        "model worker: pick-up": 10,  # both requests: 1010 -> 1020 and 1140 -> 1150
        "model: first token": 60,
        "model: turn": 215,  # the median of two turns (80 and 350 ms) is their mean
        "orchestrator: model answer": 5,
        "tool worker: pick-up": 7,
        "tool: execution": 18,
        "orchestrator: tool answer": 10,
        "run: first token": 210,
        "run: total": 505,
    }
    assert _by_hop(collector)["model: turn"]["n"] == 2


def test_a_decision_after_parallel_tool_calls_counts_from_the_last_answer() -> None:
    collector = HopCollector()
    collector.command({"command": "StartRun", "run_id": "r1"}, 0)
    events = [
        (10, "RunStarted", None, None),
        (10, "ModelRequested", 1, None),
        (20, "ModelRequestStarted", 1, "start~a"),
        (50, "ModelRequestCompleted", 1, "done"),
        (55, "ToolCallRequested", 2, None),
        (55, "ToolCallRequested", 3, None),
        (60, "ToolCallStarted", 2, "start~b"),
        (61, "ToolCallStarted", 3, "start~c"),
        (70, "ToolCallCompleted", 2, "done"),
        (90, "ToolCallCompleted", 3, "done"),
        (96, "ModelRequested", 4, None),
    ]
    for ts, event in _events(events):
        collector.event(event, ts)

    hops = _by_hop(collector)
    assert hops["orchestrator: tool answer"]["n"] == 1
    assert hops["orchestrator: tool answer"]["p50_ms"] == 6  # from the second answer (90), not the first (70)
    assert (hops["orchestrator: model answer"]["n"], hops["orchestrator: model answer"]["p50_ms"]) == (1, 5)
    assert hops["tool: execution"]["n"] == 2


def test_runs_without_a_start_command_in_the_window_are_left_out() -> None:
    collector = HopCollector()
    collector.command({"command": "CancelRun", "run_id": "r1"}, 1000)  # not a start
    for ts, event in _tool_run():
        collector.event(event, ts)
    assert collector.summary() == []


async def test_run_hops_reads_a_real_log_file_within_the_window(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    topics = Topics()
    log = MemoryLog(path)
    await log.start()
    since = int(time.time() * 1000)
    await log.send(OutRecord(topics.commands, b"s1", orjson.dumps({"command": "StartRun", "run_id": "r1"})))
    for _ts, event in _tool_run():
        await log.send(OutRecord(topics.events, b"s1", orjson.dumps(event)))
    await log.close()

    hops = {h["hop"]: h for h in await run_hops(path, since_ms=since)}
    assert hops["run: total"]["n"] == 1
    assert hops["model: turn"]["n"] == 2
    assert hops["run: first token"]["p50_ms"] <= hops["run: total"]["p50_ms"]
    assert all(h["p50_ms"] >= 0 for h in hops.values())
    # a window that ends before the command leaves the run out
    assert await run_hops(path, since_ms=0, until_ms=since - 1) == []
