"""The orchestrator processor: advances run state machines from commands and worker answers.

Consumes `runs.commands` and `runs.events` in the consumer group `<prefix>process.orchestrator`. For every
input it calls `engine.decide` with the session's state and appends the decided events (to
`runs.events`) and work items (to `work.model` / `work.tools`) in the batch's transaction. It keeps
only a cache of session states, rebuilt from the log when partitions are assigned:
state = fold(events before the resume offset) + the orchestrator's own decision events after it.
Each decided event names its input in a header (`codec.SOURCE_HEADER`), so a rebuild can tell when the
committed offset it was given is stale and resume past the inputs already answered. On Kafka it usually
is, by up to `offset_commit_interval_ms`: the offsets are committed right after each transaction, not in it
(`KafkaLog`). The inputs after the last one answered decided nothing when they were handled, and decide
nothing again (decisions are deterministic), so handling them twice changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence

from engine import (
    Agent,
    Command,
    DecisionContext,
    RunEvent,
    SchemaError,
    SessionState,
    Team,
    Workflow,
    decide,
    evolve,
    history_limit_for,
)

from .codec import (
    event_record,
    is_progress,
    read_command,
    read_event,
    source_header,
    sources_answered,
    work_record,
)
from .partitioner import partition_for
from .processor import deadletter_record
from .records import Record, TopicPartition
from .telemetry import telemetry_record
from .topics import Topics
from .transport import Log, Transaction

__all__ = ["ORCHESTRATOR_GROUP", "Orchestrator"]

ORCHESTRATOR_GROUP = "process.orchestrator"
"""Base name of the orchestrators' consumer group; the group id is `Topics.group(ORCHESTRATOR_GROUP)`."""
_log = logging.getLogger("agnostream.orchestrator")


class Orchestrator:
    """Decides run events; see the module docstring.

    Args:
        log: the log to read state from on assignment.
        topics: topic names.
        agents: the agent registry, by id (workflow step agents included).
        clock: epoch-seconds clock for decision times (injected for tests).
        workflows: the workflow registry, by id.
        teams: the team registry, by id.
    """

    def __init__(
        self,
        log: Log,
        topics: Topics,
        agents: Mapping[str, Agent],
        *,
        clock: Callable[[], float] = time.time,
        workflows: Mapping[str, Workflow] | None = None,
        teams: Mapping[str, Team] | None = None,
    ) -> None:
        self._log = log
        self._t = topics
        self._agents = agents
        self._workflows: Mapping[str, Workflow] = workflows or {}
        self._teams: Mapping[str, Team] = teams or {}
        self._clock = clock
        self.group_id = topics.group(ORCHESTRATOR_GROUP)
        self.sessions: dict[str, SessionState] = {}
        self._history_limit = history_limit_for(agents.values(), self._teams.values())
        self._needs_rebuild: set[TopicPartition] = set()
        self.topics: Sequence[str] = (topics.commands, topics.events)

    def _state(self, session_id: str) -> SessionState:
        state = self.sessions.get(session_id)
        if state is None:
            state = SessionState(session_id=session_id, history_limit=self._history_limit)
            self.sessions[session_id] = state
        return state

    async def on_assign(self, tps: set[TopicPartition]) -> None:
        """Mark newly assigned run-events partitions for a rebuild before their first record is handled."""
        self._needs_rebuild |= {tp for tp in tps if tp.topic == self._t.events}

    def needs_rebuild(self) -> set[TopicPartition]:
        """Assigned run-events partitions whose session states are not rebuilt yet."""
        return set(self._needs_rebuild)

    async def rebuild(self, tp: TopicPartition, start: int) -> dict[TopicPartition, int]:
        """Rebuild the session states of `tp` given `start`, the offset this consumer resumes from.

        state = fold(events before `start`) + this processor's decision events at or after `start`. `start`
        must be the consumer's real position, not a separately read committed offset, which may lag behind a
        just-committed transaction.

        Returns:
            The offsets below which this consumer must not resume, per input partition (commands and
            events): one past the last input a decision in the log answers (`codec.sources_answered`). A
            `start` below them is stale: on Kafka the last member died before committing the offsets of its
            last transactions (they are committed after each transaction, `KafkaLog`), or the group's offset
            was read before a transaction had settled (aiokafka reads it without KIP-447's stable fetch).
            Then `start` is raised to this partition's floor, so the inputs those decisions answered are
            folded, not decided again.
        """
        self._needs_rebuild.discard(tp)
        end = (await self._log.settled_end_offsets([tp]))[tp]
        records = await self._log.read(tp, 0, end)
        floors = sources_answered(records)
        start = max(start, floors.get(tp, 0))
        for record in records:
            if is_progress(record):
                continue
            try:
                event = read_event(record)
            except SchemaError:
                continue
            if record.offset < start or event.part == "":
                self.sessions[event.session_id] = evolve(self._state(event.session_id), event)
        return floors

    async def on_revoke(self, tps: set[TopicPartition]) -> None:
        """Forget sessions whose run-events partition was revoked."""
        self._needs_rebuild -= tps
        lost = {tp.partition for tp in tps if tp.topic == self._t.events}
        if not lost:
            return
        n = self._log.partitions_for(self._t.events)
        for session_id in [s for s in self.sessions if partition_for(s.encode(), n) in lost]:
            del self.sessions[session_id]

    def handle(self, record: Record, tx: Transaction) -> None:
        """Decide on one command or event record and add the outputs to `tx` (bad records are dead-lettered).

        Worker progress events are skipped undecoded: `decide` and `evolve` ignore them, and they are most
        of the run-events topic (content deltas).
        """
        if is_progress(record):
            return
        try:
            item: Command | RunEvent = read_command(record) if record.topic == self._t.commands else read_event(record)
        except SchemaError as exc:
            tx.send(deadletter_record(self._t.deadletter, record, str(exc)))
            return
        state = self._state(item.session_id)
        if isinstance(item, RunEvent) and item.part == "":
            self.sessions[item.session_id] = evolve(state, item)
            return
        decision = decide(
            state,
            item,
            DecisionContext(now=self._clock(), agents=self._agents, workflows=self._workflows, teams=self._teams),
        )
        if isinstance(item, RunEvent):
            state = evolve(state, item)
        source = source_header(record) if decision.events else None
        for event in decision.events:
            state = evolve(state, event)
            tx.send(event_record(self._t.events, event, source))
            telemetry = telemetry_record(self._t.telemetry, event) if event.is_terminal else None
            if telemetry is not None:
                tx.send(telemetry)
        for work in decision.work:
            topic = self._t.work_model if work.kind == "model" else self._t.work_tools
            tx.send(work_record(topic, work))
        self.sessions[item.session_id] = state
