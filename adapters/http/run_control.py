"""Paused and disconnected runs: `POST …/runs/{run_id}/continue` and `POST …/runs/{run_id}/resume`.

Continue (urlencoded, agno's fields): `tools` (JSON list of agno ToolExecution dicts with `confirmed` /
`confirmation_note`, `user_input_schema[].value` or `result` filled in), `session_id` (required),
`user_id`, `stream` (default true), `background` (default false), `stream_events` (default true). The
paused run is read back from the log and checked first (agno's 404 / 409 / 400), then a ContinueRun goes to
the commands topic; the orchestrator owning the session continues the same run_id, on whichever replica and
however long after the pause. The stream starts with RunContinued and carries `event_index`, numbered on
from the paused stream.

Resume (urlencoded): `last_event_index`, `session_id`. Replays the run's events after that index from the
log, then follows the live ones (agno's `catch_up` / `subscribed` / `replay` notices included), every frame
with `event_index`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse

from engine import (
    ContinueRun,
    ContinueTeamRun,
    RunState,
    SchemaError,
    SessionState,
    ToolExecution,
    continue_problem,
    decode_event,
    evolve,
)
from streams import Subscription

from ..runtime import Runtime
from .runs import SSE_HEADERS, pending_response, runtime_for
from .sse import IndexedEvent, indexed_events, indexed_frame, indexed_stream, run_output, stream_status

__all__ = ["SESSION_ID_REQUIRED", "continue_response", "fold_recorded", "not_continuable", "router"]

router = APIRouter(tags=["Agents"])

SESSION_ID_REQUIRED = "session_id is required for this action"
"""agno's message (`os/middleware/user_scope.py`)."""


def _updates(tools: str) -> tuple[ToolExecution, ...]:
    """The client's tool updates; 400 with agno's messages for bad JSON or a bad structure."""
    try:
        data = json.loads(tools) if tools else []
    except json.JSONDecodeError:
        raise HTTPException(status_code=400, detail="Invalid JSON in tools field") from None
    try:
        if not isinstance(data, list):
            raise SchemaError("tools must be a JSON list of tool executions")
        return tuple(ToolExecution.from_dict(t) for t in data)
    except SchemaError as exc:
        raise HTTPException(status_code=400, detail=f"Invalid structure or content for tools: {exc}") from None


def fold_recorded(past: Sequence[dict[str, Any]]) -> SessionState:
    """The session state folded from a run's recorded events (`past` not empty; undecodable ones skipped)."""
    state = SessionState(session_id=str(past[0]["session_id"]))
    for value in past:
        try:
            state = evolve(state, decode_event(value))
        except SchemaError:
            continue
    return state


def not_continuable(run_id: str, status: str) -> HTTPException:
    """The 409 (agno's messages) for a run that is no longer in flight, given its stream status."""
    if status == "CANCELLED":
        return HTTPException(status_code=409, detail=f"Cannot continue run {run_id}: run is cancelled")
    return HTTPException(status_code=409, detail=f"Cannot continue run {run_id}: run is not paused (status {status})")


async def continue_response(
    runtime: Runtime,
    command: ContinueRun | ContinueTeamRun,
    subscription: Subscription,
    output: Callable[[], Awaitable[Any]],
    prior: list[IndexedEvent],
    *,
    stream: bool,
    stream_events: bool,
    background: bool,
) -> StreamingResponse | JSONResponse | dict[str, Any]:
    """Submit a checked continue command and answer as agno does.

    The SSE frames numbered on from the paused stream (`prior`); with `stream=false` what `output()` returns
    once the run stops again, or with `background` too a 202 pending answer at once.
    """
    await runtime.submit(command)
    if not stream:
        if background:
            subscription.close()
            return pending_response(command.run_id, command.session_id)
        result: StreamingResponse | JSONResponse | dict[str, Any] = await output()
        return result
    frames = indexed_stream(prior, subscription, after=len(prior) - 1, stream_events=stream_events)
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)


def _paused_run(past: Sequence[dict[str, Any]], agent_id: str, run_id: str) -> RunState:
    """The run folded from its recorded events; 404 / 409 (agno's messages) unless it is in flight."""
    if not past or past[0].get("agent_id") != agent_id:
        raise HTTPException(status_code=404, detail=f"No runs found for run ID {run_id}")
    run = fold_recorded(past).runs.get(run_id)
    if run is not None and run.parent_run_id is not None:
        raise HTTPException(
            status_code=409,
            detail=f"Cannot continue run {run_id}: it is a member run of team run {run.parent_run_id}; "
            "continue the team run",
        )
    if run is None:
        raise not_continuable(run_id, stream_status(past))
    return run


@router.post("/agents/{agent_id}/runs/{run_id}/continue", response_model=None)
async def continue_agent_run(
    agent_id: str,
    run_id: str,
    request: Request,
    tools: Annotated[str, Form(description="JSON list of ToolExecution dicts resolving the paused calls")] = "",
    session_id: Annotated[str | None, Form()] = None,
    user_id: Annotated[str | None, Form()] = None,
    stream: Annotated[bool, Form()] = True,
    stream_events: Annotated[bool, Form()] = True,
    background: Annotated[bool, Form()] = False,
) -> StreamingResponse | JSONResponse | dict[str, Any]:
    """Continue a paused run with the human's answers (see module docstring)."""
    runtime = runtime_for(request, agent_id)
    if not session_id:
        raise HTTPException(status_code=400, detail=SESSION_ID_REQUIRED)
    updates = _updates(tools)
    subscription, past = await runtime.watch_run(session_id, run_id)
    try:
        run = _paused_run(past, agent_id, run_id)
        problem = continue_problem(run, updates)
        if problem is not None:
            raise HTTPException(status_code=409 if run.status != "PAUSED" else 400, detail=problem)
    except HTTPException:
        subscription.close()
        raise
    command = ContinueRun(
        run_id=run_id, session_id=session_id, created_at=int(time.time()), tools=updates, user_id=user_id
    )
    return await continue_response(
        runtime,
        command,
        subscription,
        lambda: run_output(subscription, past),
        indexed_events(past),
        stream=stream,
        stream_events=stream_events,
        background=background,
    )


@router.post("/agents/{agent_id}/runs/{run_id}/resume", response_model=None)
async def resume_agent_run_stream(
    agent_id: str,
    run_id: str,
    request: Request,
    last_event_index: Annotated[int | None, Form(description="Index of the last event received (0-based)")] = None,
    session_id: Annotated[str | None, Form(description="Session ID of the run (found from the log if absent)")] = None,
) -> StreamingResponse:
    """Replay the run's events after `last_event_index` from the log, then follow the live ones."""
    runtime = runtime_for(request, agent_id)
    session = session_id or await runtime.tap.find_session(run_id)
    if session is None:
        return _sse(_error_frame(run_id))
    subscription, past = await runtime.watch_run(session, run_id)
    if not past or past[0].get("agent_id") != agent_id:
        subscription.close()
        return _sse(_error_frame(run_id))
    status = stream_status(past)
    prior = indexed_events(past)
    after = -1 if last_event_index is None else last_event_index
    if status != "RUNNING":
        subscription.close()
        return _sse(_replay(run_id, status, prior, after))
    return _sse(_catch_up_then_follow(run_id, prior, subscription, after))


def _sse(frames: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)


def _notice(name: str, data: dict[str, Any]) -> bytes:
    """Resume notices as agno writes them (`replay`, `catch_up`, `subscribed`, `error`): `json.dumps` text, no index."""
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


async def _error_frame(run_id: str) -> AsyncIterator[bytes]:
    yield _notice("error", {"event": "error", "error": f"Run {run_id} not found in buffer or database"})


async def _replay(run_id: str, status: str, prior: Sequence[IndexedEvent], after: int) -> AsyncIterator[bytes]:
    """A run whose stream has ended (finished or paused): agno's `replay` notice, then the missed events."""
    missed = [(i, e) for i, e in prior if i > after]
    yield _notice(
        "replay",
        {
            "event": "replay",
            "run_id": run_id,
            "status": status,
            "total_events": len(missed),
            "total_buffered": len(prior),
            "last_event_index_requested": after,
            "message": f"Run {status}. Replaying {len(missed)} missed events (of {len(prior)} total).",
        },
    )
    for index, event in missed:
        yield indexed_frame(event, index)


async def _catch_up_then_follow(
    run_id: str, prior: Sequence[IndexedEvent], subscription: Subscription, after: int, *, kind: str = "agent"
) -> AsyncIterator[bytes]:
    """A running run (`kind` agent or team): `catch_up` and the missed events, `subscribed`, then the live ones."""
    missed = [(i, e) for i, e in prior if i > after]
    if missed:
        yield _notice(
            "catch_up",
            {
                "event": "catch_up",
                "run_id": run_id,
                "status": "running",
                "missed_events": len(missed),
                "current_event_count": len(prior),
                "message": f"Catching up on {len(missed)} missed events.",
            },
        )
    yield _notice(
        "subscribed",
        {
            "event": "subscribed",
            "run_id": run_id,
            "status": "running",
            "current_event_count": len(prior),
            "message": f"Subscribed to {kind} run. Receiving live events.",
        },
    )
    async for frame in indexed_stream(prior, subscription, after=after):
        yield frame
