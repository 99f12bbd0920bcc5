"""The demo workflow (`adapters.demo.agents.get_workflows`): loaded from the agents module, run on the embedded
log, replayed by `agnostream replay` without divergence."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.agents_loader import load_agents, load_workflows
from adapters.cli import main
from adapters.runtime import Runtime
from streams import MemoryLog, Topics

MODULE = "adapters.demo.agents"


async def _run_demo_workflow(log_path: Path) -> list[dict[str, Any]]:
    workflows = load_workflows(MODULE)
    assert list(workflows) == ["weather-report"]
    runtime = Runtime(MemoryLog(log_path), Topics(), load_agents(MODULE), workflows=workflows)
    await runtime.start()
    try:
        _command, subscription = await runtime.start_workflow("weather-report", "Weather in Tokyo?", session_id="d1")
        return [e async for e in subscription]
    finally:
        await runtime.stop()


def test_the_demo_workflow_joins_its_parallel_branches_and_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_path = tmp_path / "log.db"
    events = asyncio.run(_run_demo_workflow(log_path))

    assert events[-1]["event"] == "WorkflowCompleted"
    assert events[-1]["content"].endswith("Local time: UTC+9 in Tokyo.")
    assert {e["run_id"] for e in events if "~" in e["run_id"]} == {events[0]["run_id"] + "~0.0"}

    assert main(["replay", "--log", str(log_path), "--agents", MODULE, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["runs"] == 2
    assert report["divergences"] == []
