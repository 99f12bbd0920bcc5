"""The function-step worker: runs a workflow Step's `executor` for a StepWork item and answers StepExecuted.

Function steps travel on the tools work topic and are executed by the tool worker's loop, so they run
concurrently (a Parallel's branches at once) and exactly once like tool calls: an answered item is never
executed again, one interrupted before its answer is executed again after a restart (at-least-once until
completion, so executors with external side effects should be idempotent). `ToolTopicHandler` sends each
item of the topic to its executor by kind.

An executor is called with the step's `StepInput`; sync executors run in a thread, async ones are awaited,
each attempt with the tool timeout. A raising (or timing out) executor is retried `max_retries` times,
then the answer carries the last error (agno's retry loop, without its delays).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Mapping
from typing import Any

from engine import RunEvent, Step, StepExecuted, StepInput, StepWork, Workflow, WorkItem, as_step_output

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
        for attempt in range(1, attempts + 1):
            try:
                value = await self._call(node, step_input)
            except TimeoutError:
                error = f"step {node.name} timed out after {self._timeout_s}s"
            except Exception as exc:  # the step's own failure is the workflow's to handle, as in agno
                error = str(exc) or type(exc).__name__
            else:
                output = as_step_output(value)
                return [StepExecuted(created_at=int(time.time()), output=output, attempts=attempt, **base)]
        return [StepExecuted(created_at=int(time.time()), error=error, attempts=attempts, **base)]

    async def _call(self, node: Step, step_input: StepInput) -> Any:
        fn = node.executor
        assert fn is not None
        if inspect.iscoroutinefunction(fn):
            return await asyncio.wait_for(fn(step_input), self._timeout_s)
        return await asyncio.wait_for(asyncio.to_thread(fn, step_input), self._timeout_s)


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
