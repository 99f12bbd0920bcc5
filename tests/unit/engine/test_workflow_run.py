"""Workflow runs, given-when-then through the simulator: every primitive, data passing, stop, errors, cancel."""

from __future__ import annotations

from typing import Any

import pytest

from engine import (
    Condition,
    HumanReview,
    Loop,
    ModelRequestFailed,
    ModelWork,
    Parallel,
    Router,
    RunCompleted,
    RunStarted,
    Step,
    StepInput,
    StepOutput,
    Steps,
    StepWork,
    Workflow,
    decide,
)
from tests.unit.engine.workflow_sim import NOW, SESSION, Sim, agent

WA = agent("wa", "WF Agent")


def fa(si: StepInput) -> StepOutput:
    return StepOutput(content=f"A({si.input})")


def fb(si: StepInput) -> str:
    return f"B({si.previous_step_content})"


def fc(_si: StepInput) -> str:
    return "C"


def sim_of(*steps: Any, **kwargs: Any) -> Sim:
    return Sim([Workflow(id="w", name="W", steps=list(steps), **kwargs)])


def decided(sim: Sim) -> list[str]:
    """Names of the orchestrator's decisions (worker events left out), in log order."""
    return [e.event for e in sim.log if not e.part]


def completed(sim: Sim) -> Any:
    return sim.last("WorkflowCompleted")


# ------------------------------------------------------------------------------------------------ Step


def test_an_agent_step_runs_as_a_child_run_in_the_captures_order() -> None:
    sim = sim_of(Step(name="forecast", agent=WA))

    sim.start("w", "Weather in Paris?")
    sim.run()

    assert sim.names() == [
        "WorkflowStarted", "StepStarted", "RunStarted", "ModelRequestCompleted", "RunContentCompleted",
        "RunCompleted", "StepCompleted", "WorkflowCompleted",
    ]  # fmt: skip
    started = sim.last("RunStarted")
    assert started.run_id == "w1~0"
    agno = started.to_agno()
    assert {k: agno[k] for k in ("workflow_id", "workflow_run_id", "step_name", "step_index")} == {
        "workflow_id": "w", "workflow_run_id": "w1", "step_name": "forecast", "step_index": 0,
    }  # fmt: skip
    assert agno["step_id"] == sim.last("StepStarted").step_id
    done = sim.last("RunCompleted")
    assert done.session_state == {"current_session_id": SESSION, "current_run_id": "w1"}
    assert done.metadata == {}
    response = sim.last("StepCompleted").step_response
    assert (response.step_run_id, response.executor_type, response.executor_name) == ("w1~0", "agent", "WF Agent")
    assert response.content == "wa(Weather in Paris?)"
    end = completed(sim)
    assert end.content == "wa(Weather in Paris?)"
    assert end.metrics["steps"]["forecast"]["executor_name"] == "WF Agent"
    assert end.metrics["steps"]["forecast"]["metrics"]["total_tokens"] == 5
    assert "w1" not in sim.state.workflows
    assert "w1" in sim.state.finished


def test_a_function_step_is_a_work_item_answered_by_the_tool_worker() -> None:
    sim = sim_of(Step(name="a", executor=fa), fc)

    sim.start("w", "hello", additional_data={"k": 1})
    work = sim.outstanding[0]
    sim.run()

    assert isinstance(work, StepWork)
    assert (work.run_id, work.path, work.max_retries) == ("w1", "0", 3)
    assert work.step_input["input"] == "hello"
    assert work.step_input["additional_data"] == {"k": 1}
    assert sim.names() == [
        "WorkflowStarted", "StepStarted", "StepOutput", "StepCompleted", "StepStarted", "StepOutput",
        "StepCompleted", "WorkflowCompleted",
    ]  # fmt: skip
    first = sim.last("StepOutput").step_output
    assert (first.step_name, first.executor_type, first.executor_name, first.content) == ("fc", "function", "fc", "C")
    assert "step_id" not in sim.last("StepOutput").to_agno()  # as agno sends it
    assert [o.content for o in completed(sim).step_results] == ["A(hello)", "C"]
    assert completed(sim).metrics["steps"] == {}


def test_step_input_passes_previous_outputs_to_functions_and_agents() -> None:
    seen: list[StepInput] = []

    def probe(si: StepInput) -> str:
        seen.append(si)
        return f"{si.get_step_content('a')}+{si.previous_step_content}"

    sim = sim_of(Step(name="a", executor=fa), Step(name="ask", agent=WA), Step(name="probe", executor=probe))
    sim.start("w", "hi")
    sim.run()

    assert sim.last("RunStarted").input == "A(hi)"  # the agent's message: the previous step's content
    si = seen[0]
    assert list(si.previous_step_outputs or {}) == ["a", "ask"]
    assert si.previous_step_content == "wa(A(hi))"
    assert completed(sim).content == "A(hi)+wa(A(hi))"


def test_an_agent_first_step_gets_the_workflow_input_and_an_empty_input_gives_an_empty_message() -> None:
    sim = sim_of(Step(name="ask", agent=WA))
    sim.start("w", "")
    assert sim.last("RunStarted").input == ""


# ------------------------------------------------------------------------------------------------ Steps


def test_steps_run_their_children_in_sequence_inside_started_and_completed() -> None:
    sim = sim_of(Steps(name="grp", steps=[Step(name="a", executor=fa), Step(name="b", executor=fb)]))
    sim.start("w")
    sim.run()

    assert sim.names() == [
        "WorkflowStarted", "StepsExecutionStarted", "StepStarted", "StepCompleted", "StepStarted",
        "StepCompleted", "StepsExecutionCompleted", "WorkflowCompleted",
    ]  # fmt: skip
    group = sim.last("StepsExecutionStarted")
    child = next(e for e in sim.log if e.event == "StepStarted")
    assert child.step_index == [0, 0]
    assert child.parent_step_id == group.step_id
    done = sim.last("StepsExecutionCompleted")
    assert (done.steps_count, done.executed_steps) == (2, 2)
    assert [o.content for o in done.step_results] == ["A(hello)", "B(A(hello))"]
    assert completed(sim).step_results[0].content == "Steps grp completed with 2 results"
    assert completed(sim).content == "B(A(hello))"


# ------------------------------------------------------------------------------------------------ Parallel


def parallel_sim() -> Sim:
    return sim_of(
        Parallel(Step(name="p1", agent=WA), Step(name="p2", executor=fb), Step(name="p3", executor=fc), name="par"),
        Step(name="after", executor=lambda si: repr(si.get_step_content("par"))),
    )


@pytest.mark.parametrize("order", ["fifo", "lifo"])
def test_parallel_branches_start_together_and_join_in_declaration_order(order: str) -> None:
    sim = parallel_sim()

    sim.start("w")

    assert sorted(type(w).__name__ for w in sim.outstanding) == ["ModelWork", "StepWork", "StepWork"]
    sim.run((lambda _w: 0) if order == "fifo" else (lambda w: len(w) - 1))
    done = sim.last("ParallelExecutionCompleted")
    assert [o.step_name for o in done.step_results] == ["p1", "p2", "p3"]
    assert done.output.content == (
        "## Parallel Execution Results\n\n### ✅ SUCCESS: p1\nwa(hello)\n\n### ✅ SUCCESS: p2\nB(None)\n\n"
        "### ✅ SUCCESS: p3\nC"
    )
    assert completed(sim).content == "{'p1': 'wa(hello)', 'p2': 'B(None)', 'p3': 'C'}"
    indexes = [e.step_index for e in sim.log if e.event == "StepStarted"]
    assert indexes == [[0, 0], [0, 1], [0, 2], 1]


def test_the_join_is_the_same_whatever_order_the_branches_finish_in() -> None:
    fifo, lifo = parallel_sim(), parallel_sim()
    for sim, pick in ((fifo, lambda _w: 0), (lifo, lambda w: len(w) - 1)):
        sim.start("w")
        sim.run(pick)

    assert completed(fifo).to_agno() == completed(lifo).to_agno()
    assert fifo.names() != lifo.names()  # the branches' events interleave differently


# ------------------------------------------------------------------------------------------------ Condition


@pytest.mark.parametrize(
    ("verdict", "branch", "ran"),
    [(True, "if", "A(hello)"), (False, "else", "B(None)")],
)
def test_a_condition_runs_the_branch_its_evaluator_chose(verdict: bool, branch: str, ran: str) -> None:
    calls: list[StepInput] = []

    def evaluator(si: StepInput) -> bool:
        calls.append(si)
        return verdict

    sim = sim_of(Condition(name="c", evaluator=evaluator, steps=[fa], else_steps=[fb]))
    sim.start("w")
    sim.run()

    assert sim.last("ConditionExecutionStarted").condition_result is verdict
    done = sim.last("ConditionExecutionCompleted")
    assert (done.branch, done.executed_steps, [o.content for o in done.step_results]) == (branch, 1, [ran])
    assert completed(sim).step_results[0].content == f"Condition c completed with 1 results ({branch} branch)"
    assert len(calls) == 1  # evaluated once, then read from the recorded event


def test_a_false_condition_without_else_runs_nothing_and_leaves_no_result() -> None:
    sim = sim_of(Condition(name="c", evaluator=False, steps=[fa]), fc)
    sim.start("w")
    sim.run()

    done = sim.last("ConditionExecutionCompleted")
    assert "branch" not in done.to_agno()
    assert done.to_agno()["step_results"] == []
    assert [o.step_name for o in completed(sim).step_results] == ["fc"]


def test_a_condition_evaluator_answering_a_non_bool_counts_as_false() -> None:
    sim = sim_of(Condition(name="c", evaluator=lambda _si: "yes", steps=[fa], else_steps=[fb]))  # type: ignore[arg-type,return-value]
    sim.start("w")
    sim.run()
    assert sim.last("ConditionExecutionStarted").condition_result is False


# ------------------------------------------------------------------------------------------------ Loop


def test_a_loop_runs_max_iterations_without_an_end_condition() -> None:
    sim = sim_of(Loop(name="lp", steps=[Step(name="a", executor=fa), Step(name="b", executor=fb)], max_iterations=3))
    sim.start("w")
    sim.run()

    assert sim.names().count("LoopIterationStarted") == 3
    flags = [e.should_continue for e in sim.log if e.event == "LoopIterationCompleted"]
    assert flags == [True, True, True]  # agno does not flag the last iteration
    done = sim.last("LoopExecutionCompleted")
    assert (done.total_iterations, len(done.all_results)) == (3, 3)
    assert done.output.content == "Loop lp completed 3 iterations with 6 total steps"
    starts = [e for e in sim.log if e.event == "StepStarted"]
    assert {e.step_id for e in starts[::2]} == {starts[0].step_id}  # a step keeps its id across iterations
    assert [e.path for e in starts] == ["0@1.0", "0@1.1", "0@2.0", "0@2.1", "0@3.0", "0@3.1"]


def test_a_loop_ends_when_its_end_condition_says_so() -> None:
    seen: list[list[StepOutput]] = []

    def enough(outputs: list[StepOutput]) -> bool:
        seen.append(outputs)
        return len(seen) == 2

    sim = sim_of(Loop(name="lp", steps=[fa], max_iterations=5, end_condition=enough))
    sim.start("w")
    sim.run()

    assert [e.should_continue for e in sim.log if e.event == "LoopIterationCompleted"] == [True, False]
    assert sim.last("LoopExecutionCompleted").total_iterations == 2
    assert [[o.content for o in outs] for outs in seen] == [["A(hello)"], ["A(hello)"]]


def test_a_failing_end_condition_lets_the_loop_go_on_and_forwarding_chains_iterations() -> None:
    def broken(_outputs: list[StepOutput]) -> bool:
        raise RuntimeError("nope")

    sim = sim_of(Loop(name="lp", steps=[fb], max_iterations=3, end_condition=broken, forward_iteration_output=True))
    sim.start("w")
    sim.run()

    assert completed(sim).content == "B(B(B(None)))"


# ------------------------------------------------------------------------------------------------ Router


@pytest.mark.parametrize(
    ("answer", "chosen"),
    [
        ("b", ["b"]),
        (Step(name="a", executor=fc), ["a"]),
        (["b", "a", "b", "zzz"], ["b", "a"]),
        ("zzz", []),
        (None, []),
    ],
)
def test_a_router_runs_the_choices_its_selector_names(answer: Any, chosen: list[str]) -> None:
    router = Router(
        name="r", selector=lambda _si: answer, choices=[Step(name="a", executor=fa), Step(name="b", executor=fb)]
    )
    sim = sim_of(router)
    sim.start("w")
    sim.run()

    assert list(sim.last("RouterExecutionStarted").selected_steps) == chosen
    assert [e.step_name for e in sim.log if e.event == "StepCompleted"] == chosen
    assert all(e.step_index == 0 for e in sim.log if e.event == "StepStarted")  # agno keeps the router's index
    assert len(completed(sim).step_results) == (1 if chosen else 0)


def test_a_router_without_selector_runs_nothing() -> None:
    sim = sim_of(Router(name="r", choices=[fa]), fc)
    sim.start("w")
    sim.run()
    assert sim.last("RouterExecutionCompleted").executed_steps == 0


# ------------------------------------------------------------------------------------------------ stop


def test_a_top_level_step_asking_to_stop_ends_the_workflow_after_its_step_output() -> None:
    sim = sim_of(Step(name="halt", executor=lambda _si: StepOutput(content="halt", stop=True)), fc)
    sim.start("w")
    sim.run()

    assert sim.names() == ["WorkflowStarted", "StepStarted", "StepOutput", "WorkflowCompleted"]
    assert completed(sim).content == "halt"


def test_a_step_asking_to_stop_inside_a_loop_ends_the_loop_and_the_workflow() -> None:
    stopper = Step(name="halt", executor=lambda _si: StepOutput(content="halt", stop=True))
    sim = sim_of(Loop(name="lp", steps=[stopper, fc], max_iterations=3), fc)
    sim.start("w")
    sim.run()

    assert sim.last("LoopIterationCompleted").should_continue is False
    assert sim.last("LoopExecutionCompleted").output.stop is True
    assert sim.calls == ["0@1.0"]
    assert completed(sim).content == "halt"


# ------------------------------------------------------------------------------------------------ errors


def boom(_si: StepInput) -> str:
    raise RuntimeError("kaput")


def test_a_failing_step_with_on_error_fail_ends_the_run_with_workflow_error() -> None:
    sim = sim_of(fa, Step(name="x", executor=boom, max_retries=1, human_review=HumanReview(on_error="fail")), fc)
    sim.start("w")
    sim.run()

    assert sim.names()[-2:] == ["StepError", "WorkflowError"]
    assert sim.last("WorkflowError").error == "kaput"
    assert sim.calls == ["0", "1", "1"]  # one retry
    assert "w1" in sim.state.finished


def test_a_failing_step_is_skipped_by_default_and_the_run_goes_on() -> None:
    sim = sim_of(Step(name="x", executor=boom, max_retries=0), fb)
    sim.start("w")
    sim.run()

    assert "StepCompleted" in sim.names()
    assert "StepError" not in sim.names()
    results = completed(sim).step_results
    first = (results[0].content, results[0].success, results[0].error)
    assert first == ("Step skipped due to error: kaput", False, "kaput")
    assert results[1].content == "B(Step skipped due to error: kaput)"


def test_skip_on_failure_and_a_failing_parallel_branch_get_agnos_texts() -> None:
    sim = sim_of(
        Parallel(
            Step(name="x", executor=boom, max_retries=0),
            Step(name="y", executor=boom, max_retries=0, skip_on_failure=True),
        )
    )
    sim.start("w")
    sim.run()

    results = sim.last("ParallelExecutionCompleted").step_results
    assert [r.content for r in results] == ["Step x failed: kaput", "Step y failed but skipped"]
    assert "### ❌ FAILURE: x" in sim.last("ParallelExecutionCompleted").output.content


def test_a_retried_step_that_succeeds_completes() -> None:
    attempts: list[int] = []

    def flaky(_si: StepInput) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("again")
        return "ok"

    sim = sim_of(Step(name="f", executor=flaky, max_retries=2))
    sim.start("w")
    sim.run()
    assert completed(sim).content == "ok"
    assert len(attempts) == 3


def failing_agent_sim(**step: Any) -> Sim:
    sim = sim_of(Step(name="ask", agent=WA, **step), fc)
    sim.start("w")
    work = sim.outstanding.pop()
    assert isinstance(work, ModelWork)
    sim.apply(
        ModelRequestFailed(
            created_at=NOW, run_id=work.run_id, session_id=SESSION, seq=work.seq, part="done", error="provider down"
        )
    )
    sim.run()
    return sim


def test_a_failed_agent_step_completes_unsuccessfully_and_the_run_goes_on() -> None:
    sim = failing_agent_sim()
    response = sim.last("StepCompleted")
    first = next(e for e in sim.log if e.event == "StepCompleted").step_response
    assert (first.success, first.error, first.content) == (False, "provider down", "provider down")
    assert response.step_name == "fc"
    assert "WorkflowCompleted" in sim.names()


def test_a_failed_agent_step_with_on_error_fail_ends_the_run() -> None:
    sim = failing_agent_sim(human_review=HumanReview(on_error="fail"))
    assert sim.names()[-3:] == ["StepCompleted", "StepError", "WorkflowError"]


def test_a_failing_step_inside_a_parallel_cancels_the_running_siblings() -> None:
    sim = sim_of(
        Parallel(
            Step(name="slow", agent=WA),
            Step(name="x", executor=boom, max_retries=0, human_review=HumanReview(on_error="fail")),
        )
    )
    sim.start("w")
    sim.step(1)  # the function answers first

    assert decided(sim)[-3:] == ["StepError", "WorkflowError", "RunCancelled"]
    assert [e.event for e in sim.log if e.run_id == "w1~0.0"][-1] == "RunCancelled"
    sim.run()  # the slow agent's late answer decides nothing
    assert decided(sim)[-1] == "RunCancelled"


@pytest.mark.parametrize(
    "node",
    [
        Condition(name="c", evaluator=boom, steps=[fa]),  # type: ignore[arg-type]
        Router(name="r", selector=boom, choices=[fa]),
    ],
)
def test_a_raising_evaluator_or_selector_ends_the_run(node: Any) -> None:
    sim = sim_of(node)
    sim.start("w")
    assert sim.names() == ["WorkflowStarted", "WorkflowError"]
    assert "kaput" in (sim.last("WorkflowError").error or "")
    assert sim.last("WorkflowError").error_type == "RuntimeError"


def test_an_unknown_workflow_and_a_duplicate_start_are_answered_like_agent_runs() -> None:
    sim = sim_of(fa)
    sim.start("nope")
    assert sim.names() == ["WorkflowError"]
    assert sim.last("WorkflowError").seq == 0
    assert sim.last("WorkflowError").error_type == "UnknownWorkflowError"
    assert sim.start("w") == []  # the run id already ended

    other = sim_of(Step(name="s", executor=fc))
    other.start("w")
    assert other.start("w") == []


def test_a_workflow_unregistered_mid_run_ends_with_workflow_error() -> None:
    sim = sim_of(fa, fc)
    sim.start("w")
    work = sim.outstanding.pop()
    answer = sim.answer(work)
    sim.workflows = []

    events = decide(sim.state, answer, sim.ctx).events

    assert [e.event for e in events] == ["WorkflowError"]


def test_a_step_whose_agent_is_not_registered_ends_the_run() -> None:
    sim = sim_of(Step(name="ask", agent=WA))
    ctx = sim.ctx
    from dataclasses import replace

    from engine import StartWorkflow

    command = StartWorkflow(run_id="w1", session_id=SESSION, created_at=NOW, workflow_id="w", message="hi")
    events = decide(sim.state, command, replace(ctx, agents={})).events
    assert [e.event for e in events] == ["WorkflowStarted", "StepStarted", "WorkflowError"]


# ------------------------------------------------------------------------------------------------ cancel


def test_cancel_ends_the_running_step_runs_and_the_workflow() -> None:
    sim = parallel_sim()
    sim.start("w")
    sim.step(1)  # p2 done; p1 (agent) and p3 still running

    events = sim.cancel()

    assert [e.event for e in events] == ["WorkflowCancelled", "RunCancelled"]
    assert events[1].run_id == "w1~0.0"
    assert events[1].to_agno()["workflow_run_id"] == "w1"
    assert events[0].reason == "stop it"
    sim.run()  # late answers are ignored
    assert decided(sim)[-2:] == ["WorkflowCancelled", "RunCancelled"]
    assert sim.cancel() == []


def test_late_answers_of_a_finished_step_run_route_nowhere() -> None:
    sim = sim_of(Step(name="ask", agent=WA))
    sim.start("w")
    sim.cancel()
    assert not any(isinstance(e, RunCompleted | RunStarted) and e.seq > 0 for e in sim.log)


# ------------------------------------------------------------------------------------------------ registry drift


def test_step_runs_finishing_after_their_workflow_was_unregistered() -> None:
    sim = sim_of(Parallel(Step(name="p1", agent=WA), Step(name="p2", agent=WA)))
    sim.start("w")
    sim.workflows = []

    sim.step()  # the first agent run ends: its workflow is gone from the registry
    assert decided(sim)[-1] == "WorkflowError"
    assert sim.last("WorkflowError").error_type == "UnknownWorkflowError"
    sim.step()  # the second one ends after the run ended: nothing is routed to it
    assert decided(sim)[-2:] == ["RunContentCompleted", "RunCompleted"]


@pytest.mark.parametrize("first", [Step(name="f", executor=fc), Step(name="f", agent=WA)])
def test_a_changed_definition_ends_the_run_instead_of_guessing(first: Step) -> None:
    sim = sim_of(first)
    sim.start("w")
    answer = sim.answer(sim.outstanding.pop())  # the worker ran the old definition's step
    sim.workflows = [Workflow(id="w", steps=[Steps(name="other", steps=[fc])])]

    sim.apply(answer)

    assert sim.last("WorkflowError").error_type == "ConfigurationError"
    assert "definition changed" in (sim.last("WorkflowError").error or "")


def test_an_agent_after_an_empty_output_gets_the_workflow_input() -> None:
    sim = sim_of(Step(name="blank", executor=lambda _si: ""), Step(name="ask", agent=WA))
    sim.start("w", "the input")
    sim.run()
    assert sim.last("RunStarted").input == "the input"


def test_a_parallel_whose_branch_cannot_start_ends_the_run_at_once() -> None:
    from dataclasses import replace

    from engine import StartWorkflow

    sim = sim_of(Parallel(Step(name="ask", agent=WA), fc))
    command = StartWorkflow(run_id="w1", session_id=SESSION, created_at=NOW, workflow_id="w", message="hi")
    events = decide(sim.state, command, replace(sim.ctx, agents={})).events
    assert [e.event for e in events] == ["WorkflowStarted", "ParallelExecutionStarted", "StepStarted", "WorkflowError"]


def test_step_work_and_workflow_started_in_the_wrong_session() -> None:
    from engine import EventSequenceError, SessionState, WorkflowStarted, decode_work, evolve

    sim = sim_of(fa)
    sim.start("w")
    work = sim.outstanding[0]
    assert decode_work(work.to_dict()) == work
    started = WorkflowStarted(created_at=NOW, run_id="w9", session_id="other", seq=0, workflow_id="w")
    with pytest.raises(EventSequenceError, match="other"):
        evolve(SessionState(session_id=SESSION), started)


def test_a_parallel_branch_that_ran_nothing_leaves_no_result() -> None:
    sim = sim_of(Parallel(Condition(name="c", evaluator=False, steps=[fa]), Step(name="f", executor=fc), name="par"))
    sim.start("w")
    sim.run()
    assert [o.step_name for o in sim.last("ParallelExecutionCompleted").step_results] == ["f"]


def test_a_paused_step_run_is_continued_by_its_own_run_id_and_the_workflow_goes_on() -> None:
    from engine import (
        Agent,
        ContinueRun,
        Message,
        ModelRequestCompleted,
        Tool,
        ToolCall,
        ToolCallCompleted,
        ToolExecution,
        ToolWork,
        message_id,
    )

    def delete_file(path: str) -> str:
        """Delete a file.

        Args:
            path: the file.
        """
        return f"deleted {path}"

    hitl = Agent(id="hitl", model=WA.model, tools=[Tool.from_callable(delete_file, requires_confirmation=True)])
    sim = sim_of(Step(name="ask", agent=hitl), fc)
    sim.start("w")
    work = sim.outstanding.pop()
    call = ToolCall(id="c1", name="delete_file", arguments='{"path": "x"}')
    message = Message(id=message_id(work.run_id, work.seq), role="assistant", tool_calls=(call,), created_at=NOW)
    sim.apply(
        ModelRequestCompleted(
            created_at=NOW, run_id=work.run_id, session_id=SESSION, seq=work.seq, part="done", message=message
        )
    )
    assert decided(sim)[-1] == "RunPaused"  # the step's run waits for a human; the workflow waits for the step

    sim.apply(
        ContinueRun(
            run_id="w1~0", session_id=SESSION, created_at=NOW,
            tools=(ToolExecution(tool_call_id="c1", tool_name="delete_file", confirmed=True),),
        )
    )  # fmt: skip
    tool_work = sim.outstanding.pop()
    assert isinstance(tool_work, ToolWork)
    done = ToolExecution(tool_call_id="c1", tool_name="delete_file", tool_args={"path": "x"}, result="deleted x")
    sim.apply(
        ToolCallCompleted(
            created_at=NOW, run_id=tool_work.run_id, session_id=SESSION, seq=tool_work.seq, part="done", tool=done
        )
    )
    sim.run()

    assert completed(sim).content == "C"
    assert completed(sim).step_results[0].content == "hitl(hello)"
