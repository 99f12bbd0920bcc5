"""Runtime.stop is bounded: a processor or a log stuck on an unreachable broker does not hold the process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

import adapters.runtime as runtime_module
from adapters.runtime import Runtime
from engine import Agent, StartRun
from streams import MemoryLog, Topics, command_record
from streams.transport import Transaction

pytestmark = pytest.mark.timeout(20)


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


class StuckLog(MemoryLog):
    """A log whose transactions and close wait forever once `stuck` is set (a broker gone mid-request)."""

    stuck = False

    @asynccontextmanager
    async def transaction(self, owner: str | None = None) -> AsyncIterator[Transaction]:
        async with super().transaction(owner) as tx:
            yield tx
            if self.stuck:
                await asyncio.Event().wait()

    async def close(self) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        await super().close()


async def test_stop_cancels_a_processor_stuck_in_a_commit_and_leaves_a_log_that_does_not_close(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtime_module, "STOP_GRACE_S", 0.2)
    log = StuckLog(default_partitions=1)
    topics = Topics(partitions=1)
    runtime = Runtime(log, topics, {"a1": Agent(id="a1", model=FakeModel())}, roles=("orchestrator",))
    await runtime.start()
    log.stuck = True
    await log.send(
        command_record(
            topics.commands, StartRun(run_id="r1", session_id="s1", created_at=0, agent_id="a1", message="hi")
        )
    )
    await asyncio.sleep(0.3)  # the orchestrator is now waiting on its commit

    with caplog.at_level(logging.WARNING, logger="agnostream.runtime"):
        await asyncio.wait_for(runtime.stop(), 5)

    messages = [r.getMessage() for r in caplog.records]
    assert any("did not stop within" in m and "cancelled" in m for m in messages), messages
    assert any("did not close within" in m for m in messages), messages
