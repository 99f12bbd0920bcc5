"""Agents for the Kafka fault-injection test: fast tools that log every execution with its pid and times.

The user message is `"<log path>|<token>"`; the model makes two parallel `mark` calls, then one more,
then answers. Each execution appends `token n pid start end` to the log file; the result names the pid.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from adapters.models.scripted import FunctionModel, ScriptedCall, Turn, step_of
from engine import Agent, Message, Tool


def mark(path: str, token: str, n: int) -> str:
    """Record one execution of call `n` of run `token`.

    Args:
        path: execution log file.
        token: the run's token.
        n: the call number.
    """
    start = time.time()
    time.sleep(0.05)
    end = time.time()
    with Path(path).open("a") as f:
        f.write(f"{token} {n} {os.getpid()} {start:.6f} {end:.6f}\n")
    return f"marked {n} by {os.getpid()}"


def _turn(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
    path, _, token = next(m.content or "" for m in reversed(messages) if m.role == "user").partition("|")
    step = step_of(messages)
    if step == 0:
        return Turn(
            tool_calls=(
                ScriptedCall("mark", {"path": path, "token": token, "n": 1}),
                ScriptedCall("mark", {"path": path, "token": token, "n": 2}),
            )
        )
    if step == 1:
        return Turn(tool_calls=(ScriptedCall("mark", {"path": path, "token": token, "n": 3}),))
    return Turn(text=f"done {token}")


agents = [Agent(id="fault", name="Fault Agent", model=FunctionModel(_turn, token_delay_s=0.01), tools=[mark])]
