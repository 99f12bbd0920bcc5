"""replay_check: a recorded log re-decided by the engine agrees, and a changed rule is reported per run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from engine import (
    Agent,
    CancelRun,
    Command,
    ContinueRun,
    Decision,
    DecisionContext,
    Divergence,
    Message,
    ModelRequestCompleted,
    ModelRequested,
    ModelRequestFailed,
    ModelRequestStarted,
    ModelWork,
    RunCompleted,
    RunContent,
    RunContinued,
    RunEvent,
    SchemaError,
    SessionState,
    StartRun,
    Tool,
    ToolCall,
    ToolCallCompleted,
    ToolCallRequested,
    ToolCallStarted,
    ToolExecution,
    ToolWork,
    UserInputField,
    comparable,
    decide,
    decode_event,
    evolve,
    history_limit_for,
    message_id,
    replay_check,
)

NOW = 1_700_000_000


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


AGENTS = {"a": Agent(id="a", model=FakeModel(), instructions="Be brief.", add_history_to_context=True)}


class Recorder:
    """Plays the orchestrator and the workers of one session and records the run-events log."""

    def __init__(self, session_id: str = "s1", agents: dict[str, Agent] = AGENTS) -> None:
        self.agents = agents
        self.state = SessionState(session_id=session_id, history_limit=history_limit_for(agents.values()))
        self.session_id = session_id
        self.log: list[dict[str, Any]] = []
        self.clock = NOW

    def record(self, event: RunEvent) -> None:
        self.log.append(event.to_dict())

    def decide(self, item: Command | RunEvent) -> Decision:
        self.clock += 1
        decision = decide(self.state, item, DecisionContext(now=self.clock, agents=self.agents))
        if isinstance(item, RunEvent):
            self.state = evolve(self.state, item)
        for event in decision.events:
            self.state = evolve(self.state, event)
            self.record(event)
        return decision

    def start(self, run_id: str, message: str = "hi", agent_id: str = "a") -> Decision:
        return self.decide(
            StartRun(
                run_id=run_id, session_id=self.session_id, created_at=self.clock, agent_id=agent_id, message=message
            )
        )

    def cancel(self, run_id: str) -> Decision:
        return self.decide(CancelRun(run_id=run_id, session_id=self.session_id, created_at=self.clock, reason="stop"))

    def model_events(
        self, work: ModelWork, content: str | None = None, calls: tuple[ToolCall, ...] = ()
    ) -> list[RunEvent]:
        common: dict[str, Any] = {
            "created_at": self.clock,
            "run_id": work.run_id,
            "session_id": work.session_id,
            "seq": work.seq,
        }
        message = Message(
            id=message_id(work.run_id, work.seq, "assistant"), role="assistant", content=content, tool_calls=calls
        )
        events: list[RunEvent] = [ModelRequestStarted(**common, part="start", model="fake-model")]
        if content:
            events.append(RunContent(**common, part="d1", content=content))
        events.append(
            ModelRequestCompleted(
                **common, part="done", input_tokens=3, output_tokens=2, total_tokens=5, message=message
            )
        )
        return events

    def tool_events(self, work: ToolWork, result: str = "sunny") -> list[RunEvent]:
        common: dict[str, Any] = {
            "created_at": self.clock,
            "run_id": work.run_id,
            "session_id": work.session_id,
            "seq": work.seq,
        }
        tool = ToolExecution(tool_call_id=work.tool_call_id, tool_name=work.tool_name, result=result)
        return [
            ToolCallStarted(**common, part="start", tool=replace(tool, result=None)),
            ToolCallCompleted(**common, part="done", tool=tool),
        ]

    def answer(self, events: list[RunEvent]) -> Decision:
        """Write a worker's events to the log, then let the orchestrator consume them in order."""
        for event in events:
            self.record(event)
        decision = Decision()
        for event in events:
            d = self.decide(event)
            decision.events.extend(d.events)
            decision.work.extend(d.work)
        return decision


def model_work(decision: Decision) -> ModelWork:
    (work,) = decision.work
    assert isinstance(work, ModelWork)
    return work


def tool_work(decision: Decision) -> list[ToolWork]:
    return [w for w in decision.work if isinstance(w, ToolWork)]


def tool_run(rec: Recorder, run_id: str) -> None:
    """A run that calls two tools in parallel (answered in reverse order), then answers."""
    first = model_work(rec.start(run_id, f"question {run_id}"))
    calls = (
        ToolCall(id=f"{run_id}-c1", name="t1", arguments="{}"),
        ToolCall(id=f"{run_id}-c2", name="t2", arguments="{}"),
    )
    w1, w2 = tool_work(rec.answer(rec.model_events(first, calls=calls)))
    rec.answer(rec.tool_events(w2))
    second = model_work(rec.answer(rec.tool_events(w1)))
    rec.answer(rec.model_events(second, content=f"answer {run_id}"))


def test_a_clean_log_replays_without_divergence() -> None:
    # given a session with two runs (the second with history), a failed run and a cancelled one
    rec = Recorder()
    tool_run(rec, "r1")
    tool_run(rec, "r2")
    failed = model_work(rec.start("r3"))
    rec.answer(
        [ModelRequestFailed(created_at=rec.clock, run_id="r3", session_id="s1", seq=failed.seq, part="done", error="x")]
    )
    rec.start("r4")
    rec.cancel("r4")

    # when
    report = replay_check(rec.log, AGENTS)

    # then
    assert report.ok
    assert report.divergences == []
    assert report.events == len(rec.log)
    assert report.runs == 4
    decisions = [r for r in rec.log if "part" not in r]
    assert report.decisions_checked == len(decisions)
    assert report.sessions["s1"] == rec.state


def test_a_log_with_an_unknown_agent_run_replays_without_divergence() -> None:
    # given a StartRun that named an unregistered agent (decided as a RunError at seq 0)
    rec = Recorder()
    rec.start("r1", agent_id="ghost")
    tool_run(rec, "r2")

    # when
    report = replay_check(rec.log, AGENTS)

    # then
    assert report.divergences == []


def test_an_unknown_agent_run_whose_agent_is_now_registered_diverges() -> None:
    rec = Recorder()
    rec.start("r1", agent_id="b")
    registry = {**AGENTS, "b": Agent(id="b", model=FakeModel())}

    report = replay_check(rec.log, registry)

    (divergence,) = report.divergences
    assert (divergence.run_id, divergence.seq) == ("r1", 0)
    assert divergence.expected is not None
    assert divergence.got is not None
    assert (divergence.expected["event"], divergence.got["event"]) == ("RunError", "RunStarted")


def test_sessions_interleaved_in_one_log_replay_cleanly() -> None:
    # given two sessions writing to the same partition
    rec_a, rec_b = Recorder("sa"), Recorder("sb")
    first_a = model_work(rec_a.start("ra"))
    first_b = model_work(rec_b.start("rb"))
    rec_b.answer(rec_b.model_events(first_b, content="b"))
    rec_a.answer(rec_a.model_events(first_a, content="a"))
    # the two recorders' logs, merged in the order the records were written (a's start, b's run, a's answer)
    log = rec_a.log[:2] + rec_b.log + rec_a.log[2:]

    report = replay_check(log, AGENTS)

    assert report.ok
    assert set(report.sessions) == {"sa", "sb"}
    assert report.runs == 2


# --------------------------------------------------------------------------------------------- changed rules


def changed_content(state: SessionState, item: Command | RunEvent, ctx: DecisionContext) -> Decision:
    decision = decide(state, item, ctx)
    events = [replace(e, content="CHANGED") if isinstance(e, RunCompleted) else e for e in decision.events]
    return Decision(events, decision.work)


def test_a_changed_decision_is_reported_once_per_affected_run() -> None:
    # given a log recorded with the engine's rules, two runs
    rec = Recorder()
    tool_run(rec, "r1")
    tool_run(rec, "r2")

    # when the RunCompleted rule changes
    report = replay_check(rec.log, AGENTS, decide_fn=changed_content)

    # then
    assert not report.ok
    assert [(d.run_id, d.seq) for d in report.divergences] == [("r1", 6), ("r2", 6)]
    for divergence in report.divergences:
        assert divergence.expected is not None
        assert divergence.got is not None
        assert divergence.expected["event"] == divergence.got["event"] == "RunCompleted"
        assert divergence.expected["content"] == f"answer {divergence.run_id}"
        assert divergence.got["content"] == "CHANGED"
        assert "created_at" not in divergence.expected
        assert "duration" not in divergence.expected["metrics"]
        assert divergence.to_dict() == {
            "run_id": divergence.run_id,
            "seq": 6,
            "expected": divergence.expected,
            "got": divergence.got,
        }


def dropped_tool_call(state: SessionState, item: Command | RunEvent, ctx: DecisionContext) -> Decision:
    decision = decide(state, item, ctx)
    kept = [e for e in decision.events if not (isinstance(e, ToolCallRequested) and e.tool_call_id.endswith("c2"))]
    return Decision(kept, decision.work)


def test_a_decision_the_engine_no_longer_makes_is_reported_with_got_none() -> None:
    rec = Recorder()
    tool_run(rec, "r1")

    report = replay_check(rec.log, AGENTS, decide_fn=dropped_tool_call)

    (divergence,) = report.divergences
    assert (divergence.run_id, divergence.seq) == ("r1", 3)
    assert divergence.got is None
    assert divergence.expected is not None
    assert divergence.expected["event"] == "ToolCallRequested"
    assert divergence.expected["tool_call_id"] == "r1-c2"


def extra_event(state: SessionState, item: Command | RunEvent, ctx: DecisionContext) -> Decision:
    decision = decide(state, item, ctx)
    if decision.events and isinstance(decision.events[-1], RunCompleted):
        last = decision.events[-1]
        decision.events.append(replace(last, seq=last.seq + 1, content="again"))
    return decision


def test_a_decision_the_engine_now_adds_is_reported_with_expected_none() -> None:
    rec = Recorder()
    tool_run(rec, "r1")

    report = replay_check(rec.log, AGENTS, decide_fn=extra_event)

    (divergence,) = report.divergences
    assert (divergence.run_id, divergence.seq, divergence.expected) == ("r1", 7, None)
    assert divergence.got is not None
    assert divergence.got["content"] == "again"


def test_a_run_is_not_checked_further_after_its_first_divergence() -> None:
    # given a rule change that alters every ModelRequested of run r1
    def changed_step(state: SessionState, item: Command | RunEvent, ctx: DecisionContext) -> Decision:
        decision = decide(state, item, ctx)
        events = [
            replace(e, step=99) if isinstance(e, ModelRequested) and e.run_id == "r1" else e for e in decision.events
        ]
        return Decision(events, decision.work)

    rec = Recorder()
    tool_run(rec, "r1")
    tool_run(rec, "r2")

    report = replay_check(rec.log, AGENTS, decide_fn=changed_step)

    assert report.divergences == [
        Divergence("r1", 1, comparable(_decoded(rec.log, "r1", 1)), report.divergences[0].got),
    ]
    got = report.divergences[0].got
    assert got is not None
    assert got["step"] == 99


def _decoded(log: list[dict[str, Any]], run_id: str, seq: int) -> RunEvent:
    (record,) = [r for r in log if r["run_id"] == run_id and r["seq"] == seq and "part" not in r]
    return decode_event(record)


# --------------------------------------------------------------------------------------------- races


def test_a_cancel_decided_before_an_earlier_logged_worker_answer_is_not_a_divergence() -> None:
    # given: the model worker wrote an answer with two tool calls to the log, but the orchestrator consumed the
    # CancelRun command (another topic) first, so it decided RunCancelled and then ignored the answer
    rec = Recorder()
    first = model_work(rec.start("r1"))
    calls = (ToolCall(id="c1", name="t", arguments="{}"), ToolCall(id="c2", name="t", arguments="{}"))
    answer = rec.model_events(first, calls=calls)
    for event in answer:
        rec.record(event)
    rec.cancel("r1")
    late = [rec.decide(event) for event in answer]
    assert all(d == Decision() for d in late)

    # when
    report = replay_check(rec.log, AGENTS)

    # then
    assert report.ok, report.divergences
    assert "r1" in report.sessions["s1"].finished


def test_a_cancel_after_the_answer_was_consumed_replays_cleanly() -> None:
    rec = Recorder()
    first = model_work(rec.start("r1"))
    (w1,) = tool_work(rec.answer(rec.model_events(first, calls=(ToolCall(id="c1", name="t", arguments="{}"),))))
    rec.answer(rec.tool_events(w1))
    rec.cancel("r1")

    report = replay_check(rec.log, AGENTS)

    assert report.ok


def test_a_redelivered_worker_answer_in_the_log_is_not_a_divergence() -> None:
    rec = Recorder()
    first = model_work(rec.start("r1"))
    answer = rec.model_events(first, content="hi")
    rec.answer(answer)
    rec.answer(answer)

    report = replay_check(rec.log, AGENTS)

    assert report.ok


def test_comparable_drops_volatile_fields_and_normalises_tuples() -> None:
    rec = Recorder()
    rec.start("r1")
    started = _decoded(rec.log, "r1", 0)

    d = comparable(started)

    assert not {"created_at", "event_id", "runtime"} & d.keys()
    assert isinstance(d["history_run_ids"], list)
    assert d["message"]["role"] == "user"


def test_a_tool_call_limit_error_decided_later_than_the_model_answer_is_not_a_divergence() -> None:
    # given an agent with tool_call_limit=0: the orchestrator's ToolCallError stamps its own decision time in
    # `tool.created_at`, which differs from the model worker's timestamp used when re-deciding
    agents = {"a": Agent(id="a", model=FakeModel(), tool_call_limit=0)}
    rec = Recorder(agents=agents)
    first = model_work(rec.start("r1"))
    answer = rec.model_events(first, calls=(ToolCall(id="c1", name="t", arguments="{}"),))
    rec.clock += 5
    second = model_work(rec.answer(answer))
    rec.answer(rec.model_events(second, content="done"))
    limit_errors = [r for r in rec.log if r["event"] == "ToolCallError"]
    assert limit_errors[0]["tool"]["created_at"] != answer[-1].created_at

    # when
    report = replay_check(rec.log, agents)

    # then
    assert report.ok, report.divergences


# --------------------------------------------------------------------------------------------- human in the loop


def _louder_rejection(state: SessionState, item: Command | RunEvent, ctx: DecisionContext) -> Decision:
    """A changed rule: the model is told about a rejection in other words."""
    decision = decide(state, item, ctx)
    events = [
        replace(e, messages=tuple(replace(m, content="REJECTED") for m in e.messages if m.tool_call_error))
        if isinstance(e, RunContinued) and any(m.tool_call_error for m in e.messages)
        else e
        for e in decision.events
    ]
    return Decision(events=events, work=decision.work)


def hitl_log() -> tuple[Recorder, dict[str, Agent]]:
    """A session with a confirmed pause, a rejected one, a user-input one, an external one and a cancelled pause."""
    agents = {
        "h": Agent(
            id="h",
            model=FakeModel(),
            tools=[
                Tool.from_schema({"name": "delete"}, requires_confirmation=True),
                Tool.from_schema(
                    {"name": "send", "parameters": {"type": "object", "properties": {"to": {"type": "string"}}}},
                    requires_user_input=True,
                ),
                Tool.from_schema({"name": "shell"}, external_execution=True),
                Tool.from_schema({"name": "t1"}),
            ],
            add_history_to_context=True,  # so the session keeps its completed runs as history
        )
    }
    rec = Recorder(agents=agents)

    def paused_run(run_id: str, name: str, answer: ToolExecution) -> None:
        first = model_work(rec.start(run_id, agent_id="h"))
        call = ToolCall(id=f"{run_id}-c1", name=name, arguments='{"to": "model"}')
        ordinary = ToolCall(id=f"{run_id}-c2", name="t1", arguments="{}")
        (work,) = tool_work(rec.answer(rec.model_events(first, calls=(call, ordinary))))
        rec.answer(rec.tool_events(work))
        resumed = rec.decide(
            ContinueRun(
                run_id=run_id,
                session_id="s1",
                created_at=rec.clock,
                tools=(replace(answer, tool_call_id=call.id),),
                user_id="u1",
            )
        )
        executed = tool_work(resumed)
        if executed:
            resumed = rec.answer(rec.tool_events(executed[0], result="done"))
        rec.answer(rec.model_events(model_work(resumed), content=f"answer {run_id}"))

    paused_run("r1", "delete", ToolExecution(tool_call_id="", tool_name="delete", confirmed=True))
    paused_run("r2", "delete", ToolExecution(tool_call_id="", tool_name="delete", confirmed=False))
    paused_run(
        "r3",
        "send",
        ToolExecution(tool_call_id="", tool_name="send", user_input_schema=(UserInputField(name="to", value="bob"),)),
    )
    paused_run("r4", "shell", ToolExecution(tool_call_id="", tool_name="shell", result="42"))
    first = model_work(rec.start("r5", agent_id="h"))
    rec.answer(rec.model_events(first, calls=(ToolCall(id="r5-c1", name="delete", arguments="{}"),)))
    rec.cancel("r5")
    return rec, agents


def test_a_log_with_paused_continued_and_cancelled_runs_replays_without_divergence() -> None:
    rec, agents = hitl_log()

    report = replay_check(rec.log, agents)

    assert report.ok, report.divergences
    assert report.runs == 5
    assert {r["event"] for r in rec.log} >= {"ToolCallPaused", "RunPaused", "RunContinued", "RunCancelled"}
    assert report.decisions_checked == len([r for r in rec.log if "part" not in r])
    assert report.sessions["s1"] == rec.state
    assert [r.run_id for r in rec.state.history] == ["r1", "r2", "r3", "r4"]


def test_a_changed_continue_rule_is_reported_at_the_run_continued_it_changes() -> None:
    rec, agents = hitl_log()

    report = replay_check(rec.log, agents, decide_fn=_louder_rejection)

    (divergence,) = report.divergences
    assert divergence.run_id == "r2"
    assert divergence.expected is not None
    assert divergence.expected["event"] == "RunContinued"
    assert divergence.expected["messages"][0]["content"] == "Function call was rejected by the user"
    assert divergence.got is not None
    assert divergence.got["messages"][0]["content"] == "REJECTED"


def test_progress_records_are_counted_without_being_decoded() -> None:
    # given a clean run whose RunContent deltas lack a field every RunContent needs (session_id)
    rec = Recorder()
    tool_run(rec, "r1")
    progress = [r for r in rec.log if r["event"] == "RunContent"]
    assert progress, "the run streamed content"
    for record in progress:
        del record["session_id"]
    with pytest.raises(SchemaError):
        decode_event(progress[0])

    # when
    report = replay_check(rec.log, AGENTS)

    # then progress folds to nothing and decides nothing: the replay is clean and counts every record
    assert report.divergences == []
    assert report.events == len(rec.log)
    assert report.sessions["s1"] == rec.state
