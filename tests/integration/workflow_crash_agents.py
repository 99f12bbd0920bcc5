"""A workflow for the crash test: slow function steps that record each completed execution in a file.

The workflow input is the path of the record file. A Parallel runs two slow functions and an agent at
once, then a Loop runs one slow function three times (each iteration sees the previous one's output), then
a last function. Each function sleeps, then appends a line naming its execution, so a kill lands while
one sleeps (not between its write and its commit).
"""

from __future__ import annotations

import time
from pathlib import Path

from adapters.models.scripted import FunctionModel, Turn
from engine import Agent, Loop, Parallel, Step, StepInput, Workflow


def _record(si: StepInput, line: str, sleep_s: float) -> str:
    time.sleep(sleep_s)
    with Path(str(si.input)).open("a") as f:
        f.write(f"{line}\n")
    return line


def branch_one(si: StepInput) -> str:
    return _record(si, "p1", 0.3)


def branch_two(si: StepInput) -> str:
    return _record(si, "p2", 1.5)


def looped(si: StepInput) -> str:
    previous = str(si.previous_step_content)
    n = previous.count("+") + 1 if previous.startswith("loop") else 1
    return _record(si, "loop" + "+" * n, 0.6)


def last(si: StepInput) -> str:
    return _record(si, "last", 0.1)


slow_agent = Agent(
    id="crash-wf-agent",
    name="Crash WF Agent",
    model=FunctionModel(lambda _messages, _tools: Turn(text="Agent branch done."), first_token_delay_s=0.3),
)

workflows = [
    Workflow(
        id="crashflow",
        name="Crash Flow",
        steps=[
            Parallel(
                Step(name="p1", executor=branch_one),
                Step(name="p2", executor=branch_two),
                Step(name="p3", agent=slow_agent),
                name="par",
            ),
            Loop(name="lp", steps=[Step(name="l", executor=looped)], max_iterations=3, forward_iteration_output=True),
            Step(name="last", executor=last),
        ],
    )
]
