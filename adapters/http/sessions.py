"""Session routes: `GET /sessions`, `GET /sessions/{session_id}`, `GET /sessions/{session_id}/runs`.

Shapes follow agno's AgentOS schemas (SessionSchema, AgentSessionDetailSchema, RunSchema); rows come from
the sessions projection (`agno_sessions` / `agno_runs`). Timestamps in responses are ISO 8601 UTC.
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from projections import ViewStore

__all__ = ["router"]

router = APIRouter(tags=["Sessions"])


def _iso(ts: int | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


def _store(request: Request) -> ViewStore:
    projection = request.app.state.runtime.projection
    if projection is None:
        raise HTTPException(status_code=503, detail="this server runs without the sessions projection")
    store: ViewStore = projection.store
    return store


def _session_schema(row: dict[str, Any]) -> dict[str, Any]:
    data = row.get("session_data") or {}
    metrics = data.get("session_metrics") or {}
    return {
        "session_id": row["session_id"],
        "session_name": data.get("session_name"),
        "session_state": data.get("session_state") or {},
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row.get("updated_at")),
        "session_type": row["session_type"],
        "user_id": row.get("user_id"),
        "agent_id": row.get("agent_id"),
        "team_id": row.get("team_id"),
        "workflow_id": row.get("workflow_id"),
        "session_summary": row.get("summary"),
        "metrics": metrics,
        "total_tokens": metrics.get("total_tokens"),
        "metadata": row.get("metadata"),
    }


def _run_schema(row: dict[str, Any]) -> dict[str, Any]:
    data = row["run_data"]
    run_input = data.get("input")
    if row.get("run_type") == "workflow":  # agno's WorkflowRunSchema
        return {
            "run_id": row["run_id"],
            "run_input": run_input,
            "workflow_id": row.get("workflow_id"),
            "user_id": row.get("user_id"),
            "content": data.get("content"),
            "content_type": data.get("content_type"),
            "status": row.get("status"),
            "step_results": data.get("step_results"),
            "step_executor_runs": data.get("step_executor_runs"),
            "metrics": data.get("metrics"),
            "created_at": _iso(row["created_at"]),
        }
    component = {"team_id": row.get("team_id")} if row.get("run_type") == "team" else {"agent_id": row.get("agent_id")}
    return {
        "run_id": row["run_id"],
        "parent_run_id": row.get("parent_run_id"),
        **component,
        "user_id": row.get("user_id"),
        "status": row.get("status"),
        "run_input": run_input.get("input_content") if isinstance(run_input, dict) else run_input,
        "content": data.get("content"),
        "run_response_format": "text",
        "metrics": data.get("metrics"),
        "messages": data.get("messages"),
        "tools": data.get("tools"),
        "session_state": data.get("session_state"),
        "created_at": _iso(row["created_at"]),
    }


@router.get("/sessions")
async def list_sessions(
    request: Request,
    type: Annotated[Literal["agent", "team", "workflow"] | None, Query()] = None,
    component_id: str | None = None,
    user_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    page: Annotated[int, Query(ge=1)] = 1,
    sort_by: Literal["created_at", "updated_at", "session_id"] = "created_at",
    sort_order: Literal["asc", "desc"] = "desc",
) -> dict[str, Any]:
    """Paginated sessions without their runs: `{"data": [SessionSchema], "meta": {...}}`."""
    started = time.perf_counter()
    rows, total = await asyncio.to_thread(
        _store(request).list_sessions,
        session_type=type,
        component_id=component_id,
        user_id=user_id,
        limit=limit,
        page=page,
        sort_by=sort_by,
        sort_order=sort_order,
    )
    return {
        "data": [_session_schema(r) for r in rows],
        "meta": {
            "page": page,
            "limit": limit,
            "total_pages": math.ceil(total / limit) if total else 0,
            "total_count": total,
            "search_time_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    }


@router.get("/sessions/{session_id}")
async def get_session(session_id: str, request: Request) -> dict[str, Any]:
    """AgentSessionDetailSchema: the session with its chat history; 404 if unknown."""
    store = _store(request)
    row = await asyncio.to_thread(store.get_session, session_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"Session not found: {session_id}")
    runs = await asyncio.to_thread(store.get_runs, session_id)
    schema = _session_schema(row)
    chat_history = [
        m
        for r in runs
        if not r.get("parent_run_id")  # a team session's chat is the team's, not its members'
        for m in r["run_data"].get("messages") or []
        if m.get("role") != "system" and not m.get("from_history")
    ]
    if row["session_type"] == "team":  # agno's TeamSessionDetailSchema
        merged = {**schema, "session_summary": row.get("summary")}
        keys = ("session_id", "session_name", "user_id", "team_id", "session_summary", "session_state", "metrics")
        return {
            **{k: merged[k] for k in keys},
            "team_data": row.get("team_data"),
            "metadata": row.get("metadata"),
            "chat_history": chat_history,
            "created_at": schema["created_at"],
            "updated_at": schema["updated_at"],
            "total_tokens": schema["total_tokens"],
        }
    return {
        "user_id": row.get("user_id"),
        "agent_session_id": row["session_id"],
        "session_id": row["session_id"],
        "session_name": schema["session_name"],
        "session_summary": row.get("summary"),
        "session_state": schema["session_state"],
        "agent_id": row.get("agent_id"),
        "total_tokens": schema["total_tokens"],
        "agent_data": row.get("agent_data"),
        "metrics": schema["metrics"],
        "metadata": row.get("metadata"),
        "chat_history": chat_history,
        "created_at": schema["created_at"],
        "updated_at": schema["updated_at"],
    }


@router.get("/sessions/{session_id}/runs")
async def get_session_runs(session_id: str, request: Request) -> list[dict[str, Any]]:
    """The session's runs (RunSchema) ordered by run index; 404 if the session is unknown."""
    store = _store(request)
    if await asyncio.to_thread(store.get_session, session_id) is None:
        raise HTTPException(status_code=404, detail=f"Session not found: {session_id}")
    return [_run_schema(r) for r in await asyncio.to_thread(store.get_runs, session_id)]
