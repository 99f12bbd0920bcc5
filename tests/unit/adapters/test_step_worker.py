"""The function-step worker: calls a Step's executor with its StepInput (sync in a thread, async awaited),
retries, times out, and answers one StepExecuted; the tools-topic handler routes items by kind."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from adapters.step_worker import StepExecutor, ToolTopicHandler
from adapters.tool_worker import ToolExecutor
from engine import (
    RunContext,
    RunEvent,
    Step,
    StepExecuted,
    StepInput,
    StepOutput,
    StepWork,
    ToolCallError,
    ToolWork,
    Workflow,
)

THREADS: list[str] = []
ATTEMPTS: list[int] = []


def sync_step(si: StepInput) -> str:
    THREADS.append(threading.current_thread().name)
    return f"got {si.input} after {si.get_step_content('a')}"


async def async_step(_si: StepInput) -> StepOutput:
    await asyncio.sleep(0)
    return StepOutput(content={"k": 1}, stop=True)


def flaky(_si: StepInput) -> str:
    ATTEMPTS.append(1)
    if len(ATTEMPTS) < 3:
        raise ValueError("not yet")
    return "finally"


def broken(_si: StepInput) -> str:
    raise RuntimeError()


def slow(_si: StepInput) -> str:
    import time

    time.sleep(0.3)
    return "late"


SEEN: list[RunContext] = []


def stateful(si: StepInput, run_context: RunContext) -> str:
    SEEN.append(run_context)
    state = run_context.session_state
    state["n"] += 1
    state["d"]["x"] = 1  # a nested change: the whole top-level key is recorded
    del state["gone"]
    state["obj"] = object()  # not JSON: recorded as its str(), as agno stores it
    return "ok"


async def async_stateful(_si: StepInput, run_context: RunContext) -> str:
    run_context.session_state["a"] = "async"
    return "ok"


def stateful_then_broken(_si: StepInput, run_context: RunContext) -> str:
    run_context.session_state["n"] = 99
    raise RuntimeError("half done")


WORKFLOW = Workflow(
    id="w",
    name="W",
    steps=[
        Step(name="sync", executor=sync_step),
        Step(name="async", executor=async_step),
        Step(name="flaky", executor=flaky, max_retries=2),
        Step(name="broken", executor=broken, max_retries=1),
        Step(name="slow", executor=slow),
        Step(name="stateful", executor=stateful),
        Step(name="async_stateful", executor=async_stateful),
        Step(name="half", executor=stateful_then_broken, max_retries=1),
    ],
)


def work(
    path: str, max_retries: int = 0, workflow_id: str = "w", state: dict[str, Any] | None = None, **step_input: Any
) -> StepWork:
    return StepWork(
        run_id="w1", session_id="s1", agent_id="", seq=7, created_at=1, workflow_id=workflow_id, path=path,
        step_input=StepInput(**step_input).to_dict(), max_retries=max_retries, session_state=state or {},
        user_id="u1",
    )  # fmt: skip


async def no_emit(_events: Sequence[RunEvent]) -> None:
    raise AssertionError("a step emits no progress")


async def answer(item: StepWork, timeout_s: float = 5.0) -> StepExecuted:
    (event,) = await StepExecutor({"w": WORKFLOW}, timeout_s=timeout_s).execute(item, no_emit)
    assert isinstance(event, StepExecuted)
    assert (event.run_id, event.seq, event.part, event.path) == ("w1", 7, "done", item.path)
    return event


async def test_a_sync_executor_runs_in_a_thread_with_its_step_input() -> None:
    previous = {"a": StepOutput(step_name="a", content="A")}

    event = await answer(work("0", input="hi", previous_step_outputs=previous))

    assert event.output == StepOutput(content="got hi after A")
    assert (event.attempts, event.error, event.workflow_name) == (1, None, "W")
    assert THREADS[-1] != threading.current_thread().name


async def test_an_async_executor_is_awaited_and_its_step_output_kept() -> None:
    event = await answer(work("1"))
    assert event.output == StepOutput(content={"k": 1}, stop=True)


async def test_a_raising_executor_is_retried_then_answers_its_last_error() -> None:
    ATTEMPTS.clear()
    assert (await answer(work("2", max_retries=2))).output == StepOutput(content="finally")
    assert len(ATTEMPTS) == 3

    failed = await answer(work("3", max_retries=1))
    assert (failed.output, failed.error, failed.attempts) == (None, "RuntimeError", 2)


async def test_a_slow_executor_times_out() -> None:
    event = await answer(work("4"), timeout_s=0.05)
    assert event.error == "step slow timed out after 0.05s"


@pytest.mark.parametrize(("workflow_id", "path"), [("nope", "0"), ("w", "9")])
async def test_an_unknown_step_is_answered_with_an_error(workflow_id: str, path: str) -> None:
    (event,) = await StepExecutor({"w": WORKFLOW}).execute(work(path, workflow_id=workflow_id), no_emit)
    assert isinstance(event, StepExecuted)
    assert event.error == f"workflow {workflow_id!r} has no function step at {path!r}"


async def test_the_tools_topic_handler_routes_by_kind() -> None:
    handler = ToolTopicHandler(ToolExecutor({}), StepExecutor({"w": WORKFLOW}))
    tool = ToolWork(run_id="r1", session_id="s1", agent_id="nobody", seq=1, created_at=1, tool_name="t")

    (step_answer,) = await handler.execute(work("0"), no_emit)
    (tool_answer,) = await handler.execute(tool, no_emit)

    assert isinstance(step_answer, StepExecuted)
    assert isinstance(tool_answer, ToolCallError)


async def test_a_function_with_run_context_gets_a_copy_of_the_state_and_its_changes_are_answered() -> None:
    state = {"n": 1, "d": {"a": 1}, "gone": True, "same": [1]}

    event = await answer(work("5", state=state))

    context = SEEN[-1]
    assert (context.run_id, context.session_id, context.user_id, context.workflow_id) == ("w1", "s1", "u1", "w")
    assert context.workflow_name == "W"
    assert state == {"n": 1, "d": {"a": 1}, "gone": True, "same": [1]}  # the work item's state is untouched
    assert event.state_changes is not None
    assert {k: v for k, v in event.state_changes.items() if k != "obj"} == {"n": 2, "d": {"a": 1, "x": 1}}
    assert event.state_changes["obj"].startswith("<object object")
    assert event.state_removed == ("gone",)


async def test_an_async_function_gets_a_run_context_and_others_answer_no_state() -> None:
    assert (await answer(work("6"))).state_changes == {"a": "async"}
    plain = await answer(work("0", input="hi"))
    assert (plain.state_changes, plain.state_removed) == (None, ())


async def test_a_failed_functions_changes_are_not_kept() -> None:
    event = await answer(work("7", max_retries=1, state={"n": 1}))
    assert (event.error, event.attempts, event.state_changes) == ("half done", 2, None)
