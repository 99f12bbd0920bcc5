"""`GET /agents` and `GET /agents/{agent_id}`: agno's AgentResponse shape for registered agents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from engine import Agent

__all__ = ["agent_response", "router"]

router = APIRouter(tags=["Agents"])


def agent_response(agent: Agent) -> dict[str, Any]:
    """Return agno's AgentResponse fields that apply to agnostream agents."""
    return {
        "id": agent.id,
        "name": agent.name,
        "description": agent.description,
        "model": {"name": agent.model.name, "model": agent.model.id, "provider": agent.model.provider},
        "tools": {
            "tools": [
                {"name": t.name, "description": t.description, "parameters": dict(t.parameters)}
                for t in agent.tool_list
            ]
        },
        "sessions": {
            "session_table": "agno_sessions",
            "add_history_to_context": agent.add_history_to_context,
            "num_history_runs": agent.history_runs or None,
        },
        "system_message": {"instructions": agent.instructions, "markdown": agent.markdown},
        "streaming": {"stream": True, "stream_events": True},
        "tool_call_limit": agent.tool_call_limit,
    }


@router.get("/agents")
async def list_agents(request: Request) -> list[dict[str, Any]]:
    """All registered agents, in registration order."""
    return [agent_response(a) for a in request.app.state.runtime.agents.values()]


@router.get("/agents/{agent_id}")
async def get_agent(agent_id: str, request: Request) -> dict[str, Any]:
    """One agent; 404 if `agent_id` is not registered."""
    agent = request.app.state.runtime.agents.get(agent_id)
    if agent is None:
        raise HTTPException(status_code=404, detail=f"Agent not found: {agent_id}")
    return agent_response(agent)
