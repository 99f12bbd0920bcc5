"""The demo team (`adapters.demo.agents.get_teams`): loaded from the agents module, run on the embedded log,
replayed by `agnostream replay` without divergence."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.agents_loader import load_agents, load_teams
from adapters.cli import main
from adapters.runtime import Runtime
from engine import ConfigurationError
from streams import MemoryLog, Topics


async def _run_demo_team(module: str, log_path: Path) -> list[dict[str, Any]]:
    teams = load_teams(module)
    assert list(teams) == ["weather-team"]
    runtime = Runtime(MemoryLog(log_path), Topics(), load_agents(module), teams=teams)
    await runtime.start()
    try:
        _command, subscription = await runtime.start_team_run("weather-team", "Weather in Tokyo?", session_id="d1")
        return [e async for e in subscription]
    finally:
        await runtime.stop()


def test_the_demo_team_answers_through_its_forecaster_and_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = "adapters.demo.agents"
    log_path = tmp_path / "log.db"
    events = asyncio.run(_run_demo_team(module, log_path))
    member_runs = {e["run_id"] for e in events if e.get("parent_run_id")}
    assert len(member_runs) == 1
    assert events[-1]["event"] == "TeamRunCompleted"
    assert events[-1]["content"] == "Our forecaster says: Here is what I found: Cloudy, 18C in Tokyo. Anything else?"

    assert main(["replay", "--log", str(log_path), "--agents", module, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["runs"] == 2
    assert report["divergences"] == []


def test_a_module_listing_something_else_as_teams_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad_teams.py").write_text("teams = ['not a team']\n")
    (tmp_path / "twin_teams.py").write_text(
        "from adapters.demo.agents import get_teams\nteams = get_teams() + get_teams()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigurationError, match=r"not an engine\.Team"):
        load_teams("bad_teams")
    with pytest.raises(ConfigurationError, match="two teams with id 'weather-team'"):
        load_teams("twin_teams")
    assert load_agents("twin_teams") == {}  # a module of teams only needs no agents
    sys.modules.pop("bad_teams", None)
    sys.modules.pop("twin_teams", None)
