"""Recorded histories (fixtures/histories/*.jsonl) replayed through the current engine."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from engine import Decision, DecisionContext, RunCompleted, SessionState, decide, replay_check
from tests.replay.agents import agents

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = ROOT / "fixtures" / "histories"
REGISTRY = {a.id: a for a in agents}


def load(name: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (HISTORIES / name).read_bytes().splitlines() if line.strip()]


def test_recorded_history_replays_without_divergence_and_folds_to_snapshot() -> None:
    report = replay_check(load("weather_two_runs.jsonl"), REGISTRY)
    assert report.ok
    assert (report.events, report.runs, report.decisions_checked) == (28, 2, 12)
    session = report.sessions["s1"]
    assert session.runs == {}
    assert session.finished == {"run-1", "run-2"}
    assert [r.run_id for r in session.history] == ["run-1", "run-2"]
    assert [m.role for m in session.history[1].messages] == ["user", "assistant", "tool", "assistant"]
    assert session.history[1].messages[-1].content == "The weather in Paris is sunny and 21C. "


def test_known_bad_history_reports_the_first_divergence() -> None:
    report = replay_check(load("weather_two_runs_tampered.jsonl"), REGISTRY)
    assert [(d.run_id, d.seq) for d in report.divergences] == [("run-2", 5)]
    divergence = report.divergences[0]
    assert divergence.expected is not None
    assert divergence.got is not None
    assert divergence.expected["content"] == "The weather in Paris is rainy."
    assert divergence.got["content"] == "The weather in Paris is sunny and 21C. "


def test_a_changed_decision_rule_is_reported_per_run() -> None:
    def louder(state: SessionState, item: Any, ctx: DecisionContext) -> Decision:
        decision = decide(state, item, ctx)
        events = [
            dataclasses.replace(e, content=(e.content or "").upper()) if isinstance(e, RunCompleted) else e
            for e in decision.events
        ]
        return Decision(events=events, work=decision.work)

    report = replay_check(load("weather_two_runs.jsonl"), REGISTRY, decide_fn=louder)
    assert [(d.run_id, d.seq) for d in report.divergences] == [("run-1", 5), ("run-2", 5)]
    assert all(d.got and d.got["content"] == "THE WEATHER IN PARIS IS SUNNY AND 21C. " for d in report.divergences)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", "replay", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )


def test_replay_cli_exit_codes_and_report() -> None:
    clean = run_cli("--log", str(HISTORIES / "weather_two_runs.jsonl"), "--agents", "tests.replay.agents")
    assert clean.returncode == 0, clean.stderr
    assert "no divergence" in clean.stdout
    bad = run_cli(
        "--log", str(HISTORIES / "weather_two_runs_tampered.jsonl"), "--agents", "tests.replay.agents", "--json"
    )
    assert bad.returncode == 1
    report = orjson.loads(bad.stdout)
    assert [(d["run_id"], d["seq"]) for d in report["divergences"]] == [("run-2", 5)]
    missing = run_cli("--log", "/nonexistent.jsonl", "--agents", "tests.replay.agents")
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
