"""Workflow definitions in agno's names: `Workflow(id, name, steps)` of Step, Steps, Parallel, Condition, Loop, Router.

A definition is configuration, immutable and shared: `decide` walks it to advance a workflow run
(`engine.workflow_run`), the tool worker looks function executors up in it by their definition path.

Definition paths name a node by its position: top-level step `i` is `"i"`; child `j` of a Steps, Parallel,
Loop or a Condition's `steps` is `"<parent>.j"`, of a Condition's `else_steps` `"<parent>.ej"`, choice `j`
of a Router `"<parent>.cj"`. An execution path adds loop iterations (`"0@2.1"`: child 1 of iteration 2 of
the loop at 0); `definition_path` strips them.

User callables and where they run (documented because the engine is pure otherwise):
- `Step(executor=fn)`: `fn(step_input) -> StepOutput | value` runs in the tool worker (a work item, like
  a tool call), never in `decide`. A function with a `run_context` parameter also gets agno's
  `RunContext`, whose `session_state` it may change; the changed state comes back in the worker's answer
  and `decide` records it (SessionStateUpdated), so a replay never calls the function again.
- `Condition.evaluator`, `Router.selector`, `Loop.end_condition`: run inside `decide`, once, when the
  container starts (or an iteration ends); their results are recorded in the events
  (`condition_result`, `selected_steps`, `should_continue`) and a rebuild reads them from there. They must
  be deterministic functions of their input: a replay check calls them again and reports a changed
  result as a divergence.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, TypeVar

from .agent import Agent
from .errors import ConfigurationError
from .team import Team
from .workflow_types import HumanReview, StepInput, StepOutput

__all__ = [
    "Condition",
    "Loop",
    "Parallel",
    "Router",
    "Step",
    "Steps",
    "Workflow",
    "WorkflowNode",
    "definition_path",
    "node_children",
    "with_step_agents",
    "with_step_teams",
]

_Executor = TypeVar("_Executor", Agent, Team)

_NS = uuid.UUID("2b9d6a1e-7c43-4f0e-9a57-5e1f0c8d4b21")
_ITERATION = re.compile(r"@\d+")


def definition_path(execution_path: str) -> str:
    """The definition path of an execution path (loop iterations removed)."""
    return _ITERATION.sub("", execution_path)


@dataclass(frozen=True)
class Step:
    """One unit of work run by exactly one executor: an agent or a team (a child run), or a function.

    Attributes:
        name: the step's name (defaults to the agent's or team's name, or the function's `__name__`).
        agent: run this agent with the step's message (the previous step's content, else the input).
        team: run this team with the step's message (a child team run; its members' runs nest in it).
        executor: `fn(step_input: StepInput) -> StepOutput | str | value`, sync or async.
        step_id: fixed step id; default: derived from the workflow id and the step's position.
        description: free text.
        max_retries: extra attempts of a function executor that raised (agno's default 3).
        skip_on_failure: a function that failed every attempt yields "Step {name} failed but skipped".
        human_review: `HumanReview(on_error="fail")` ends the workflow with WorkflowError on failure.
    """

    name: str | None = None
    agent: Agent | None = None
    team: Team | None = None
    executor: Callable[..., Any] | None = None
    _: KW_ONLY
    step_id: str | None = None
    description: str | None = None
    max_retries: int = 3
    skip_on_failure: bool = False
    human_review: HumanReview | None = None

    def __post_init__(self) -> None:
        given = [k for k in ("agent", "team", "executor") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ConfigurationError(f"Step {self.name!r}: give exactly one of agent, team, executor (got {given})")
        if self.team is not None and not isinstance(self.team, Team):
            raise ConfigurationError(f"Step {self.name!r}: team must be an engine.Team; got {self.team!r}")
        if self.executor is not None and (
            inspect.isgeneratorfunction(self.executor) or inspect.isasyncgenfunction(self.executor)
        ):
            raise ConfigurationError(f"Step {self.name!r}: streaming (generator) executors are not supported")
        if self.max_retries < 0:
            raise ConfigurationError(f"Step {self.name!r}: max_retries must be >= 0")
        if self.name is None:
            name = self.executor_name if self.executor is None else getattr(self.executor, "__name__", "unnamed_step")
            object.__setattr__(self, "name", name)

    @property
    def executor_type(self) -> str:
        """Agno's `executor_type`: "agent", "team" or "function"."""
        return "agent" if self.agent is not None else "team" if self.team is not None else "function"

    @property
    def executor_name(self) -> str:
        """Agno's `executor_name`: the agent's or team's name, or the function's `__name__`."""
        if self.agent is not None:
            return self.agent.name
        if self.team is not None:
            return self.team.name
        return str(getattr(self.executor, "__name__", "function"))

    @property
    def on_error(self) -> str:
        """What a failure does: "fail", or "skip" (agno's default)."""
        return self.human_review.on_error if self.human_review is not None else "skip"


@dataclass(frozen=True)
class Steps:
    """A named sequence of steps (StepsExecutionStarted / StepsExecutionCompleted around them)."""

    name: str | None = None
    description: str | None = None
    steps: Sequence[Any] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", _nodes(self.steps, "Steps"))


@dataclass(frozen=True, init=False)
class Parallel:
    """Branches run concurrently (each its own work items / child runs); outputs joined in declaration order.

    `Parallel(step_a, step_b, name="both")`; a first positional string is the name, as in agno.
    """

    steps: tuple[WorkflowNode, ...]
    name: str | None
    description: str | None

    def __init__(self, *steps: Any, name: str | None = None, description: str | None = None) -> None:
        if steps and isinstance(steps[0], str):
            name, steps = (name or steps[0]), steps[1:]
        object.__setattr__(self, "steps", _nodes(steps, "Parallel"))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "description", description)


@dataclass(frozen=True)
class Condition:
    """Run `steps` when `evaluator(step_input)` is true, else `else_steps` (if any).

    `evaluator` is a bool or a callable `(StepInput) -> bool` evaluated in `decide` (see module docstring).
    """

    steps: Sequence[Any]
    evaluator: bool | Callable[[StepInput], bool] = True
    else_steps: Sequence[Any] | None = None
    name: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", _nodes(self.steps, "Condition"))
        object.__setattr__(self, "else_steps", _nodes(self.else_steps or (), "Condition"))


@dataclass(frozen=True)
class Loop:
    """Run `steps` up to `max_iterations` times; stop early when `end_condition(iteration_outputs)` is true.

    `end_condition` is evaluated in `decide` after each iteration; a step with `stop=True` ends the loop too.
    With `forward_iteration_output`, an iteration's first step sees the previous iteration's last content.
    """

    steps: Sequence[Any]
    name: str | None = None
    description: str | None = None
    max_iterations: int = 3
    end_condition: Callable[[list[StepOutput]], bool] | None = None
    forward_iteration_output: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", _nodes(self.steps, "Loop"))
        if self.max_iterations < 1:
            raise ConfigurationError(f"Loop {self.name!r}: max_iterations must be >= 1")


@dataclass(frozen=True)
class Router:
    """Run the `choices` that `selector(step_input)` names (a name, a step, or a list of them), in that order.

    The selector runs in `decide`; the chosen names are recorded in RouterExecutionStarted.selected_steps.
    """

    choices: Sequence[Any]
    selector: Callable[[StepInput], Any] | None = None
    name: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        choices = _nodes(self.choices, "Router")
        names = [c.name for c in choices]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"Router {self.name!r}: choices need distinct names, got {names}")
        object.__setattr__(self, "choices", choices)


WorkflowNode = Step | Steps | Parallel | Condition | Loop | Router
"""Any node of a workflow definition."""


def _node(item: Any, where: str) -> WorkflowNode:
    if isinstance(item, Step | Steps | Parallel | Condition | Loop | Router):
        return item
    if isinstance(item, Agent):
        return Step(name=item.name, agent=item)
    if isinstance(item, Team):
        return Step(name=item.name, team=item)
    if callable(item):
        return Step(name=getattr(item, "__name__", None), executor=item)
    raise ConfigurationError(f"{where}: {item!r} is not a Step, Steps, Parallel, Condition, Loop, Router or callable")


def _nodes(items: Sequence[Any], where: str) -> tuple[WorkflowNode, ...]:
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        items = (items,)
    return tuple(_node(i, where) for i in items)


def node_children(node: WorkflowNode) -> list[tuple[str, WorkflowNode]]:
    """The node's children with their path suffixes (`j`, `ej` for else branches, `cj` for choices)."""
    if isinstance(node, Step):
        return []
    if isinstance(node, Condition):
        return [(str(j), c) for j, c in enumerate(node.steps)] + [
            (f"e{j}", c) for j, c in enumerate(node.else_steps or ())
        ]
    if isinstance(node, Router):
        return [(f"c{j}", c) for j, c in enumerate(node.choices)]
    return [(str(j), c) for j, c in enumerate(node.steps)]


@dataclass(frozen=True, kw_only=True)
class Workflow:
    """A workflow: an id, a name and its steps (agno `Workflow(id, name, steps)`).

    Attributes:
        id: unique id used in routes (`/workflows/{id}/runs`) and events (`workflow_id`).
        name: display name (`workflow_name`); defaults to the id.
        description: free text.
        steps: a list of Step / Steps / Parallel / Condition / Loop / Router / Agent / Team / callable, or
            a Steps.
        metadata: copied into WorkflowCompleted and the stored run.
        session_state: the state a new session starts with (agno's defaults): a run's state is the
            session's stored state (these defaults for a session without one) deep-merged with the run's
            `session_state` argument; function steps may change it, and the session keeps the result.
    """

    id: str
    name: str = ""
    description: str | None = None
    steps: Sequence[Any] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    session_state: dict[str, Any] | None = None
    _by_path: dict[str, WorkflowNode] = field(init=False, repr=False, compare=False, default_factory=dict)
    _ids: dict[str, str] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise ConfigurationError("Workflow.id must be a non-empty string")
        if callable(self.steps) and not isinstance(self.steps, Steps):
            raise ConfigurationError(f"Workflow {self.id!r}: a custom function as `steps` is not supported")
        steps = self.steps.steps if isinstance(self.steps, Steps) else self.steps
        nodes = _nodes(steps, f"Workflow {self.id!r}")
        if not nodes:
            raise ConfigurationError(f"Workflow {self.id!r} has no steps")
        object.__setattr__(self, "steps", nodes)
        if not self.name:
            object.__setattr__(self, "name", self.id)
        stack = [(str(i), n) for i, n in enumerate(nodes)]
        while stack:
            path, node = stack.pop()
            self._by_path[path] = node
            own = node.step_id if isinstance(node, Step) else None
            self._ids[path] = own or str(uuid.uuid5(_NS, f"{self.id}/{path}"))
            stack.extend((f"{path}.{suffix}", child) for suffix, child in node_children(node))

    @property
    def nodes(self) -> tuple[WorkflowNode, ...]:
        """The top-level steps, normalised."""
        return tuple(self.steps)

    def node_at(self, path: str) -> WorkflowNode | None:
        """The node at a definition or execution path, or None."""
        return self._by_path.get(definition_path(path))

    def step_id_at(self, path: str) -> str:
        """The step id of the node at a definition or execution path (stable across runs and processes)."""
        return self._ids[definition_path(path)]

    def position(self, path: str) -> tuple[int | list[int], str | None]:
        """Agno's `step_index` and `parent_step_id` of the node at `path`.

        Top-level step `i` has index `i`; a container's child `j` has `[*container_index, j]`, except a
        Router's chosen steps, which keep the Router's index (as agno sends them).
        """
        segments = definition_path(path).split(".")
        index = [int(segments[0])]
        for segment in segments[1:]:
            if not segment.startswith("c"):
                index.append(int(segment.lstrip("e")))
        parent = self.step_id_at(".".join(segments[:-1])) if len(segments) > 1 else None
        return (index[0] if len(index) == 1 else index), parent

    def step_agents(self) -> list[Agent]:
        """The agents of its agent steps, once each (the runtime registers them for the model worker)."""
        seen: dict[str, Agent] = {}
        for node in self._by_path.values():
            if isinstance(node, Step) and node.agent is not None:
                seen.setdefault(node.agent.id, node.agent)
        return list(seen.values())

    def step_teams(self) -> list[Team]:
        """The teams of its team steps, once each (the runtime registers them like registered teams)."""
        seen: dict[str, Team] = {}
        for node in self._by_path.values():
            if isinstance(node, Step) and node.team is not None:
                seen.setdefault(node.team.id, node.team)
        return list(seen.values())

    def summary(self) -> list[dict[str, Any]]:
        """Agno's `workflow_data.steps`: `[{name, description, type}]` of the top-level steps."""
        return [{"name": n.name, "description": n.description, "type": type(n).__name__} for n in self.nodes]


def with_step_agents(agents: Mapping[str, Agent], workflows: Mapping[str, Workflow]) -> dict[str, Agent]:
    """The agent registry plus the workflows' step agents (decide and the model worker look agents up by id).

    Raises:
        ConfigurationError: one id names two different agents.
    """
    return _with_steps(agents, workflows, Workflow.step_agents, "agent")


def with_step_teams(teams: Mapping[str, Team], workflows: Mapping[str, Workflow]) -> dict[str, Team]:
    """The team registry plus the workflows' step teams (decide and the workers look teams up by id).

    Raises:
        ConfigurationError: one id names two different teams.
    """
    return _with_steps(teams, workflows, Workflow.step_teams, "team")


def _with_steps(
    registry: Mapping[str, _Executor],
    workflows: Mapping[str, Workflow],
    steps_of: Callable[[Workflow], Iterable[_Executor]],
    kind: str,
) -> dict[str, _Executor]:
    merged = dict(registry)
    for workflow in workflows.values():
        for executor in steps_of(workflow):
            known = merged.setdefault(executor.id, executor)
            if known is not executor:
                raise ConfigurationError(
                    f"workflow {workflow.id!r} has a step {kind} with id {executor.id!r}, "
                    f"which names another {kind} too"
                )
    return merged
