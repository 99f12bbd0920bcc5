r"""SSE frames and the `WorkflowRunOutput` of a workflow run, as agno's AgentOS sends them.

A workflow run's subscription carries its own events and those of its steps' agent runs, in log order
(the order agno streams them: StepStarted, the agent's RunStarted … RunCompleted, StepCompleted). The
frames are agno's (``event: X\ndata: {...}\n\n``). Two things are added on the way out, from the events
seen so far: the agent runs' worker events (ModelRequestStarted, RunContent, ...) get the step's
`workflow_id`, `workflow_run_id`, `step_id`, `step_name`, `step_index` (recorded on the run's
RunStarted), and WorkflowCompleted gets `step_executor_runs`, the step agent runs as agno `RunOutput`
dicts, folded by the sessions view. A team step's team run and its member runs stream the same way (their
RunStarted carry the step's fields too); its TeamRunCompleted shows the `session_state` agno sends for a
team run inside a workflow (a standalone team run's has none, so the event keeps it internal).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import orjson

from engine import RunEvent, RunStarted, SchemaError, TeamRunCompleted, WorkflowCompleted, decode_event
from projections import SessionsView, fold_event
from streams import Subscription

__all__ = ["WorkflowStream", "workflow_output", "workflow_sse_stream"]


class WorkflowStream:
    """Folds one workflow run's events as they pass and turns them into frames (see module docstring)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.view = SessionsView()
        self._steps: dict[str, dict[str, Any]] = {}

    def fold(self, value: dict[str, Any]) -> RunEvent | None:
        """Fold one recorded event; return it, or None when it does not decode."""
        try:
            event = decode_event(value)
        except SchemaError:
            return None
        fold_event(self.view, event)
        if isinstance(event, RunStarted) and event.workflow_run_id is not None:
            agno = event.to_agno()
            keys = ("workflow_id", "workflow_run_id", "step_id", "step_name", "step_index")
            self._steps[event.run_id] = {k: agno[k] for k in keys if k in agno}
        return event

    def frame(self, value: dict[str, Any]) -> bytes | None:
        """The SSE frame of one recorded event, or None when clients do not see it."""
        event = self.fold(value)
        if event is None or event.is_internal:
            return None
        data = event.to_agno()
        for key, field in self._steps.get(event.run_id, {}).items():
            data.setdefault(key, field)
        if isinstance(event, TeamRunCompleted) and event.workflow_run_id is not None:
            data["session_state"] = event.session_state
        if isinstance(event, WorkflowCompleted) and event.run_id == self.run_id:
            runs = self.output().get("step_executor_runs")
            if runs:  # agno's RunOutput.to_dict() leaves out None values and empty lists
                data["step_executor_runs"] = [{k: v for k, v in r.items() if v is not None and v != []} for r in runs]
        return b"event: " + event.event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    def output(self) -> dict[str, Any]:
        """Agno's `WorkflowRunOutput.to_dict()` of the run as folded so far (None fields dropped)."""
        row = self.view.runs.get(self.run_id)
        if row is None:
            return {"run_id": self.run_id, "status": "ERROR", "content": "the workflow run produced no events"}
        data: dict[str, Any] = row["run_data"]
        return {k: v for k, v in data.items() if v is not None}


async def workflow_sse_stream(subscription: Subscription) -> AsyncIterator[bytes]:
    """Yield the workflow run's SSE frames until its terminal event."""
    stream = WorkflowStream(subscription.run_id)
    async for value in subscription:
        frame = stream.frame(value)
        if frame is not None:
            yield frame


async def workflow_output(
    run_id: str, subscription: Subscription | None, prior: Iterable[dict[str, Any]] = ()
) -> dict[str, Any]:
    """The run's `WorkflowRunOutput`: its `prior` recorded events, then (if given) its stream to the end."""
    stream = WorkflowStream(run_id)
    for value in prior:
        stream.fold(value)
    if subscription is not None:
        async for value in subscription:
            stream.fold(value)
    return stream.output()
