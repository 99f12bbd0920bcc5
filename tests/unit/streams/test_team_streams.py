"""Team runs on the log: the tap follows a team run with its member runs; telemetry names the team."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from engine import RunCompleted, RunStarted, TeamRunCancelled, TeamRunCompleted, TeamRunStarted
from streams import EventTap, MemoryLog, Topics, event_record, telemetry_envelope

pytestmark = pytest.mark.timeout(10)

COMMON: dict[str, Any] = {"created_at": 1, "session_id": "s1"}


@pytest.fixture
async def tap_and_log() -> AsyncIterator[tuple[EventTap, MemoryLog, Topics]]:
    log = MemoryLog(default_partitions=2)
    await log.start()
    topics = Topics(prefix=f"team{uuid.uuid4().hex[:8]}.", partitions=2)
    await log.create_topics(topics.specs())
    tap = EventTap(log, topics)
    await tap.start()
    yield tap, log, topics
    await tap.stop()
    await log.close()


async def test_a_team_subscription_gets_its_members_events_and_ends_with_the_team(
    tap_and_log: tuple[EventTap, MemoryLog, Topics],
) -> None:
    tap, log, topics = tap_and_log
    team = tap.subscribe("tr", members=True)
    plain = tap.subscribe("tr")
    member = {"run_id": "m", "parent_run_id": "tr", "agent_id": "m1", **COMMON}
    events = [
        TeamRunStarted(run_id="tr", seq=0, agent_id="t1", **COMMON),
        RunStarted(seq=0, **member),
        RunCompleted(seq=1, content="A", **member),  # a member's end does not end the team's stream
        RunStarted(run_id="other", parent_run_id="x", seq=0, **COMMON),
        TeamRunCompleted(run_id="tr", seq=1, agent_id="t1", member_responses=({"parent_run_id": "tr"},), **COMMON),
    ]
    for event in events:
        await log.send(event_record(topics.events, event))

    got = [(e["event"], e["run_id"]) async for e in team]
    assert got == [
        ("TeamRunStarted", "tr"),
        ("RunStarted", "m"),
        ("RunCompleted", "m"),
        ("TeamRunCompleted", "tr"),
    ]
    assert [e["event"] async for e in plain] == ["TeamRunStarted", "TeamRunCompleted"]
    past, _end = await tap.read_run("s1", "tr", members=True)
    assert [e["run_id"] for e in past] == ["tr", "m", "m", "tr"]
    alone, _end = await tap.read_run("s1", "tr")
    assert [e["run_id"] for e in alone] == ["tr", "tr"]


def test_telemetry_names_the_team_of_a_team_run() -> None:
    envelope = telemetry_envelope(TeamRunCancelled(run_id="tr", seq=3, agent_id="t1", **COMMON))
    assert envelope is not None
    assert (envelope["type"], envelope["team_id"], envelope["status"]) == ("team", "t1", "CANCELLED")
    assert "agent_id" not in envelope
