"""The tool worker's execution of one call: sync tools off the loop, async tools awaited, both under the timeout."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from adapters.tool_worker import ToolExecutor
from engine import Agent, RunEvent, ToolCallCompleted, ToolCallError, ToolWork

pytestmark = pytest.mark.timeout(10)


class NoModel:
    """The agent's model is never called here."""

    id = "none"
    provider = "Test"
    name = "None"


async def no_emit(events: Sequence[RunEvent]) -> None:
    pass


async def call(tool: Callable[..., Any], arguments: str = '{"city": "Paris"}', timeout_s: float = 5.0) -> RunEvent:
    executor = ToolExecutor({"a": Agent(id="a", model=NoModel(), tools=[tool])}, timeout_s=timeout_s)
    work = ToolWork(
        run_id="r1",
        session_id="s1",
        agent_id="a",
        seq=2,
        created_at=1,
        tool_call_id="call-1",
        tool_name=tool.__name__,
        arguments=arguments,
    )
    (answer,) = await executor.execute(work, no_emit)
    return answer


async def test_a_sync_tool_runs_on_another_thread_and_its_result_is_the_answer() -> None:
    threads: list[int] = []

    def lookup(city: str) -> dict[str, str]:
        threads.append(threading.get_ident())
        return {"city": city, "sky": "clear"}

    answer = await call(lookup)

    assert isinstance(answer, ToolCallCompleted)
    assert answer.tool is not None
    assert answer.tool.result == '{"city":"Paris","sky":"clear"}'
    assert threads
    assert threads[0] != threading.get_ident()


async def test_a_slow_sync_tool_times_out_while_the_event_loop_keeps_running() -> None:
    ticks = 0

    def slow(city: str) -> str:
        time.sleep(0.5)
        return "late"

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        answer = await call(slow, timeout_s=0.1)
    finally:
        task.cancel()

    assert isinstance(answer, ToolCallError)
    assert answer.error == "Error: tool slow timed out after 0.1s"
    assert answer.tool is not None
    assert answer.tool.tool_call_error is True
    assert ticks >= 3  # the loop was not blocked by the sync tool


async def test_a_slow_async_tool_times_out_and_is_cancelled() -> None:
    cancelled = asyncio.Event()

    async def stuck(city: str) -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    answer = await call(stuck, timeout_s=0.05)

    assert isinstance(answer, ToolCallError)
    assert answer.error == "Error: tool stuck timed out after 0.05s"
    assert cancelled.is_set()


async def test_a_tool_that_raises_answers_with_its_error_and_a_cancelled_call_is_not_an_answer() -> None:
    def broken(city: str) -> str:
        raise ValueError(f"no weather for {city}")

    answer = await call(broken)
    assert isinstance(answer, ToolCallError)
    assert answer.error == "Error executing broken: no weather for Paris"

    started = asyncio.Event()

    async def waits(city: str) -> str:
        started.set()
        await asyncio.sleep(10)
        return "never"

    task = asyncio.create_task(call(waits))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
