"""Agents for the crash test: slow tools that record each completed execution in a file.

The user message is the path of the record file; the scripted model makes two parallel `record` calls,
then one more, then answers. Each model turn waits a little so a kill can land mid-request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from adapters.models.scripted import FunctionModel, ScriptedCall, Turn, step_of
from engine import Agent, Message, Tool


def record(path: str, n: int) -> str:
    """Sleep, then append `n` to the file at `path` (one line per completed execution).

    Call n sleeps 0.4 * n seconds, so the parallel calls 1 and 2 finish well apart and a kill after the
    first completion lands while call 2 is still sleeping (not between its write and its commit).

    Args:
        path: file to append to.
        n: the call number.
    """
    time.sleep(0.4 * n)
    with Path(path).open("a") as f:
        f.write(f"{n}\n")
    return f"recorded {n}"


def _turn(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
    path = next(m.content or "" for m in reversed(messages) if m.role == "user")
    step = step_of(messages)
    if step == 0:
        return Turn(
            tool_calls=(ScriptedCall("record", {"path": path, "n": 1}), ScriptedCall("record", {"path": path, "n": 2}))
        )
    if step == 1:
        return Turn(tool_calls=(ScriptedCall("record", {"path": path, "n": 3}),))
    return Turn(text="All three calls were recorded.")


async def wait_long(seconds: float) -> str:
    """Wait `seconds` without blocking the event loop (a run that stays in flight).

    Args:
        seconds: how long to wait.
    """
    await asyncio.sleep(seconds)
    return "waited"


def _stuck_turn(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
    if step_of(messages) == 0:
        return Turn(tool_calls=(ScriptedCall("wait_long", {"seconds": 300}),))
    return Turn(text="done waiting")


agents = [
    Agent(
        id="crash",
        name="Crash Agent",
        model=FunctionModel(_turn, first_token_delay_s=0.3),
        tools=[record],
    ),
    Agent(id="stuck", name="Stuck Agent", model=FunctionModel(_stuck_turn), tools=[wait_long]),
]
