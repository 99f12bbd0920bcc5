"""The function-step worker: runs a workflow Step's `executor` for a StepWork item and answers StepExecuted.

Function steps travel on the tools work topic and are executed by the tool worker's loop, so they run
concurrently (a Parallel's branches at once) and exactly once like tool calls: an answered item is never
executed again, one interrupted before its answer is executed again after a restart (at-least-once until
completion, so executors with external side effects should be idempotent). `ToolTopicHandler` sends each
item of the topic to its executor by kind.

An executor is called with the step's `StepInput` (and, when it has a `run_context` parameter, agno's
`RunContext` with a copy of the run's session state); sync executors run in a thread, async ones are
awaited, each attempt with the tool timeout. A raising (or timing out) executor is retried `max_retries`
times, then the answer carries the last error (agno's retry loop, without its delays). A successful
answer carries the session-state keys the function set, changed or deleted, which `decide` records.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import time
from collections.abc import Mapping
from typing import Any

import orjson

from engine import (
    RunContext,
    RunEvent,
    Step,
    StepExecuted,
    StepInput,
    StepWork,
    Workflow,
    WorkItem,
    as_step_output,
)

from .tool_worker import ToolExecutor

__all__ = ["StepExecutor", "ToolTopicHandler"]


class StepExecutor:
    """`WorkHandler` for StepWork.

    Args:
        workflows: the workflow registry by id (executors are looked up by the step's path).
        timeout_s: per-attempt timeout in seconds (settings `AGNOSTREAM_TOOL_TIMEOUT_S`).
    """

    def __init__(self, workflows: Mapping[str, Workflow], *, timeout_s: float = 60.0) -> None:
        self._workflows = workflows
        self._timeout_s = timeout_s

    async def execute(self, work: WorkItem, emit: Any) -> list[RunEvent]:
        """Run the step's executor (with retries); return its StepExecuted answer."""
        assert isinstance(work, StepWork)
        workflow = self._workflows.get(work.workflow_id)
        node = workflow.node_at(work.path) if workflow is not None else None
        base: dict[str, Any] = {
            "run_id": work.run_id,
            "session_id": work.session_id,
            "seq": work.seq,
            "part": "done",
            "workflow_id": work.workflow_id,
            "workflow_name": workflow.name if workflow is not None else "",
            "path": work.path,
        }
        if not isinstance(node, Step) or node.executor is None:
            error = f"workflow {work.workflow_id!r} has no function step at {work.path!r}"
            return [StepExecuted(created_at=int(time.time()), error=error, **base)]
        step_input = StepInput.from_dict(work.step_input)
        error = ""
        attempts = work.max_retries + 1
        wants_context = _takes_run_context(node)
        for attempt in range(1, attempts + 1):
            context = RunContext(
                run_id=work.run_id,
                session_id=work.session_id,
                user_id=work.user_id,
                workflow_id=work.workflow_id,
                workflow_name=base["workflow_name"],
                session_state=copy.deepcopy(work.session_state),
            )  # a fresh copy per attempt: a failed attempt's changes are not kept
            try:
                value = await self._call(node, step_input, context if wants_context else None)
            except TimeoutError:
                error = f"step {node.name} timed out after {self._timeout_s}s"
            except Exception as exc:  # the step's own failure is the workflow's to handle, as in agno
                error = str(exc) or type(exc).__name__
            else:
                output = as_step_output(value)
                if wants_context:
                    changes, removed = _state_diff(work.session_state, context.session_state)
                    base.update(state_changes=changes, state_removed=removed)
                return [StepExecuted(created_at=int(time.time()), output=output, attempts=attempt, **base)]
        return [StepExecuted(created_at=int(time.time()), error=error, attempts=attempts, **base)]

    async def _call(self, node: Step, step_input: StepInput, context: RunContext | None) -> Any:
        fn = node.executor
        assert fn is not None
        kwargs = {} if context is None else {"run_context": context}
        async with asyncio.timeout(self._timeout_s):  # not wait_for: no task of its own (see tool_worker)
            if inspect.iscoroutinefunction(fn):
                return await fn(step_input, **kwargs)
            return await asyncio.to_thread(fn, step_input, **kwargs)


def _takes_run_context(node: Step) -> bool:
    """True when the step's function has a `run_context` parameter (agno passes it one then)."""
    try:
        return "run_context" in inspect.signature(node.executor).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):  # no signature to inspect (some builtins): agno passes none either
        return False


def _state_diff(before: Mapping[str, Any], after: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The top-level keys of `after` set or changed since `before`, and the keys deleted."""
    if not isinstance(after, dict):  # the function replaced the dict with something else: nothing to record
        return {}, ()
    changes = {k: v for k, v in after.items() if k not in before or before[k] != v}
    # The changes travel in an event: values JSON cannot hold are recorded as their str(), as agno stores them.
    return orjson.loads(orjson.dumps(changes, default=str)), tuple(k for k in before if k not in after)


class ToolTopicHandler:
    """`WorkHandler` of the tools work topic: tool calls to `tools`, function steps to `steps`."""

    def __init__(self, tools: ToolExecutor, steps: StepExecutor) -> None:
        self._tools = tools
        self._steps = steps

    async def execute(self, work: WorkItem, emit: Any) -> list[RunEvent]:
        """Execute `work` with the executor of its kind."""
        if isinstance(work, StepWork):
            return await self._steps.execute(work, emit)
        return await self._tools.execute(work, emit)
