"""Team human in the loop, given-when-then: a paused member (or the leader's held call) pauses the team run;
ContinueTeamRun continues the member, then the leader. Every scenario ends with a replay check of its log."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine import (
    ContinueRun,
    ContinueTeamRun,
    Decision,
    ModelWork,
    Requirement,
    RunCancelled,
    RunContinued,
    RunEvent,
    RunPaused,
    TeamRequirementsResolved,
    TeamRunCompleted,
    TeamRunContinued,
    TeamRunPaused,
    TeamTaskUpdated,
    TeamToolCallCompleted,
    Tool,
    ToolWork,
    decode_event,
    team_continue_problem,
    tool_event_classes,
)
from tests.unit.engine.team_sim import SESSION, Sim, answer, call, make_team, member, model_work, names, tool_done

PAUSE_TEXT = "Member 'M1' requires human input before continuing."


def delete_file(path: str) -> str:
    """Delete a file.

    Args:
        path: The file to delete.
    """
    return f"deleted {path}"


def run_shell(command: str) -> str:
    """Run a shell command.

    Args:
        command: The command line.
    """
    return command


CAREFUL = Tool.from_callable(delete_file, requires_confirmation=True)
EXTERNAL = Tool.from_callable(run_shell, external_execution=True)


def careful_team(mode: str = "coordinate", **kwargs: Any) -> Sim:
    members = (member("m1", tools=[CAREFUL]), member("m2"))
    return Sim(make_team(mode, members=members, **kwargs))


def tool_works(decision: Decision) -> list[ToolWork]:
    return [w for w in decision.work if isinstance(w, ToolWork)]


def only(decision: Decision, cls: type[Any]) -> Any:
    found = [e for e in decision.events if isinstance(e, cls)]
    assert len(found) == 1, [e.event for e in decision.events]
    return found[0]


def confirm(requirements: tuple[Requirement, ...], confirmed: bool = True, **fields: Any) -> tuple[Requirement, ...]:
    """The client's answer, as an agno client sends it back: the paused requirements with `confirmation` set."""
    return tuple(Requirement.from_dict({**r.to_dict(), "confirmation": confirmed, **fields}) for r in requirements)


def team_tool_done(work: ToolWork, result: str) -> RunEvent:
    """The tool worker's answer to a call of the leader's own tool (the Team* name, as the worker writes it)."""
    assert work.is_team
    event = decode_event({**tool_done(work, result).to_dict(), "event": tool_event_classes(True)[1].event})
    assert isinstance(event, TeamToolCallCompleted)
    return event


def continue_team(sim: Sim, requirements: tuple[Requirement, ...], run_id: str = "tr") -> Decision:
    return sim.send(
        ContinueTeamRun(run_id=run_id, session_id=SESSION, created_at=sim.now, requirements=requirements, user_id="u")
    )


def pause_member(sim: Sim) -> tuple[Decision, ModelWork]:
    """The leader delegates to m1, whose model calls the confirmation tool: the team run pauses."""
    [lead] = model_work(sim.start())
    d = sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="m1", task="Delete /tmp/x"),)))
    [m1] = model_work(d)
    return sim.send(answer(m1, calls=(call("delete_file", path="/tmp/x"),))), m1


# --------------------------------------------------------------------------------------------- coordinate


def test_a_paused_member_pauses_the_team_with_its_requirements_and_a_continue_completes_both() -> None:
    sim = careful_team()
    paused, m1 = pause_member(sim)

    # the member pauses, its delegation completes with agno's text, then the team pauses
    assert names(paused) == [
        "ToolCallPaused",
        "RunContentCompleted",
        "RunPaused",
        "TeamToolCallCompleted",
        "TeamRunPaused",
    ]
    delegation = only(paused, TeamToolCallCompleted)
    assert delegation.tool.result == PAUSE_TEXT
    assert delegation.paused_run_ids == (m1.run_id,)
    team_paused = only(paused, TeamRunPaused)
    (requirement,) = team_paused.requirements
    assert (requirement.member_agent_id, requirement.member_agent_name, requirement.member_run_id) == (
        "m1",
        "M1",
        m1.run_id,
    )
    member_paused = next(e for e in paused.events if type(e) is RunPaused)
    assert requirement.id == member_paused.requirements[0].id  # agno copies the member's requirement
    assert (
        team_paused.content == "Team run paused. The following require input:\n- M1: delete_file requires confirmation"
    )
    wire = team_paused.to_agno()
    assert wire["team_id"] == "t1"
    assert wire["requirements"][0]["member_run_id"] == m1.run_id
    assert [t["tool_name"] for t in wire["tools"]] == ["delegate_task_to_member"]
    assert sim.state.runs["tr"].status == "PAUSED"
    assert sim.state.runs[m1.run_id].status == "PAUSED"

    # when the human confirms: the team records it, the member continues and executes the call
    d = continue_team(sim, confirm(team_paused.requirements))
    assert names(d) == ["TeamRequirementsResolved", "RunContinued", "ToolCallRequested"]
    assert only(d, TeamRequirementsResolved).member_run_ids == (m1.run_id,)
    assert sim.state.runs["tr"].status == "RUNNING"
    [work] = tool_works(d)
    assert (work.run_id, work.tool_name, work.is_team) == (m1.run_id, "delete_file", False)
    assert work.execution is not None
    assert work.execution.confirmed is True

    d = sim.send(tool_done(work, "deleted /tmp/x"))
    [m1] = model_work(d)
    d = sim.send(answer(m1, content="Deleted it."))

    # then once the member ended, the leader resumes with the member's result in place of the pause text
    assert names(d) == ["RunContentCompleted", "RunCompleted", "TeamRunContinued", "ModelRequested"]
    continued = only(d, TeamRunContinued)
    text = "Member results after human-in-the-loop resolution:\n[M1]: Deleted it."
    assert [t.result for t in continued.member_tools] == [text]
    assert continued.to_agno().keys() >= {"team_id", "run_id"}
    assert "member_tools" not in continued.to_agno()
    [lead] = model_work(d)
    assert [m.content for m in lead.messages if m.role == "tool"] == [text]
    assert sim.state.runs["tr"].tools[0].result == text

    d = sim.send(answer(lead, content="Done: the file is gone."))
    final = only(d, TeamRunCompleted)
    assert final.content == "Done: the file is gone."
    assert [r["status"] for r in final.member_responses] == ["COMPLETED"]
    assert not sim.state.runs
    assert sim.replay().divergences == []


def test_a_rejected_member_call_is_not_executed_and_the_member_hears_agnos_rejection() -> None:
    sim = careful_team()
    paused, _ = pause_member(sim)
    team_paused = only(paused, TeamRunPaused)

    d = continue_team(sim, confirm(team_paused.requirements, confirmed=False, confirmation_note="Not that one"))

    assert names(d) == ["TeamRequirementsResolved", "RunContinued", "ModelRequested"]
    assert not tool_works(d)
    [m1] = model_work(d)
    assert m1.messages[-1].role == "tool"
    assert m1.messages[-1].content == "Not that one"
    d = sim.send(answer(m1, content="I did not delete it."))
    [lead] = model_work(d)
    assert lead.messages[-1].content == "Member results after human-in-the-loop resolution:\n[M1]: I did not delete it."
    sim.send(answer(lead, content="Nothing was deleted."))
    assert sim.replay().divergences == []


def test_a_member_that_pauses_again_pauses_the_team_again_without_continuing_the_leader() -> None:
    sim = careful_team()
    paused, _ = pause_member(sim)
    d = continue_team(sim, confirm(only(paused, TeamRunPaused).requirements))
    [work] = tool_works(d)
    [m1] = model_work(sim.send(tool_done(work, "deleted /tmp/x")))

    # the member wants a second confirmation: the team pauses again (agno's chained HITL)
    d = sim.send(answer(m1, calls=(call("delete_file", path="/tmp/y"),)))
    assert names(d) == ["ToolCallPaused", "RunContentCompleted", "RunPaused", "TeamRunPaused"]
    second = only(d, TeamRunPaused)
    assert [r.tool_execution.tool_args for r in second.requirements] == [{"path": "/tmp/y"}]

    d = continue_team(sim, confirm(second.requirements))
    [work] = tool_works(d)
    [m1] = model_work(sim.send(tool_done(work, "deleted /tmp/y")))
    d = sim.send(answer(m1, content="Both gone."))
    assert names(d)[-2:] == ["TeamRunContinued", "ModelRequested"]
    [lead] = model_work(d)
    sim.send(answer(lead, content="ok"))
    assert not sim.state.runs
    assert sim.replay().divergences == []


def test_the_continue_is_refused_for_unknown_requirements_and_runs_that_are_not_paused() -> None:
    sim = careful_team()
    paused, _ = pause_member(sim)
    (requirement,) = only(paused, TeamRunPaused).requirements
    run = sim.state.runs["tr"]
    bogus = replace(requirement, id="nope", tool_execution=replace(requirement.tool_execution, tool_call_id="zz"))

    assert team_continue_problem(sim.state, run, ()) == (
        "requirements must be provided when continuing by run_id.",
        "requirements",
    )
    problem = team_continue_problem(sim.state, run, (bogus,))
    assert problem is not None
    assert problem[1] == "requirements[0].id"
    assert "'nope'" in problem[0]
    assert continue_team(sim, (bogus,)).events == []  # the engine ignores what the HTTP layer refuses

    # a requirement matched by its tool call when the id is not the run's (a client that rebuilt it)
    by_call = replace(requirement, id="other")
    assert team_continue_problem(sim.state, run, confirm((by_call,))) is None

    d = continue_team(sim, confirm((requirement,)))
    assert d.events
    problem = team_continue_problem(sim.state, sim.state.runs["tr"], confirm((requirement,)))
    assert problem == ("Cannot continue run tr: run is not paused (status RUNNING)", None)
    assert continue_team(sim, confirm((requirement,))).events == []


def test_an_external_member_call_needs_its_result_and_the_result_reaches_the_member() -> None:
    sim = Sim(make_team(members=(member("m1", tools=[EXTERNAL]),)))
    [lead] = model_work(sim.start())
    [m1] = model_work(sim.send(answer(lead, calls=(call("delegate_task_to_member", member_id="m1", task="ls"),))))
    paused = sim.send(answer(m1, calls=(call("run_shell", command="ls"),)))
    team_paused = only(paused, TeamRunPaused)
    assert team_paused.content.endswith("- M1: run_shell requires external execution")
    (requirement,) = team_paused.requirements

    problem = team_continue_problem(sim.state, sim.state.runs["tr"], (requirement,))
    assert problem == ("Tool run_shell requires external execution, cannot continue run", "requirements")

    answered = Requirement.from_dict({**requirement.to_dict(), "external_execution_result": "a.txt b.txt"})
    d = continue_team(sim, (answered,))
    assert names(d) == ["TeamRequirementsResolved", "RunContinued", "ModelRequested"]
    [m1] = model_work(d)
    assert m1.messages[-1].content == "a.txt b.txt"
    assert sim.replay().divergences == []


# --------------------------------------------------------------------------------------------- leader's own tools


def test_a_held_call_of_the_leaders_own_tool_pauses_the_team_and_runs_on_the_tool_worker_once_confirmed() -> None:
    sim = Sim(make_team(tools=[CAREFUL]))
    started = sim.start()
    [lead] = model_work(started)
    assert "delete_file" in [t.name for t in sim.team.leader.tool_list]

    d = sim.send(answer(lead, calls=(call("delete_file", path="/tmp/x"),)))
    assert names(d) == ["ToolCallPaused", "TeamRunPaused"]  # agno's team pauses without TeamRunContentCompleted
    team_paused = only(d, TeamRunPaused)
    (requirement,) = team_paused.requirements
    assert requirement.member_run_id is None
    assert (
        team_paused.content
        == "Team run paused. The following require input:\n- team: delete_file requires confirmation"
    )
    assert [t.tool_name for t in team_paused.tools] == ["delete_file"]

    d = continue_team(sim, confirm(team_paused.requirements))
    assert names(d) == ["TeamRequirementsResolved", "TeamRunContinued", "ToolCallRequested"]
    assert only(d, TeamRunContinued).tools[0].confirmed is True
    [work] = tool_works(d)
    assert work.is_team
    assert work.run_id == "tr"

    d = sim.send(team_tool_done(work, "deleted /tmp/x"))
    [lead] = model_work(d)
    assert [m.content for m in lead.messages if m.role == "tool"] == ["deleted /tmp/x"]
    d = sim.send(answer(lead, content="Deleted."))
    assert only(d, TeamRunCompleted).content == "Deleted."
    assert sim.replay().divergences == []


def test_a_leader_tool_and_a_member_pause_in_one_turn_are_answered_by_one_continue() -> None:
    members = (member("m1", tools=[CAREFUL]),)
    sim = Sim(make_team(members=members, tools=[Tool.from_callable(run_shell, requires_confirmation=True)]))
    [lead] = model_work(sim.start())
    turn = (call("delegate_task_to_member", member_id="m1", task="Delete /tmp/x"), call("run_shell", command="ls"))
    [m1] = model_work(sim.send(answer(lead, calls=turn)))
    d = sim.send(answer(m1, calls=(call("delete_file", path="/tmp/x"),)))
    team_paused = only(d, TeamRunPaused)
    assert [(r.member_agent_name, r.tool_execution.tool_name) for r in team_paused.requirements] == [
        ("M1", "delete_file"),
        (None, "run_shell"),
    ]

    d = continue_team(sim, confirm(team_paused.requirements))
    assert names(d) == ["TeamRequirementsResolved", "RunContinued", "ToolCallRequested"]
    [work] = tool_works(d)
    [m1] = model_work(sim.send(tool_done(work, "deleted")))
    d = sim.send(answer(m1, content="Deleted."))
    assert names(d) == ["RunContentCompleted", "RunCompleted", "TeamRunContinued", "ToolCallRequested"]
    [leader_call] = tool_works(d)
    assert leader_call.tool_name == "run_shell"
    assert leader_call.is_team
    [lead] = model_work(sim.send(team_tool_done(leader_call, "a b")))
    # both results in the model's call order, the delegation's rewritten
    assert [m.content for m in lead.messages if m.role == "tool"] == [
        "Member results after human-in-the-loop resolution:\n[M1]: Deleted.",
        "a b",
    ]
    sim.send(answer(lead, content="Done."))
    assert sim.replay().divergences == []


# --------------------------------------------------------------------------------------------- other modes


def test_route_mode_answers_with_the_continued_members_answer() -> None:
    sim = careful_team("route")
    paused, _ = pause_member(sim)
    assert names(paused)[-1] == "TeamRunPaused"  # the pause text is no answer: the team does not complete

    d = continue_team(sim, confirm(only(paused, TeamRunPaused).requirements))
    [work] = tool_works(d)
    [m1] = model_work(sim.send(tool_done(work, "deleted")))
    d = sim.send(answer(m1, content="Deleted /tmp/x."))
    assert names(d) == [
        "RunContentCompleted",
        "RunCompleted",
        "TeamRunContinued",
        "TeamRunContent",
        "TeamRunContentCompleted",
        "TeamRunCompleted",
    ]
    assert only(d, TeamRunCompleted).content == "Deleted /tmp/x."
    assert sim.replay().divergences == []


def test_broadcast_waits_for_every_member_to_answer_or_pause_then_pauses() -> None:
    sim = careful_team("broadcast")
    [lead] = model_work(sim.start())
    m1, m2 = model_work(sim.send(answer(lead, calls=(call("delegate_task_to_members", task="Clean up"),))))
    d = sim.send(answer(m1, calls=(call("delete_file", path="/tmp/x"),)))
    assert names(d) == ["ToolCallPaused", "RunContentCompleted", "RunPaused"]  # m2 still running
    d = sim.send(answer(m2, content="Nothing to clean."))
    assert names(d) == ["RunContentCompleted", "RunCompleted", "TeamToolCallCompleted", "TeamRunPaused"]
    assert only(d, TeamToolCallCompleted).tool.result == f"Agent M1: {PAUSE_TEXT}\nAgent M2: Nothing to clean."

    d = continue_team(sim, confirm(only(d, TeamRunPaused).requirements))
    [work] = tool_works(d)
    [m1] = model_work(sim.send(tool_done(work, "deleted")))
    [lead] = model_work(sim.send(answer(m1, content="Deleted.")))
    assert lead.messages[-1].content == "Member results after human-in-the-loop resolution:\n[M1]: Deleted."
    d = sim.send(answer(lead, content="All clean."))
    assert [r["agent_id"] for r in only(d, TeamRunCompleted).member_responses] == ["m2", "m1"]
    assert sim.replay().divergences == []


def test_tasks_mode_puts_a_task_whose_member_paused_back_to_pending() -> None:
    sim = careful_team("tasks", max_iterations=2)
    [lead] = model_work(sim.start())
    d = sim.send(answer(lead, calls=(call("create_task", title="Delete", description="Delete /tmp/x", assignee="m1"),)))
    [lead] = model_work(d)
    task_id = sim.state.runs["tr"].team.board.tasks[0].id  # type: ignore[union-attr]
    [m1] = model_work(sim.send(answer(lead, calls=(call("execute_task", task_id=task_id, member_id="m1"),))))
    d = sim.send(answer(m1, calls=(call("delete_file", path="/tmp/x"),)))

    update = [e for e in d.events if isinstance(e, TeamTaskUpdated)][-1]
    assert (update.status, update.previous_status) == ("pending", "in_progress")
    assert only(d, TeamToolCallCompleted).tool.result == f"{PAUSE_TEXT} Task [{task_id}] paused."
    assert names(d)[-1] == "TeamRunPaused"

    d = continue_team(sim, confirm(only(d, TeamRunPaused).requirements))
    [work] = tool_works(d)
    [m1] = model_work(sim.send(tool_done(work, "deleted")))
    [lead] = model_work(sim.send(answer(m1, content="Deleted.")))
    sim.send(answer(lead, content="Done.", calls=()))
    assert sim.replay().divergences == []


# --------------------------------------------------------------------------------------------- cancel


def test_cancelling_a_paused_team_cancels_its_paused_member_first() -> None:
    sim = careful_team()
    _paused, m1 = pause_member(sim)

    d = sim.cancel()

    assert names(d) == ["RunCancelled", "TeamRunCancelled"]
    assert d.events[0].run_id == m1.run_id
    assert isinstance(d.events[0], RunCancelled)
    assert d.events[0].cancelled_by == "tr"
    assert not sim.state.runs
    assert sim.replay().divergences == []


def test_a_member_run_cannot_be_continued_on_its_own() -> None:
    sim = careful_team()
    paused, m1 = pause_member(sim)
    member_paused = next(e for e in paused.events if type(e) is RunPaused)
    updates = tuple(replace(r.tool_execution, confirmed=True) for r in member_paused.requirements)

    d = sim.send(ContinueRun(run_id=m1.run_id, session_id=SESSION, created_at=sim.now, tools=updates))

    assert d.events == []
    assert not any(isinstance(e, RunContinued) for e in sim.log)
    assert sim.state.runs[m1.run_id].status == "PAUSED"


def test_replay_reports_a_continued_team_run_whose_recorded_decision_was_changed() -> None:
    sim = careful_team()
    paused, _ = pause_member(sim)
    d = continue_team(sim, confirm(only(paused, TeamRunPaused).requirements))
    [work] = tool_works(d)
    [m1] = model_work(sim.send(tool_done(work, "deleted")))
    continued = only(sim.send(answer(m1, content="Deleted.")), TeamRunContinued)
    assert sim.replay().divergences == []

    tampered = replace(continued, member_tools=(replace(continued.member_tools[0], result="Nothing happened."),))
    sim.log[sim.log.index(continued)] = tampered
    (divergence,) = sim.replay().divergences
    assert (divergence.run_id, divergence.seq) == ("tr", continued.seq)
