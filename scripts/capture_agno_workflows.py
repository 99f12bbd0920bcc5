"""Capture agno's workflow event streams for every workflow primitive (fixtures/agno-workflows/*.json).

Runs in a venv with agno 3.1.10 (e.g. `make bench-agno-venv`, then
`.venv-bench-agno/bin/python scripts/capture_agno_workflows.py fixtures/agno-workflows`). Each workflow
uses function executors only (no model), is run with `Workflow.arun(stream=True, stream_events=True)`
(what AgentOS streams for `POST /workflows/{id}/runs`) and each event is stored as AgentOS serialises it
(`event.to_json()`). `tests/integration/workflow_agents.py` defines the same workflows for agnostream;
`tests/integration/test_workflow_http.py` compares the two.

Two more captures need more than function steps:
- `team_step.json`: a `Step(team=...)` (coordinate mode, one member) followed by a function step. The
  team's models are `OpenAIChat` on the scripted OpenAI-compatible stub of `capture_agno_requests.py`
  (loopback only): the leader delegates, the member answers, the leader answers.
- `session_state.json`: `{"runs": [events of run 1, events of run 2], "session_state": ...}`: a workflow
  with `session_state` defaults whose function step mutates `run_context.session_state`, run twice in
  one session (the first run with a `session_state` argument), and the session's stored state after.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from agno.run.base import RunContext
from agno.workflow import Condition, Loop, Parallel, Router, Step, Steps, Workflow
from agno.workflow.types import HumanReview, StepInput, StepOutput

HERE = Path(__file__).resolve().parent


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


DELEGATION = {"member_id": "m1", "task": "Say hi"}
TEAM_REPLIES: list[dict[str, Any]] = [
    {"tool_calls": [{"id": "call_1", "name": "delegate_task_to_member", "arguments": json.dumps(DELEGATION)}]},
    {"text": "hi from M1"},
    {"text": "The team says hi"},
]  # fmt: skip
"""The scripted model answers of the team step, in request order: leader, member, leader."""


def team_workflow(base_url: str) -> Workflow:
    from agno.agent import Agent
    from agno.models.openai import OpenAIChat
    from agno.team import Team

    def model() -> OpenAIChat:
        return OpenAIChat(id="fake-model", base_url=base_url, api_key="test")

    member = Agent(id="m1", name="M1", model=model(), telemetry=False)
    team = Team(id="tm", name="TM", members=[member], model=model(), telemetry=False)
    return Workflow(id="w", name="W", steps=[Step(name="t", team=team), fc])


def count(step_input: StepInput, run_context: RunContext) -> str:
    state = run_context.session_state
    assert state is not None
    state["n"] = state.get("n", 0) + 1
    state.setdefault("seen", []).append(step_input.input)
    return f"n={state['n']}"


async def capture_session_state() -> dict[str, Any]:
    from agno.db.in_memory import InMemoryDb

    workflow = Workflow(
        id="w",
        name="W",
        db=InMemoryDb(),
        session_state={"n": 10, "d": {"a": 1}},
        steps=[Step(name="a", executor=count)],
    )
    runs = []
    for index, extra in enumerate(({"session_state": {"d": {"b": 2}}}, {})):
        events: list[dict[str, Any]] = []
        async for event in workflow.arun(
            input=f"run{index}", stream=True, stream_events=True, session_id="s1", **extra
        ):
            events.append(json.loads(event.to_json(separators=(",", ":"), indent=None)))
        runs.append(events)
    return {"runs": runs, "session_state": await workflow.aget_session_state(session_id="s1")}


async def capture_all() -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from capture_agno_requests import Stub

    captured: dict[str, Any] = {name: await capture(workflow) for name, workflow in workflows().items()}
    with Stub() as stub:
        stub.replies.extend(TEAM_REPLIES)
        captured["team_step"] = await capture(team_workflow(stub.base_url))
        if stub.replies:
            raise SystemExit(f"team_step: agno left {len(stub.replies)} scripted replies unused")
    captured["session_state"] = await capture_session_state()
    return captured


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, events in asyncio.run(capture_all()).items():
        (out / f"{name}.json").write_text(json.dumps(events, indent=1, ensure_ascii=False) + "\n")
        runs = events["runs"] if isinstance(events, dict) else [events]
        print(f"{name}: {[[e['event'] for e in run] for run in runs]}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "fixtures/agno-workflows"))
