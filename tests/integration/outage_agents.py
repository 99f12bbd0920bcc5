"""Agents for the broker-restart test: one tool call per run, whose every execution is logged.

The user message is `"<log path>|<token>"`; the model calls `wait` once, then answers `done <token>`.
Each execution waits until the file `<log path>.go` exists (at most 30 s; the test creates it once the
broker is down, so every answer is ready while nothing can take it) and appends `token pid` to the log.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from adapters.models.scripted import FunctionModel, ScriptedCall, Turn, step_of
from engine import Agent, Message, Tool


def wait(path: str, token: str) -> str:
    """Wait for the test's go-ahead and record the execution.

    Args:
        path: execution log file.
        token: the run's token.
    """
    go, deadline = Path(f"{path}.go"), time.monotonic() + 30
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with Path(path).open("a") as f:
        f.write(f"{token} {os.getpid()}\n")
    return f"waited for {token}"


def _turn(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
    path, _, token = next(m.content or "" for m in reversed(messages) if m.role == "user").partition("|")
    if step_of(messages) == 0:
        return Turn(tool_calls=(ScriptedCall("wait", {"path": path, "token": token}),))
    return Turn(text=f"done {token}")


agents = [Agent(id="outage", name="Outage Agent", model=FunctionModel(_turn, token_delay_s=0.01), tools=[wait])]
