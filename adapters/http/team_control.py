"""Paused and disconnected team runs: `POST /teams/{team_id}/runs/{run_id}/continue` and `…/resume`.

Continue (urlencoded, agno's fields): `requirements` (JSON list of the TeamRunPaused's agno RunRequirement
dicts, resolved: `confirmation` / `confirmation_note`, `external_execution_result`, `user_input_schema[].value`,
or the same answers on `tool_execution`), `session_id` (required), `user_id`, `stream` (default true),
`stream_events` (default true), `background` (default false). The paused team run is folded from the log
and checked first (404 unknown run, 409 not paused, 400 bad JSON or a requirement it is not waiting for,
naming the field), then a ContinueTeamRun goes to the commands topic; whichever replica owns the session
continues it, however long after the pause. The stream carries `event_index`, numbered on from the paused
stream: the continued members' events (`parent_run_id` = the team run) come first, then TeamRunContinued
and the leader's, as agno streams them.

Resume (urlencoded): `last_event_index`, `session_id`, as the agent route, over the team run's events and
its member runs'.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse

from engine import (
    ContinueTeamRun,
    Requirement,
    RunState,
    SchemaError,
    SessionState,
    decode_event,
    team_continue_problem,
)

from ..runtime import Runtime
from .run_control import (
    SESSION_ID_REQUIRED,
    _catch_up_then_follow,
    _error_frame,
    _replay,
    _sse,
    continue_response,
    fold_recorded,
    not_continuable,
)
from .sse import IndexedEvent
from .teams import team_output

__all__ = ["router", "team_indexed_events", "team_status"]

router = APIRouter(tags=["Teams"])

_ENDS = {"TeamRunCompleted": "COMPLETED", "TeamRunError": "ERROR", "TeamRunCancelled": "CANCELLED"}
_MOVES = {"TeamRunPaused": "PAUSED", "TeamRequirementsResolved": "RUNNING", "TeamRunContinued": "RUNNING"}


def _runtime(request: Request, team_id: str) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    if team_id not in runtime.teams:
        raise HTTPException(status_code=404, detail=f"Team not found: {team_id}")
    return runtime


def team_status(values: Iterable[dict[str, Any]], run_id: str) -> str:
    """The team run's status from its own recorded decisions: COMPLETED / ERROR / CANCELLED, PAUSED or RUNNING."""
    status = "RUNNING"
    for value in values:
        if value.get("run_id") != run_id or value.get("part"):
            continue
        name = str(value.get("event"))
        if name in _ENDS:
            return _ENDS[name]
        status = _MOVES.get(name, status)
    return status


def team_indexed_events(values: Iterable[dict[str, Any]], run_id: str) -> list[IndexedEvent]:
    """Number a team run's recorded events (its own and its members') as its streams did, up to its end."""
    out: list[IndexedEvent] = []
    for value in values:
        try:
            event = decode_event(value)
        except SchemaError:
            continue
        if event.is_internal:
            continue
        out.append((len(out), event))
        if event.run_id == run_id and not event.part and event.event in _ENDS:
            break
    return out


def _requirements(text: str) -> tuple[Requirement, ...]:
    """The client's resolved requirements; 400 naming what is wrong for bad JSON or a bad structure."""
    try:
        data = json.loads(text) if text else []
    except json.JSONDecodeError:
        raise HTTPException(status_code=400, detail="Invalid JSON in requirements field") from None
    if not isinstance(data, list):
        raise HTTPException(
            status_code=400, detail="Invalid structure or content for requirements: expected a JSON list"
        )
    out = []
    for i, item in enumerate(data):
        try:
            out.append(Requirement.from_dict(item))
        except SchemaError as exc:
            raise HTTPException(
                status_code=400, detail=f"Invalid structure or content for requirements[{i}]: {exc}"
            ) from None
    return tuple(out)


def _paused_team_run(past: Sequence[dict[str, Any]], team_id: str, run_id: str) -> tuple[SessionState, RunState]:
    """The team run folded from its recorded events (and its members'); 404 / 409 unless it is in flight."""
    if not past or past[0].get("team_id") != team_id or past[0].get("run_id") != run_id:
        raise HTTPException(status_code=404, detail=f"No runs found for run ID {run_id}")
    state = fold_recorded(past)
    run = state.runs.get(run_id)
    if run is None:
        raise not_continuable(run_id, team_status(past, run_id))
    return state, run


@router.post("/teams/{team_id}/runs/{run_id}/continue", response_model=None)
async def continue_team_run(
    team_id: str,
    run_id: str,
    request: Request,
    requirements: Annotated[str, Form(description="JSON list of the run's RunRequirement dicts, resolved")] = "",
    session_id: Annotated[str | None, Form()] = None,
    user_id: Annotated[str | None, Form()] = None,
    stream: Annotated[bool, Form()] = True,
    stream_events: Annotated[bool, Form()] = True,
    background: Annotated[bool, Form()] = False,
) -> StreamingResponse | JSONResponse | dict[str, Any]:
    """Continue a paused team run with the human's answers (see module docstring)."""
    runtime = _runtime(request, team_id)
    if not session_id:
        raise HTTPException(status_code=400, detail=SESSION_ID_REQUIRED)
    answers = _requirements(requirements)
    subscription, past = await runtime.watch_run(session_id, run_id, members=True)
    try:
        state, run = _paused_team_run(past, team_id, run_id)
        problem = team_continue_problem(state, run, answers)
        if problem is not None:
            message, field = problem
            raise HTTPException(status_code=409 if field is None else 400, detail=message)
    except HTTPException:
        subscription.close()
        raise
    command = ContinueTeamRun(
        run_id=run_id, session_id=session_id, created_at=int(time.time()), requirements=answers, user_id=user_id
    )
    return await continue_response(
        runtime,
        command,
        subscription,
        lambda: team_output(subscription, past),
        team_indexed_events(past, run_id),
        stream=stream,
        stream_events=stream_events,
        background=background,
    )


@router.post("/teams/{team_id}/runs/{run_id}/resume", response_model=None)
async def resume_team_run_stream(
    team_id: str,
    run_id: str,
    request: Request,
    last_event_index: Annotated[int | None, Form(description="Index of the last event received (0-based)")] = None,
    session_id: Annotated[str | None, Form(description="Session ID of the run (found from the log if absent)")] = None,
) -> StreamingResponse:
    """Replay the team run's events (and its members') after `last_event_index`, then follow the live ones."""
    runtime = _runtime(request, team_id)
    session = session_id or await runtime.tap.find_session(run_id)
    if session is None:
        return _sse(_error_frame(run_id))
    subscription, past = await runtime.watch_run(session, run_id, members=True)
    if not past or past[0].get("team_id") != team_id or past[0].get("run_id") != run_id:
        subscription.close()
        return _sse(_error_frame(run_id))
    status = team_status(past, run_id)
    prior = team_indexed_events(past, run_id)
    after = -1 if last_event_index is None else last_event_index
    if status != "RUNNING":
        subscription.close()
        return _sse(_replay(run_id, status, prior, after))
    return _sse(_catch_up_then_follow(run_id, prior, subscription, after, kind="team"))
