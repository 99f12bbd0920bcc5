"""Human in the loop over a real HTTP server on loopback: pause, continue, reject, user input, external execution.

The paused stream and the continue stream are compared with agno's captures (event sequence and field names).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.runtime import Runtime
from engine import replay_check
from projections import SqliteViewStore
from streams import MemoryLog, Topics

from ..conftest import REFERENCE, capture_agent
from .hitl_agents import agents as hitl_agents
from .test_http_agentos import collapse, parse_sse

Frames = list[tuple[str, dict[str, Any]]]

PAUSED_CAPTURE = parse_sse((REFERENCE / "agno-sse" / "agent_run_paused_hitl.sse").read_text())
CONTINUE_CAPTURE = parse_sse((REFERENCE / "agno-sse" / "agent_continue_after_confirm.sse").read_text())
VOLATILE = {"time_to_first_token"}
"""agno sends time_to_first_token only when content streamed: compared without it."""


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    rt = Runtime(
        MemoryLog(tmp_path / "log.db", default_partitions=4),
        Topics(partitions=4),
        {a.id: a for a in [capture_agent(), *hitl_agents]},
        view_store=SqliteViewStore(tmp_path / "views.db"),
    )
    await rt.start()
    yield rt
    await rt.stop()


def assert_like_capture(ours: Frames, capture: Frames) -> None:
    """Same event sequence (RunContent runs collapsed) and, per event, the same field names as agno's capture."""
    assert collapse([n for n, _ in ours]) == collapse([n for n, _ in capture])
    theirs = {n: d for n, d in capture}
    for name, data in ours:
        assert set(data) - VOLATILE == set(theirs[name]) - VOLATILE, name
        if "tool" in data:
            assert set(data["tool"]) == set(theirs[name]["tool"]), name
        for key in ("tools", "requirements"):
            if key in data:
                assert {k for item in data[key] for k in item} == {k for item in theirs[name][key] for k in item}
        for requirement in data.get("requirements", ()):
            assert set(requirement["tool_execution"]) == set(theirs[name]["requirements"][0]["tool_execution"])


async def start(
    client: httpx.AsyncClient, agent_id: str, session_id: str, message: str = "Delete /tmp/x.txt"
) -> Frames:
    response = await client.post(f"/agents/{agent_id}/runs", data={"message": message, "session_id": session_id})
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


async def resume_with(
    client: httpx.AsyncClient, agent_id: str, run_id: str, tools: list[dict[str, Any]], **form: str
) -> httpx.Response:
    data = {"tools": json.dumps(tools), "session_id": "s2", **form}
    return await client.post(f"/agents/{agent_id}/runs/{run_id}/continue", data=data)


async def test_a_paused_run_and_its_continue_match_agnos_captures(server: str, runtime: Runtime) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        # when the model calls a tool that requires confirmation
        paused = await start(client, "hitl", "s2")

        # then the stream ends with RunPaused, as agno's
        assert_like_capture(paused, PAUSED_CAPTURE)
        run_id = paused[0][1]["run_id"]
        pause = paused[-1][1]
        assert pause["content"] == "I have tools to execute, but I need confirmation."
        (tool,) = pause["tools"]
        assert (tool["tool_call_id"], tool["tool_name"], tool["tool_args"]) == (
            "call_1_1",
            "delete_file",
            {"path": "/tmp/x.txt"},
        )
        assert (tool["requires_confirmation"], tool["confirmed"]) == (True, None)
        assert pause["requirements"][0]["tool_execution"] == tool
        polled = (await client.get(f"/agents/hitl/runs/{run_id}", params={"session_id": "s2"})).json()
        assert polled["status"] == "PAUSED"
        assert polled["requirements"][0]["tool_execution"]["tool_call_id"] == "call_1_1"

        # when the client confirms the tool as agno clients do (the paused tool with confirmed: true)
        response = await resume_with(client, "hitl", run_id, [{**tool, "confirmed": True}])

        # then the same run goes on: agno's continue sequence and fields, event_index numbered on from the pause
        assert response.status_code == 200, response.text
        continued = parse_sse(response.text)
        assert_like_capture(continued, CONTINUE_CAPTURE)
        assert {d["run_id"] for _, d in continued} == {run_id}
        assert [d["event_index"] for _, d in continued] == list(range(len(paused), len(paused) + len(continued)))
        started = next(d for n, d in continued if n == "ToolCallStarted")
        assert (started["tool"]["requires_confirmation"], started["tool"]["confirmed"]) == (True, True)
        done = next(d for n, d in continued if n == "ToolCallCompleted")
        assert done["tool"]["result"] == "deleted /tmp/x.txt"
        assert done["content"].startswith("delete_file(path=/tmp/x.txt) completed in ")
        assert continued[-1][1]["content"] == "The weather in Paris is sunny and 21C. "
        polled = (await client.get(f"/agents/hitl/runs/{run_id}", params={"session_id": "s2"})).json()
        assert polled["status"] == "COMPLETED"
        assert polled["tools"][0]["result"] == "deleted /tmp/x.txt"
        assert [m["role"] for m in polled["messages"]] == ["user", "assistant", "tool", "assistant"]

        # and the session's run row went PAUSED -> COMPLETED in the projection
        assert runtime.projection is not None
        await runtime.projection.wait_caught_up()
        (row,) = (await client.get("/sessions/s2/runs")).json()
        assert (row["run_id"], row["status"]) == (run_id, "COMPLETED")
        assert row["tools"][0]["confirmed"] is True

        # and a second continue of the finished run is refused as agno refuses it
        again = await resume_with(client, "hitl", run_id, [{**tool, "confirmed": True}])
        assert again.status_code == 409
        assert "not paused" in again.json()["detail"]

    # and the log replays through the engine without divergence
    events, _end = await runtime.tap.read_run("s2", run_id)
    assert replay_check(events, runtime.agents).divergences == []


@pytest.mark.parametrize(
    ("agent_id", "answer", "told", "executed"),
    [
        (
            "careful",
            {"confirmed": False, "confirmation_note": "Never delete that file"},
            "Never delete that file",
            False,
        ),
        ("careful", {"confirmed": False}, "Function call was rejected by the user", False),
        (
            "mailer",
            {"user_input_schema": [{"name": "to_address", "value": "bob@example.com"}]},
            "sent 'Hello' to bob@example.com",
            True,
        ),
        ("shell", {"result": "a.txt b.txt"}, "a.txt b.txt", False),
    ],
)
async def test_rejection_user_input_and_external_execution(
    server: str, agent_id: str, answer: dict[str, Any], told: str, executed: bool
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        paused = await start(client, agent_id, "s2")
        (tool,) = paused[-1][1]["tools"]
        run_id = paused[0][1]["run_id"]

        response = await resume_with(client, agent_id, run_id, [{**tool, **answer}])

    frames = parse_sse(response.text)
    names = [n for n, _ in frames]
    assert names[0] == "RunContinued"
    assert ("ToolCallStarted" in names) is executed
    assert names[-1] == "RunCompleted"
    assert frames[-1][1]["content"] == f"The tool said: {told}"


async def test_user_input_fields_are_listed_for_the_user_and_hidden_from_the_model(
    server: str, runtime: Runtime
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        paused = await start(client, "mailer", "s2")
        agent = (await client.get("/agents/mailer")).json()

    pause = paused[-1][1]
    assert pause["content"] == "I have tools to execute, but I need user input."
    (requirement,) = pause["requirements"]
    assert requirement["user_input_schema"] == [
        {"name": "subject", "field_type": "str", "description": "The subject.", "value": "Hello"},
        {"name": "to_address", "field_type": "str", "description": "The recipient.", "value": None},
    ]
    assert set(agent["tools"]["tools"][0]["parameters"]["properties"]) == {"subject"}


async def test_with_stream_false_the_paused_and_the_continued_run_outputs_come_back(server: str) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        paused = await client.post("/agents/hitl/runs", data={"message": "x", "session_id": "s2", "stream": "false"})
        pause = paused.json()
        (tool,) = pause["tools"]
        response = await resume_with(client, "hitl", pause["run_id"], [{**tool, "confirmed": True}], stream="false")

    assert pause["status"] == "PAUSED"
    assert pause["content"] == "I have tools to execute, but I need confirmation."
    assert pause["requirements"][0]["tool_execution"]["tool_call_id"] == tool["tool_call_id"]
    output = response.json()
    assert output["status"] == "COMPLETED"
    assert output["content"] == "The weather in Paris is sunny and 21C. "
    assert output["tools"][0]["confirmed"] is True


async def test_a_background_continue_answers_at_once_and_the_run_completes(server: str) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        paused = await start(client, "hitl", "s2")
        run_id = paused[0][1]["run_id"]
        (tool,) = paused[-1][1]["tools"]

        accepted = await resume_with(
            client, "hitl", run_id, [{**tool, "confirmed": True}], stream="false", background="true"
        )
        for _ in range(500):
            polled = (await client.get(f"/agents/hitl/runs/{run_id}", params={"session_id": "s2"})).json()
            if polled["status"] == "COMPLETED":
                break
            await asyncio.sleep(0.01)

    assert (accepted.status_code, accepted.json()) == (202, {"run_id": run_id, "session_id": "s2", "status": "PENDING"})
    assert polled["status"] == "COMPLETED"


@pytest.mark.parametrize(
    ("case", "status", "needle"),
    [
        ("no session", 400, "session_id is required"),
        ("bad json", 400, "Invalid JSON in tools field"),
        ("bad tools", 400, "Invalid structure or content for tools"),
        ("tools not a list", 400, "tools must be a JSON list"),
        ("no tools", 400, "Run has unresolved HITL requirements"),
        ("unknown run", 404, "No runs found for run ID"),
        ("other agent", 404, "No runs found for run ID"),
        ("unknown agent", 404, "Agent not found"),
        ("external without result", 400, "requires external execution, cannot continue run"),
        ("cancelled", 409, "run is cancelled"),
    ],
)
async def test_continues_agno_refuses_are_refused_with_its_messages(
    server: str, runtime: Runtime, case: str, status: int, needle: str
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        agent_id = "shell" if case == "external without result" else "hitl"
        paused = await start(client, agent_id, "s2")
        run_id = paused[0][1]["run_id"]
        (tool,) = paused[-1][1]["tools"]
        path = f"/agents/{agent_id}/runs/{run_id}/continue"
        form: dict[str, str] = {"session_id": "s2", "tools": json.dumps([{**tool, "confirmed": True}])}
        if case == "no session":
            del form["session_id"]
        elif case == "bad json":
            form["tools"] = "[{"
        elif case == "bad tools":
            form["tools"] = json.dumps([{"tool_name": "x"}])
        elif case == "tools not a list":
            form["tools"] = json.dumps({**tool, "confirmed": True})
        elif case == "no tools":
            form["tools"] = ""
        elif case == "unknown run":
            path = f"/agents/{agent_id}/runs/nope/continue"
        elif case == "other agent":
            path = f"/agents/careful/runs/{run_id}/continue"
        elif case == "unknown agent":
            path = f"/agents/ghost/runs/{run_id}/continue"
        elif case == "external without result":
            form["tools"] = json.dumps([tool])
        elif case == "cancelled":
            await client.post(f"/agents/{agent_id}/runs/{run_id}/cancel", params={"session_id": "s2"})
            for _ in range(200):
                polled = await client.get(f"/agents/{agent_id}/runs/{run_id}", params={"session_id": "s2"})
                if polled.json()["status"] == "CANCELLED":
                    break
                await asyncio.sleep(0.01)

        response = await client.post(path, data=form)

    assert response.status_code == status, response.text
    assert needle in response.json()["detail"]
