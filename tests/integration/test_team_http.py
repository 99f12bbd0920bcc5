"""Teams over a real HTTP server on loopback: the delegation stream against agno's capture, every mode, cancel.

The coordinate team mirrors `reference/agno-sse/team_run_delegation.sse`: the leader delegates "What is the
weather in Paris?" to member `m1`, which calls get_weather and answers; the leader answers from that.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.models.scripted import ScriptedCall, ScriptedModel, Turn
from adapters.runtime import Runtime
from engine import Agent, Team, replay_check
from projections import SqliteViewStore
from streams import MemoryLog, Topics

from ..conftest import REFERENCE, capture_agent
from .test_hitl_http import assert_like_capture
from .test_http_agentos import parse_sse

CAPTURE = parse_sse((REFERENCE / "agno-sse" / "team_run_delegation.sse").read_text())
TASK = "What is the weather in Paris?"
ANSWER = "The weather in Paris is sunny and 21C. "


def _lead(*first: ScriptedCall, text: str = ANSWER) -> ScriptedModel:
    return ScriptedModel(
        [Turn(tool_calls=first), Turn(text=text)], id="fake-model", provider="OpenAI", name="OpenAI Chat"
    )


def _member(agent_id: str, name: str) -> Agent:
    weather = capture_agent(agent_id)
    return Agent(id=agent_id, name=name, model=weather.model, tools=weather.tools)


M1 = _member("m1", "Member")
M2 = _member("m2", "Second")
TEAMS = [
    Team(
        id="t1",
        name="Weather Team",
        model=_lead(ScriptedCall("delegate_task_to_member", {"member_id": "m1", "task": TASK})),
        members=[M1],
    ),
    Team(
        id="router",
        name="Router",
        mode="route",
        model=_lead(ScriptedCall("delegate_task_to_member", {"member_id": "m2", "task": TASK})),
        members=[M1, M2],
    ),
    Team(
        id="panel",
        name="Panel",
        mode="broadcast",
        model=_lead(ScriptedCall("delegate_task_to_members", {"task": TASK}), text="They agree."),
        members=[M1, M2],
    ),
    Team(
        id="planner",
        name="Planner",
        mode="tasks",
        model=_lead(ScriptedCall("create_task", {"title": "Weather", "assignee": "m1"}), text="Planned."),
        members=[M1],
        max_iterations=1,
    ),
]


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    rt = Runtime(
        MemoryLog(tmp_path / "log.db", default_partitions=4),
        Topics(partitions=4),
        {"a1": capture_agent()},
        view_store=SqliteViewStore(tmp_path / "views.db"),
        teams={t.id: t for t in TEAMS},
    )
    await rt.start()
    yield rt
    await rt.stop()


async def run_team(client: httpx.AsyncClient, team_id: str, session_id: str, **form: str) -> httpx.Response:
    return await client.post(f"/teams/{team_id}/runs", data={"message": TASK, "session_id": session_id, **form})


async def test_a_delegation_stream_matches_agnos_capture(server: str, runtime: Runtime) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        response = await run_team(client, "t1", "s4", user_id="u1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    ours = parse_sse(response.text)

    # same event sequence (content runs collapsed) and field names per event, member events interleaved
    assert_like_capture(ours, CAPTURE)
    team_run = ours[0][1]["run_id"]
    member_events = [d for n, d in ours if not n.startswith("Team")]
    assert {d["parent_run_id"] for d in member_events} == {team_run}
    assert {d["agent_id"] for d in member_events} == {"m1"}
    assert all(d["team_id"] == "t1" and d["team_name"] == "Weather Team" for n, d in ours if n.startswith("Team"))
    delegated = next(d for n, d in ours if n == "TeamToolCallCompleted")
    assert delegated["tool"]["result"] == ANSWER
    assert delegated["tool"]["child_run_id"] == member_events[0]["run_id"]
    assert delegated["content"].startswith("delegate_task_to_member(member_id=m1, task=...) completed in ")
    completed = ours[-1][1]
    assert completed["content"] == ANSWER
    (response_of_member,) = completed["member_responses"]
    assert set(response_of_member) == set(CAPTURE[-1][1]["member_responses"][0])
    assert [m["role"] for m in response_of_member["messages"]] == ["user", "assistant", "tool", "assistant"]

    # and the log (team and member events) replays without divergence
    events, _end = await runtime.tap.read_run("s4", team_run, members=True)
    report = replay_check(events, runtime.agents, teams=runtime.teams)
    assert report.divergences == []
    assert report.runs == 2


async def test_the_team_session_holds_the_team_run_and_its_member_run(server: str, runtime: Runtime) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        output = (await run_team(client, "t1", "s5", user_id="u5", stream="false")).json()
        assert runtime.projection is not None
        await runtime.projection.wait_caught_up()
        listing = (await client.get("/sessions", params={"type": "team"})).json()
        runs = (await client.get("/sessions/s5/runs")).json()
        detail = (await client.get("/sessions/s5")).json()
        polled = (await client.get(f"/teams/t1/runs/{output['run_id']}", params={"session_id": "s5"})).json()
        missing = await client.get(f"/teams/t1/runs/{output['run_id']}", params={"session_id": "nope"})
    assert output["status"] == "COMPLETED"
    assert (output["team_id"], output["team_name"], output["content"]) == ("t1", "Weather Team", ANSWER)
    assert output["member_responses"][0]["agent_id"] == "m1"
    assert polled["content"] == ANSWER
    assert missing.status_code == 404
    assert [s["session_id"] for s in listing["data"]] == ["s5"]
    assert listing["data"][0]["team_id"] == "t1"
    team_row, member_row = runs
    assert (team_row["run_id"], team_row["team_id"], team_row["parent_run_id"]) == (output["run_id"], "t1", None)
    assert (member_row["agent_id"], member_row["parent_run_id"]) == ("m1", output["run_id"])
    assert (detail["team_id"], detail["team_data"]["name"]) == ("t1", "Weather Team")
    assert "agent_id" not in detail
    assert [m["role"] for m in detail["chat_history"]] == ["user", "assistant", "tool", "assistant"]


@pytest.mark.parametrize(
    ("team_id", "content", "members"),
    [("router", ANSWER, ["m2"]), ("panel", "They agree.", ["m1", "m2"]), ("planner", "Planned.", [])],
)
async def test_route_broadcast_and_tasks_teams_run_over_http(
    server: str, team_id: str, content: str, members: list[str]
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        frames = parse_sse((await run_team(client, team_id, f"s-{team_id}")).text)
    names = [n for n, _ in frames]
    assert names[0] == "TeamRunStarted"
    assert names[-1] == "TeamRunCompleted"
    assert frames[-1][1]["content"] == content
    assert sorted({d["agent_id"] for n, d in frames if n == "RunStarted"}) == members
    if team_id == "planner":
        assert {"TeamTaskIterationStarted", "TeamTaskCreated", "TeamTaskStateUpdated"} <= set(names)


async def test_teams_are_listed_in_agnos_shape(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        teams = (await client.get("/teams")).json()
        one = (await client.get("/teams/panel")).json()
        missing = await client.get("/teams/nope")
        run_missing = await client.post("/teams/nope/runs", data={"message": "hi"})
    assert [t["id"] for t in teams] == ["t1", "router", "panel", "planner"]
    assert (one["mode"], [m["id"] for m in one["members"]]) == ("broadcast", ["m1", "m2"])
    assert one["tools"]["tools"][0]["name"] == "delegate_task_to_members"
    assert missing.status_code == run_missing.status_code == 404


async def test_cancelling_a_team_run_cancels_its_member_run(runtime: Runtime, server: str) -> None:
    slow = Agent(id="slow", name="Slow", model=ScriptedModel([Turn(text="too late")], first_token_delay_s=2.0))
    runtime.teams["slowteam"] = team = Team(
        id="slowteam",
        name="Slow Team",
        model=_lead(ScriptedCall("delegate_task_to_member", {"member_id": "slow", "task": "wait"})),
        members=[slow],
    )
    runtime.orchestrator._teams = runtime.teams  # the test registers a team after start
    runtime._registry.update({"slow": slow, "slowteam": team.leader})
    command, subscription = await runtime.start_team_run("slowteam", "go", session_id="s-cancel")
    seen: list[dict[str, Any]] = []
    member_started = asyncio.Event()

    async def follow() -> None:
        async for value in subscription:
            seen.append(value)
            if value.get("event") == "RunStarted":
                member_started.set()

    follower = asyncio.create_task(follow())
    await asyncio.wait_for(member_started.wait(), 10)
    async with httpx.AsyncClient(base_url=server) as client:
        cancelled = await client.post(
            f"/teams/slowteam/runs/{command.run_id}/cancel", params={"session_id": "s-cancel"}
        )
    assert cancelled.json() == {}
    await asyncio.wait_for(follower, 10)
    ends = [(v["event"], v.get("cancelled_by")) for v in seen if v["event"] in ("RunCancelled", "TeamRunCancelled")]
    assert ends == [("RunCancelled", command.run_id), ("TeamRunCancelled", None)]
