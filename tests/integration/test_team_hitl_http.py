"""Team human in the loop over a real HTTP server on loopback: a member's pause pauses the team run, and
`POST /teams/{team_id}/runs/{run_id}/continue` with the resolved requirements completes the member and the team.

Teams from `hitl_agents`: `hitl-team` delegates to `team-recorder` (confirmation), `guarded-team`'s leader
calls its own confirmation tool.
"""

from __future__ import annotations

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

from .hitl_agents import agents, teams
from .test_http_agentos import parse_sse

pytestmark = pytest.mark.timeout(60)

Frames = list[tuple[str, dict[str, Any]]]


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    rt = Runtime(
        MemoryLog(tmp_path / "log.db", default_partitions=4),
        Topics(partitions=4),
        {**{a.id: a for a in agents}, "team-recorder": teams[0].members[0]},  # a member that is an agent too
        view_store=SqliteViewStore(tmp_path / "views.db"),
        teams={t.id: t for t in teams},
    )
    await rt.start()
    yield rt
    await rt.stop()


async def start(client: httpx.AsyncClient, team_id: str, session_id: str, message: str) -> Frames:
    response = await client.post(f"/teams/{team_id}/runs", data={"message": message, "session_id": session_id})
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


def confirmed(requirements: list[dict[str, Any]], **answer: Any) -> str:
    """The requirements as agno's SDK sends them back after `requirement.confirm()`."""
    return json.dumps(
        [
            {**r, "confirmation": True, "tool_execution": {**r["tool_execution"], "confirmed": True}, **answer}
            for r in requirements
        ]
    )


async def continue_team(
    client: httpx.AsyncClient, team_id: str, run_id: str, session_id: str, requirements: str, **form: str
) -> httpx.Response:
    data = {"requirements": requirements, "session_id": session_id, **form}
    return await client.post(f"/teams/{team_id}/runs/{run_id}/continue", data=data)


async def test_a_member_pause_pauses_the_team_and_a_continue_completes_member_and_team(
    server: str, runtime: Runtime, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        # given a team run whose member paused for confirmation
        paused = await start(client, "hitl-team", "ts1", str(calls))
        names = [n for n, _ in paused]
        assert names[-4:] == ["RunContentCompleted", "RunPaused", "TeamToolCallCompleted", "TeamRunPaused"]
        team_run = paused[0][1]["run_id"]
        member_run = next(d["run_id"] for n, d in paused if n == "RunStarted")
        team_paused = paused[-1][1]
        (requirement,) = team_paused["requirements"]
        assert (requirement["member_agent_id"], requirement["member_agent_name"], requirement["member_run_id"]) == (
            "team-recorder",
            "Team Recorder",
            member_run,
        )
        assert requirement["tool_execution"]["requires_confirmation"] is True
        assert team_paused["content"].endswith("- Team Recorder: record requires confirmation")
        assert paused[-2][1]["tool"]["result"] == "Member 'Team Recorder' requires human input before continuing."
        assert runtime.projection is not None
        await runtime.projection.wait_caught_up()
        rows = {r["run_id"]: r for r in (await client.get("/sessions/ts1/runs")).json()}
        assert (rows[team_run]["status"], rows[member_run]["status"]) == ("PAUSED", "PAUSED")
        assert not calls.exists()

        # when the human confirms through the team route
        response = await continue_team(client, "hitl-team", team_run, "ts1", confirmed(team_paused["requirements"]))
        assert response.status_code == 200, response.text
        continued = parse_sse(response.text)

        # then the member continues (its events first, as agno streams them), then the leader, to completion
        names = [n for n, _ in continued]
        assert names[:4] == ["RunContinued", "ToolCallStarted", "ToolCallCompleted", "ModelRequestStarted"]
        assert {d["run_id"] for n, d in continued if not n.startswith("Team")} == {member_run}
        member_done = names.index("RunCompleted")
        assert names[member_done + 1 : member_done + 3] == ["TeamRunContinued", "TeamModelRequestStarted"]
        assert names[-1] == "TeamRunCompleted"
        final = continued[-1][1]
        assert final["content"] == (
            "The member said: Member results after human-in-the-loop resolution:\n"
            "[Team Recorder]: Recorded after your confirmation."
        )
        assert [r["run_id"] for r in final["member_responses"]] == [member_run]
        assert [d["event_index"] for _, d in continued] == list(range(len(paused), len(paused) + len(continued)))
        assert calls.read_text().split() == ["executed"]

        await runtime.projection.wait_caught_up()
        rows = {r["run_id"]: r for r in (await client.get("/sessions/ts1/runs")).json()}
        polled = (await client.get(f"/teams/hitl-team/runs/{team_run}", params={"session_id": "ts1"})).json()
    assert (rows[team_run]["status"], rows[member_run]["status"]) == ("COMPLETED", "COMPLETED")
    assert polled["status"] == "COMPLETED"
    delegation = next(t for t in polled["tools"] if t["tool_name"] == "delegate_task_to_member")
    assert delegation["result"].startswith("Member results after human-in-the-loop resolution:")

    # and the paused and continued team run replays without divergence
    events, _end = await runtime.tap.read_run("ts1", team_run, members=True)
    report = replay_check(events, runtime.agents, teams=runtime.teams)
    assert report.divergences == []
    assert report.runs == 2


async def test_the_team_continue_route_answers_errors_like_the_agent_route(server: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        paused = await start(client, "hitl-team", "ts2", str(tmp_path / "calls.txt"))
        team_run = paused[0][1]["run_id"]
        member_run = next(d["run_id"] for n, d in paused if n == "RunStarted")
        requirements = paused[-1][1]["requirements"]
        good = confirmed(requirements)

        bad_json = await continue_team(client, "hitl-team", team_run, "ts2", "[{")
        not_a_list = await continue_team(client, "hitl-team", team_run, "ts2", "{}")
        no_tool = await continue_team(client, "hitl-team", team_run, "ts2", json.dumps([{"id": "x"}]))
        unknown = await continue_team(
            client,
            "hitl-team",
            team_run,
            "ts2",
            confirmed(
                [
                    {
                        **requirements[0],
                        "id": "nope",
                        "tool_execution": {**requirements[0]["tool_execution"], "tool_call_id": "zz"},
                    }
                ]
            ),
        )
        empty = await continue_team(client, "hitl-team", team_run, "ts2", "[]")
        no_session = await client.post(f"/teams/hitl-team/runs/{team_run}/continue", data={"requirements": good})
        unknown_run = await continue_team(client, "hitl-team", "nope", "ts2", good)
        unknown_team = await continue_team(client, "nope", team_run, "ts2", good)
        as_agent = await client.post(
            f"/agents/team-recorder/runs/{member_run}/continue", data={"session_id": "ts2", "tools": "[]"}
        )
        done = await continue_team(client, "hitl-team", team_run, "ts2", good, stream="false")
        again = await continue_team(client, "hitl-team", team_run, "ts2", good)

    assert (bad_json.status_code, bad_json.json()["detail"]) == (400, "Invalid JSON in requirements field")
    assert not_a_list.status_code == 400
    assert no_tool.status_code == 400
    assert "requirements[0]" in no_tool.json()["detail"]
    assert unknown.status_code == 400
    assert "'nope'" in unknown.json()["detail"]
    assert (empty.status_code, empty.json()["detail"]) == (
        400,
        "requirements must be provided when continuing by run_id.",
    )
    assert no_session.status_code == 400
    assert unknown_run.status_code == 404
    assert unknown_team.status_code == 404
    assert as_agent.status_code == 409  # a member run continues only through its team
    assert as_agent.json()["detail"].endswith(f"member run of team run {team_run}; continue the team run")
    assert done.status_code == 200
    assert done.json()["status"] == "COMPLETED"
    assert again.status_code == 409
    assert again.json()["detail"] == f"Cannot continue run {team_run}: run is not paused (status COMPLETED)"


async def test_a_held_call_of_the_leader_pauses_the_team_and_runs_once_confirmed(
    server: str, runtime: Runtime, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        paused = await start(client, "guarded-team", "ts3", str(calls))
        assert [n for n, _ in paused][-1] == "TeamRunPaused"
        team_run = paused[0][1]["run_id"]
        (requirement,) = paused[-1][1]["requirements"]
        assert "member_run_id" not in requirement
        assert paused[-1][1]["content"].endswith("- team: record requires confirmation")

        response = await continue_team(
            client, "guarded-team", team_run, "ts3", confirmed([requirement]), stream="false"
        )
    output = response.json()
    assert output["status"] == "COMPLETED"
    assert output["content"] == f"Recorded: recorded in {calls}"
    assert calls.read_text().split() == ["executed"]
    events, _end = await runtime.tap.read_run("ts3", team_run, members=True)
    assert "TeamToolCallCompleted" in [e["event"] for e in events]  # the leader's own tool, Team* names
    assert replay_check(events, runtime.agents, teams=runtime.teams).divergences == []


async def test_a_paused_team_stream_can_be_resumed_from_an_index(server: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        paused = await start(client, "hitl-team", "ts4", str(tmp_path / "calls.txt"))
        team_run = paused[0][1]["run_id"]
        response = await client.post(
            f"/teams/hitl-team/runs/{team_run}/resume", data={"last_event_index": "2", "session_id": "ts4"}
        )
    text = response.text
    notice, _, rest = text.partition("\n\n")
    assert notice.startswith("event: replay")
    assert json.loads(notice.split("data: ", 1)[1])["status"] == "PAUSED"
    replayed = parse_sse(rest)
    assert [n for n, _ in replayed] == [n for n, _ in paused[3:]]
    assert [d["event_index"] for _, d in replayed] == list(range(3, len(paused)))
