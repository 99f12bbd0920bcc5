"""`POST /agents/{agent_id}/runs`: start a run (agno's AgentOS form fields) and stream it as SSE.

Form fields (multipart or urlencoded, as agno): `message` (required), `stream` (default true),
`stream_events` (default true, as AgentOS forces), `session_id` (default a fresh uuid4), `user_id`.
`stream=false` waits for the run and returns agno's RunOutput JSON.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import StreamingResponse

from .sse import run_output, sse_stream

__all__ = ["router"]

router = APIRouter(tags=["Agents"])


@router.post("/agents/{agent_id}/runs", response_model=None)
async def create_agent_run(
    agent_id: str,
    request: Request,
    message: Annotated[str, Form(min_length=1, description="The user's message")],
    stream: Annotated[bool, Form()] = True,
    stream_events: Annotated[bool, Form()] = True,
    session_id: Annotated[str | None, Form()] = None,
    user_id: Annotated[str | None, Form()] = None,
) -> StreamingResponse | dict[str, Any]:
    """Start a run of `agent_id`; SSE when `stream` is true, else the RunOutput JSON. 404 for unknown agents."""
    runtime = request.app.state.runtime
    if agent_id not in runtime.agents:
        raise HTTPException(status_code=404, detail=f"Agent not found: {agent_id}")
    _command, subscription = await runtime.start_run(agent_id, message, session_id=session_id or None, user_id=user_id)
    if not stream:
        return await run_output(subscription)
    return StreamingResponse(
        sse_stream(subscription, stream_events=stream_events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
