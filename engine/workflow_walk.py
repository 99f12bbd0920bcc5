"""The workflow interpreter's walk over the definition: sequences and the five containers.

`decide` re-walks a workflow run from its first step whenever something finished. Every node is looked
up by its execution path in the run's state: a finished node gives its recorded output, a started one
makes the walk wait there, a new one is started (its Started event decided, a step's agent run or
function work item sent). So the walk is idempotent: it decides each transition once, and a run rebuilt
from the log continues exactly where it was.

- a sequence stops at the first node that is not finished, or after an output with `stop=True`;
- a Parallel starts all its branches in one walk and completes when all finished, joining their
  outputs in declaration order whatever the order they finished in;
- Condition, Router and Loop call their user callables once (when starting, or when an iteration
  ends) and record the answer in the event; later walks read the recorded answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .state import DecisionContext
from .workflow import Condition, Loop, Parallel, Router, Step, Steps, Workflow, WorkflowNode
from .workflow_events import (
    ConditionExecutionCompleted,
    ConditionExecutionStarted,
    LoopExecutionCompleted,
    LoopExecutionStarted,
    LoopIterationCompleted,
    LoopIterationStarted,
    ParallelExecutionCompleted,
    ParallelExecutionStarted,
    RouterExecutionCompleted,
    RouterExecutionStarted,
    StepsExecutionCompleted,
    StepsExecutionStarted,
    WorkflowEvent,
)
from .workflow_state import WorkflowRunState
from .workflow_types import StepInput, StepOutput, deepest_content

__all__ = ["WAIT", "Waiting", "Walk"]


class Waiting:
    """Marker: the node has not finished yet."""


WAIT = Waiting()

NodeResult = StepOutput | None | Waiting
"""A node's output; None for a Condition or Router that ran nothing; WAIT while it runs."""
Item = tuple[str, WorkflowNode]


def _chain(step_input: StepInput, output: StepOutput, name: str) -> StepInput:
    """The input of the next step in a sequence: this output becomes the previous one."""
    return replace(
        step_input,
        previous_step_content=deepest_content(output),
        previous_step_outputs={**(step_input.previous_step_outputs or {}), name: output},
    )


def _parallel_content(results: Sequence[StepOutput]) -> str:
    """Agno's joined Parallel content."""
    sections = [f"### {'✅ SUCCESS' if r.success else '❌ FAILURE'}: {r.step_name}\n{r.content}" for r in results]
    return "## Parallel Execution Results\n\n" + "\n\n".join(sections)


def _selected(selection: Any, router: Router) -> tuple[str, ...]:
    """Resolve a selector's answer (name, step, or a list of them) to choice names, in order, once each."""
    items = selection if isinstance(selection, list | tuple) else [selection]
    names = {c.name for c in router.choices}
    chosen: list[str] = []
    for item in items:
        name = item if isinstance(item, str) else getattr(item, "name", None)
        if isinstance(name, str) and name in names and name not in chosen:
            chosen.append(name)
    return tuple(chosen)


class Walk:
    """Mixin of the walker in `engine.workflow_run`: it provides `emit`, `fields`, `start_leaf` and `end`."""

    wf: WorkflowRunState
    workflow: Workflow
    ctx: DecisionContext
    over: bool
    """True once the run's terminal event was decided: nothing more is decided."""
    emit: Callable[..., WorkflowEvent]
    """Decide a workflow event: `emit(cls, **fields)`."""
    fields: Callable[[str], dict[str, Any]]
    """The step fields (path, step_id, step_name, step_index, parent_step_id) of a path."""
    start_leaf: Callable[[str, Step, StepInput], None]
    """Start a Step: its StepStarted and its agent run or function work item."""
    fail: Callable[..., None]
    """End the run with WorkflowError: `fail(error, error_type=None)`."""

    def sequence(self, items: Sequence[Item], step_input: StepInput) -> tuple[list[StepOutput], bool] | None:
        """Walk `items` in order: their outputs and whether one asked to stop, or None while one runs."""
        outputs: list[StepOutput] = []
        for j, (path, node) in enumerate(items):
            result = self.node(path, node, step_input)
            if isinstance(result, Waiting) or self.over:
                return None
            if result is None:
                continue
            outputs.append(result)
            step_input = _chain(step_input, result, node.name or f"step_{j + 1}")
            if result.stop:
                return outputs, True
        return outputs, False

    def node(self, path: str, node: WorkflowNode, step_input: StepInput) -> NodeResult:
        """Advance one node: its recorded output, WAIT, or the output it completes with now."""
        if path in self.wf.outputs:
            return self.wf.outputs[path]
        if isinstance(node, Step):
            if path not in self.wf.started:
                self.start_leaf(path, node, step_input)
            return WAIT
        if isinstance(node, Steps):
            return self.steps(path, node, step_input)
        if isinstance(node, Parallel):
            return self.parallel(path, node, step_input)
        if isinstance(node, Condition):
            return self.condition(path, node, step_input)
        if isinstance(node, Router):
            return self.router(path, node, step_input)
        return self.loop(path, node, step_input)

    def _container(
        self, node: WorkflowNode, path: str, step_type: str, content: str, outs: Sequence[StepOutput]
    ) -> StepOutput:
        return StepOutput(
            step_name=node.name,
            step_id=self.workflow.step_id_at(path),
            step_type=step_type,
            content=content,
            success=all(o.success for o in outs),
            stop=any(o.stop for o in outs),
            steps=tuple(outs),
        )

    def steps(self, path: str, node: Steps, step_input: StepInput) -> NodeResult:
        fields = self.fields(path)
        if path not in self.wf.started:
            self.emit(StepsExecutionStarted, steps_count=len(node.steps), **fields)
        result = self.sequence([(f"{path}.{j}", c) for j, c in enumerate(node.steps)], step_input)
        if result is None:
            return WAIT
        outs, _stop = result
        output = self._container(node, path, "Steps", f"Steps {node.name} completed with {len(outs)} results", outs)
        self.emit(
            StepsExecutionCompleted,
            steps_count=len(node.steps),
            executed_steps=len(outs),
            step_results=tuple(outs),
            output=output,
            **fields,
        )
        return output

    def parallel(self, path: str, node: Parallel, step_input: StepInput) -> NodeResult:
        fields = self.fields(path)
        if path not in self.wf.started:
            self.emit(ParallelExecutionStarted, parallel_step_count=len(node.steps), **fields)
        results: list[StepOutput] = []
        waiting = False
        for j, child in enumerate(node.steps):
            result = self.node(f"{path}.{j}", child, step_input)
            if self.over:
                return WAIT
            if isinstance(result, Waiting):
                waiting = True
            elif result is not None:
                results.append(result)
        if waiting:
            return WAIT
        output = replace(
            self._container(node, path, "Parallel", _parallel_content(results), results),
            executor_type="parallel",
            executor_name=node.name,
        )
        self.emit(
            ParallelExecutionCompleted,
            parallel_step_count=len(node.steps),
            step_results=tuple(results),
            output=output,
            **fields,
        )
        return output

    def condition(self, path: str, node: Condition, step_input: StepInput) -> NodeResult:
        fields = self.fields(path)
        if path not in self.wf.started:
            evaluator = node.evaluator
            try:
                verdict = evaluator if isinstance(evaluator, bool) else evaluator(step_input)
            except Exception as exc:  # a user callable's failure ends the run, as in agno
                self.fail(f"Condition {node.name} evaluator failed: {exc}", type(exc).__name__)
                return WAIT
            self.emit(ConditionExecutionStarted, condition_result=verdict is True, **fields)
        verdict = bool(self.wf.decisions.get(path))
        branch, prefix, name = (node.steps, "", "if") if verdict else (node.else_steps or (), "e", "else")
        result = self.sequence([(f"{path}.{prefix}{j}", c) for j, c in enumerate(branch)], step_input)
        if result is None:
            return WAIT
        outs, _stop = result
        output = None
        if branch:
            content = f"Condition {node.name} completed with {len(outs)} results ({name} branch)"
            output = self._container(node, path, "Condition", content, outs)
        self.emit(
            ConditionExecutionCompleted,
            condition_result=verdict,
            executed_steps=len(outs),
            branch=name if branch else None,
            step_results=tuple(outs),
            output=output,
            **fields,
        )
        return output

    def router(self, path: str, node: Router, step_input: StepInput) -> NodeResult:
        fields = self.fields(path)
        if path not in self.wf.started:
            try:
                selection = node.selector(step_input) if node.selector is not None else None
            except Exception as exc:  # a user callable's failure ends the run, as in agno
                self.fail(f"Router {node.name} selector failed: {exc}", type(exc).__name__)
                return WAIT
            self.emit(RouterExecutionStarted, selected_steps=_selected(selection, node), **fields)
        names = tuple(self.wf.decisions.get(path) or ())
        chosen = [(f"{path}.c{j}", c) for name in names for j, c in enumerate(node.choices) if c.name == name]
        result = self.sequence(chosen, step_input)
        if result is None:
            return WAIT
        outs, _stop = result
        output = None
        if chosen:
            output = self._container(
                node, path, "Router", f"Router {node.name} completed with {len(outs)} results", outs
            )
        self.emit(
            RouterExecutionCompleted,
            selected_steps=names,
            executed_steps=len(outs),
            step_results=tuple(outs),
            output=output,
            **fields,
        )
        return output

    def loop(self, path: str, node: Loop, step_input: StepInput) -> NodeResult:
        fields = self.fields(path)
        if path not in self.wf.started:
            self.emit(LoopExecutionStarted, max_iterations=node.max_iterations, **fields)
        iterations: list[list[StepOutput]] = []
        iteration_input = step_input
        n = 1
        while True:
            key = f"{path}@{n}"
            counts = {"iteration": n, "max_iterations": node.max_iterations}
            if key not in self.wf.started:
                self.emit(LoopIterationStarted, **counts, **{**fields, "path": key})
            result = self.sequence([(f"{key}.{j}", c) for j, c in enumerate(node.steps)], iteration_input)
            if result is None:
                return WAIT
            outs, stop = result
            iterations.append(outs)
            if key not in self.wf.decisions:
                go_on = not (stop or _ended(node, outs))
                self.emit(
                    LoopIterationCompleted,
                    **counts,
                    iteration_results=tuple(outs),
                    should_continue=go_on,
                    **{**fields, "path": key},
                )
            if not self.wf.decisions[key] or n >= node.max_iterations:
                break
            if node.forward_iteration_output and outs:
                iteration_input = replace(step_input, previous_step_content=deepest_content(outs[-1]))
            n += 1
        flat = [o for it in iterations for o in it]
        content = f"Loop {node.name} completed {n} iterations with {len(flat)} total steps"
        output = self._container(node, path, "Loop", content, flat)
        self.emit(
            LoopExecutionCompleted,
            total_iterations=n,
            max_iterations=node.max_iterations,
            all_results=tuple(tuple(it) for it in iterations),
            output=output,
            **fields,
        )
        return output


def _ended(node: Loop, outputs: list[StepOutput]) -> bool:
    """The end condition's verdict on one iteration; a failing condition means "go on" (agno's rule)."""
    if node.end_condition is None:
        return False
    try:
        return bool(node.end_condition(outputs))
    except Exception:  # agno logs and continues the loop
        return False
