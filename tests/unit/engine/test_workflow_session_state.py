"""Workflow session state as agno keeps it: the workflow's defaults, the run's `session_state` deep-merged over
the session's stored state, function steps changing it through `run_context`, the session keeping it for the
next run; every change recorded in the log, so a fold or a replay rebuilds it without calling a function."""

from __future__ import annotations

from typing import Any

import pytest

from engine import Parallel, RunContext, SessionState, Step, StepInput, Workflow, replay_check
from engine.workflow_steps import apply_state_changes, initial_session_state
from tests.unit.engine.test_workflow_replay import fold
from tests.unit.engine.workflow_sim import Sim

# the numbers agno's own capture produced (fixtures/agno-workflows/session_state.json)
DEFAULTS = {"n": 10, "d": {"a": 1}}


def count(step_input: StepInput, run_context: RunContext) -> str:
    state = run_context.session_state
    state["n"] = state.get("n", 0) + 1
    state.setdefault("seen", []).append(step_input.input)
    return f"n={state['n']}"


def plain(_si: StepInput) -> str:
    return "plain"


def counting(**kwargs: Any) -> Workflow:
    return Workflow(id="w", name="W", steps=[Step(name="a", executor=count), plain], **kwargs)


def test_defaults_the_run_argument_and_a_functions_changes_make_the_sessions_state() -> None:
    sim = Sim([counting(session_state=DEFAULTS)])

    sim.start("w", message="run0", run_id="r0", session_state={"d": {"b": 2}})
    sim.run()
    started = sim.last("WorkflowStarted")
    assert started.session_state == {"n": 10, "d": {"a": 1, "b": 2}}
    assert sim.last("WorkflowCompleted").content == "plain"
    assert [e.event for e in sim.log if e.event == "SessionStateUpdated"] == ["SessionStateUpdated"]
    assert sim.state.workflow_session_state == {"n": 11, "d": {"a": 1, "b": 2}, "seen": ["run0"]}

    sim.start("w", message="run1", run_id="r1")
    sim.run()

    assert sim.last("WorkflowStarted").session_state == {"n": 11, "d": {"a": 1, "b": 2}, "seen": ["run0"]}
    assert sim.state.workflow_session_state == {"n": 12, "d": {"a": 1, "b": 2}, "seen": ["run0", "run1"]}
    assert "session_state" not in sim.last("WorkflowCompleted").to_agno()  # agno's event has none either
    assert DEFAULTS == {"n": 10, "d": {"a": 1}}  # the definition's defaults are never changed


def test_the_state_is_rebuilt_from_the_log_and_replayed_without_calling_functions() -> None:
    sim = Sim([counting(session_state=DEFAULTS)])
    for i in range(2):
        sim.start("w", message=f"run{i}", run_id=f"r{i}")
        sim.run()
    calls = list(sim.calls)

    rebuilt = fold(sim.records())
    report = replay_check(sim.records(), {}, workflows={"w": counting(session_state=DEFAULTS)})

    assert rebuilt.workflow_session_state == {"n": 12, "d": {"a": 1}, "seen": ["run0", "run1"]}
    assert report.ok, report.divergences[:1]
    assert report.sessions["s1"].workflow_session_state == rebuilt.workflow_session_state
    assert sim.calls == calls  # neither the fold nor the replay ran a step


def test_a_replay_reports_a_changed_default_where_the_started_state_diverges() -> None:
    sim = Sim([counting(session_state=DEFAULTS)])
    sim.start("w")
    sim.run()

    report = replay_check(sim.records(), {}, workflows={"w": counting(session_state={"n": 0})})

    assert not report.ok
    assert (report.divergences[0].run_id, report.divergences[0].seq) == ("w1", 0)


def test_functions_without_run_context_leave_the_state_alone() -> None:
    sim = Sim([Workflow(id="w", steps=[plain], session_state={"k": 1})])
    sim.start("w")
    sim.run()

    assert not any(e.event == "SessionStateUpdated" for e in sim.log)
    assert sim.state.workflow_session_state == {"k": 1}
    assert sim.outstanding == []


def setter(key: str) -> Any:
    def set_key(_si: StepInput, run_context: RunContext) -> str:
        run_context.session_state[key] = key.upper()
        run_context.session_state.pop("gone", None)
        return key

    set_key.__name__ = f"set_{key}"
    return set_key


@pytest.mark.parametrize("order", ["declared", "reversed"])
def test_parallel_branches_keep_each_others_changes(order: str) -> None:
    wf = Workflow(id="w", steps=[Parallel(setter("x"), setter("y"), name="par")], session_state={"gone": 1, "k": 0})
    sim = Sim([wf])
    sim.start("w")

    sim.run(lambda work: 0 if order == "declared" else len(work) - 1)

    assert sim.state.workflow_session_state == {"k": 0, "x": "X", "y": "Y"}


def test_a_session_whose_state_was_emptied_is_not_given_the_defaults_again() -> None:
    def clear(_si: StepInput, run_context: RunContext) -> str:
        run_context.session_state.clear()
        return "cleared"

    sim = Sim([Workflow(id="w", steps=[clear], session_state={"k": 1})])
    sim.start("w", run_id="r0")
    sim.run()
    sim.start("w", run_id="r1", session_state={"j": 2})

    assert sim.last("WorkflowStarted").session_state == {"j": 2}


def test_initial_state_and_changes_are_agnos_merges() -> None:
    assert initial_session_state(None, {"a": {"b": 1}}, {"a": {"c": 2}}) == {"a": {"b": 1, "c": 2}}
    assert initial_session_state({"a": 1}, {"z": 0}, None) == {"a": 1}
    assert initial_session_state({}, {"z": 0}, {"y": 1}) == {"y": 1}
    assert initial_session_state(None, None, None) == {}
    assert apply_state_changes({"a": 1, "b": 2, "c": 3}, {"b": 20, "d": 4}, ("c",)) == {"a": 1, "b": 20, "d": 4}


def test_a_fresh_session_state_has_no_stored_workflow_state() -> None:
    assert SessionState(session_id="s").workflow_session_state is None
