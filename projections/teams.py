"""Team runs in the sessions view, stored as agno stores them (`TeamSession`, `TeamRunOutput`).

A team session row has `session_type` "team", its `team_id` and `team_data` (`{name, team_id, model}`),
no agent. A team run's row has `run_type` "team" and `team_id`; its `run_data` is agno's
`TeamRunOutput.to_dict()` (`team_id` / `team_name` instead of `agent_id` / `agent_name`; no
`member_responses`: agno's `store_member_responses` is off by default). The member runs are agent run
rows of the same session whose `parent_run_id` is the team run (agno §3).
"""

from __future__ import annotations

from typing import Any

from engine import TeamRunStarted

__all__ = ["as_team_run", "team_session_fields"]


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
