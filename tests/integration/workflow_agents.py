"""Workflows for the HTTP and crash tests: the agno capture's one-step agent workflow, and the workflows of
`scripts/capture_agno_workflows.py` (same names, steps, executors and scripted model answers as captured from
agno): the function-step primitives, the team step, the session-state counter."""

from __future__ import annotations

from typing import Any

from adapters.models.scripted import ScriptedCall, ScriptedModel, Turn
from engine import (
    Agent,
    Condition,
    HumanReview,
    Loop,
    Parallel,
    Router,
    RunContext,
    Step,
    StepInput,
    StepOutput,
    Steps,
    Team,
    Workflow,
)


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


WF_AGENT = Agent(
    id="wa",
    name="WF Agent",
    model=ScriptedModel(
        [Turn(text="The weather in Paris is sunny and 21C. ")], id="fake-model", provider="OpenAI", name="OpenAI Chat"
    ),
)


def primitives() -> dict[str, Workflow]:
    """The captured primitives by capture name (`fixtures/agno-workflows/<name>.json`); each has id = name."""

    def wf(name: str, *steps: Any) -> Workflow:
        return Workflow(id=name, name="W", steps=list(steps))

    return {
        w.id: w
        for w in (
            wf("functions", Step(name="a", executor=fa), Step(name="b", executor=fb)),
            wf("steps", Steps(name="grp", steps=[Step(name="a", executor=fa), Step(name="b", executor=fb)])),
            wf("parallel", Parallel(Step(name="a", executor=fa), Step(name="b", executor=fb), name="par"), fc),
            wf("condition_if", Condition(name="cond", evaluator=lambda _si: True, steps=[fa], else_steps=[fb])),
            wf("condition_else", Condition(name="cond", evaluator=lambda _si: False, steps=[fa], else_steps=[fb])),
            wf("condition_none", Condition(name="cond", evaluator=lambda _si: False, steps=[fa]), fc),
            wf("loop", Loop(name="lp", steps=[step_a(), step_b()], max_iterations=2)),
            wf("loop_end", Loop(name="lp", steps=[fa], max_iterations=3, end_condition=lambda _outputs: True)),
            wf("router", Router(name="rt", selector=lambda _si: "b", choices=[step_a(), step_b()])),
            wf("stop", Step(name="a", executor=halt), fc),
            wf("error", fa, Step(name="x", executor=boom, max_retries=0, human_review=HumanReview(on_error="fail"))),
        )
    }  # fmt: skip


def _openai(*turns: Turn) -> ScriptedModel:
    return ScriptedModel(list(turns), id="fake-model", provider="OpenAI", name="OpenAI Chat")


TEAM = Team(
    id="tm",
    name="TM",
    members=[Agent(id="m1", name="M1", model=_openai(Turn(text="hi from M1")))],
    model=_openai(
        Turn(tool_calls=(ScriptedCall("delegate_task_to_member", {"member_id": "m1", "task": "Say hi"}),)),
        Turn(text="The team says hi"),
    ),
)
"""The captured team step's team: the leader delegates `Say hi` to M1, then answers (`TEAM_REPLIES`)."""


def count(step_input: StepInput, run_context: RunContext) -> str:
    state = run_context.session_state
    state["n"] = state.get("n", 0) + 1
    state.setdefault("seen", []).append(step_input.input)
    return f"n={state['n']}"


workflows = [
    Workflow(id="w1", name="Weather Flow", steps=[Step(name="forecast", agent=WF_AGENT)]),
    *primitives().values(),
    Workflow(id="team_step", name="W", steps=[Step(name="t", team=TEAM), fc]),
    Workflow(
        id="session_state", name="W", session_state={"n": 10, "d": {"a": 1}}, steps=[Step(name="a", executor=count)]
    ),
]
