"""`Step(team=...)`: a workflow step executed by a team run (a child run of the workflow run, its member runs
nested in it), inside sequences and every container, cancelled with its workflow, replayed and rebuilt."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from engine import (
    Condition,
    Loop,
    ModelRequestFailed,
    ModelWork,
    Parallel,
    Router,
    RunEvent,
    StartWorkflow,
    Step,
    StepInput,
    Team,
    ToolCall,
    Workflow,
    decide,
    owner_run_id,
    replay_check,
)
from tests.unit.engine.test_workflow_replay import fold
from tests.unit.engine.workflow_sim import FakeModel, Sim, agent

M1 = agent("m1", "M1")
TEAM = Team(id="tm", name="TM", members=[M1], model=FakeModel())
ROUTE = Team(id="rt", name="RT", members=[M1], model=FakeModel(), mode="route")


def fc(si: StepInput) -> str:
    return f"C({si.previous_step_content})"


def sim_of(*steps: Any) -> Sim:
    return Sim([Workflow(id="w", name="W", steps=list(steps))])


def answer_leaders(sim: Sim) -> None:
    """Run the sim: a leader delegates its user message to m1 until it has a member's answer, then answers."""
    for _ in range(200):
        if not sim.outstanding:
            return
        work = sim.outstanding[0]
        if isinstance(work, ModelWork) and work.is_team:
            user = next(m.content or "" for m in work.messages if m.role == "user")
            answered = any(m.role == "tool" for m in work.messages)
            sim.reply = _leader_reply(2 if answered else 1, user, work.run_id)
        sim.step()
    raise AssertionError("the workflow did not settle")


def _leader_reply(turn: int, task: str, run_id: str) -> Any:
    def reply(agent_id: str, message: str) -> str | list[ToolCall]:
        if agent_id not in ("tm", "rt"):
            return f"{agent_id}({message})"
        if turn == 1:
            args = json.dumps({"member_id": "m1", "task": f"do {task}"})
            return [ToolCall(id=f"call-{run_id}", name="delegate_task_to_member", arguments=args)]
        return f"team says {task}"

    return reply


def decisions_of(sim: Sim, run_id: str) -> list[RunEvent]:
    """The run's decided events (workers' answers get the step fields on the way out, not in the log)."""
    return [e for e in sim.log if e.run_id == run_id and not e.part]


def test_a_team_step_runs_as_a_child_team_run_whose_answer_is_the_step_output() -> None:
    sim = sim_of(Step(name="t", team=TEAM), fc)
    sim.start("w")
    answer_leaders(sim)

    names = sim.names()
    assert names[:3] == ["WorkflowStarted", "StepStarted", "TeamRunStarted"]
    assert names[-5:] == ["StepCompleted", "StepStarted", "StepOutput", "StepCompleted", "WorkflowCompleted"]
    assert names.index("RunStarted") > names.index("TeamToolCallStarted")
    assert names.index("TeamRunCompleted") == names.index("StepCompleted") - 1
    team_started = sim.last("TeamRunStarted")
    step_started = next(e for e in sim.log if e.event == "StepStarted")
    assert team_started.run_id == "w1~0"
    assert team_started.parent_run_id is None
    assert (team_started.workflow_id, team_started.workflow_run_id) == ("w", "w1")
    assert (team_started.step_id, team_started.step_name, team_started.step_index) == (step_started.step_id, "t", 0)
    member = sim.last("RunStarted")
    assert member.parent_run_id == "w1~0"
    assert owner_run_id(member.run_id) == "w1"
    assert member.run_id.startswith("w1~0~")
    assert all(e.workflow_run_id == "w1" and e.step_name == "t" for e in decisions_of(sim, member.run_id))
    assert all(e.workflow_run_id == "w1" for e in decisions_of(sim, "w1~0"))
    output = sim.last("StepCompleted").step_response
    first = next(e for e in sim.log if e.event == "StepCompleted").step_response
    assert (first.executor_type, first.executor_name, first.step_run_id) == ("team", "TM", "w1~0")
    assert first.content == "team says hello"
    assert output.content == "C(team says hello)"
    completed = sim.last("WorkflowCompleted")
    assert completed.metrics["steps"]["t"]["executor_type"] == "team"
    assert completed.metrics["steps"]["t"]["metrics"]["total_tokens"] == 10  # the leader's two turns
    assert (sim.state.runs, sim.state.workflows) == ({}, {})


def test_a_route_mode_team_step_ends_with_its_members_answer() -> None:
    # The member's end completes the team run (route_member_ends), which must reach the workflow too.
    sim = sim_of(Step(name="r", team=ROUTE), fc)
    sim.start("w")
    answer_leaders(sim)

    assert sim.last("TeamRunCompleted").content == "m1(do hello)"
    assert sim.last("WorkflowCompleted").content == "C(m1(do hello))"


@pytest.mark.parametrize(
    ("node", "index"),
    [
        (Parallel(Step(name="t", team=TEAM), Step(name="f", executor=fc), name="par"), [0, 0]),
        (Loop(name="lp", steps=[Step(name="t", team=TEAM)], max_iterations=2), [0, 0]),
        (Condition(name="c", evaluator=True, steps=[Step(name="t", team=TEAM)]), [0, 0]),
        (Router(name="r", selector=lambda _si: "t", choices=[Step(name="t", team=TEAM), fc]), 0),
    ],
    ids=["parallel", "loop", "condition", "router"],
)
def test_a_team_step_runs_inside_every_container(node: Any, index: Any) -> None:
    sim = sim_of(node, fc)
    sim.start("w")
    answer_leaders(sim)

    team_runs = [e for e in sim.log if e.event == "TeamRunStarted"]
    assert team_runs
    assert all(e.step_index == index and e.workflow_run_id == "w1" for e in team_runs)
    assert len(team_runs) == (2 if isinstance(node, Loop) else 1)
    assert len({e.run_id for e in sim.log if e.event == "RunStarted"}) == len(team_runs)  # one member run each
    assert sim.last("WorkflowCompleted").content.startswith("C(")
    assert replay_check(sim.records(), {}, workflows={"w": sim.workflows[0]}).ok


def test_cancelling_the_workflow_cancels_the_team_step_and_its_member_runs() -> None:
    sim = sim_of(Step(name="t", team=TEAM), fc)
    sim.start("w")
    sim.reply = _leader_reply(1, "hello", "w1~0")
    sim.step()  # the leader delegates: the member run is running

    sim.cancel()

    tail = [(e.event, e.run_id) for e in sim.log[-3:]]
    member = sim.last("RunStarted").run_id
    assert tail == [("WorkflowCancelled", "w1"), ("RunCancelled", member), ("TeamRunCancelled", "w1~0")]
    assert (sim.state.runs, sim.state.workflows) == ({}, {})
    sim.run()  # the late model answer of the member run routes nowhere
    assert sim.last("WorkflowCancelled").run_id == "w1"
    assert replay_check(sim.records(), {}, workflows={"w": sim.workflows[0]}).ok


def test_a_failed_team_step_is_an_unsuccessful_output_and_the_workflow_goes_on() -> None:
    sim = sim_of(Step(name="t", team=TEAM), fc)
    sim.start("w")
    work = sim.outstanding.pop(0)
    failed = ModelRequestFailed(
        created_at=work.created_at, run_id=work.run_id, session_id=work.session_id, agent_id="tm", seq=work.seq,
        part="done", error="provider down", error_type="ModelProviderError",
    )  # fmt: skip
    sim.apply(failed)
    sim.run()

    step = next(e for e in sim.log if e.event == "StepCompleted").step_response
    assert (step.success, step.error, step.executor_type) == (False, "provider down", "team")
    assert sim.last("TeamRunError").run_id == "w1~0"
    assert sim.last("WorkflowCompleted").content == "C(provider down)"


def test_an_unregistered_step_team_ends_the_run() -> None:
    sim = sim_of(Step(name="t", team=TEAM))
    command = StartWorkflow(run_id="w1", session_id="s1", created_at=1, workflow_id="w", message="hi")
    decision = decide(sim.state, command, replace(sim.ctx, teams={}))

    assert [e.event for e in decision.events][-1] == "WorkflowError"
    assert decision.events[-1].error_type == "UnknownTeamError"


def test_a_team_step_log_replays_and_a_rebuild_mid_delegation_continues() -> None:
    wf = Workflow(id="w", name="W", steps=[Step(name="t", team=TEAM), fc])
    sim = Sim([wf])
    sim.start("w")
    sim.reply = _leader_reply(1, "hello", "w1~0")
    sim.step()  # the leader delegates: the member run starts
    rebuilt = Sim([wf], state=fold(sim.records()), log=list(sim.log), outstanding=list(sim.outstanding))
    assert rebuilt.state == sim.state

    answer_leaders(rebuilt)

    assert rebuilt.last("WorkflowCompleted").content == "C(team says hello)"
    report = replay_check(rebuilt.records(), {}, workflows={"w": wf})
    assert report.ok, report.divergences[:1]
    assert report.sessions["s1"] == rebuilt.state
