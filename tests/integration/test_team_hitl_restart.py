"""A paused team run outlives its process: a member pauses on `agnostream serve` (durable embedded log), the
process is SIGKILLed, a new process on the same files continues the team run, and the member and the team
complete; the log then replays without divergence."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ..conftest import free_port
from .test_crash import wait_healthy
from .test_hitl_restart import ROOT, runs_with_statuses, serve
from .test_http_agentos import parse_sse

pytestmark = pytest.mark.slow


async def test_a_paused_team_run_is_continued_by_a_new_process_on_the_same_log(tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(tmp_path, port)
    try:
        # given a team run paused because its member waits for confirmation, both rows PAUSED
        await wait_healthy(base)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            response = await client.post("/teams/hitl-team/runs", data={"message": str(calls), "session_id": "th"})
        paused = parse_sse(response.text)
        assert paused[-1][0] == "TeamRunPaused"
        team_run = paused[0][1]["run_id"]
        requirements = paused[-1][1]["requirements"]
        team_row, member_row = await runs_with_statuses(base, "th", ("PAUSED", "PAUSED"))
        assert (team_row["run_id"], member_row["parent_run_id"]) == (team_run, team_run)

        # when the process dies and another one starts on the same files
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        server = serve(tmp_path, port)
        await wait_healthy(base)
        answers = [{**r, "confirmation": True} for r in requirements]
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            response = await client.post(
                f"/teams/hitl-team/runs/{team_run}/continue",
                data={"session_id": "th", "requirements": json.dumps(answers)},
            )

        # then the new process continues the member and the team to completion, the tool executed once
        continued = parse_sse(response.text)
        names = [n for n, _ in continued]
        assert names[:3] == ["RunContinued", "ToolCallStarted", "ToolCallCompleted"]
        assert "TeamRunContinued" in names
        assert names[-1] == "TeamRunCompleted"
        assert continued[-1][1]["content"].endswith("[Team Recorder]: Recorded after your confirmation.")
        assert continued[0][1]["event_index"] == len(paused)
        await runs_with_statuses(base, "th", ("COMPLETED", "COMPLETED"))
        assert calls.read_text().split() == ["executed"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)

    # and the log with the paused and continued team run replays without divergence
    replay = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "adapters.cli", "replay", "--log", str(tmp_path / "log.db"), "--agents",
         "tests.integration.hitl_agents", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert replay.returncode == 0, replay.stdout + replay.stderr
    report = json.loads(replay.stdout)
    assert report["divergences"] == []
