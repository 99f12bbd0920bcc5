"""Workers append their `*Started` event while the model request or the tool call is already under way.

The append (a group commit on a loaded log) no longer delays the model call or the tool call, and the log
order is unchanged: the started event first, the stream's deltas after it, the answer last.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from adapters.model_worker import ModelExecutor
from adapters.models.base import ModelResponse, StreamUpdate, TextDelta
from adapters.tool_worker import ToolExecutor
from engine import Agent, Message, ModelRequestCompleted, ModelWork, RunEvent, Tool, ToolCallCompleted, ToolWork

pytestmark = pytest.mark.timeout(10)


class GatedModel:
    """Streams "first " at once and "second" only when `more` is set; `called` is set when streaming starts."""

    id = "gated"
    provider = "Test"
    name = "Gated"

    def __init__(self) -> None:
        self.called = asyncio.Event()
        self.more = asyncio.Event()

    async def stream(self, messages: Sequence[Message], tools: Sequence[Tool]) -> AsyncIterator[StreamUpdate]:
        self.called.set()
        yield TextDelta("first ")
        await self.more.wait()
        yield TextDelta("second")
        yield ModelResponse(content="first second")


class HeldLog:
    """An `emit` whose appends of `held` events wait for `release`; `seen` keeps what was appended, in order."""

    def __init__(self, held: str) -> None:
        self.held = held
        self.release = asyncio.Event()
        self.seen: list[RunEvent] = []
        self.changed = asyncio.Event()

    async def emit(self, events: Sequence[RunEvent]) -> None:
        if any(e.event == self.held for e in events):
            await self.release.wait()
        self.seen.extend(events)
        self.changed.set()

    async def until(self, event: str) -> None:
        while not any(e.event == event for e in self.seen):
            self.changed.clear()
            await self.changed.wait()


async def test_the_model_is_called_before_model_request_started_is_appended() -> None:
    model = GatedModel()
    executor = ModelExecutor({"a": Agent(id="a", model=model)}, content_flush_s=60.0)
    log = HeldLog("ModelRequestStarted")
    work = ModelWork(run_id="r1", session_id="s1", agent_id="a", seq=1, created_at=1, messages=())

    turn = asyncio.create_task(executor.execute(work, log.emit))
    await model.called.wait()
    await asyncio.sleep(0.01)
    assert log.seen == []  # the stream runs; its first delta waits behind the held started append

    log.release.set()
    # the first delta goes out as soon as the started append returns, without waiting for the next delta
    # (the coalescing window is 60 s and the model holds its second delta)
    await asyncio.wait_for(log.until("RunContent"), 5)
    assert [(e.event, getattr(e, "content", None)) for e in log.seen] == [
        ("ModelRequestStarted", None),
        ("RunContent", "first "),
    ]

    model.more.set()
    (answer,) = await turn
    assert isinstance(answer, ModelRequestCompleted)
    assert answer.message is not None
    assert answer.message.content == "first second"
    assert [e.event for e in log.seen] == ["ModelRequestStarted", "RunContent", "RunContent"]
    assert "".join(getattr(e, "content", "") for e in log.seen[1:]) == "first second"


async def test_a_failed_started_append_fails_the_turn() -> None:
    model = GatedModel()
    model.more.set()
    executor = ModelExecutor({"a": Agent(id="a", model=model)}, content_flush_s=0.0)

    async def broken(events: Sequence[RunEvent]) -> None:
        raise RuntimeError("log closed")

    work = ModelWork(run_id="r2", session_id="s1", agent_id="a", seq=1, created_at=1, messages=())
    with pytest.raises(RuntimeError, match="log closed"):
        await executor.execute(work, broken)


async def test_the_tool_runs_before_tool_call_started_is_appended_and_answers_after_it() -> None:
    ran = asyncio.Event()

    async def lookup(city: str) -> str:
        ran.set()
        return f"sunny in {city}"

    agent = Agent(id="a", model=GatedModel(), tools=[lookup])
    executor = ToolExecutor({"a": agent})
    log = HeldLog("ToolCallStarted")
    work = ToolWork(
        run_id="r3",
        session_id="s1",
        agent_id="a",
        seq=2,
        created_at=1,
        tool_call_id="call-1",
        tool_name="lookup",
        arguments='{"city": "Paris"}',
    )

    call = asyncio.create_task(executor.execute(work, log.emit))
    await asyncio.wait_for(ran.wait(), 5)
    await asyncio.sleep(0.01)
    assert not call.done()  # the answer waits for the started append: the log keeps started before completed
    assert log.seen == []

    log.release.set()
    (answer,) = await call
    assert [e.event for e in log.seen] == ["ToolCallStarted"]
    assert isinstance(answer, ToolCallCompleted)
    assert answer.tool is not None
    assert answer.tool.result == "sunny in Paris"
