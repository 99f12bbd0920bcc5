"""Crash safety: SIGKILL `agnostream serve` in the middle of a run with tool calls, restart, and the run
completes from the log with exactly one RunCompleted, no tool executed twice and no duplicated events."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import orjson
import pytest

from adapters.logfile import read_events

from ..conftest import free_port

pytestmark = pytest.mark.slow


def start_server(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AGNOSTREAM_CONTENT_FLUSH_MS": "5"}
    with (tmp / f"server-{time.monotonic_ns()}.log").open("wb") as log:
        return _popen(env, log, tmp, port)


def _popen(env: dict[str, str], log: object, tmp: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "adapters.cli", "serve",
            "--agents", "tests.integration.crash_agents",
            "--port", str(port), "--log", str(tmp / "log.db"), "--db", str(tmp / "views.db"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,  # type: ignore[arg-type]
    )  # fmt: skip


async def wait_healthy(
    base: str, timeout_s: float = 20.0, *, server: subprocess.Popen[bytes] | None = None, log: Path | None = None
) -> None:
    """Wait until `GET /health` answers 200; with `server`, fail at once (showing `log`) if it has exited."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            if server is not None and server.poll() is not None:
                output = await asyncio.to_thread(log.read_text) if log is not None else ""
                raise AssertionError(f"the server exited ({server.returncode}):\n{output}")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("server did not become healthy")


@pytest.mark.parametrize(
    ("kill_after", "count"),
    [
        ("ToolCallStarted", 2),  # both parallel tools executing, none completed
        ("ToolCallCompleted", 1),  # one parallel tool completed and committed, the other in flight
        ("ModelRequestStarted", 2),  # in the second model request, after the first batch completed
        ("ToolCallStarted", 3),  # the third tool executing
    ],
)
async def test_sigkill_mid_run_resumes_from_the_log(tmp_path: Path, kill_after: str, count: int) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    calls = tmp_path / "calls.txt"
    server = start_server(tmp_path, port)
    try:
        await wait_healthy(base)
        seen: Counter[str] = Counter()
        run_id = None
        async with (
            httpx.AsyncClient(base_url=base, timeout=30) as client,
            client.stream(
                "POST", "/agents/crash/runs", data={"message": str(calls), "session_id": "crash-s"}
            ) as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    event = orjson.loads(line[6:])
                    run_id = event["run_id"]
                    seen[event["event"]] += 1
                    if seen[kill_after] == count:
                        server.send_signal(signal.SIGKILL)
                        break
        server.wait(timeout=10)
        assert run_id is not None
        server = start_server(tmp_path, port)
        await wait_healthy(base)
        status = None
        async with httpx.AsyncClient(base_url=base) as client:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                runs = await client.get("/sessions/crash-s/runs")
                if runs.status_code == 200 and runs.json() and runs.json()[0]["status"] != "RUNNING":
                    status = runs.json()[0]
                    break
                await asyncio.sleep(0.1)
        assert status is not None, "the run did not finish after the restart"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)

    assert status["status"] == "COMPLETED"
    assert status["content"] == "All three calls were recorded."
    # No tool executed twice: every call completed exactly once.
    assert sorted(calls.read_text().split()) == ["1", "2", "3"]
    # The run's stored messages and tools hold each item once.
    messages = status["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "assistant", "tool", "assistant"]
    assert len({m["id"] for m in messages}) == len(messages)
    assert sorted(t["tool_call_id"] for t in status["tools"]) == ["call_1_1", "call_1_2", "call_2_1"]
    # The log: one terminal event; decisions and final answers never duplicated.
    events = [e async for e in read_events(tmp_path / "log.db") if e["run_id"] == run_id]
    assert [e["event"] for e in events].count("RunCompleted") == 1
    final_ids = [e["event_id"] for e in events if e.get("part", "") in ("", "done")]
    assert len(final_ids) == len(set(final_ids))
    assert [e["event"] for e in events if e["event"] == "ToolCallCompleted"].count("ToolCallCompleted") == 3


async def test_sigterm_with_a_request_in_hand_that_cannot_finish_still_stops_the_server(tmp_path: Path) -> None:
    # uvicorn waits for the requests in hand on SIGTERM; one whose run cannot end (here a 300 s tool; in real
    # life a broker that went down) held `serve` until it ended. Now the requests get STOP_GRACE_S, then the
    # runtime stops with its own bounds.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(tmp_path, port)
    try:
        await wait_healthy(base)
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            request = asyncio.create_task(
                client.post("/agents/stuck/runs", data={"message": "wait", "stream": "false", "session_id": "s1"})
            )
            deadline = time.monotonic() + 20
            while not [e async for e in read_events(tmp_path / "log.db") if e["event"] == "ToolCallStarted"]:
                assert time.monotonic() < deadline, "the tool never started"
                await asyncio.sleep(0.1)
            server.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(server.wait, 60)
            request.cancel()
    finally:
        if server.poll() is None:
            server.kill()
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled once it has shut down
    output = await asyncio.to_thread(lambda: next(tmp_path.glob("server-*.log")).read_text())
    assert "timeout graceful shutdown exceeded" in output
    assert "Application shutdown complete." in output  # the runtime stopped too, after the request
