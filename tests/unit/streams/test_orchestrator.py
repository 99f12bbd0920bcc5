"""Orchestrator: decisions from commands and worker answers; state rebuilt from the log on assignment."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import orjson
import pytest

from engine import (
    Agent,
    CancelRun,
    Message,
    ModelRequestCompleted,
    ModelRequestStarted,
    ModelWork,
    RunEvent,
    StartRun,
    ToolCall,
    ToolCallCompleted,
    ToolExecution,
)
from streams import (
    ORCHESTRATOR_GROUP,
    MemoryLog,
    Orchestrator,
    OutRecord,
    Record,
    TopicPartition,
    Topics,
    command_record,
    event_record,
    partition_for,
    read_event,
    read_work,
    run_processor,
)
from streams.codec import SOURCE_HEADER, sources_answered

pytestmark = pytest.mark.timeout(10)

NOW = 1_700_000_000.0


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


def get_weather(city: str) -> str:
    """The weather of a city.

    Args:
        city: the city.
    """
    return f"sunny in {city}"


AGENTS = {
    "a1": Agent(id="a1", model=FakeModel(), instructions="Be brief."),
    "weather": Agent(id="weather", model=FakeModel(), tools=[get_weather]),
}


@dataclass
class RecordingTransaction:
    """A Transaction fake: keeps what the orchestrator adds, in order."""

    sent: list[OutRecord] = field(default_factory=list)
    offsets: dict[str, dict[TopicPartition, int]] = field(default_factory=dict)

    def send(self, record: OutRecord) -> None:
        self.sent.append(record)

    def commit_offsets(self, group_id: str, offsets: Mapping[TopicPartition, int]) -> None:
        self.offsets.setdefault(group_id, {}).update(offsets)

    def on(self, topic: str) -> list[OutRecord]:
        return [r for r in self.sent if r.topic == topic]


def decoded(out: OutRecord) -> Record:
    return Record(out.topic, 0, 0, out.key, out.value, out.headers, 0)


def decisions(tx: RecordingTransaction, topics: Topics) -> list[tuple[str, int]]:
    return [(e.event, e.seq) for e in (read_event(decoded(r)) for r in tx.on(topics.events))]


@pytest.fixture
async def log() -> AsyncIterator[MemoryLog]:
    log = MemoryLog(default_partitions=2)
    await log.start()
    yield log
    await log.close()


@pytest.fixture
async def topics(log: MemoryLog) -> Topics:
    topics = Topics(prefix=f"o{uuid.uuid4().hex[:8]}.", partitions=2)
    await log.create_topics(topics.specs())
    return topics


def orchestrator(log: MemoryLog, topics: Topics) -> Orchestrator:
    return Orchestrator(log, topics, AGENTS, clock=lambda: NOW)


async def append(log: MemoryLog, out: OutRecord) -> Record:
    tp = await log.send(out)
    end = (await log.end_offsets([tp]))[tp]
    return (await log.read(tp, end - 1, end))[0]


def start(run_id: str = "r1", session_id: str = "s1", agent_id: str = "a1") -> StartRun:
    return StartRun(run_id=run_id, session_id=session_id, created_at=int(NOW), agent_id=agent_id, message="hi")


def model_answer(run_id: str = "r1", session_id: str = "s1", seq: int = 1) -> ModelRequestCompleted:
    message = Message(id=f"m-{run_id}-{seq}", role="assistant", content="Hello!")
    return ModelRequestCompleted(
        created_at=int(NOW), run_id=run_id, session_id=session_id, seq=seq, part="done", message=message
    )


async def test_start_run_decides_run_started_and_model_requested_with_a_model_work_item(
    log: MemoryLog, topics: Topics
) -> None:
    orch = orchestrator(log, topics)
    tx = RecordingTransaction()

    orch.handle(await append(log, command_record(topics.commands, start())), tx)

    assert decisions(tx, topics) == [("RunStarted", 0), ("ModelRequested", 1)]
    assert {r.key for r in tx.on(topics.events)} == {b"s1"}
    [work_out] = tx.on(topics.work_model)
    work = read_work(decoded(work_out))
    assert isinstance(work, ModelWork)
    assert (work_out.key, work.run_id, work.session_id, work.seq) == (b"r1", "r1", "s1", 1)
    assert [(m.role, m.content) for m in work.messages] == [("system", "Be brief."), ("user", "hi")]
    assert tx.on(topics.work_tools) == []
    assert tx.offsets == {}  # the processor loop commits, not handle
    assert orch.sessions["s1"].runs["r1"].pending_model_seq == 1


async def test_start_run_for_an_unknown_agent_decides_run_error(log: MemoryLog, topics: Topics) -> None:
    tx = RecordingTransaction()

    orchestrator(log, topics).handle(await append(log, command_record(topics.commands, start(agent_id="nope"))), tx)

    assert decisions(tx, topics) == [("RunError", 0)]
    assert tx.on(topics.work_model) == []


@pytest.mark.parametrize(
    ("topic_name", "value", "reason"),
    [
        ("commands", b"not json", "is not JSON"),
        ("commands", b'{"command": "Explode", "run_id": "r", "session_id": "s"}', "unknown command"),
        ("commands", b'{"command": "StartRun", "run_id": "r", "session_id": "s"}', "StartRun"),
        ("events", b"[1]", "is not a JSON object"),
        ("events", b'{"event": "Nope"}', "unknown event type"),
    ],
)
async def test_an_undecodable_record_is_dead_lettered_with_its_reason(
    log: MemoryLog, topics: Topics, topic_name: str, value: bytes, reason: str
) -> None:
    topic: str = getattr(topics, topic_name)
    record = await append(log, OutRecord(topic, b"s1", value))
    tx = RecordingTransaction()

    orchestrator(log, topics).handle(record, tx)

    [letter] = tx.sent
    body = orjson.loads(letter.value)
    assert letter.topic == topics.deadletter
    assert letter.key == b"s1"
    assert ("deadletter", b"1") in letter.headers
    assert reason in body["reason"]
    assert (body["topic"], body["partition"], body["offset"], body["value"]) == (
        topic,
        record.partition,
        record.offset,
        value.decode(),
    )


# ---------------------------------------------------------------------------------- rebuild on assignment


class History:
    """Builds a run's log as the previous orchestrator (now crashed) left it."""

    def __init__(self, log: MemoryLog, topics: Topics) -> None:
        self.log = log
        self.topics = topics
        self.previous = orchestrator(log, topics)
        n = topics.partitions
        self.events_tp = TopicPartition(topics.events, partition_for(b"s1", n))
        self.commands_tp = TopicPartition(topics.commands, partition_for(b"s1", n))

    async def decide(self, *records: Record) -> None:
        """The previous orchestrator handles `records` and commits past them, in one transaction."""
        async with self.log.transaction() as tx:
            for record in records:
                self.previous.handle(record, tx)
            tx.commit_offsets(self.topics.group(ORCHESTRATOR_GROUP), {r.tp: r.offset + 1 for r in records})

    async def command(self, out: OutRecord) -> None:
        await self.decide(await append(self.log, out))

    async def events(self) -> list[Record]:
        end = (await self.log.end_offsets([self.events_tp]))[self.events_tp]
        return await self.log.read(self.events_tp, 0, end)

    async def redeliver(self) -> RecordingTransaction:
        """A new orchestrator is assigned the partitions and handles every record after the committed offsets."""
        fresh = orchestrator(self.log, self.topics)
        await fresh.on_assign({self.events_tp, self.commands_tp})
        for tp in fresh.needs_rebuild():
            await fresh.rebuild(tp, await self.log.committed(self.topics.group(ORCHESTRATOR_GROUP), tp) or 0)
        tx = RecordingTransaction()
        for tp in (self.commands_tp, self.events_tp):
            committed = await self.log.committed(self.topics.group(ORCHESTRATOR_GROUP), tp) or 0
            end = (await self.log.end_offsets([tp]))[tp]
            for record in await self.log.read(tp, committed, end):
                fresh.handle(record, tx)
        return tx

    async def decision_seqs(self) -> Counter[int]:
        return Counter(e.seq for e in (read_event(r) for r in await self.events()) if e.run_id == "r1" and not e.part)


@pytest.mark.parametrize("events_committed", [False, True])
async def test_an_answer_after_the_committed_offset_is_decided_exactly_once(
    log: MemoryLog, topics: Topics, events_committed: bool
) -> None:
    history = History(log, topics)
    await history.command(command_record(topics.commands, start()))
    if events_committed:  # the previous orchestrator also consumed its own decisions
        await history.decide(*await history.events())
    await append(log, event_record(topics.events, model_answer()))  # the model worker's answer

    tx = await history.redeliver()

    assert decisions(tx, topics) == [("RunContentCompleted", 2), ("RunCompleted", 3)]
    assert tx.on(topics.work_model) == []


async def test_an_answer_already_decided_is_not_decided_again(log: MemoryLog, topics: Topics) -> None:
    history = History(log, topics)
    await history.command(command_record(topics.commands, start()))
    answer = await append(log, event_record(topics.events, model_answer()))
    await history.decide(*(r for r in await history.events() if r.offset <= answer.offset))

    tx = await history.redeliver()  # only the decisions RunContentCompleted / RunCompleted are after the commit

    assert tx.sent == []
    assert await history.decision_seqs() == Counter({0: 1, 1: 1, 2: 1, 3: 1})


async def test_own_decisions_after_the_committed_offset_are_folded_so_no_seq_is_decided_twice(
    log: MemoryLog, topics: Topics
) -> None:
    history = History(log, topics)
    await history.command(command_record(topics.commands, start()))
    await history.decide(*await history.events())  # events committed up to ModelRequested
    await append(log, event_record(topics.events, model_answer()))  # answer, not yet consumed ...
    cancel = CancelRun(run_id="r1", session_id="s1", created_at=int(NOW))
    await history.command(command_record(topics.commands, cancel))  # ... when a cancel decided RunCancelled (seq 2)

    tx = await history.redeliver()

    assert tx.sent == []  # the answer arrives for a cancelled run: no RunCompleted with seq 2 again
    assert await history.decision_seqs() == Counter({0: 1, 1: 1, 2: 1})
    last = read_event((await history.events())[-1])
    assert (last.event, last.seq) == ("RunCancelled", 2)


async def test_rebuild_skips_undecodable_event_records(log: MemoryLog, topics: Topics) -> None:
    history = History(log, topics)
    await append(log, OutRecord(topics.events, b"s1", b"garbage"))
    await history.command(command_record(topics.commands, start()))
    await history.decide(*await history.events())
    fresh = orchestrator(log, topics)

    await fresh.on_assign({history.events_tp})
    assert fresh.needs_rebuild() == {history.events_tp}
    await fresh.rebuild(
        history.events_tp, await log.committed(topics.group(ORCHESTRATOR_GROUP), history.events_tp) or 0
    )

    assert fresh.needs_rebuild() == set()
    assert fresh.sessions["s1"].runs["r1"].pending_model_seq == 1


async def test_on_revoke_forgets_the_sessions_of_lost_event_partitions(log: MemoryLog, topics: Topics) -> None:
    sessions = {p: next(f"s{i}" for i in range(100) if partition_for(f"s{i}".encode(), 2) == p) for p in (0, 1)}
    orch = orchestrator(log, topics)
    for p, session in sessions.items():
        cmd = start(run_id=f"r{p}", session_id=session)
        orch.handle(await append(log, command_record(topics.commands, cmd)), RecordingTransaction())

    await orch.on_revoke({TopicPartition(topics.commands, 0)})
    assert set(orch.sessions) == set(sessions.values())

    await orch.on_revoke({TopicPartition(topics.events, 0)})
    assert set(orch.sessions) == {sessions[1]}


async def test_run_processor_drives_the_orchestrator_end_to_end(log: MemoryLog, topics: Topics) -> None:
    orch = orchestrator(log, topics)
    stop = asyncio.Event()
    task = asyncio.create_task(run_processor(log, orch, stop))
    history = History(log, topics)
    try:
        await log.send(command_record(topics.commands, start()))
        await wait_for_decisions(history, 2)
        await log.send(event_record(topics.events, model_answer()))
        await wait_for_decisions(history, 4)
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)

    events: list[RunEvent] = [read_event(r) for r in await history.events()]
    assert [(e.event, e.seq, e.part) for e in events] == [
        ("RunStarted", 0, ""),
        ("ModelRequested", 1, ""),
        ("ModelRequestCompleted", 1, "done"),
        ("RunContentCompleted", 2, ""),
        ("RunCompleted", 3, ""),
    ]
    assert await log.committed(topics.group(ORCHESTRATOR_GROUP), history.commands_tp) == 1
    work_tp = TopicPartition(topics.work_model, partition_for(b"r1", 2))
    assert (await log.end_offsets([work_tp]))[work_tp] == 1


async def wait_for_decisions(history: History, n: int) -> None:
    for _ in range(500):
        if sum((await history.decision_seqs()).values()) >= n:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"the orchestrator did not decide {n} events")


async def test_worker_progress_records_are_skipped_undecoded_and_answers_are_decided(
    log: MemoryLog, topics: Topics
) -> None:
    orch = orchestrator(log, topics)
    orch.handle(await append(log, command_record(topics.commands, start())), RecordingTransaction())
    started = ModelRequestStarted(created_at=1, run_id="r1", session_id="s1", seq=1, part="start~a")
    progress = event_record(topics.events, started)
    answer = event_record(topics.events, model_answer())
    assert ("progress", b"1") in progress.headers
    assert ("progress", b"1") not in answer.headers  # the "done" answer is decided on

    # A progress record is not even decoded: a broken one is not dead-lettered either.
    broken = OutRecord(topics.events, b"s1", b"not json", progress.headers)
    tx = RecordingTransaction()
    orch.handle(await append(log, broken), tx)
    orch.handle(await append(log, progress), tx)
    assert tx.sent == []
    orch.handle(await append(log, answer), tx)
    assert [(e.event, e.seq) for e in map(read_event, map(decoded, tx.on(topics.events)))] == [
        ("RunContentCompleted", 2),
        ("RunCompleted", 3),
    ]


# ------------------------------------------------------------------ a stale committed offset on assignment


def tool_call_answer(seq: int = 1) -> ModelRequestCompleted:
    call = ToolCall(id="c1", name="get_weather", arguments='{"city": "Paris"}')
    message = Message(id=f"m-r1-{seq}", role="assistant", content=None, tool_calls=(call,))
    return ModelRequestCompleted(
        created_at=int(NOW), run_id="r1", session_id="s1", seq=seq, part="done", message=message
    )


def tool_answer(seq: int = 2) -> ToolCallCompleted:
    tool = ToolExecution(tool_call_id="c1", tool_name="get_weather", tool_args={"city": "Paris"}, result="sunny")
    return ToolCallCompleted(created_at=int(NOW), run_id="r1", session_id="s1", seq=seq, part="done", tool=tool)


async def test_decided_events_name_their_input_and_the_log_yields_the_inputs_answered(
    log: MemoryLog, topics: Topics
) -> None:
    history = History(log, topics)
    await history.command(command_record(topics.commands, start(agent_id="weather")))
    answer = await append(log, event_record(topics.events, tool_call_answer()))
    await history.decide(answer)

    events = await history.events()
    sources = {read_event(r).event: dict(r.headers).get(SOURCE_HEADER) for r in events}

    command_offset = (await log.end_offsets([history.commands_tp]))[history.commands_tp] - 1
    assert sources == {
        "RunStarted": f"{topics.commands}:{history.commands_tp.partition}:{command_offset}".encode(),
        "ModelRequested": f"{topics.commands}:{history.commands_tp.partition}:{command_offset}".encode(),
        "ModelRequestCompleted": None,  # a worker's answer, not a decision
        "ToolCallRequested": f"{topics.events}:{answer.partition}:{answer.offset}".encode(),
    }
    assert sources_answered(events) == {history.commands_tp: command_offset + 1, history.events_tp: answer.offset + 1}


def test_sources_answered_ignores_records_without_a_well_formed_source() -> None:
    def record(*headers: tuple[str, bytes]) -> Record:
        return Record("t", 0, 0, b"s1", b"{}", headers, 0)

    answered = sources_answered(
        [
            record((SOURCE_HEADER, b"in:3:7")),
            record((SOURCE_HEADER, b"in:3:x")),
            record((SOURCE_HEADER, b"in")),
            record(),
        ]
    )

    assert answered == {TopicPartition("in", 3): 8}


@pytest.mark.parametrize("stale", ["events", "commands and events"])
async def test_a_stale_committed_offset_on_assignment_decides_nothing_twice(
    log: MemoryLog, topics: Topics, stale: str
) -> None:
    """The broker-restart case: the group's offset read on assignment lags the last commit, whose decisions
    (a ToolCallRequested) are already in the log. Resuming there re-decided the model's answer: the tool
    was requested (and run) twice."""
    history = History(log, topics)
    group = topics.group(ORCHESTRATOR_GROUP)
    await history.command(command_record(topics.commands, start(agent_id="weather")))
    command = (await log.read(history.commands_tp, 0, 1))[0]
    await history.decide(*await history.events())
    answer = await append(log, event_record(topics.events, tool_call_answer()))
    await history.decide(answer)  # decides ToolCallRequested and commits past the answer
    async with log.transaction() as tx:  # ... but the next member reads an older offset
        rewound = {history.events_tp: answer.offset}
        if stale == "commands and events":
            rewound[history.commands_tp] = command.offset
        tx.commit_offsets(group, rewound)

    stop = asyncio.Event()
    task = asyncio.create_task(run_processor(log, orchestrator(log, topics), stop))
    try:
        await log.send(event_record(topics.events, tool_answer()))  # the tool worker's answer
        for _ in range(500):
            if ("ModelRequested", 3) in await decided(history):
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)

    assert await decided(history) == [
        ("RunStarted", 0),
        ("ModelRequested", 1),
        ("ToolCallRequested", 2),
        ("ModelRequested", 3),
    ]
    tools_end = await log.end_offsets([TopicPartition(topics.work_tools, p) for p in range(topics.partitions)])
    assert sum(tools_end.values()) == 1  # the tool ran once
    assert (
        await log.committed(group, history.events_tp) == (await log.end_offsets([history.events_tp]))[history.events_tp]
    )


async def decided(history: History) -> list[tuple[str, int]]:
    return [(e.event, e.seq) for e in (read_event(r) for r in await history.events()) if not e.part]
