"""The tool worker: executes ToolWork items with a timeout and reports as run events.

Appends `ToolCallStarted` (while the call runs), then answers with `ToolCallCompleted` (the result as text)
or `ToolCallError` (unknown tool, invalid arguments, exception, timeout). Sync tools run in a thread so
the event loop never blocks; async tools are awaited. A call whose answer was committed is never
executed again (see `streams.worker`); one interrupted before its answer is executed again on restart.
A call a human resolved (`ToolWork.execution`) keeps agno's flags (`requires_confirmation`, `confirmed`,
`user_input_schema` ...) on its events. A call of a team leader's own tool (`ToolWork.is_team`) is reported
with the Team* names (TeamToolCallStarted ...), as agno's team does.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from engine import (
    Agent,
    RunEvent,
    ToolCallCompleted,
    ToolCallError,
    ToolExecution,
    ToolWork,
    WorkItem,
    tool_event_classes,
)

__all__ = ["TOOL_GROUP", "ToolExecutor", "format_args", "result_text"]

TOOL_GROUP = "process.tools"


def result_text(value: Any) -> str:
    """Turn a tool's return value into the text the model sees (str as is, else JSON, else str())."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def format_args(args: Mapping[str, Any]) -> str:
    """Agno's `name(k=v, ...)` rendering of arguments in ToolCallCompleted.content."""
    return ", ".join(f"{k}={v}" for k, v in args.items())


class ToolExecutor:
    """`WorkHandler` for tool work.

    Args:
        agents: registry by agent id (tools are looked up on the run's agent).
        timeout_s: per-call timeout in seconds (settings `AGNOSTREAM_TOOL_TIMEOUT_S`).
    """

    def __init__(self, agents: Mapping[str, Agent], *, timeout_s: float = 60.0) -> None:
        self._agents = agents
        self._timeout_s = timeout_s

    async def execute(self, work: WorkItem, emit: Any) -> list[RunEvent]:
        """Execute the call in `work`; return its answer event."""
        assert isinstance(work, ToolWork)
        agent = self._agents.get(work.agent_id)
        base: dict[str, Any] = {
            "run_id": work.run_id,
            "session_id": work.session_id,
            "seq": work.seq,
            "agent_id": work.agent_id,
            "agent_name": agent.name if agent else "",
            **work.event_fields(),
        }
        now = int(time.time())
        try:
            args = orjson.loads(work.arguments or "{}")
        except orjson.JSONDecodeError as exc:
            return [self._error(base, work, {}, f"Error: could not parse arguments of {work.tool_name}: {exc}")]
        if not isinstance(args, dict):
            return [self._error(base, work, {}, f"Error: arguments of {work.tool_name} must be a JSON object")]
        tool = agent.get_tool(work.tool_name) if agent else None
        if tool is None or tool.entrypoint is None:
            return [self._error(base, work, args, f"Function {work.tool_name} not found")]
        execution = _execution(work, args, now)
        started_cls, completed_cls, _error_cls = tool_event_classes(work.is_team)
        attempt = uuid.uuid4().hex[:8]  # progress ids are per attempt (see model_worker)
        # ToolCallStarted is appended while the tool runs: the answer is returned (and appended) only after
        # it, so the log order is the same, but the call no longer waits for a group commit to begin.
        started = asyncio.ensure_future(
            emit([started_cls(created_at=now, part=f"start~{attempt}", tool=execution, **base)])
        )
        try:
            answer = await self._call(tool.entrypoint, work, args, base, execution, completed_cls)
        except BaseException:
            started.cancel()
            raise
        await started
        return [answer]

    async def _call(
        self,
        fn: Any,
        work: ToolWork,
        args: dict[str, Any],
        base: dict[str, Any],
        execution: ToolExecution,
        completed_cls: type[ToolCallCompleted],
    ) -> RunEvent:
        """Run the tool under the timeout; its answer event (ToolCallCompleted, or ToolCallError on failure)."""
        start = time.time()
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for runs the call in a task of its own, and the
            # answer then reached this task three event-loop iterations later (~1 ms each under load).
            async with asyncio.timeout(self._timeout_s):
                value = await fn(**args) if inspect.iscoroutinefunction(fn) else await asyncio.to_thread(fn, **args)
        except TimeoutError:
            return self._error(base, work, args, f"Error: tool {work.tool_name} timed out after {self._timeout_s}s")
        except Exception as exc:  # a tool's own failure is returned to the model, as agno does
            return self._error(base, work, args, f"Error executing {work.tool_name}: {exc}")
        end = time.time()
        result = result_text(value)
        done = replace(
            execution,
            tool_call_error=False,
            result=result,
            metrics={"start_time": start, "end_time": end, "duration": end - start},
        )
        content = f"{work.tool_name}({format_args(args)}) completed in {end - start:.4f}s. "
        return completed_cls(created_at=int(end), part="done", content=content, tool=done, **base)

    def _error(self, base: dict[str, Any], work: ToolWork, args: dict[str, Any], error: str) -> ToolCallError:
        tool = replace(_execution(work, args, int(time.time())), tool_call_error=True, result=error)
        error_cls = tool_event_classes(work.is_team)[2]
        return error_cls(created_at=int(time.time()), part="done", tool=tool, error=error, **base)


def _execution(work: ToolWork, args: dict[str, Any], now: int) -> ToolExecution:
    """The call's ToolExecution: the resolved held one (agno's flags) when a human answered it."""
    if work.execution is not None:
        return replace(work.execution, tool_args=args, created_at=now)
    return ToolExecution(tool_call_id=work.tool_call_id, tool_name=work.tool_name, tool_args=args, created_at=now)
