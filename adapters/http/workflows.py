"""Workflow routes: `GET /workflows`, `GET /workflows/{id}`, runs (`POST …/runs`, `GET …/runs/{run_id}`, cancel).

Form fields of a new run (urlencoded or multipart, as agno): `message` (required), `stream` (default
true), `session_id` (default a fresh uuid4), `user_id`, `additional_data` (a JSON object, passed to every
step as `StepInput.additional_data`), `session_state` (a JSON object, deep-merged over the session's stored
state for this run), `background` (default false). `stream=true` answers agno's SSE frames
(`adapters.http.workflow_sse`); `stream=false` waits for the run and answers its `WorkflowRunOutput`;
`background=true, stream=false` answers 202 `{run_id, session_id, status: "PENDING"}` at once. As for
agents, the run never depends on the client's connection, and every route reads the log, so it works on
any API replica.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from engine import Condition, Router, Step, Workflow, WorkflowNode, node_children

from ..runtime import Runtime
from .agents import agent_response
from .runs import SSE_HEADERS, _first_event, cancel_response, pending_response
from .teams import team_response
from .workflow_sse import workflow_output, workflow_sse_stream

__all__ = ["router", "workflow_response"]

router = APIRouter(tags=["Workflows"])


def _workflow(request: Request, workflow_id: str) -> tuple[Runtime, Workflow]:
    runtime: Runtime = request.app.state.runtime
    workflow = runtime.workflows.get(workflow_id)
    if workflow is None:
        raise HTTPException(status_code=404, detail=f"Workflow not found: {workflow_id}")
    return runtime, workflow


def _step_tree(node: WorkflowNode) -> dict[str, Any]:
    """Agno's `to_dict_for_steps()` entry of a node (None values pruned; agents and teams as their responses)."""
    entry: dict[str, Any] = {"name": node.name, "description": node.description, "type": type(node).__name__}
    if isinstance(node, Step) and node.agent is not None:
        entry["agent"] = agent_response(node.agent)
    if isinstance(node, Step) and node.team is not None:
        entry["team"] = {k: v for k, v in team_response(node.team).items() if v is not None}
    nested = node_children(node)
    if isinstance(node, Condition):
        entry["steps"] = [_step_tree(c) for suffix, c in nested if not suffix.startswith("e")]
        if node.else_steps:
            entry["else_steps"] = [_step_tree(c) for suffix, c in nested if suffix.startswith("e")]
    elif nested or isinstance(node, Router):
        entry["steps"] = [_step_tree(c) for _suffix, c in nested]
    return {k: v for k, v in entry.items() if v is not None}


def workflow_response(workflow: Workflow) -> dict[str, Any]:
    """Agno's WorkflowResponse fields that apply to agnostream workflows."""
    return {
        "id": workflow.id,
        "name": workflow.name,
        "db_id": None,
        "description": workflow.description,
        "input_schema": None,
        "steps": [_step_tree(n) for n in workflow.nodes],
        "metadata": workflow.metadata or None,
        "workflow_agent": False,
    }


@router.get("/workflows")
async def list_workflows(request: Request) -> list[dict[str, Any]]:
    """Agno's WorkflowSummaryResponse of every registered workflow, in registration order."""
    workflows: dict[str, Workflow] = request.app.state.runtime.workflows
    return [{"id": w.id, "name": w.name, "description": w.description, "db_id": None} for w in workflows.values()]


@router.get("/workflows/{workflow_id}")
async def get_workflow(workflow_id: str, request: Request) -> dict[str, Any]:
    """One workflow with its steps; 404 if `workflow_id` is not registered."""
    _runtime, workflow = _workflow(request, workflow_id)
    return workflow_response(workflow)


def _json_object(field: str, value: str | None) -> dict[str, Any] | None:
    """A form field holding a JSON object; None when absent or empty; 422 when it is not a JSON object."""
    if value is None or value == "":
        return None
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(status_code=422, detail=f"{field}: invalid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise HTTPException(status_code=422, detail=f"{field}: must be a JSON object")
    return data


@router.post("/workflows/{workflow_id}/runs", response_model=None)
async def create_workflow_run(
    workflow_id: str,
    request: Request,
    message: Annotated[str, Form(min_length=1, description="The workflow's input")],
    stream: Annotated[bool, Form()] = True,
    session_id: Annotated[str | None, Form()] = None,
    user_id: Annotated[str | None, Form()] = None,
    additional_data: Annotated[str | None, Form(description="JSON object passed to every step")] = None,
    session_state: Annotated[str | None, Form(description="JSON object merged into the session state")] = None,
    background: Annotated[bool, Form(description="Return at once; the run goes on without the client")] = False,
) -> StreamingResponse | JSONResponse | dict[str, Any]:
    """Start a run of `workflow_id`: SSE when `stream` is true, else the WorkflowRunOutput JSON."""
    runtime, _workflow_def = _workflow(request, workflow_id)
    data = _json_object("additional_data", additional_data)
    state = _json_object("session_state", session_state)
    command, subscription = await runtime.start_workflow(
        workflow_id, message, session_id=session_id or None, user_id=user_id, additional_data=data, session_state=state
    )
    if background and not stream:
        await _first_event(subscription)
        return pending_response(command.run_id, command.session_id)
    if not stream:
        return await workflow_output(command.run_id, subscription)
    return StreamingResponse(workflow_sse_stream(subscription), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/workflows/{workflow_id}/runs/{run_id}")
async def get_workflow_run(
    workflow_id: str,
    run_id: str,
    request: Request,
    session_id: Annotated[str, Query(description="Session ID of the run")],
) -> dict[str, Any]:
    """The run as agno's `WorkflowRunOutput.to_dict()` (poll a background run with it); 404 "Run not found"."""
    runtime, _workflow_def = _workflow(request, workflow_id)
    past, _end = await runtime.tap.read_run(session_id, run_id)
    output = await workflow_output(run_id, None, past)
    if output.get("workflow_id") != workflow_id:
        raise HTTPException(status_code=404, detail="Run not found")
    return output


@router.post("/workflows/{workflow_id}/runs/{run_id}/cancel")
async def cancel_workflow_run(
    workflow_id: str,
    run_id: str,
    request: Request,
    session_id: Annotated[str | None, Query(description="Session ID of the run (found from the log if absent)")] = None,
) -> JSONResponse:
    """Cancel a workflow run from any replica (WorkflowCancelled; its running step agent runs are cancelled)."""
    runtime, _workflow_def = _workflow(request, workflow_id)
    return await cancel_response(runtime, run_id, session_id)
