"""The AgentOS-compatible HTTP API against agno's captured wire format, over a real server on loopback."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from adapters.runtime import Runtime

from ..conftest import REFERENCE


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    frames = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert lines[0].startswith("event: "), block
        assert lines[1].startswith("data: "), block
        assert len(lines) == 2, block
        name = lines[0][len("event: ") :]
        data = orjson.loads(lines[1][len("data: ") :])
        assert data["event"] == name
        frames.append((name, data))
    return frames


def collapse(names: list[str]) -> list[str]:
    """Collapse consecutive (Team)RunContent frames: delta coalescing legitimately changes their count."""
    out: list[str] = []
    for name in names:
        if name in ("RunContent", "TeamRunContent") and out and out[-1] == name:
            continue
        out.append(name)
    return out


CAPTURE = parse_sse((REFERENCE / "agno-sse" / "agent_run_tool_call.sse").read_text())


async def test_tool_call_run_matches_agno_capture(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        response = await client.post(
            "/agents/a1/runs", data={"message": "What's the weather in Paris?", "session_id": "s1", "user_id": "u1"}
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    ours = parse_sse(response.text)
    assert collapse([n for n, _ in ours]) == collapse([n for n, _ in CAPTURE])
    theirs_by_event = {n: d for n, d in CAPTURE}
    for name, data in ours:
        # agno sends time_to_first_token only when content streamed; compare without it.
        expected = set(theirs_by_event[name]) - {"time_to_first_token"}
        assert set(data) - {"time_to_first_token"} == expected, name
        if "tool" in data:
            assert set(data["tool"]) == set(theirs_by_event[name]["tool"])
    completed = ours[-1][1]
    assert completed["content"] == "The weather in Paris is sunny and 21C. "
    assert set(completed["metrics"]) >= {"input_tokens", "output_tokens", "total_tokens", "duration", "details"}
    tool_done = next(d for n, d in ours if n == "ToolCallCompleted")
    assert tool_done["tool"]["result"] == "Sunny, 21C in Paris"
    assert tool_done["content"].startswith("get_weather(city=Paris) completed in ")
    assert {d["run_id"] for _, d in ours} == {ours[0][1]["run_id"]}
    assert all(d["session_id"] == "s1" and d["agent_name"] == "Weather Agent" for _, d in ours)


async def test_stream_false_returns_run_output_with_agno_keys(server: str) -> None:
    capture = orjson.loads((REFERENCE / "agno-sse" / "agent_run_nonstream_response.json").read_text())
    async with httpx.AsyncClient(base_url=server) as client:
        form = {"session_id": "s1", "user_id": "u1", "stream": "false"}
        first = await client.post("/agents/a1/runs", data={"message": "Weather in Paris?", **form})
        second = await client.post("/agents/a1/runs", data={"message": "And tomorrow?", **form})
    assert first.status_code == second.status_code == 200
    output = second.json()
    assert set(output) == set(capture)
    assert output["status"] == "COMPLETED"
    assert output["input"] == {"input_content": "And tomorrow?"}
    assert [m["role"] for m in output["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert set(output["messages"][0]) == set(capture["messages"][4]) - {"from_history"} | {"from_history"}
    assert output["tools"][0]["tool_name"] == "get_weather"
    assert set(output["tools"][0]) == set(capture["tools"][0])


async def test_stream_events_false_sends_only_content(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        response = await client.post("/agents/a1/runs", data={"message": "hi", "stream_events": "false"})
    names = {n for n, _ in parse_sse(response.text)}
    assert names == {"RunContent"}


@pytest.mark.parametrize(
    ("path", "data", "status", "needle"),
    [
        ("/agents/nope/runs", {"message": "hi"}, 404, "nope"),
        ("/agents/a1/runs", {}, 422, "message"),
        ("/agents/a1/runs", {"message": ""}, 422, "message"),
        ("/agents/a1/runs", {"message": "hi", "stream": "maybe"}, 422, "stream"),
    ],
)
async def test_bad_requests_name_the_field(
    server: str, path: str, data: dict[str, str], status: int, needle: str
) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        response = await client.post(path, data=data)
    assert response.status_code == status
    assert needle in response.text


async def test_sessions_routes_show_the_projection(server: str, runtime: Runtime) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        for message in ("Weather in Paris?", "And tomorrow?"):
            await client.post("/agents/a1/runs", data={"message": message, "session_id": "s9", "user_id": "u9"})
        assert runtime.projection is not None
        await runtime.projection.wait_caught_up()
        listing = (await client.get("/sessions", params={"type": "agent", "user_id": "u9"})).json()
        detail = (await client.get("/sessions/s9")).json()
        runs = (await client.get("/sessions/s9/runs")).json()
        missing = await client.get("/sessions/does-not-exist")
        agents = (await client.get("/agents")).json()
        agent = await client.get("/agents/a1")
        health = (await client.get("/health")).json()
    assert listing["meta"]["total_count"] == 1
    assert listing["data"][0]["session_id"] == "s9"
    assert listing["data"][0]["total_tokens"] > 0
    assert detail["agent_id"] == "a1"
    assert [m["role"] for m in detail["chat_history"]] == ["user", "assistant", "tool", "assistant"] * 2
    assert [r["run_input"] for r in runs] == ["Weather in Paris?", "And tomorrow?"]
    assert all(r["status"] == "COMPLETED" for r in runs)
    assert missing.status_code == 404
    assert [a["id"] for a in agents] == ["a1"]
    assert agent.json()["tools"]["tools"][0]["name"] == "get_weather"
    assert health["status"] == "ok"


async def test_history_reaches_the_second_run(runtime: Runtime) -> None:
    _cmd, sub = await runtime.start_run("a1", "first", session_id="h1")
    [e async for e in sub]
    _cmd, sub = await runtime.start_run("a1", "second", session_id="h1")
    events = [e async for e in sub]
    started = next(e for e in events if e["event"] == "RunStarted")
    assert len(started["history_run_ids"]) == 1
