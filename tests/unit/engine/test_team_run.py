"""Team runs, given-when-then: coordinate, route, broadcast, member errors, cancel cascades, crash rebuilds.

Each scenario drives decide / evolve with the workers' answers by hand (`team_sim.Sim`) and ends with a
replay check of the produced log.
"""

from __future__ import annotations

from dataclasses import replace

from engine import (
    TOOL_CALL_LIMIT_MESSAGE,
    ModelWork,
    RunCancelled,
    RunCompleted,
    RunStarted,
    SessionState,
    TeamRunCancelled,
    TeamRunCompleted,
    TeamRunContent,
    TeamRunStarted,
    TeamToolCallCompleted,
    TeamToolCallError,
    TeamToolCallStarted,
    ToolWork,
    evolve,
)
from engine.team_run import empty_member_response
from tests.unit.engine.team_sim import Sim, answer, call, fail, make_team, member, model_work, names, tool_done


def completed_tool(sim_decision: object) -> TeamToolCallCompleted:
    events = [e for e in sim_decision.events if isinstance(e, TeamToolCallCompleted)]  # type: ignore[attr-defined]
    assert len(events) == 1
    return events[0]


# --------------------------------------------------------------------------------------------- coordinate


def test_a_coordinate_run_delegates_to_two_members_in_turn_and_synthesizes() -> None:
    sim = Sim(make_team())
    started = sim.start()
    assert names(started) == ["TeamRunStarted", "ModelRequested"]
    [lead] = model_work(started)
    assert lead.is_team
    assert lead.messages[0].role == "system"
    assert '<member id="m1" name="M1">' in (lead.messages[0].content or "")

    # the leader delegates to m1: the member run starts in the same decision
    d = sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="m1", task="Weather in Paris?"),)))
    assert names(d) == ["TeamToolCallStarted", "RunStarted", "ModelRequested"]
    member_run = d.events[1]
    assert isinstance(member_run, RunStarted)
    assert member_run.parent_run_id == "tr"
    assert member_run.agent_id == "m1"
    [m1] = model_work(d)
    assert m1.parent_run_id == "tr"
    assert not m1.is_team
    assert [(m.role, m.content) for m in m1.messages] == [("user", "Weather in Paris?")]

    # the member answers: it completes, the delegation completes, the leader is asked again
    d = sim.send(answer(m1, content="Sunny in Paris. "))
    assert names(d) == ["RunContentCompleted", "RunCompleted", "TeamToolCallCompleted", "ModelRequested"]
    assert all(e.parent_run_id == "tr" for e in d.events[:2])
    done = completed_tool(d)
    assert done.tool is not None
    assert done.tool.result == "Sunny in Paris. "
    assert done.tool.child_run_id == member_run.run_id
    assert (done.content or "").startswith("delegate_task_to_member(member_id=m1, task=Weather in Paris?) completed in")
    [lead] = model_work(d)
    assert [m.role for m in lead.messages] == ["system", "user", "assistant", "tool"]

    # a second delegation, to m2
    d = sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="m2", task="And in London?"),)))
    [m2] = model_work(d)
    assert m2.agent_id == "m2"
    d = sim.send(answer(m2, content="Rain in London."))
    [lead] = model_work(d)

    d = sim.send(answer(lead, content="Paris is sunny, London is rainy."))
    assert names(d) == ["TeamRunContentCompleted", "TeamRunCompleted"]
    final = d.events[-1]
    assert isinstance(final, TeamRunCompleted)
    assert final.content == "Paris is sunny, London is rainy."
    assert [r["agent_id"] for r in final.member_responses] == ["m1", "m2"]
    assert final.member_responses[0]["parent_run_id"] == "tr"
    assert final.member_responses[0]["status"] == "COMPLETED"
    assert final.metrics is not None
    assert final.metrics["total_tokens"] == 3 * 62
    assert final.to_agno()["team_id"] == "t1"
    assert "session_state" not in final.to_agno()
    assert not sim.state.runs
    assert len(sim.state.finished) == 3
    assert sim.replay().ok


def test_two_delegations_of_one_turn_run_concurrently_and_the_leader_waits_for_both() -> None:
    sim = Sim(make_team())
    [lead] = model_work(sim.start())
    calls = (
        call("delegate_task_to_member", member_id="m1", task="a"),
        call("delegate_task_to_member", member_id="m2", task="b"),
    )
    d = sim.send(answer(lead, calls=calls))
    assert names(d) == ["TeamToolCallStarted", "RunStarted", "ModelRequested"] * 2
    m1, m2 = model_work(d)

    d = sim.send(answer(m2, content="B"))
    assert names(d) == ["RunContentCompleted", "RunCompleted", "TeamToolCallCompleted"]
    d = sim.send(answer(m1, content="A"))
    [lead] = model_work(d)
    tool_messages = [m for m in lead.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tool_messages] == [c.id for c in calls]  # the model's order
    assert [m.content for m in tool_messages] == ["A", "B"]
    assert sim.replay().ok


def test_an_unknown_member_id_gets_agnos_answer_listing_the_members() -> None:
    sim = Sim(make_team())
    [lead] = model_work(sim.start())
    d = sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="nobody", task="x"),)))
    assert names(d) == ["TeamToolCallStarted", "TeamToolCallCompleted", "ModelRequested"]
    result = completed_tool(d).tool.result or ""  # type: ignore[union-attr]
    assert result.startswith("Member with ID nobody not found in the team or any subteams.")
    assert '<member id="m1" name="M1">' in result
    assert sim.replay().ok


def test_a_member_error_becomes_the_delegations_result_and_the_leader_goes_on() -> None:
    sim = Sim(make_team())
    [lead] = model_work(sim.start())
    [m1] = model_work(sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="m1", task="x"),))))
    d = sim.send(fail(m1, "provider down"))
    assert names(d) == ["RunError", "TeamToolCallCompleted", "ModelRequested"]
    assert completed_tool(d).tool.result == "provider down"  # type: ignore[union-attr]
    [lead] = model_work(d)
    final = sim.send(answer(lead, content="Sorry."))
    done = final.events[-1]
    assert isinstance(done, TeamRunCompleted)
    assert done.member_responses[0]["status"] == "ERROR"
    assert sim.replay().ok


def test_a_member_runs_its_own_tools_with_the_parent_run_id() -> None:
    weather = member("m1", tools=[{"name": "get_weather", "parameters": {"type": "object", "properties": {}}}])
    sim = Sim(make_team(members=(weather,)))
    [lead] = model_work(sim.start())
    [m1] = model_work(sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="m1", task="x"),))))
    d = sim.send(answer(m1, calls=(call("get_weather"),)))
    [work] = d.work
    assert isinstance(work, ToolWork)
    assert work.parent_run_id == "tr"
    assert work.event_fields() == {"parent_run_id": "tr"}
    d = sim.send(tool_done(work, "Sunny"))
    [m1] = model_work(d)
    d = sim.send(answer(m1, content="  "))
    assert completed_tool(d).tool.result == "Sunny"  # type: ignore[union-attr]
    assert sim.replay().ok


def test_a_member_that_answers_nothing_gets_agnos_no_usable_response_text() -> None:
    sim = Sim(make_team())
    [lead] = model_work(sim.start())
    [m1] = model_work(sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="m1", task="x"),))))
    d = sim.send(answer(m1, content=None))
    assert completed_tool(d).tool.result == empty_member_response("M1")  # type: ignore[union-attr]


def test_members_get_the_users_input_when_the_team_does_not_determine_it() -> None:
    sim = Sim(make_team(determine_input_for_members=False))
    [lead] = model_work(sim.start("the user's words"))
    [m1] = model_work(sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="m1", task="x"),))))
    assert m1.messages[-1].content == "the user's words"


def test_bad_team_tool_calls_are_answered_with_errors_and_the_limit_applies() -> None:
    sim = Sim(make_team(tool_call_limit=1))
    [lead] = model_work(sim.start())
    calls = (
        call("get_weather", city="Paris"),
        call("delegate_task_to_member", member_id="m1"),
        call("delegate_task_to_member", member_id="nobody", task="x"),
        call("delegate_task_to_member", member_id="m1", task="over the limit"),
    )
    d = sim.send(answer(lead, calls=calls))
    errors = [e for e in d.events if isinstance(e, TeamToolCallError)]
    assert [e.error for e in errors] == [
        "Function get_weather not found",
        "Error: invalid arguments for delegate_task_to_member: 'task' must be a string",
        TOOL_CALL_LIMIT_MESSAGE.format(name="delegate_task_to_member"),
    ]
    assert names(d)[-1] == "ModelRequested"
    assert sim.replay().ok


def test_a_leader_model_failure_ends_the_team_run_with_team_run_error() -> None:
    sim = Sim(make_team())
    [lead] = model_work(sim.start())
    d = sim.send(fail(lead))
    assert names(d) == ["TeamRunError"]
    assert d.events[0].to_agno()["team_name"] == "Weather Team"
    assert sim.replay().ok


def test_an_unknown_team_or_a_duplicate_start_is_answered_once() -> None:
    sim = Sim(make_team())
    sim.team = replace(sim.team, id="other")  # the registry holds another team
    d = sim.start()
    assert names(d) == ["TeamRunError"]
    assert "unknown team_id 't1'; registered teams: other" in (d.events[0].content or "")  # type: ignore[attr-defined]
    sim = Sim(make_team())
    sim.start()
    assert sim.start().events == []
    assert sim.replay().ok


# --------------------------------------------------------------------------------------------- route / broadcast


def test_route_mode_returns_the_members_answer_as_the_teams() -> None:
    sim = Sim(make_team("route"))
    [lead] = model_work(sim.start())
    d = sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="m2", task="x"),)))
    started = d.events[0]
    assert isinstance(started, TeamToolCallStarted)
    assert started.tool is not None
    assert started.tool.stop_after_tool_call
    [m2] = model_work(d)
    d = sim.send(answer(m2, content="It is sunny."))
    assert names(d) == [
        "RunContentCompleted",
        "RunCompleted",
        "TeamToolCallCompleted",
        "TeamRunContent",
        "TeamRunContentCompleted",
        "TeamRunCompleted",
    ]
    assert isinstance(d.events[3], TeamRunContent)
    assert d.events[-1].content == "It is sunny."  # type: ignore[attr-defined]
    assert d.work == []
    assert sim.replay().ok


def test_respond_directly_and_delegate_to_all_members_select_route_and_broadcast() -> None:
    assert make_team(None, respond_directly=True).team_mode == "route"  # type: ignore[arg-type]
    assert make_team(None, delegate_to_all_members=True).team_mode == "broadcast"  # type: ignore[arg-type]


def test_broadcast_runs_every_member_at_once_and_joins_in_member_order() -> None:
    sim = Sim(make_team("broadcast"))
    [lead] = model_work(sim.start())
    assert [t["function"]["name"] for t in (tool.to_openai() for tool in sim.team.leader.tool_list)] == [
        "delegate_task_to_members"
    ]
    d = sim.send(answer(lead, calls=(call("delegate_task_to_members", task="Weather?"),)))
    assert names(d) == ["TeamToolCallStarted", "RunStarted", "ModelRequested", "RunStarted", "ModelRequested"]
    m1, m2 = model_work(d)
    started = d.events[0]
    assert isinstance(started, TeamToolCallStarted)
    assert started.member_run_ids == (m1.run_id, m2.run_id)

    d = sim.send(answer(m2, content="two"))  # the second member ends first
    assert "TeamToolCallCompleted" not in names(d)
    d = sim.send(answer(m1, content="one"))
    assert completed_tool(d).tool.result == "Agent M1: one\nAgent M2: two"  # type: ignore[union-attr]
    [lead] = model_work(d)
    sim.send(answer(lead, content="Both agree."))
    assert sim.replay().ok


def test_broadcast_to_a_team_without_members_answers_at_once() -> None:
    team = make_team("broadcast")
    sim = Sim(replace(team, members=()))
    [lead] = model_work(sim.start())
    d = sim.send(answer(lead, calls=(call("delegate_task_to_members", task="x"),)))
    assert names(d) == ["TeamToolCallStarted", "TeamToolCallCompleted", "ModelRequested"]


# --------------------------------------------------------------------------------------------- cancel


def test_cancelling_a_team_run_cancels_its_running_members_first() -> None:
    sim = Sim(make_team("broadcast"))
    [lead] = model_work(sim.start())
    d = sim.send(answer(lead, calls=(call("delegate_task_to_members", task="x"),)))
    m1, _m2 = model_work(d)

    d = sim.cancel()
    assert names(d) == ["RunCancelled", "RunCancelled", "TeamRunCancelled"]
    assert [e.cancelled_by for e in d.events if isinstance(e, RunCancelled)] == ["tr", "tr", None]
    assert isinstance(d.events[-1], TeamRunCancelled)
    assert not sim.state.runs
    assert sim.send(answer(m1, content="late")).events == []  # a member's late answer is ignored
    assert sim.cancel().events == []
    assert sim.replay().ok


def test_cancelling_a_member_run_cancels_its_team() -> None:
    sim = Sim(make_team("broadcast"))
    [lead] = model_work(sim.start())
    m1, m2 = model_work(sim.send(answer(lead, calls=(call("delegate_task_to_members", task="x"),))))
    d = sim.cancel(m2.run_id, reason="no longer needed")
    assert names(d) == ["RunCancelled", "RunCancelled", "TeamRunCancelled"]
    assert [e.run_id for e in d.events] == [m2.run_id, m1.run_id, "tr"]
    assert [e.cancelled_by for e in d.events if isinstance(e, RunCancelled)] == [None, m2.run_id, m2.run_id]
    assert not sim.state.runs
    assert sim.replay().ok


def test_a_team_cancel_between_turns_only_ends_the_team() -> None:
    sim = Sim(make_team())
    sim.start()
    d = sim.cancel(reason=None)
    assert names(d) == ["TeamRunCancelled"]
    assert d.events[0].reason == "Run cancelled"  # type: ignore[attr-defined]
    assert sim.replay().ok


# --------------------------------------------------------------------------------------------- crash / rebuild


def test_a_rebuild_mid_delegation_folds_to_the_same_state_and_starts_no_member_twice() -> None:
    sim = Sim(make_team())
    [lead] = model_work(sim.start())
    leader_answer = answer(lead, calls=(call("delegate_task_to_member", member_id="m1", task="x"),))
    [m1] = model_work(sim.send(leader_answer))

    rebuilt = SessionState(session_id="s1", history_limit=sim.state.history_limit)
    for event in sim.log:
        rebuilt = evolve(rebuilt, event)
    assert rebuilt == sim.state
    team_state = rebuilt.runs["tr"].team
    assert team_state is not None
    [delegation] = team_state.delegations.values()
    assert delegation.member_run_ids == (m1.run_id,)

    # the redelivered leader answer decides nothing: the member run is not started again
    assert sim.send(leader_answer).events == []
    # the member's answer, decided on the rebuilt state, goes on as before
    sim.state = rebuilt
    d = sim.send(answer(m1, content="done"))
    assert names(d) == ["RunContentCompleted", "RunCompleted", "TeamToolCallCompleted", "ModelRequested"]
    assert sum(isinstance(e, RunStarted) and not isinstance(e, TeamRunStarted) for e in sim.log) == 1
    assert sim.replay().ok


# --------------------------------------------------------------------------------------------- history


def test_team_history_is_the_teams_earlier_runs_and_member_history_their_own() -> None:
    historian = member("m1", add_history_to_context=True)
    sim = Sim(make_team(members=(historian,), add_history_to_context=True))
    for run_id in ("tr", "tr2"):
        [lead] = model_work(sim.start(run_id=run_id))
        d = sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="m1", task=run_id),)))
        [m1] = model_work(d)
        [lead] = model_work(sim.send(answer(m1, content="ok")))
        sim.send(answer(lead, content="done"))
    starts = [e for e in sim.log if isinstance(e, RunStarted) and e.seq == 0]
    team_starts = [e for e in starts if isinstance(e, TeamRunStarted)]
    member_starts = [e for e in starts if not isinstance(e, TeamRunStarted)]
    assert team_starts[1].history_run_ids == ("tr",)
    assert member_starts[1].history_run_ids == (member_starts[0].run_id,)
    assert sim.replay().ok


def test_a_team_no_longer_registered_answers_its_calls_without_members() -> None:
    sim = Sim(make_team())
    [lead] = model_work(sim.start())
    sim.team = replace(sim.team, id="renamed")
    d = sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="m1", task="x"),)))
    assert names(d) == ["TeamToolCallStarted", "TeamToolCallCompleted", "ModelRequested"]
    assert completed_tool(d).tool.result == (  # type: ignore[union-attr]
        "Member with ID m1 not found in the team or any subteams. "
        "Please choose the correct member from the list of members:\n\n"
    )
    [lead] = model_work(d)
    assert isinstance(lead, ModelWork)
    d = sim.send(answer(lead, content="bye"))
    assert names(d) == ["TeamRunContentCompleted", "TeamRunCompleted"]
    assert isinstance(d.events[-1], RunCompleted)
