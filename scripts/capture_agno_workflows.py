"""Capture agno's workflow event streams for every workflow primitive (fixtures/agno-workflows/*.json).

Runs in a venv with agno 3.1.10 (e.g. `make bench-agno-venv`, then
`.venv-bench-agno/bin/python scripts/capture_agno_workflows.py fixtures/agno-workflows`). Each workflow
uses function executors only (no model), is run with `Workflow.arun(stream=True, stream_events=True)`
(what AgentOS streams for `POST /workflows/{id}/runs`) and each event is stored as AgentOS serialises it
(`event.to_json()`). `tests/integration/workflow_agents.py` defines the same workflows for agnostream;
`tests/integration/test_workflow_http.py` compares the two.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from agno.workflow import Condition, Loop, Parallel, Router, Step, Steps, Workflow
from agno.workflow.types import HumanReview, StepInput, StepOutput


def fa(si: StepInput) -> StepOutput:
    return StepOutput(content=f"A({si.input})")


def fb(si: StepInput) -> str:
    return f"B({si.previous_step_content})"


def fc(_si: StepInput) -> str:
    return "C"


def halt(_si: StepInput) -> StepOutput:
    return StepOutput(content="halt", stop=True)


def boom(_si: StepInput) -> str:
    raise RuntimeError("kaput")


def step_a() -> Step:
    return Step(name="a", executor=fa)


def step_b() -> Step:
    return Step(name="b", executor=fb)


def workflows() -> dict[str, Workflow]:
    def wf(*steps: Any) -> Workflow:
        return Workflow(id="w", name="W", steps=list(steps))

    return {
        "functions": wf(Step(name="a", executor=fa), Step(name="b", executor=fb)),
        "steps": wf(Steps(name="grp", steps=[Step(name="a", executor=fa), Step(name="b", executor=fb)])),
        "parallel": wf(Parallel(Step(name="a", executor=fa), Step(name="b", executor=fb), name="par"), fc),
        "condition_if": wf(Condition(name="cond", evaluator=lambda _si: True, steps=[fa], else_steps=[fb])),
        "condition_else": wf(Condition(name="cond", evaluator=lambda _si: False, steps=[fa], else_steps=[fb])),
        "condition_none": wf(Condition(name="cond", evaluator=lambda _si: False, steps=[fa]), fc),
        "loop": wf(Loop(name="lp", steps=[step_a(), step_b()], max_iterations=2)),
        "loop_end": wf(Loop(name="lp", steps=[fa], max_iterations=3, end_condition=lambda _outputs: True)),
        "router": wf(Router(name="rt", selector=lambda _si: "b", choices=[step_a(), step_b()])),
        "stop": wf(Step(name="a", executor=halt), fc),
        "error": wf(fa, Step(name="x", executor=boom, max_retries=0, human_review=HumanReview(on_error="fail"))),
    }  # fmt: skip


async def capture(workflow: Workflow) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    try:
        async for event in workflow.arun(input="hello", stream=True, stream_events=True, session_id="s1"):
            events.append(json.loads(event.to_json(separators=(",", ":"), indent=None)))
    except RuntimeError:
        pass  # the "error" workflow re-raises after its WorkflowError event, as agno does
    return events


async def capture_all() -> dict[str, list[dict[str, Any]]]:
    return {name: await capture(workflow) for name, workflow in workflows().items()}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, events in asyncio.run(capture_all()).items():
        (out / f"{name}.json").write_text(json.dumps(events, indent=1, ensure_ascii=False) + "\n")
        print(f"{name}: {[e['event'] for e in events]}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "fixtures/agno-workflows"))
