"""Workflow runs in the sessions view: a `workflow` session, one run row with agno's WorkflowRunOutput, and
the step agent runs inside it (`step_executor_runs`), folded from the log alone."""

from __future__ import annotations

from typing import Any

from engine import (
    HumanReview,
    ModelRequestStarted,
    Parallel,
    RunContent,
    RunContext,
    Step,
    StepInput,
    StepOutput,
    Workflow,
)
from projections import SessionsView, fold_event, rebuild_view
from tests.unit.engine.test_workflow_team_step import TEAM, answer_leaders
from tests.unit.engine.workflow_sim import NOW, SESSION, Sim, agent

WA = agent("wa", "WF Agent")


def fa(si: StepInput) -> StepOutput:
    return StepOutput(content=f"A({si.input})")


def boom(_si: StepInput) -> str:
    raise RuntimeError("kaput")


WORKFLOW = Workflow(
    id="w",
    name="Weather Flow",
    steps=[Step(name="a", executor=fa), Parallel(Step(name="ask", agent=WA), Step(name="b", executor=fa), name="par")],
)
RUN_DATA_KEYS = [
    "input", "content", "content_type", "workflow_id", "workflow_name", "run_id", "session_id", "user_id",
    "created_at", "status", "metadata", "images", "videos", "audio", "files", "step_results",
    "step_executor_runs", "metrics",
]  # fmt: skip
"""agno's stored WorkflowRunOutput keys, in its order (read from an agno 3.1.10 SqliteDb)."""


def folded(sim: Sim) -> SessionsView:
    return rebuild_view(sim.records())


def test_a_workflow_run_is_one_row_of_a_workflow_session() -> None:
    sim = Sim([WORKFLOW])
    sim.start("w", "Weather?", user_id="u1")
    sim.run()

    view = folded(sim)

    session = view.sessions[SESSION]
    assert (session["session_type"], session["workflow_id"], session["agent_id"], session["user_id"]) == (
        "workflow", "w", None, "u1",
    )  # fmt: skip
    assert session["workflow_data"] == {
        "workflow_id": "w",
        "name": "Weather Flow",
        "steps": [
            {"name": "a", "description": None, "type": "Step"},
            {"name": "par", "description": None, "type": "Parallel"},
        ],
    }
    assert session["session_data"]["session_metrics"]["total_tokens"] == 5  # the step agent's tokens
    assert list(view.runs) == ["w1"]  # the step agent run has no row of its own, as in agno
    row = view.runs["w1"]
    assert (row["run_type"], row["workflow_id"], row["status"], row["run_index"]) == ("workflow", "w", "COMPLETED", 0)
    data = row["run_data"]
    assert list(data) == RUN_DATA_KEYS
    assert data["input"] == "Weather?"
    assert data["content"] == "A(Weather?)"
    assert [r["step_name"] for r in data["step_results"]] == ["a", "par"]
    (step_run,) = data["step_executor_runs"]
    assert (step_run["run_id"], step_run["parent_run_id"], step_run["status"]) == ("w1~1.0", "w1", "COMPLETED")
    assert step_run["workflow_step_id"] == WORKFLOW.step_id_at("1.0")
    assert step_run["metadata"] == {}
    assert step_run["session_state"] == {"current_session_id": SESSION, "current_run_id": "w1"}
    assert [m["role"] for m in step_run["messages"]] == ["user", "assistant"]


def test_step_results_fill_in_while_the_run_goes_on() -> None:
    sim = Sim([WORKFLOW])
    sim.start("w")
    sim.step()  # step "a"

    data = folded(sim).runs["w1"]["run_data"]

    assert data["status"] == "RUNNING"
    assert [r["step_name"] for r in data["step_results"]] == ["a"]
    assert data["step_executor_runs"][0]["status"] == "RUNNING"


def test_failed_and_cancelled_workflow_runs() -> None:
    failing = Workflow(
        id="f", steps=[Step(name="x", executor=boom, max_retries=0, human_review=HumanReview(on_error="fail"))]
    )
    sim = Sim([WORKFLOW, failing])
    sim.start("f", run_id="r1")
    sim.run()
    sim.start("w", run_id="r2")
    sim.cancel("r2")

    view = folded(sim)

    assert (view.runs["r1"]["status"], view.runs["r1"]["run_data"]["content"]) == (
        "ERROR",
        "Workflow execution failed: kaput",
    )
    assert (view.runs["r2"]["status"], view.runs["r2"]["run_data"]["content"]) == ("CANCELLED", "stop it")
    assert view.runs["r2"]["run_index"] == 1


def test_events_of_unknown_runs_and_redeliveries_change_nothing() -> None:
    sim = Sim([WORKFLOW])
    sim.start("w")
    sim.run()
    view = folded(sim)
    before = repr(view.runs)
    extra: list[Any] = [
        ModelRequestStarted(created_at=NOW, run_id="w1~1.0", session_id=SESSION, seq=1, part="start"),
        RunContent(created_at=NOW, run_id="w9~0", session_id=SESSION, seq=1, part="d1", content="x"),
        RunContent(created_at=NOW, run_id="w1~9", session_id=SESSION, seq=1, part="d1", content="x"),
        *sim.log,
    ]

    for event in extra:
        fold_event(view, event)

    assert repr(view.runs) == before


TEAM_STEP_KEYS = {
    "content", "content_type", "created_at", "input", "member_responses", "messages", "metrics", "model",
    "model_provider", "parent_run_id", "run_id", "session_id", "session_state", "status", "team_id",
    "team_name", "tools", "workflow_step_id",
}  # fmt: skip
"""agno's `step_executor_runs` entry of a team step (fixtures/agno-workflows/team_step.json), less
`model_provider_data`, which only a provider's answer carries."""


def test_a_team_step_is_one_team_entry_with_its_members_inside() -> None:
    sim = Sim([Workflow(id="w", name="W", steps=[Step(name="t", team=TEAM), fa])])
    sim.start("w", "hello")
    answer_leaders(sim)

    view = folded(sim)

    assert list(view.runs) == ["w1"]  # neither the team run nor its member run has a row of its own
    (team_run,) = view.runs["w1"]["run_data"]["step_executor_runs"]
    assert {k for k, v in team_run.items() if v is not None} == TEAM_STEP_KEYS  # agno's to_dict() drops None
    assert (team_run["run_id"], team_run["team_id"], team_run["team_name"]) == ("w1~0", "tm", "TM")
    assert (team_run["parent_run_id"], team_run["status"], team_run["content"]) == (
        "w1",
        "COMPLETED",
        "team says hello",
    )
    (member,) = team_run["member_responses"]
    assert (member["agent_id"], member["parent_run_id"], member["content"]) == ("m1", "w1~0", "m1(do hello)")
    assert view.sessions[SESSION]["session_data"]["session_metrics"]["total_tokens"] == 10  # the team run's


def counter(si: StepInput, run_context: RunContext) -> str:
    run_context.session_state["n"] = run_context.session_state.get("n", 0) + 1
    return "counted"


def test_the_sessions_state_follows_the_log() -> None:
    sim = Sim([Workflow(id="w", steps=[counter], session_state={"n": 10, "k": "v"})])
    sim.start("w", run_id="r0", session_state={"x": 1})
    started = folded(sim).sessions[SESSION]["session_data"]["session_state"]
    sim.run()
    sim.start("w", run_id="r1", session_state={"x": 2})
    sim.run()
    view = folded(sim)
    late = next(e for e in sim.log if e.event == "SessionStateUpdated" and e.run_id == "r0")

    fold_event(view, late)  # a redelivered update of an ended run

    assert started == {"n": 10, "k": "v", "x": 1}
    assert view.sessions[SESSION]["session_data"]["session_state"] == {"n": 12, "k": "v", "x": 2}
