"""Agents for the Kafka rebalance test: a slow tool that logs where and when each execution starts and ends.

The user message is `"<log path>|<token>"`; the model calls `slow` (n=1), then `slow` again (n=2), then answers.
Each execution appends `token n pid start <time>` before it sleeps and `token n pid end <time>` after; its result
names the pid, so the log shows which worker process completed a call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from adapters.models.scripted import FunctionModel, ScriptedCall, Turn, step_of
from engine import Agent, Message, Tool

SLOW_S = 1.5
"""Seconds each tool call takes."""


def _mark(path: str, token: str, n: int, what: str) -> None:
    with Path(path).open("a") as f:
        f.write(f"{token} {n} {os.getpid()} {what} {time.time():.6f}\n")


def slow(path: str, token: str, n: int) -> str:
    """Take SLOW_S seconds, logging the start and the end of this execution.

    Args:
        path: execution log file.
        token: the run's token.
        n: the call number.
    """
    _mark(path, token, n, "start")
    time.sleep(SLOW_S)
    _mark(path, token, n, "end")
    return f"slept by {os.getpid()}"


def _turn(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
    path, _, token = next(m.content or "" for m in reversed(messages) if m.role == "user").partition("|")
    step = step_of(messages)
    if step < 2:
        return Turn(tool_calls=(ScriptedCall("slow", {"path": path, "token": token, "n": step + 1}),))
    return Turn(text=f"done {token}")


agents = [Agent(id="slow", name="Slow Agent", model=FunctionModel(_turn), tools=[slow])]
