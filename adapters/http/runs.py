"""Agent runs: start (`POST /agents/{agent_id}/runs`), poll (`GET …/runs/{run_id}`) and cancel (`POST …/cancel`).

Form fields of a new run (multipart or urlencoded, as agno): `message` (required), `stream` (default true),
`stream_events` (default true, as AgentOS forces), `session_id` (default a fresh uuid4), `user_id`,
`background` (default false). `stream=false` waits for the run and returns agno's RunOutput JSON;
`background=true` returns 202 `{run_id, session_id, status: "PENDING"}` at once (with `stream=true`: an SSE
stream whose frames carry `event_index`, resumable with `/resume`). Runs never depend on the client's
connection: a client that disconnects cancels nothing, background or not; `POST …/cancel` does.

The run's events are read from the log, never from a process's memory, so every route works on any API
replica, also for a run another replica started.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from projections import SessionsView
from streams import Subscription

from ..runtime import Runtime
from .sse import fold_run, indexed_stream, run_output, sse_stream

__all__ = ["SSE_HEADERS", "pending_response", "router"]

router = APIRouter(tags=["Agents"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_ACCEPT_WAIT_S = 10.0
"""How long a background submission waits for its run to be recorded, so a poll right after finds it."""


def runtime_for(request: Request, agent_id: str) -> Runtime:
    """The app's runtime; 404 (agno's "Agent not found") when `agent_id` is not registered."""
    runtime: Runtime = request.app.state.runtime
    if agent_id not in runtime.agents:
        raise HTTPException(status_code=404, detail=f"Agent not found: {agent_id}")
    return runtime


def pending_response(run_id: str, session_id: str) -> JSONResponse:
    """The answer agno gives a background submission: 202 `{run_id, session_id, status: "PENDING"}`."""
    return JSONResponse({"run_id": run_id, "session_id": session_id, "status": "PENDING"}, status_code=202)


async def _first_event(subscription: Subscription) -> None:
    """Wait (bounded) until the subscribed run records its first event, then drop the subscription."""
    events = subscription.__aiter__()
    try:
        await asyncio.wait_for(anext(events), _ACCEPT_WAIT_S)
    except (TimeoutError, StopAsyncIteration):
        pass
    finally:
        await events.aclose()


@router.post("/agents/{agent_id}/runs", response_model=None)
async def create_agent_run(
    agent_id: str,
    request: Request,
    message: Annotated[str, Form(min_length=1, description="The user's message")],
    stream: Annotated[bool, Form()] = True,
    stream_events: Annotated[bool, Form()] = True,
    session_id: Annotated[str | None, Form()] = None,
    user_id: Annotated[str | None, Form()] = None,
    background: Annotated[bool, Form(description="Return at once; the run goes on without the client")] = False,
) -> StreamingResponse | JSONResponse | dict[str, Any]:
    """Start a run of `agent_id`; SSE when `stream` is true, else the RunOutput JSON (202 when `background`)."""
    runtime = runtime_for(request, agent_id)
    command, subscription = await runtime.start_run(agent_id, message, session_id=session_id or None, user_id=user_id)
    if background and not stream:
        await _first_event(subscription)
        return pending_response(command.run_id, command.session_id)
    if not stream:
        return await run_output(subscription)
    frames = (
        indexed_stream((), subscription, stream_events=stream_events)
        if background
        else sse_stream(subscription, stream_events=stream_events)
    )
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/agents/{agent_id}/runs/{run_id}")
async def get_agent_run(
    agent_id: str,
    run_id: str,
    request: Request,
    session_id: Annotated[str, Query(description="Session ID of the run")],
) -> dict[str, Any]:
    """The run as agno's `RunOutput.to_dict()` (poll a background run with it); 404 "Run not found"."""
    runtime = runtime_for(request, agent_id)
    past, _end = await runtime.tap.read_run(session_id, run_id)
    view = SessionsView()
    fold_run(view, past)
    row = view.runs.get(run_id)
    if row is None or row["agent_id"] != agent_id:
        raise HTTPException(status_code=404, detail="Run not found")
    data: dict[str, Any] = row["run_data"]
    return {k: v for k, v in data.items() if v is not None}


@router.post("/agents/{agent_id}/runs/{run_id}/cancel")
async def cancel_agent_run(
    agent_id: str,
    run_id: str,
    request: Request,
    session_id: Annotated[str | None, Query(description="Session ID of the run (found from the log if absent)")] = None,
) -> JSONResponse:
    """Cancel a run from any replica: a CancelRun on the commands topic; `{}` as agno answers.

    The orchestrator owning the run ends it at its next step (RunCancelled) and the model worker streaming
    for it stops; a run that already ended is left alone (still `{}`, as agno).
    """
    runtime = runtime_for(request, agent_id)
    return await cancel_response(runtime, run_id, session_id)


async def cancel_response(runtime: Runtime, run_id: str, session_id: str | None) -> JSONResponse:
    """Append a CancelRun for `run_id` (its session read from the log when not given); `{}` as agno answers.

    Used by the agent, team and workflow cancel routes: any replica can cancel any run.
    """
    session = session_id or await runtime.tap.find_session(run_id)
    if session is not None:
        await runtime.cancel_run(run_id, session, reason=f"Run {run_id} was cancelled")
    return JSONResponse({}, status_code=200)
