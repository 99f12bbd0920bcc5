"""Workflow runs rebuilt from the log and replay-checked: mid-Parallel and mid-Loop rebuilds continue
without executing anything twice; a replay of a recorded workflow log agrees, a changed rule is reported."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import (
    Condition,
    Loop,
    Parallel,
    Router,
    SessionState,
    Step,
    StepInput,
    StepOutput,
    Steps,
    Workflow,
    decide,
    decode_event,
    evolve,
    replay_check,
)
from tests.unit.engine.workflow_sim import SESSION, Sim, agent

WA = agent("wa", "WF Agent")


def fa(si: StepInput) -> str:
    return f"A({si.input})"


def fb(si: StepInput) -> str:
    return f"B({si.previous_step_content})"


def everything(evaluator: Any = True) -> Workflow:
    return Workflow(
        id="w",
        name="W",
        steps=[
            Step(name="first", executor=fa),
            Parallel(Step(name="p1", agent=WA), Steps(name="g", steps=[Step(name="p2", executor=fb), fb]), name="par"),
            Loop(name="lp", steps=[Step(name="l1", executor=fb), Step(name="l2", agent=WA)], max_iterations=2),
            Condition(name="c", evaluator=evaluator, steps=[Step(name="yes", executor=fa)], else_steps=[fb]),
            Router(
                name="r", selector=lambda si: "rb", choices=[Step(name="ra", executor=fa), Step(name="rb", agent=WA)]
            ),
        ],
    )


def fold(records: list[dict[str, Any]], history_limit: int = 0) -> SessionState:
    state = SessionState(session_id=SESSION, history_limit=history_limit)
    for record in records:
        state = evolve(state, decode_event(record))
    return state


def test_a_replay_of_a_workflow_log_finds_no_divergence_and_folds_the_same_state() -> None:
    sim = Sim([everything()])
    sim.start("w")
    sim.run(lambda w: len(w) - 1)

    report = replay_check(sim.records(), {}, workflows={"w": everything()})

    assert report.ok, report.divergences[:1]
    assert report.decisions_checked == sum(1 for e in sim.log if not e.part)
    assert report.runs == 1 + len({e.run_id for e in sim.log if "~" in e.run_id})
    assert report.sessions[SESSION] == sim.state
    assert fold(sim.records(), sim.state.history_limit) == sim.state


def test_a_changed_rule_is_reported_where_its_decision_diverges() -> None:
    sim = Sim([everything(evaluator=True)])
    sim.start("w")
    sim.run()

    report = replay_check(sim.records(), {}, workflows={"w": everything(evaluator=False)})

    assert [d.run_id for d in report.divergences] == ["w1"]
    divergence = report.divergences[0]
    assert divergence.expected is not None
    assert divergence.got is not None
    assert divergence.expected["event"] == "ConditionExecutionStarted"
    assert (divergence.expected["condition_result"], divergence.got["condition_result"]) == (True, False)


def test_replay_covers_cancelled_failed_and_rejected_workflow_runs() -> None:
    def boom(_si: StepInput) -> str:
        raise RuntimeError("kaput")

    from engine import HumanReview

    wf = Workflow(
        id="w",
        steps=[Parallel(WA, Step(name="x", executor=boom, max_retries=0, human_review=HumanReview(on_error="fail")))],
    )
    sim = Sim([wf])
    sim.start("w", run_id="w1")
    sim.run(lambda w: len(w) - 1)  # the failing function answers first
    sim.start("w", run_id="w2")
    sim.cancel("w2")
    sim.start("nope", run_id="w3")

    report = replay_check(sim.records(), {}, workflows={"w": wf})

    assert report.ok, report.divergences[:1]
    assert [e.event for e in sim.log if not e.part and e.run_id in ("w1", "w2", "w3") and e.is_terminal] == [
        "WorkflowError", "WorkflowCancelled", "WorkflowError",
    ]  # fmt: skip


def crash_and_rebuild(sim: Sim, workflow: Workflow) -> Sim:
    """A new orchestrator: its state folded from the log alone; the unanswered work items are redelivered."""
    rebuilt = Sim([workflow], state=fold(sim.records()), log=list(sim.log), outstanding=list(sim.outstanding))
    assert rebuilt.state == sim.state
    return rebuilt


def test_a_rebuild_mid_parallel_continues_and_executes_nothing_twice() -> None:
    wf = everything()
    sim = Sim([wf])
    sim.start("w")
    sim.step()  # "first"
    assert sim.state.workflows["w1"].started >= {"1", "1.0", "1.1", "1.1.0"}
    answered = sim.outstanding[-1]
    sim.step(len(sim.outstanding) - 1)  # p2 done, p1 (agent) still running, g's second step started

    rebuilt = crash_and_rebuild(sim, wf)
    duplicate = next(e for e in sim.log if e.part == "done" and e.seq == answered.seq and e.run_id == "w1")

    assert decide(rebuilt.state, duplicate, rebuilt.ctx).events == []
    rebuilt.run()
    assert rebuilt.last("WorkflowCompleted").run_id == "w1"
    assert sorted(sim.calls + rebuilt.calls) == sorted(set(sim.calls + rebuilt.calls))
    assert replay_check(rebuilt.records(), {}, workflows={"w": wf}).ok


def test_a_rebuild_mid_loop_continues_from_the_recorded_iteration() -> None:
    wf = everything()
    sim = Sim([wf])
    sim.start("w")
    while "0@1" not in str(sim.state.workflows["w1"].decisions) and "2@1" not in sim.state.workflows["w1"].decisions:
        sim.step()
    assert "2@2" in sim.state.workflows["w1"].started  # iteration 2 running

    rebuilt = crash_and_rebuild(sim, wf)
    rebuilt.run()

    iterations = [e.iteration for e in rebuilt.log if e.event == "LoopIterationStarted"]
    assert iterations == [1, 2]
    assert sorted(sim.calls + rebuilt.calls) == sorted(set(sim.calls + rebuilt.calls))
    assert replay_check(rebuilt.records(), {}, workflows={"w": wf}).ok


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10), min_size=40, max_size=40))
def test_any_completion_order_gives_the_same_outputs_and_a_clean_replay(picks: list[int]) -> None:
    reference = Sim([everything()])
    reference.start("w")
    reference.run()
    sim = Sim([everything()])
    sim.start("w")
    order = iter(picks)

    sim.run(lambda w: next(order, 0) % len(w))

    assert sim.last("WorkflowCompleted").to_agno() == reference.last("WorkflowCompleted").to_agno()
    assert replay_check(sim.records(), {}, workflows={"w": everything()}).ok
    seqs = [e.seq for e in sim.log if e.run_id == "w1" and not e.part]
    assert seqs == list(range(len(seqs)))


def test_step_outputs_in_recorded_events_fold_back_to_the_state() -> None:
    sim = Sim([Workflow(id="w", steps=[Step(name="s", executor=lambda _si: StepOutput(content={"k": 1}))])])
    sim.start("w")
    sim.step()
    assert sim.last("WorkflowCompleted").content == {"k": 1}
    assert fold(sim.records(), sim.state.history_limit) == sim.state
