"""Pause, continue and cancel across processes on a real Kafka broker (marker `broker`).

The model worker runs in its own process (`agnostream worker --role model`); the orchestrator and tool
worker in this process (replica A); a second runtime with no processors (replica B, another API replica)
continues the run A paused and cancels a run whose model stream is running in the worker process.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from adapters.runtime import Runtime
from engine import ContinueRun, ToolExecution, replay_check
from streams import KafkaLog, Subscription, Topics
from tests.integration.hitl_agents import agents
from tests.kafka_broker import BOOTSTRAP, broker_marks

pytestmark = [*broker_marks(), pytest.mark.slow, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = {a.id: a for a in agents}


async def drain(subscription: Subscription, within: float = 90) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [e async for e in subscription]

    return await asyncio.wait_for(collect(), within)


async def test_pause_continue_and_cancel_across_processes(tmp_path: Path) -> None:
    prefix = f"hitl-{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix=prefix, partitions=3)
    env = {
        **os.environ,
        "AGNOSTREAM_TOPIC_PREFIX": prefix,
        "AGNOSTREAM_PARTITIONS": "3",
        "AGNOSTREAM_CONTENT_FLUSH_MS": "0",
    }
    a = Runtime(KafkaLog(BOOTSTRAP), topics, REGISTRY, roles=("orchestrator", "tool"))
    b = Runtime(KafkaLog(BOOTSTRAP), topics, REGISTRY, roles=())
    await a.start()
    await b.start()
    with (tmp_path / "model-worker.log").open("wb") as log:
        worker = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited
            [sys.executable, "-m", "adapters.cli", "worker", "--role", "model", "--broker", f"kafka://{BOOTSTRAP}",
             "--agents", "tests.integration.hitl_agents"],
            env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT,
        )  # fmt: skip
    try:
        # a run pauses (its model turn came from the worker process) ...
        command, sub = await a.start_run("hitl", "Delete /tmp/x.txt", session_id="k1")
        paused = await drain(sub)
        assert paused[-1]["event"] == "RunPaused"
        (tool,) = paused[-1]["tools"]

        # ... and replica B continues it: the orchestrator owning the session (in A) resumes the same run
        continued, _past = await b.watch_run("k1", command.run_id)
        held = ToolExecution.from_dict(tool)
        await b.submit(
            ContinueRun(
                run_id=command.run_id,
                session_id="k1",
                created_at=int(time.time()),
                tools=(ToolExecution(tool_call_id=held.tool_call_id, tool_name=held.tool_name, confirmed=True),),
            )
        )
        events = await drain(continued)
        names = [e["event"] for e in events if not e.get("part") or e["event"] != "RunContent"]
        assert names[0] == "RunContinued"
        assert "ToolCallCompleted" in names
        assert events[-1]["event"] == "RunCompleted"
        assert events[-1]["content"] == "The weather in Paris is sunny and 21C. "

        # a slow stream runs in the worker process; replica B cancels it
        command, sub = await a.start_run("slow", "talk", session_id="k2")
        seen: list[dict[str, Any]] = []

        async def follow() -> None:
            async for event in sub:
                seen.append(event)
                if [e["event"] for e in seen].count("RunContent") == 3:
                    await b.cancel_run(command.run_id, "k2", reason="stop")

        await asyncio.wait_for(follow(), 90)
        assert seen[-1]["event"] == "RunCancelled"
        assert "RunCompleted" not in [e["event"] for e in seen]

        # the worker process aborted the provider stream: its content stops, and it answers nothing
        await asyncio.sleep(1.0)
        first, _ = await b.tap.read_run("k2", command.run_id)
        await asyncio.sleep(1.0)
        later, _ = await b.tap.read_run("k2", command.run_id)
        contents = [e for e in later if e["event"] == "RunContent"]
        assert len(first) == len(later)
        assert len(contents) < 100
        assert not {"ModelRequestCompleted", "ModelRequestFailed"} & {e["event"] for e in later}

        for session_id, run_id in (("k1", paused[0]["run_id"]), ("k2", command.run_id)):
            log_events, _ = await b.tap.read_run(session_id, run_id)
            assert replay_check(log_events, REGISTRY).divergences == []
    finally:
        worker.terminate()
        await asyncio.to_thread(worker.wait, 30)
        await b.stop()
        await a.stop()
