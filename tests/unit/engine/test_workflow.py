"""Workflow definitions (agno's names and defaults, validation, paths and ids) and the StepInput / StepOutput types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from engine import (
    Agent,
    Condition,
    ConfigurationError,
    HumanReview,
    Loop,
    Parallel,
    Router,
    SchemaError,
    Step,
    StepInput,
    StepOutput,
    Steps,
    Workflow,
    as_step_output,
    definition_path,
    node_children,
    with_step_agents,
)
from engine.workflow_types import content_text, deepest_content
from tests.unit.engine.workflow_sim import agent

WA = agent("wa", "WF Agent")


def fa(si: StepInput) -> str:
    return "A"


def test_steps_take_agnos_names_and_defaults() -> None:
    by_agent = Step(agent=WA)
    by_function = Step(executor=fa)

    assert (by_agent.name, by_agent.executor_type, by_agent.executor_name) == ("WF Agent", "agent", "WF Agent")
    assert (by_function.name, by_function.executor_type, by_function.executor_name) == ("fa", "function", "fa")
    assert (by_function.max_retries, by_function.skip_on_failure, by_function.on_error) == (3, False, "skip")
    assert Step("named", executor=fa, human_review=HumanReview(on_error="fail")).on_error == "fail"
    assert Parallel("both", fa, WA).name == "both"
    assert [type(s).__name__ for s in Parallel("both", fa, WA).steps] == ["Step", "Step"]
    assert Condition(fa).steps[0].name == "fa"
    assert Condition(fa).else_steps == ()
    assert Loop([fa]).max_iterations == 3


@pytest.mark.parametrize(
    ("build", "needle"),
    [
        (lambda: Step(name="s"), "exactly one"),
        (lambda: Step(name="s", agent=WA, executor=fa), "exactly one"),
        (lambda: Step(name="s", team=object()), "team must be an engine.Team"),
        (lambda: Step(name="s", executor=fa, max_retries=-1), "max_retries"),
        (lambda: Loop([fa], max_iterations=0), "max_iterations"),
        (lambda: Router([fa, Step(name="fa", executor=fa)]), "distinct names"),
        (lambda: Steps(steps=[42]), "is not a Step"),
        (lambda: Workflow(id="", steps=[fa]), "non-empty"),
        (lambda: Workflow(id="w", steps=[]), "has no steps"),
        (lambda: Workflow(id="w", steps=fa), "custom function"),  # type: ignore[arg-type]
        (lambda: HumanReview(on_error="pause"), "on_error"),  # type: ignore[arg-type]
    ],
)
def test_bad_definitions_are_configuration_errors(build: Any, needle: str) -> None:
    with pytest.raises(ConfigurationError, match=needle):
        build()


def test_streaming_executors_are_refused() -> None:
    def gen(_si: StepInput) -> Any:
        yield "x"

    async def agen(_si: StepInput) -> Any:
        yield "x"

    for fn in (gen, agen):
        with pytest.raises(ConfigurationError, match="streaming"):
            Step(name="s", executor=fn)


def test_a_workflow_knows_its_nodes_by_path_with_stable_ids() -> None:
    inner = Step(name="inner", executor=fa, step_id="fixed")
    wf = Workflow(
        id="w",
        steps=Steps(
            steps=[
                fa,
                Parallel(WA, Steps(name="g", steps=[inner])),
                Condition([fa], evaluator=True, else_steps=[fa], name="c"),
                Router([fa], name="r"),
                Loop([fa], name="lp"),
            ]
        ),
        metadata={"m": 1},
    )

    assert wf.name == "w"
    assert wf.node_at("1.1.0") is inner
    assert wf.step_id_at("1.1.0") == "fixed"
    assert wf.node_at("4@3.0") is wf.node_at("4.0")
    assert wf.step_id_at("4@2.0") == wf.step_id_at("4@1.0") == Workflow(id="w", steps=wf.steps).step_id_at("4.0")
    assert wf.step_id_at("0") != Workflow(id="other", steps=wf.steps).step_id_at("0")
    assert wf.node_at("9") is None
    assert wf.position("0") == (0, None)
    assert wf.position("1.1.0") == ([1, 1, 0], wf.step_id_at("1.1"))
    assert wf.position("2.e0") == ([2, 0], wf.step_id_at("2"))
    assert wf.position("3.c0") == (3, wf.step_id_at("3"))
    assert wf.position("4@2.0") == ([4, 0], wf.step_id_at("4"))
    assert [s for s, _n in node_children(wf.nodes[2])] == ["0", "e0"]
    assert [s for s, _n in node_children(wf.nodes[3])] == ["c0"]
    assert node_children(wf.nodes[0]) == []
    assert definition_path("1@2.0@3.1") == "1.0.1"
    assert wf.summary()[1] == {"name": None, "description": None, "type": "Parallel"}
    assert wf.step_agents() == [WA]


def test_step_agents_join_the_agent_registry_unless_an_id_names_two_agents() -> None:
    wf = Workflow(id="w", steps=[WA, Step(name="again", agent=WA)])
    assert with_step_agents({}, {"w": wf}) == {"wa": WA}
    assert with_step_agents({"wa": WA}, {"w": wf}) == {"wa": WA}
    other = Agent(id="wa", model=WA.model)
    with pytest.raises(ConfigurationError, match="names another agent"):
        with_step_agents({"wa": other}, {"w": wf})


# ------------------------------------------------------------------------------------------------ types


@dataclass
class Model:
    x: int

    def model_dump(self, **_kwargs: Any) -> dict[str, Any]:
        return {"x": self.x}


def test_step_output_serialises_as_agno_and_reads_back() -> None:
    leaf = StepOutput(step_name="a", step_id="i", step_type="Step", content={"k": [1]}, metrics={"total_tokens": 3})
    nested = StepOutput(step_name="p", step_type="Parallel", content="j", steps=(leaf,), success=False, error="e")

    d = nested.to_dict()

    assert list(d)[:6] == ["content", "step_name", "step_id", "step_type", "executor_type", "executor_name"]
    assert (d["images"], d["is_paused"], d["steps"][0]["content"]) == (None, False, {"k": [1]})
    assert "steps" not in leaf.to_dict()
    assert StepOutput.from_dict(d) == nested
    assert StepOutput(content=Model(1)).to_dict()["content"] == {"x": 1}
    assert StepOutput(content=7).to_dict()["content"] == "7"
    with pytest.raises(SchemaError, match="StepOutput"):
        StepOutput.from_dict([])  # type: ignore[arg-type]


def test_executor_results_become_step_outputs() -> None:
    out = StepOutput(content="x", stop=True)
    assert as_step_output(out) is out
    assert as_step_output("text") == StepOutput(content="text")
    assert as_step_output(None) == StepOutput(content="None")
    assert content_text({"a": 1}) == '{\n  "a": 1\n}'
    assert content_text(3) == "3"
    assert content_text(None) is None


def test_step_input_helpers_follow_agno() -> None:
    a = StepOutput(step_name="a", content="A")
    cond = StepOutput(
        step_name="c", step_type="Condition", content="sum", steps=(StepOutput(step_name="deep", content="D"),)
    )
    par = StepOutput(
        step_name="par",
        step_type="Parallel",
        content="joined",
        steps=(
            StepOutput(step_name="p1", content="P1"),
            StepOutput(step_name="p2", content="  "),
            StepOutput(
                step_name="p3",
                content="x",
                steps=(StepOutput(step_name="p3a", content="P3A"), StepOutput(step_name="p3b", content="")),
            ),
        ),
    )
    empty_par = StepOutput(step_name="ep", step_type="Parallel", content="none", steps=(StepOutput(content="z"),))
    si = StepInput(input={"q": 1}, previous_step_outputs={"a": a, "c": cond, "par": par, "ep": empty_par})

    assert si.get_input_as_string() == '{\n  "q": 1\n}'
    assert si.get_step_content("a") == "A"
    assert si.get_step_content("c") == "D"
    assert si.get_step_content("deep") == "D"
    assert si.get_step_content("p3a") == "P3A"
    assert si.get_step_content("p3") == ""
    assert si.get_step_content("par") == {"p1": "P1", "p3a": "P3A"}
    assert si.get_step_content("ep") == "none"
    assert si.get_step_content("missing") is None
    assert StepInput().get_step_output("a") is None
    assert si.get_last_step_content() == "z"
    assert StepInput().get_last_step_content() is None
    assert si.get_all_previous_content().startswith("=== a ===\nA\n\n=== c ===\nsum")
    assert deepest_content(par) == ""
    assert StepInput.from_dict(si.to_dict()) == si
    assert StepInput.from_dict(StepInput(input="x").to_dict()) == StepInput(input="x")
