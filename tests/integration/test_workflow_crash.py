"""Crash safety of workflows: SIGKILL `agnostream serve` inside a Parallel (two slow functions and an agent in
flight) and inside a Loop, restart on the same files, and the workflow completes from the log with every
step executed once, one WorkflowCompleted, no event recorded twice, and a clean replay."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from adapters.agents_loader import load_agents, load_workflows
from adapters.logfile import read_events
from engine import replay_check

from ..conftest import free_port
from .test_crash import wait_healthy

pytestmark = pytest.mark.slow

AGENTS = "tests.integration.workflow_crash_agents"


def serve(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "adapters.cli", "serve", "--agents", AGENTS,
        "--port", str(port), "--log", str(tmp / "log.db"), "--db", str(tmp / "views.db"),
    ]  # fmt: skip
    with (tmp / f"server-{time.monotonic_ns()}.log").open("wb") as log:
        return subprocess.Popen(
            command, env={**os.environ, "AGNOSTREAM_CONTENT_FLUSH_MS": "5"}, stdout=subprocess.DEVNULL, stderr=log
        )


async def finished_run(base: str, session_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as client:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            response = await client.get(f"/sessions/{session_id}/runs")
            if response.status_code == 200 and response.json() and response.json()[0]["status"] != "RUNNING":
                row: dict[str, Any] = response.json()[0]
                return row
            await asyncio.sleep(0.1)
    raise AssertionError("the workflow did not finish after the restart")


# The kill is sent on the count-th SSE event named `kill_after` (of step `step_name` when given). p1's
# StepCompleted is matched by name: the agent branch can finish first, and killing on its StepCompleted
# could land between p1's write to the record file and p1's committed answer (p1 would then rightly run
# again, which is the interrupted-step case, not the one this row checks).
@pytest.mark.parametrize(
    ("kill_after", "step_name", "count", "where"),
    [
        ("StepCompleted", "p1", 1, "mid-Parallel: p1 done, p2 and the agent branch still running"),
        ("ParallelExecutionStarted", None, 1, "mid-Parallel: every branch started, none done"),
        ("LoopIterationCompleted", None, 1, "mid-Loop: iteration 2 running"),
        ("LoopIterationStarted", None, 3, "mid-Loop: the last iteration running"),
    ],
)
async def test_sigkill_mid_workflow_resumes_from_the_log(
    tmp_path: Path, kill_after: str, step_name: str | None, count: int, where: str
) -> None:
    calls = tmp_path / "calls.txt"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(tmp_path, port)
    try:
        await wait_healthy(base)
        seen: Counter[str] = Counter()
        run_id = None
        async with (
            httpx.AsyncClient(base_url=base, timeout=30) as client,
            client.stream(
                "POST", "/workflows/crashflow/runs", data={"message": str(calls), "session_id": "crash-wf"}
            ) as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    event = orjson.loads(line[6:])
                    run_id = run_id or event["run_id"]
                    if step_name is None or event.get("step_name") == step_name:
                        seen[event["event"]] += 1
                    if seen[kill_after] == count:
                        server.send_signal(signal.SIGKILL)
                        break
        server.wait(timeout=10)
        assert run_id is not None, where
        server = serve(tmp_path, port)
        await wait_healthy(base)
        row = await finished_run(base, "crash-wf")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)

    assert row["status"] == "COMPLETED", where
    assert row["content"] == "last"
    # every function step executed once (a step interrupted before its answer was committed ran again, once)
    assert sorted(calls.read_text().split()) == ["last", "loop+", "loop++", "loop+++", "p1", "p2"], where
    assert [r["status"] for r in row["step_executor_runs"]] == ["COMPLETED"]
    events = [e async for e in read_events(tmp_path / "log.db")]
    mine = [e for e in events if e["run_id"].split("~")[0] == run_id]
    assert [e["event"] for e in mine].count("WorkflowCompleted") == 1
    final_ids = [e["event_id"] for e in mine if e.get("part", "") in ("", "done")]
    assert len(final_ids) == len(set(final_ids)), "an event was recorded twice"
    answers = Counter(e["path"] for e in mine if e["event"] == "StepExecuted")
    assert set(answers.values()) == {1}, answers
    report = replay_check(events, load_agents(AGENTS), workflows=load_workflows(AGENTS))
    assert report.ok, report.divergences[:1]
