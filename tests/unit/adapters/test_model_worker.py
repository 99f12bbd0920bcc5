"""The model worker and cancels: a cancelled run's stream is aborted (or never started) and answered with nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from adapters.model_worker import ModelExecutor
from adapters.models.base import text_read_interval
from adapters.models.scripted import FunctionModel, Turn
from engine import Agent, CancelRun, Message, ModelRequestCompleted, ModelWork, RunEvent, Tool
from streams import CancelWatch, MemoryLog, Topics, command_record

pytestmark = pytest.mark.timeout(10)


class Counting:
    """A turn function that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, _messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
        self.calls += 1
        return Turn(text=" ".join(f"w{i}" for i in range(40)))


@pytest.fixture
async def setup() -> AsyncIterator[tuple[MemoryLog, Topics, CancelWatch]]:
    log = MemoryLog(default_partitions=2)
    await log.start()
    topics = Topics(prefix=f"mw{uuid.uuid4().hex[:8]}.", partitions=2)
    await log.create_topics(topics.specs())
    watch = CancelWatch(log, topics)
    await watch.start()
    yield log, topics, watch
    await watch.stop()
    await log.close()


def work(run_id: str) -> ModelWork:
    return ModelWork(run_id=run_id, session_id="s1", agent_id="a", seq=1, created_at=1, messages=())


async def cancel(log: MemoryLog, topics: Topics, watch: CancelWatch, run_id: str) -> None:
    await log.send(command_record(topics.commands, CancelRun(run_id=run_id, session_id="s1", created_at=1)))
    for _ in range(200):
        if watch.cancelled(run_id):
            return
        await asyncio.sleep(0.01)


class CancellingEmit:
    """An `emit` that keeps what it is given and cancels `run_id` (a CancelRun on the log) after the
    `after_contents`-th RunContent."""

    def __init__(self, setup: tuple[MemoryLog, Topics, CancelWatch], run_id: str, *, after_contents: int) -> None:
        self._setup = setup
        self._run_id = run_id
        self._after = after_contents
        self.emitted: list[RunEvent] = []

    async def __call__(self, events: Sequence[RunEvent]) -> None:
        self.emitted.extend(events)
        if sum(e.event == "RunContent" for e in self.emitted) == self._after:
            asyncio.get_running_loop().create_task(cancel(*self._setup, self._run_id))


async def test_a_stream_is_aborted_when_its_run_is_cancelled(setup: tuple[MemoryLog, Topics, CancelWatch]) -> None:
    _log, _topics, watch = setup
    turn = Counting()
    agent = Agent(id="a", model=FunctionModel(turn, token_delay_s=0.05))
    executor = ModelExecutor({"a": agent}, content_flush_s=0.0, cancels=watch)
    emit = CancellingEmit(setup, "r1", after_contents=2)

    final = await asyncio.wait_for(executor.execute(work("r1"), emit), 5)

    assert final == []
    assert 2 <= sum(e.event == "RunContent" for e in emit.emitted) < 40
    # a work item of a run already cancelled never reaches the model
    assert await executor.execute(work("r1"), emit) == []
    assert turn.calls == 1


async def test_a_cancelled_turn_leaves_its_task_usable_and_other_cancellations_pass_through(
    setup: tuple[MemoryLog, Topics, CancelWatch],
) -> None:
    _log, _topics, watch = setup
    agent = Agent(id="a", model=FunctionModel(Counting(), token_delay_s=0.05))
    executor = ModelExecutor({"a": agent}, content_flush_s=0.0, cancels=watch)
    emit = CancellingEmit(setup, "r3", after_contents=1)

    async def worker_step() -> int:
        # The turn runs in the worker's own task: after a CancelRun the task goes on (it commits the item).
        assert await executor.execute(work("r3"), emit) == []
        await asyncio.sleep(0.01)
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()

    assert await asyncio.wait_for(worker_step(), 5) == 0

    # Cancelling the worker's task itself (shutdown, a revoked partition) is not swallowed as a CancelRun.
    started = asyncio.Event()

    async def emit_started(events: Sequence[RunEvent]) -> None:
        started.set()

    shutdown = asyncio.create_task(executor.execute(work("r4"), emit_started))
    await asyncio.wait_for(started.wait(), 5)
    shutdown.cancel()
    with pytest.raises(asyncio.CancelledError):
        await shutdown


async def test_without_a_cancel_the_turn_is_answered(setup: tuple[MemoryLog, Topics, CancelWatch]) -> None:
    _log, _topics, watch = setup
    agent = Agent(id="a", model=FunctionModel(lambda _m, _t: Turn(text="hi there")))
    executor = ModelExecutor({"a": agent}, cancels=watch)
    emitted: list[Any] = []

    async def emit(events: Sequence[RunEvent]) -> None:
        emitted.extend(events)

    (answer,) = await executor.execute(work("r2"), emit)

    assert isinstance(answer, ModelRequestCompleted)
    assert answer.message is not None
    assert answer.message.content == "hi there"


async def test_a_slow_log_makes_bigger_content_batches_not_one_record_per_delta() -> None:
    words = [f"w{i} " for i in range(40)]
    agent = Agent(id="a", model=FunctionModel(lambda _m, _t: Turn(text="".join(words)), token_delay_s=0.005))
    executor = ModelExecutor({"a": agent}, content_flush_s=0.02)
    emitted: list[RunEvent] = []

    async def slow_emit(events: Sequence[RunEvent]) -> None:
        await asyncio.sleep(0.05)  # a busy group commit: slower than the coalescing window
        emitted.extend(events)

    (answer,) = await executor.execute(work("r3"), slow_emit)

    contents = [e for e in emitted if e.event == "RunContent"]
    assert isinstance(answer, ModelRequestCompleted)
    assert answer.message is not None
    assert "".join(getattr(e, "content", "") for e in contents) == answer.message.content
    assert len(contents) <= 10
    assert [e.part.split("~")[0] for e in contents] == [f"d{i}" for i in range(1, len(contents) + 1)]


async def test_a_turn_streams_with_the_content_window_as_its_read_interval() -> None:
    seen: list[float] = []

    def turn(_messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
        seen.append(text_read_interval.get())  # called inside the provider's stream, in the turn's context
        return Turn(text="hi there")

    executor = ModelExecutor({"a": Agent(id="a", model=FunctionModel(turn))}, content_flush_s=0.07)
    emitted: list[Any] = []

    async def emit(events: Sequence[RunEvent]) -> None:
        emitted.extend(events)

    (answer,) = await executor.execute(work("r3"), emit)

    assert isinstance(answer, ModelRequestCompleted)
    assert seen == [0.07]
    assert text_read_interval.get() == 0.0  # set for the turn only
