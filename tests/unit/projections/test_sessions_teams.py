"""Team runs in the sessions view: a team session row, the team run row and its member runs' rows (agno §3)."""

from __future__ import annotations

from engine import decode_event
from projections import SessionsView, fold_event
from tests.unit.engine.team_sim import Sim, answer, call, make_team, model_work


def coordinate_log() -> tuple[Sim, list[str]]:
    sim = Sim(make_team())
    [lead] = model_work(sim.start())
    calls = (
        call("delegate_task_to_member", member_id="m1", task="a"),
        call("delegate_task_to_member", member_id="m2", task="b"),
    )
    m1, m2 = model_work(sim.send(answer(lead, calls=calls)))
    sim.send(answer(m1, content="A"))
    [lead] = model_work(sim.send(answer(m2, content="B")))
    sim.send(answer(lead, content="A and B."))
    return sim, [m1.run_id, m2.run_id]


def test_a_team_session_holds_the_team_run_and_its_member_runs() -> None:
    sim, member_runs = coordinate_log()
    view = SessionsView()
    for event in sim.log:
        fold_event(view, decode_event(event.to_dict()))  # as the projection reads them from the log

    session = view.sessions["s1"]
    assert (session["session_type"], session["team_id"], session["agent_id"]) == ("team", "t1", None)
    assert session["agent_data"] is None
    assert session["team_data"] == {
        "name": "Weather Team",
        "team_id": "t1",
        "model": {"provider": "OpenAI", "id": "fake-model"},
    }
    team_row = view.runs["tr"]
    assert (team_row["run_type"], team_row["team_id"], team_row["agent_id"]) == ("team", "t1", None)
    assert (team_row["status"], team_row["run_index"], team_row["parent_run_id"]) == ("COMPLETED", 0, None)
    data = team_row["run_data"]
    assert list(data)[:3] == ["run_id", "team_id", "team_name"]
    assert "agent_id" not in data
    assert "member_responses" not in data  # agno's store_member_responses is off by default
    assert data["content"] == "A and B."
    assert [m["role"] for m in data["messages"]] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert [t["tool_name"] for t in data["tools"]] == ["delegate_task_to_member"] * 2
    assert [t["child_run_id"] for t in data["tools"]] == member_runs

    for index, run_id in enumerate(member_runs, start=1):
        row = view.runs[run_id]
        assert (row["run_type"], row["agent_id"], row["parent_run_id"]) == ("agent", f"m{index}", "tr")
        assert (row["status"], row["run_index"], row["session_id"]) == ("COMPLETED", index, "s1")
        assert row["run_data"]["agent_id"] == f"m{index}"
    assert session["session_data"]["session_metrics"]["total_tokens"] == 4 * 62
