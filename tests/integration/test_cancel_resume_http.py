"""Cancel, resume and background runs over a real HTTP server on loopback, with a slow scripted model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from adapters.models.base import ModelResponse, StreamUpdate, TextDelta
from adapters.runtime import Runtime
from engine import Agent, Message, ModelUsage, Tool, replay_check
from projections import SqliteViewStore
from streams import MemoryLog, TopicPartition, Topics

from ..conftest import capture_agent
from .test_http_agentos import parse_sse

pytestmark = pytest.mark.timeout(60)


class SlowModel:
    """Streams `words` pieces `delay_s` apart; counts the streams that ran to the end and the abandoned ones."""

    id = "slow-model"
    provider = "Scripted"
    name = "Slow Model"

    def __init__(self, words: int, delay_s: float) -> None:
        self.words = words
        self.delay_s = delay_s
        self.finished = 0
        self.aborted = 0

    async def stream(self, messages: Sequence[Message], tools: Sequence[Tool]) -> AsyncIterator[StreamUpdate]:
        completed = False
        try:
            for i in range(self.words):
                await asyncio.sleep(self.delay_s)
                yield TextDelta(f"w{i} ", {"id": "slow"})
            text = "".join(f"w{i} " for i in range(self.words))
            yield ModelResponse(
                content=text, usage=ModelUsage(input_tokens=1, output_tokens=self.words, total_tokens=1 + self.words)
            )
            completed = True
        finally:
            if completed:
                self.finished += 1
            else:
                self.aborted += 1


@pytest.fixture
def slow() -> SlowModel:
    return SlowModel(words=60, delay_s=0.05)


@pytest.fixture
async def runtime(tmp_path: Path, slow: SlowModel) -> AsyncIterator[Runtime]:
    rt = Runtime(
        MemoryLog(tmp_path / "log.db", default_partitions=4),
        Topics(partitions=4),
        {"a1": capture_agent(), "slow": Agent(id="slow", name="Slow Agent", model=slow)},
        view_store=SqliteViewStore(tmp_path / "views.db"),
        content_flush_s=0.0,
    )
    await rt.start()
    yield rt
    await rt.stop()


async def whole_log(runtime: Runtime) -> list[dict[str, Any]]:
    n = runtime.log.partitions_for(runtime.topics.events)
    tps = [TopicPartition(runtime.topics.events, p) for p in range(n)]
    out = []
    for tp, end in (await runtime.log.end_offsets(tps)).items():
        out.extend(orjson.loads(r.value) for r in await runtime.log.read(tp, 0, end))
    return out


async def poll(client: httpx.AsyncClient, agent_id: str, run_id: str, session_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = await client.get(f"/agents/{agent_id}/runs/{run_id}", params={"session_id": session_id})
        if response.status_code == 200 and response.json()["status"] == status:
            result: dict[str, Any] = response.json()
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not reach {status}")


async def test_cancel_during_a_slow_model_stream_aborts_the_stream(
    server: str, runtime: Runtime, slow: SlowModel
) -> None:
    slow.words = 200  # a 10 s stream: the cancel must end it long before
    frames: list[tuple[str, dict[str, Any]]] = []
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        async with client.stream("POST", "/agents/slow/runs", data={"message": "talk", "session_id": "c1"}) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                frame = orjson.loads(line[6:])
                frames.append((frame["event"], frame))
                if frame["event"] == "RunContent" and len([n for n, _ in frames if n == "RunContent"]) == 3:
                    # another client (any replica) cancels while the model is still streaming
                    async with httpx.AsyncClient(base_url=server) as other:
                        cancelled = await other.post(
                            f"/agents/slow/runs/{frame['run_id']}/cancel", params={"session_id": "c1"}
                        )
                    assert (cancelled.status_code, cancelled.json()) == (200, {})
        elapsed = time.monotonic() - started
        run_id = frames[0][1]["run_id"]
        polled = await poll(client, "slow", run_id, "c1", "CANCELLED")
        # cancelling a finished run changes nothing and answers as agno does
        again = await client.post(f"/agents/slow/runs/{run_id}/cancel", params={"session_id": "c1"})
        without_session = await client.post(f"/agents/slow/runs/{run_id}/cancel")
        unknown = await client.post("/agents/slow/runs/nope/cancel")

    names = [n for n, _ in frames]
    assert names[-1] == "RunCancelled"
    assert "RunCompleted" not in names
    assert frames[-1][1]["reason"] == f"Run {run_id} was cancelled"
    assert names.count("RunContent") < slow.words
    assert elapsed < slow.words * slow.delay_s  # the stream ended long before the model would have
    for _ in range(100):  # the model worker learns of the cancel and closes the provider stream
        if slow.aborted:
            break
        await asyncio.sleep(0.02)
    assert (slow.aborted, slow.finished) == (1, 0)
    assert polled["content"] == f"Run {run_id} was cancelled"
    assert [(r.status_code, r.json()) for r in (again, without_session, unknown)] == [(200, {})] * 3
    await asyncio.sleep(0.2)
    log = [e for e in await whole_log(runtime) if e["run_id"] == run_id]
    assert [e["event"] for e in log].count("RunCancelled") == 1
    assert not {"ModelRequestCompleted", "ModelRequestFailed", "RunCompleted"} & {e["event"] for e in log}
    assert replay_check(log, runtime.agents).divergences == []


async def test_a_running_run_cannot_be_continued(server: str, slow: SlowModel) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        accepted = await client.post(
            "/agents/slow/runs", data={"message": "talk", "session_id": "c2", "background": "true", "stream": "false"}
        )
        run_id = accepted.json()["run_id"]
        refused = await client.post(f"/agents/slow/runs/{run_id}/continue", data={"session_id": "c2", "tools": "[]"})
        await client.post(f"/agents/slow/runs/{run_id}/cancel", params={"session_id": "c2"})

    assert accepted.status_code == 202
    assert accepted.json() == {"run_id": run_id, "session_id": "c2", "status": "PENDING"}
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"Cannot continue run {run_id}: run is not paused (status RUNNING)"


async def test_a_background_run_survives_its_client_and_is_polled_to_completion(server: str, slow: SlowModel) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        # a background stream whose client goes away after the first frame
        async with client.stream(
            "POST", "/agents/slow/runs", data={"message": "talk", "session_id": "b1", "background": "true"}
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    first = orjson.loads(line[6:])
                    break
        assert (first["event"], first["event_index"]) == ("RunStarted", 0)

        # and a background run without a stream: 202, then polling
        accepted = await client.post(
            "/agents/slow/runs", data={"message": "talk", "session_id": "b2", "background": "true", "stream": "false"}
        )
        assert accepted.status_code == 202
        pending = await client.get(f"/agents/slow/runs/{accepted.json()['run_id']}", params={"session_id": "b2"})
        assert pending.json()["status"] == "RUNNING"

        streamed = await poll(client, "slow", first["run_id"], "b1", "COMPLETED")
        polled = await poll(client, "slow", accepted.json()["run_id"], "b2", "COMPLETED")
        missing = await client.get("/agents/slow/runs/nope", params={"session_id": "b2"})
        wrong_agent = await client.get(f"/agents/a1/runs/{first['run_id']}", params={"session_id": "b1"})

    text = "".join(f"w{i} " for i in range(slow.words))
    assert streamed["content"] == polled["content"] == text
    assert set(polled) >= {"run_id", "agent_id", "session_id", "content", "status", "metrics", "messages", "input"}
    assert (missing.status_code, missing.json()) == (404, {"detail": "Run not found"})
    assert wrong_agent.status_code == 404


async def test_resume_replays_the_events_after_the_index_then_the_live_tail(
    server: str, runtime: Runtime, slow: SlowModel
) -> None:
    slow.words = 100  # still streaming when the client comes back
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        # given a background stream read up to event_index 3, then disconnected
        async with client.stream(
            "POST", "/agents/slow/runs", data={"message": "talk", "session_id": "r1", "background": "true"}
        ) as response:
            seen = []
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    seen.append(orjson.loads(line[6:]))
                    if seen[-1]["event_index"] == 3:
                        break
        run_id = seen[0]["run_id"]

        # when the client resumes from index 3 while the run is still streaming
        resumed = await client.post(
            f"/agents/slow/runs/{run_id}/resume", data={"last_event_index": "3", "session_id": "r1"}
        )
        # and once more after the run finished (from the start, and without the session id)
        finished = await client.post(f"/agents/slow/runs/{run_id}/resume", data={"last_event_index": "10"})
        everything = await client.post(f"/agents/slow/runs/{run_id}/resume", data={"session_id": "r1"})
        unknown = await client.post("/agents/slow/runs/nope/resume", data={"session_id": "r1"})
        nowhere = await client.post("/agents/slow/runs/nope/resume")

    # then: exactly the events after index 3, in order, up to the end of the run
    log = [e for e in await whole_log(runtime) if e["run_id"] == run_id]
    visible = [e for e in log if e["event"] not in ("ModelRequested", "ToolCallRequested")]
    frames = parse_sse(resumed.text)
    notices = [n for n, d in frames if "event_index" not in d]
    events = [d for _n, d in frames if "event_index" in d]
    assert notices[-1] == "subscribed"
    assert set(notices) <= {"catch_up", "subscribed"}
    assert [e["event_index"] for e in events] == list(range(4, len(visible)))
    assert [e["event"] for e in events] == [e["event"] for e in visible[4:]]
    assert [e.get("content") for e in events] == [e.get("content") for e in visible[4:]]
    assert events[-1]["event"] == "RunCompleted"

    done = parse_sse(finished.text)
    assert done[0][0] == "replay"
    assert (done[0][1]["status"], done[0][1]["total_events"], done[0][1]["total_buffered"]) == (
        "COMPLETED", len(visible) - 11, len(visible),
    )  # fmt: skip
    assert [d["event_index"] for _, d in done[1:]] == list(range(11, len(visible)))
    assert [d["event_index"] for _, d in parse_sse(everything.text)[1:]] == list(range(len(visible)))
    not_found = [("error", {"event": "error", "error": "Run nope not found in buffer or database"})]
    assert parse_sse(unknown.text) == parse_sse(nowhere.text) == not_found
    assert replay_check(log, runtime.agents).divergences == []
