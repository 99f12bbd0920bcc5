"""Team runs in the sessions view, stored as agno stores them (`TeamSession`, `TeamRunOutput`).

A team session row has `session_type` "team", its `team_id` and `team_data` (`{name, team_id, model}`),
no agent. A team run's row has `run_type` "team" and `team_id`; its `run_data` is agno's
`TeamRunOutput.to_dict()` (`team_id` / `team_name` instead of `agent_id` / `agent_name`; no
`member_responses`: agno's `store_member_responses` is off by default). The member runs are agent run
rows of the same session whose `parent_run_id` is the team run (agno §3).

A paused team run's row is PAUSED with agno's requirements (a paused member's carry `member_agent_id` /
`member_agent_name` / `member_run_id`; a second pause, after a continued member paused again, replaces
them, as agno re-propagates). It stays PAUSED while its members continue; TeamRunContinued makes it RUNNING
and rewrites the delegation results that said the members required human input.
"""

from __future__ import annotations

from typing import Any

from engine import TeamRunContinued, TeamRunPaused, TeamRunStarted

__all__ = ["as_team_run", "fold_team_pause", "rewrite_member_results", "team_session_fields"]


def team_session_fields(event: TeamRunStarted) -> dict[str, Any]:
    """The columns that make a new session row a team session."""
    return {
        "session_type": "team",
        "agent_id": None,
        "team_id": event.team_id,
        "agent_data": None,
        "team_data": {
            "name": event.team_name,
            "team_id": event.team_id,
            "model": {"provider": event.model_provider, "id": event.model},
        },
    }


def as_team_run(row: dict[str, Any]) -> None:
    """Turn a new run row built from a TeamRunStarted (as an agent run's) into a team run's row, in place."""
    data: dict[str, Any] = row["run_data"]
    row.update(run_type="team", team_id=row["agent_id"], agent_id=None)
    team = {"run_id": data.pop("run_id"), "team_id": data.pop("agent_id"), "team_name": data.pop("agent_name")}
    row["run_data"] = {**team, **data}


def fold_team_pause(data: dict[str, Any], event: TeamRunPaused) -> bool:
    """A team run pauses: PAUSED with its requirements (a second pause, after a member paused again, replaces them)."""
    requirements = [r.to_dict() for r in event.requirements]
    if data["status"] == "PAUSED" and data.get("requirements") == requirements:
        return False
    data.update(status="PAUSED", content=event.content, requirements=requirements)
    known = {t.get("tool_call_id") for t in data["tools"]}
    data["tools"].extend(t.to_dict() for t in event.tools if t.is_paused and t.tool_call_id not in known)
    return True


def rewrite_member_results(data: dict[str, Any], event: TeamRunContinued) -> None:
    """Agno `_prepare_member_hitl_continuation`: the delegation calls' results and tool messages, in place."""
    results = {t.tool_call_id: t for t in event.member_tools}
    tools: list[dict[str, Any]] = data["tools"]
    for i, entry in enumerate(tools):
        tool = results.get(entry.get("tool_call_id") or "")
        if tool is not None:
            tools[i] = tool.to_dict()
    contents = {m.id: m.content for m in event.member_messages}
    for message in data["messages"]:
        if message.get("id") in contents:
            message["content"] = contents[message["id"]]
