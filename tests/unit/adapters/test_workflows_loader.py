"""Loading workflows from an agents module (`workflows` / `get_workflows()`), next to its agents."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.agents_loader import load_agents, load_workflows
from engine import ConfigurationError, Step, StepInput, Workflow


def fa(_si: StepInput) -> str:
    return "A"


@pytest.fixture
def module() -> Iterator[types.ModuleType]:
    mod = types.ModuleType("wf_module_under_test")
    sys.modules[mod.__name__] = mod
    yield mod
    del sys.modules[mod.__name__]


def test_a_module_with_only_workflows_loads(module: types.ModuleType) -> None:
    flow = Workflow(id="w", steps=[Step(name="a", executor=fa)])
    module.get_workflows = lambda: [flow]  # type: ignore[attr-defined]

    assert load_workflows(module.__name__) == {"w": flow}
    assert load_agents(module.__name__) == {}


@pytest.mark.parametrize(
    ("workflows", "needle"),
    [
        ([object()], "is not an engine.Workflow"),
        ([Workflow(id="w", steps=[fa]), Workflow(id="w", steps=[fa])], "two workflows with id 'w'"),
    ],
)
def test_bad_workflow_lists_are_configuration_errors(
    module: types.ModuleType, workflows: list[Any], needle: str
) -> None:
    module.workflows = workflows  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match=needle):
        load_workflows(module.__name__)


def test_a_module_without_workflows_has_none() -> None:
    assert load_workflows("tests.integration.hitl_agents") == {}
    with pytest.raises(ConfigurationError, match="cannot import"):
        load_workflows("no.such.module")
