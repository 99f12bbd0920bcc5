"""The model worker on a team leader's turn and a member's: Team* events, and `parent_run_id` on a member's."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.model_worker import ModelExecutor
from adapters.models.scripted import ScriptedModel, Turn
from engine import Agent, ModelWork, RunEvent, Team


async def test_a_leaders_turn_is_written_as_team_events_and_a_members_carries_its_parent() -> None:
    member = Agent(id="m1", model=ScriptedModel([Turn(text="Member here.")]))
    team = Team(id="t1", name="T", model=ScriptedModel([Turn(text="Leader here.")]), members=[member])
    executor = ModelExecutor({"t1": team.leader, "m1": member}, content_flush_s=0.0)
    emitted: list[RunEvent] = []

    async def emit(events: Sequence[RunEvent]) -> None:
        emitted.extend(events)

    lead = ModelWork(run_id="tr", session_id="s1", agent_id="t1", seq=1, created_at=1, is_team=True)
    final = await executor.execute(lead, emit)
    assert emitted[0].event == "TeamModelRequestStarted"
    assert {e.event for e in emitted[1:]} == {"TeamRunContent"}
    assert [e.event for e in final] == ["TeamModelRequestCompleted"]
    assert final[0].to_agno()["team_name"] == "T"

    emitted.clear()
    work = ModelWork(run_id="m", session_id="s1", agent_id="m1", seq=1, created_at=1, parent_run_id="tr")
    final = await executor.execute(work, emit)
    assert {e.event for e in emitted} == {"ModelRequestStarted", "RunContent"}
    assert {e.parent_run_id for e in (*emitted, *final)} == {"tr"}
