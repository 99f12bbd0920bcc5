"""`agnostream replay --workers N`: a log's sessions split over processes give the report of one process.

The log is made by real runs of the demo agent (scripted model, tool call) over several sessions on a
partitioned embedded log, then exported to JSONL; both forms are replayed whole and in shards.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import orjson
import pytest

from adapters.agents_loader import load_agents
from adapters.cli import main
from adapters.replay_shards import _session_id, replay_log, replay_shard
from adapters.runtime import Runtime
from streams import MemoryLog, Topics

MODULE = "adapters.demo.agents"
SESSIONS = 6


async def _record(log_path: Path) -> None:
    runtime = Runtime(MemoryLog(log_path, default_partitions=4), Topics(partitions=4), load_agents(MODULE))
    await runtime.start()
    try:
        for turn in range(2):
            subscriptions = [
                (await runtime.start_run("weather", f"Weather in Tokyo? ({turn})", session_id=f"s{i}"))[1]
                for i in range(SESSIONS)
            ]
            for subscription in subscriptions:
                assert [e async for e in subscription][-1]["event"] == "RunCompleted"
    finally:
        await runtime.stop()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("replay-shards")
    db, jsonl = root / "log.db", root / "log.jsonl"
    asyncio.run(_record(db))
    assert main(["export", "--log", str(db), "--out", str(jsonl)]) == 0
    return db, jsonl


def test_shards_of_an_embedded_log_and_of_its_export_report_what_one_process_does(logs: tuple[Path, Path]) -> None:
    db, jsonl = logs
    whole = replay_log(db, MODULE)
    assert whole.ok
    assert whole.runs == 2 * SESSIONS
    assert whole.events > 10 * SESSIONS
    for path, workers in [(db, 2), (jsonl, 1), (jsonl, 3)]:
        sharded = replay_log(path, MODULE, workers=workers)
        assert (sharded.events, sharded.runs, sharded.decisions_checked) == (
            whole.events,
            whole.runs,
            whole.decisions_checked,
        )
        assert sharded.ok
        assert sharded.shards == workers


def test_every_session_lands_in_exactly_one_shard(logs: tuple[Path, Path]) -> None:
    _db, jsonl = logs
    parts = [replay_shard(str(jsonl), MODULE, i, 3) for i in range(3)]
    assert sum(p.runs for p in parts) == 2 * SESSIONS
    assert sum(1 for p in parts if p.runs) >= 2  # six sessions do not all hash to one shard


def test_a_divergence_is_reported_the_same_whole_and_sharded(logs: tuple[Path, Path], tmp_path: Path) -> None:
    _db, jsonl = logs
    lines = jsonl.read_bytes().splitlines()
    tampered = []
    changed = None
    for line in lines:
        record = orjson.loads(line)
        if changed is None and record["event"] == "RunCompleted":
            record["content"] = "something else"
            changed = record["run_id"]
        tampered.append(orjson.dumps(record))
    path = tmp_path / "tampered.jsonl"
    path.write_bytes(b"\n".join(tampered) + b"\n")

    whole = replay_log(path, MODULE)
    sharded = replay_log(path, MODULE, workers=2)
    assert [d["run_id"] for d in whole.divergences] == [changed]
    assert sharded.divergences == whole.divergences


def test_the_cli_prints_the_merged_report_and_refuses_zero_workers(
    logs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _jsonl = logs
    assert main(["replay", "--log", str(db), "--agents", MODULE, "--json", "--workers", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["runs"], report["divergences"], report["shards"]) == (2 * SESSIONS, [], 2)
    assert main(["replay", "--log", str(db), "--agents", MODULE, "--workers", "0"]) == 2
    assert "--workers must be >= 1" in capsys.readouterr().err


def test_a_session_id_is_read_from_the_line_only_when_it_is_unambiguous() -> None:
    assert _session_id(b'{"event":"RunStarted","session_id":"s1","run_id":"r"}') == "s1"
    assert _session_id(b'{"event":"X","run_id":"r"}') is None
    # A nested record's session id could come first: the line is then parsed instead.
    assert _session_id(b'{"member":{"session_id":"a"},"session_id":"b"}') is None
    assert _session_id(b'{"session_id":"a\\"b"}') is None
