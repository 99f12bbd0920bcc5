"""A paused run outlives its process: pause on `agnostream serve` (durable embedded log), SIGKILL it, start a
new process on the same files, continue, and the run completes; the log then replays without divergence."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import free_port
from .test_crash import wait_healthy
from .test_http_agentos import parse_sse

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def serve(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "adapters.cli", "serve", "--agents", "tests.integration.hitl_agents",
        "--port", str(port), "--log", str(tmp / "log.db"), "--db", str(tmp / "views.db"),
    ]  # fmt: skip
    with (tmp / f"server-{time.monotonic_ns()}.log").open("wb") as log:
        return subprocess.Popen(
            command, env={**os.environ, "AGNOSTREAM_CONTENT_FLUSH_MS": "5"}, stdout=subprocess.DEVNULL, stderr=log
        )


async def runs_with_statuses(base: str, session_id: str, want: tuple[str, ...]) -> list[dict[str, Any]]:
    """The session's run rows (first run first) once their statuses are `want`."""
    async with httpx.AsyncClient(base_url=base) as client:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            response = await client.get(f"/sessions/{session_id}/runs")
            rows: list[dict[str, Any]] = response.json() if response.status_code == 200 else []
            if tuple(r["status"] for r in rows) == want:
                return rows
            await asyncio.sleep(0.1)
    raise AssertionError(f"the runs of {session_id} did not reach {want}")


async def test_a_paused_run_is_continued_by_a_new_process_on_the_same_log(tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(tmp_path, port)
    try:
        # given a run paused for confirmation, its projection row PAUSED
        await wait_healthy(base)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            response = await client.post("/agents/recorder/runs", data={"message": str(calls), "session_id": "hold"})
        paused = parse_sse(response.text)
        assert paused[-1][0] == "RunPaused"
        run_id = paused[0][1]["run_id"]
        (tool,) = paused[-1][1]["tools"]
        assert (await runs_with_statuses(base, "hold", ("PAUSED",)))[0]["run_id"] == run_id

        # when the process dies and another one starts on the same files
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        server = serve(tmp_path, port)
        await wait_healthy(base)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            response = await client.post(
                f"/agents/recorder/runs/{run_id}/continue",
                data={"session_id": "hold", "tools": json.dumps([{**tool, "confirmed": True}])},
            )

        # then the new process continues the same run to completion, the tool executed once
        continued = parse_sse(response.text)
        assert [n for n, _ in continued][:3] == ["RunContinued", "ToolCallStarted", "ToolCallCompleted"]
        assert continued[-1][0] == "RunCompleted"
        assert continued[-1][1]["content"] == "Recorded after your confirmation."
        assert {d["run_id"] for _, d in continued} == {run_id}
        assert continued[0][1]["event_index"] == len(paused)
        (row,) = await runs_with_statuses(base, "hold", ("COMPLETED",))
        assert row["run_id"] == run_id
        assert calls.read_text().split() == ["executed"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)

    # and the log with the paused and continued run replays through the engine without divergence
    replay = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "adapters.cli", "replay", "--log", str(tmp_path / "log.db"), "--agents",
         "tests.integration.hitl_agents", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert replay.returncode == 0, replay.stdout + replay.stderr
    report = json.loads(replay.stdout)
    assert report["divergences"] == []
