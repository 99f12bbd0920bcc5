"""Team routes: `GET /teams`, `GET /teams/{team_id}`, `POST /teams/{team_id}/runs`, poll and cancel a team run.

A team run's stream carries its member runs' events, interleaved as they happen (agno's
`stream_member_events`): `TeamRunStarted`, the leader's `TeamModelRequest*`, `TeamToolCallStarted`, the
member's `RunStarted` … `RunCompleted` (with `parent_run_id`), `TeamToolCallCompleted`, … `TeamRunCompleted`.
Form fields of a new run are those of an agent run (`message`, `stream`, `stream_events`, `session_id`,
`user_id`, `background`) plus agno's vestigial `monitor`. `stream=false` returns agno's TeamRunOutput JSON
(with `member_responses`). A team run paused for a human (TeamRunPaused) is continued and its stream
resumed by the routes of `team_control`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from engine import Team
from projections import SessionsView
from streams import Subscription

from ..runtime import Runtime
from .agents import agent_response
from .runs import SSE_HEADERS, _first_event, cancel_response, pending_response
from .sse import fold_run, indexed_stream, sse_stream

__all__ = ["router", "team_response"]

router = APIRouter(tags=["Teams"])


def team_response(team: Team) -> dict[str, Any]:
    """The agno TeamResponse fields that apply to agnostream teams (`mode`, `members` as AgentResponses)."""
    leader = team.leader
    return {
        "id": team.id,
        "name": team.name,
        "description": team.description,
        "role": team.role,
        "mode": team.team_mode,
        "model": {"name": team.model.name, "model": team.model.id, "provider": team.model.provider},
        "tools": {
            "tools": [
                {"name": t.name, "description": t.description, "parameters": dict(t.parameters)}
                for t in leader.tool_list
            ]
        },
        "members": [agent_response(m) for m in team.members],
        "sessions": {
            "session_table": "agno_sessions",
            "add_history_to_context": team.add_history_to_context,
            "num_history_runs": team.history_runs or None,
        },
        "system_message": {"instructions": team.instructions, "markdown": team.markdown},
        "streaming": {"stream": True, "stream_events": True, "stream_member_events": True},
        "max_iterations": team.max_iterations if team.team_mode == "tasks" else None,
    }


def _runtime(request: Request, team_id: str) -> tuple[Runtime, Team]:
    runtime: Runtime = request.app.state.runtime
    team = runtime.teams.get(team_id)
    if team is None:
        raise HTTPException(status_code=404, detail=f"Team not found: {team_id}")
    return runtime, team


@router.get("/teams")
async def list_teams(request: Request) -> list[dict[str, Any]]:
    """All registered teams, in registration order."""
    return [team_response(t) for t in request.app.state.runtime.teams.values()]


@router.get("/teams/{team_id}")
async def get_team(team_id: str, request: Request) -> dict[str, Any]:
    """One team; 404 if `team_id` is not registered."""
    return team_response(_runtime(request, team_id)[1])


@router.post("/teams/{team_id}/runs", response_model=None)
async def create_team_run(
    team_id: str,
    request: Request,
    message: Annotated[str, Form(min_length=1, description="The user's message")],
    stream: Annotated[bool, Form()] = True,
    stream_events: Annotated[bool, Form()] = True,
    monitor: Annotated[bool, Form(description="Accepted for agno compatibility; no effect")] = True,
    session_id: Annotated[str | None, Form()] = None,
    user_id: Annotated[str | None, Form()] = None,
    background: Annotated[bool, Form(description="Return at once; the run goes on without the client")] = False,
) -> StreamingResponse | JSONResponse | dict[str, Any]:
    """Start a run of `team_id`; SSE when `stream` is true, else the TeamRunOutput JSON (202 when `background`)."""
    runtime, _team = _runtime(request, team_id)
    command, subscription = await runtime.start_team_run(
        team_id, message, session_id=session_id or None, user_id=user_id
    )
    if background and not stream:
        await _first_event(subscription)
        return pending_response(command.run_id, command.session_id)
    if not stream:
        return await team_output(subscription)
    frames = (
        indexed_stream((), subscription, stream_events=stream_events)
        if background
        else sse_stream(subscription, stream_events=stream_events)
    )
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)


async def team_output(subscription: Subscription, prior: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Consume the team run's events (after `prior`) and return agno's `TeamRunOutput.to_dict()`.

    The team run's row as the sessions view folds it, plus `member_responses` from its TeamRunCompleted.
    """
    values = list(prior or ())
    async for value in subscription:
        values.append(value)
    return _output(subscription.run_id, values)


def _output(run_id: str, values: list[dict[str, Any]]) -> dict[str, Any]:
    view = SessionsView()
    fold_run(view, values)
    row = view.runs.get(run_id)
    if row is None:
        return {"run_id": run_id, "status": "ERROR", "content": "the run produced no events"}
    data = {k: v for k, v in row["run_data"].items() if v is not None}
    done = next((v for v in values if v.get("event") == "TeamRunCompleted" and v.get("run_id") == run_id), None)
    if done is not None and done.get("member_responses"):
        data["member_responses"] = done["member_responses"]
    return data


@router.get("/teams/{team_id}/runs/{run_id}")
async def get_team_run(
    team_id: str,
    run_id: str,
    request: Request,
    session_id: Annotated[str, Query(description="Session ID of the run")],
) -> dict[str, Any]:
    """The team run as agno's `TeamRunOutput` (poll a background run with it); 404 "Run not found"."""
    runtime, _team = _runtime(request, team_id)
    past, _end = await runtime.tap.read_run(session_id, run_id, members=True)
    output = _output(run_id, past)
    if output.get("team_id") != team_id:
        raise HTTPException(status_code=404, detail="Run not found")
    return output


@router.post("/teams/{team_id}/runs/{run_id}/cancel")
async def cancel_team_run(
    team_id: str,
    run_id: str,
    request: Request,
    session_id: Annotated[str | None, Query(description="Session ID of the run (found from the log if absent)")] = None,
) -> JSONResponse:
    """Cancel a team run from any replica: its running member runs are cancelled first; `{}` as agno answers."""
    runtime, _team = _runtime(request, team_id)
    return await cancel_response(runtime, run_id, session_id)
