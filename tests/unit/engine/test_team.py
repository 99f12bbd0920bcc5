"""The Team definition: modes, the leader (tools and system message as agno builds them), the registry."""

from __future__ import annotations

import pytest

from engine import (
    MODE_TOOLS,
    Agent,
    ConfigurationError,
    Message,
    ModelRequestCompleted,
    ModelRequestStarted,
    RunCompleted,
    RunContent,
    RunStarted,
    SessionState,
    Team,
    TeamModelRequestCompleted,
    TeamModelRequestStarted,
    TeamRunContent,
    agent_registry,
    evolve,
    model_event_classes,
)
from engine.team_state import member_outcome
from tests.unit.engine.team_sim import FakeModel, make_team, member


def test_the_leader_is_an_agent_with_the_modes_tools_and_the_team_system_message() -> None:
    for mode, tools in MODE_TOOLS.items():
        team = make_team(mode)
        leader = team.leader
        assert (leader.id, leader.name) == ("t1", "Weather Team")
        assert tuple(t.name for t in leader.tool_list) == tools
        assert all(t.entrypoint is None for t in leader.tool_list)
        assert leader.system_message_content() == team.system_message_content()
        assert f"You operate in {'autonomous task' if mode == 'tasks' else mode} mode." in (
            leader.system_message_content() or ""
        )


def test_the_system_message_follows_agnos_blocks_and_order() -> None:
    helper = member("m1", role="Researcher", description="Finds facts", tools=[lambda_tool()])
    team = Team(
        id="t",
        name="Research",
        model=FakeModel(),
        members=[helper],
        description="A research team.",
        role="Lead researcher",
        instructions=["Be brief.", "Cite sources."],
        markdown=True,
        add_member_tools_to_context=True,
        add_name_to_context=True,
    )
    text = team.system_message_content()
    assert text.startswith("You coordinate a team of specialized AI agents")
    assert (
        '<team_members>\n<member id="m1" name="M1">\n  Role: Researcher\n  Description: Finds facts\n'
        "  Tools: lookup\n</member>\n</team_members>"
    ) in text
    order = ["<team_members>", "<how_to_respond>", "<description>", "<your_role>", "- Be brief.", "<additional_info"]
    assert [text.index(marker) for marker in order] == sorted(text.index(marker) for marker in order)
    assert text.endswith(
        "<additional_information>\n- Use markdown to format your answers.\n- Your name is: Research.\n"
        "</additional_information>"
    )
    single = Team(id="t", model=FakeModel(), members=[], instructions="Only this.")
    assert single.system_message_content() == "Only this."
    assert single.name == "t"
    assert single.history_runs == 0
    assert Team(id="t", model=FakeModel(), members=[], add_history_to_context=True).history_runs == 3


def lambda_tool() -> dict[str, object]:
    return {"name": "lookup", "parameters": {"type": "object", "properties": {}}}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": ""}, "Team.id must be a non-empty string"),
        ({"model": object()}, "model must have id, provider and name"),
        ({"mode": "collaborate"}, "mode must be one of coordinate, route, broadcast, tasks"),
        ({"max_iterations": 0}, "max_iterations must be >= 1"),
        ({"members": ["not an agent"]}, "members must be engine.Agent"),
        ({"members": [member("m1"), member("m1")]}, "two members have the id 'm1'"),
    ],
)
def test_a_bad_team_definition_is_a_configuration_error(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"id": "t", "model": FakeModel(), "members": [], **kwargs}
    with pytest.raises(ConfigurationError, match=message):
        Team(**fields)  # type: ignore[arg-type]


def test_the_agent_registry_holds_agents_members_and_leaders_and_refuses_clashes() -> None:
    shared = member("m1")
    team = make_team(members=(shared,))
    registry = agent_registry({"m1": shared, "solo": member("solo")}, {"t1": team})
    assert set(registry) == {"m1", "solo", "t1"}
    assert registry["t1"] is team.leader
    with pytest.raises(ConfigurationError, match="id 'm1' of a member of team 't1' is already used"):
        agent_registry({"m1": member("m1")}, {"t1": team})
    with pytest.raises(ConfigurationError, match="id 't1' of a team is already used"):
        agent_registry({"t1": member("t1")}, {"t1": team})


def test_an_agent_system_message_is_used_verbatim() -> None:
    agent = Agent(id="a", model=FakeModel(), instructions="ignored", system_message="Exactly this.")
    assert agent.system_message_content() == "Exactly this."


def test_model_workers_write_team_events_for_a_leaders_turn() -> None:
    assert model_event_classes(True) == (TeamModelRequestStarted, TeamRunContent, TeamModelRequestCompleted)
    assert model_event_classes(False) == (ModelRequestStarted, RunContent, ModelRequestCompleted)
    started = TeamModelRequestStarted(created_at=1, run_id="r", session_id="s", seq=1, agent_id="t1", agent_name="T")
    assert (started.team_id, started.team_name) == ("t1", "T")
    assert started.to_agno()["team_id"] == "t1"
    assert "agent_id" not in started.to_agno()


def test_a_member_end_is_recorded_only_in_a_running_team_run() -> None:
    state = SessionState(session_id="s")
    orphan = RunStarted(
        created_at=1, run_id="m", parent_run_id="gone", session_id="s", seq=0, agent_id="m1", agent_name="M"
    )
    state = evolve(state, orphan)
    state = evolve(state, RunCompleted(created_at=2, run_id="m", session_id="s", seq=1, agent_id="m1"))
    assert state.finished == {"m"}
    agent_run = RunStarted(created_at=1, run_id="a", session_id="s", seq=0, agent_id="a1", agent_name="A")
    child = RunStarted(created_at=1, run_id="c", parent_run_id="a", session_id="s", seq=0, agent_id="m1")
    state = evolve(evolve(state, agent_run), child)
    state = evolve(state, RunCompleted(created_at=2, run_id="c", session_id="s", seq=1, agent_id="m1"))
    assert state.runs["a"].team is None


def test_a_member_outcome_carries_agnos_run_output_fields() -> None:
    system = Message(id="s", role="system", content="Be brief.")
    user = Message(id="u", role="user", content="task")
    done = RunCompleted(
        created_at=9, run_id="m", session_id="s", seq=2, content="ok", model_provider_data={"id": "x"}, metrics={}
    )
    extra = {"session_id": "s", "parent_run_id": "tr", "model": "fake", "model_provider": "P", "created_at": 5}
    outcome = member_outcome("m", "m1", "M", (system, user), (), done, {**extra, "input": "task"})
    assert list(outcome.output) == [
        "run_id",
        "agent_id",
        "agent_name",
        "session_id",
        "parent_run_id",
        "content",
        "content_type",
        "model_provider_data",
        "model",
        "model_provider",
        "session_state",
        "created_at",
        "status",
        "metrics",
        "messages",
        "tools",
        "input",
    ]
    assert outcome.output["created_at"] == 5
    assert [m["role"] for m in outcome.output["messages"]] == ["system", "user"]
    bare = RunCompleted(created_at=9, run_id="m", session_id="s", seq=2, content="ok")
    outcome = member_outcome("m", "m1", "M", (user,), (), bare, {})
    assert "model_provider_data" not in outcome.output
    assert "metrics" not in outcome.output
    assert outcome.output["created_at"] == 9
