"""decide / evolve, given-when-then: a session state, one input, the decided events and work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest

from engine import (
    DEFAULT_NUM_HISTORY_RUNS,
    MAX_HISTORY_RUNS,
    TOOL_CALL_LIMIT_MESSAGE,
    Agent,
    CancelRun,
    CompletedRun,
    Decision,
    DecisionContext,
    EventSequenceError,
    Message,
    ModelRequestCompleted,
    ModelRequested,
    ModelRequestFailed,
    ModelRequestStarted,
    ModelUsage,
    ModelWork,
    RunCancelled,
    RunCompleted,
    RunContent,
    RunContentCompleted,
    RunError,
    RunEvent,
    RunStarted,
    SessionState,
    StartRun,
    ToolCall,
    ToolCallCompleted,
    ToolCallError,
    ToolCallRequested,
    ToolCallStarted,
    ToolExecution,
    ToolWork,
    decide,
    evolve,
    message_id,
)

# --------------------------------------------------------------------------------------------- builders

NOW = 1_700_000_000
SESSION = "s1"


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


def make_agent(agent_id: str = "a", **kwargs: Any) -> Agent:
    return Agent(id=agent_id, model=FakeModel(), **kwargs)


def start(run_id: str = "r1", message: str = "hello", agent_id: str = "a", user_id: str | None = "u1") -> StartRun:
    return StartRun(
        run_id=run_id, session_id=SESSION, created_at=NOW, agent_id=agent_id, message=message, user_id=user_id
    )


def call(call_id: str, name: str = "get_weather", arguments: str = '{"city": "Paris"}') -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments)


def model_done(
    work: ModelWork,
    content: str | None = None,
    calls: Sequence[ToolCall] = (),
    usage: ModelUsage | None = None,
    provider_data: dict[str, object] | None = None,
    with_message: bool = True,
) -> ModelRequestCompleted:
    usage = usage or ModelUsage()
    message = Message(
        id=message_id(work.run_id, work.seq, "assistant"),
        role="assistant",
        content=content,
        tool_calls=tuple(calls),
        provider_data=provider_data,
        created_at=NOW,
    )
    return ModelRequestCompleted(
        created_at=NOW,
        run_id=work.run_id,
        session_id=work.session_id,
        agent_id=work.agent_id,
        seq=work.seq,
        part="done",
        model="fake-model",
        model_provider="Fake",
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        time_to_first_token=usage.time_to_first_token,
        duration=usage.duration,
        message=message if with_message else None,
    )


def model_failed(work: ModelWork, error: str = "boom", error_type: str = "ModelRateLimitedError") -> ModelRequestFailed:
    return ModelRequestFailed(
        created_at=NOW,
        run_id=work.run_id,
        session_id=work.session_id,
        seq=work.seq,
        part="done",
        error=error,
        error_type=error_type,
        error_code="429",
    )


def execution(work: ToolWork, result: str | None) -> ToolExecution:
    return ToolExecution(
        tool_call_id=work.tool_call_id, tool_name=work.tool_name, tool_args={"city": "Paris"}, result=result
    )


def tool_done(work: ToolWork, result: str = "sunny", part: str = "done") -> ToolCallCompleted:
    return ToolCallCompleted(
        created_at=NOW,
        run_id=work.run_id,
        session_id=work.session_id,
        seq=work.seq,
        part=part,
        tool=execution(work, result),
    )


def tool_failed(work: ToolWork, error: str | None = "ValueError: bad city", result: str | None = None) -> ToolCallError:
    return ToolCallError(
        created_at=NOW,
        run_id=work.run_id,
        session_id=work.session_id,
        seq=work.seq,
        part="done",
        tool=replace(execution(work, result), tool_call_error=True),
        error=error,
    )


class Session:
    """The orchestrator's loop in miniature: decide, then fold the input and the decided events."""

    def __init__(self, *agents: Agent, now: float = NOW) -> None:
        self.agents = {a.id: a for a in agents} if agents else {"a": make_agent()}
        self.now = now
        self.state = SessionState(session_id=SESSION)

    def ctx(self) -> DecisionContext:
        return DecisionContext(now=self.now, agents=self.agents)

    def send(self, item: StartRun | CancelRun | RunEvent) -> Decision:
        decision = decide(self.state, item, self.ctx())
        if isinstance(item, RunEvent):
            self.state = evolve(self.state, item)
        for event in decision.events:
            self.state = evolve(self.state, event)
        return decision

    def start(self, run_id: str = "r1", message: str = "hello", agent_id: str = "a") -> ModelWork:
        decision = self.send(start(run_id, message, agent_id))
        (work,) = decision.work
        assert isinstance(work, ModelWork)
        return work

    def complete(self, run_id: str = "r1", message: str = "hello", answer: str = "hi!", agent_id: str = "a") -> None:
        work = self.start(run_id, message, agent_id)
        self.send(model_done(work, answer))


def kinds(decision: Decision) -> list[str]:
    return [e.event for e in decision.events]


def only_model_work(decision: Decision) -> ModelWork:
    (work,) = decision.work
    assert isinstance(work, ModelWork)
    return work


def tool_works(decision: Decision) -> list[ToolWork]:
    works = [w for w in decision.work if isinstance(w, ToolWork)]
    assert len(works) == len(decision.work)
    return works


# --------------------------------------------------------------------------------------------- StartRun


def test_start_run_decides_run_started_model_requested_and_a_model_work_item() -> None:
    # given
    agent = make_agent(description="A weather bot.", instructions=["Be brief.", "Be kind."], markdown=True, name="Wx")
    session = Session(agent)

    # when
    decision = session.send(start())

    # then
    assert kinds(decision) == ["RunStarted", "ModelRequested"]
    started, requested = decision.events
    assert isinstance(started, RunStarted)
    assert isinstance(requested, ModelRequested)
    assert (started.seq, started.part, requested.seq) == (0, "", 1)
    assert started.agent_id == "a"
    assert started.agent_name == "Wx"
    assert (started.model, started.model_provider) == ("fake-model", "Fake")
    assert (started.user_id, started.input, started.created_at) == ("u1", "hello", NOW)
    assert started.history_run_ids == ()
    work = only_model_work(decision)
    system, user = work.messages
    assert system.role == "system"
    # agno 3.1.10's default system message for these parameters
    assert system.content == (
        "A weather bot.\n- Be brief.\n- Be kind.\n\n"
        "<additional_information>\n- Use markdown to format your answers.\n</additional_information>"
    )
    assert system == started.system_message
    assert (user.role, user.content, user.created_at) == ("user", "hello", NOW)
    assert user == started.message
    assert requested.step == 0
    assert requested.message_ids == (system.id, user.id)
    assert (work.run_id, work.session_id, work.agent_id, work.seq, work.step) == ("r1", SESSION, "a", 1, 0)
    assert session.state.runs["r1"].status == "RUNNING"
    assert session.state.runs["r1"].pending_model_seq == 1


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, None),
        ({"instructions": "Only one."}, "Only one."),
        ({"description": "Desc only."}, "Desc only."),
        (
            {"markdown": True},
            "<additional_information>\n- Use markdown to format your answers.\n</additional_information>",
        ),
        ({"description": "D", "instructions": "I"}, "D\nI"),
        ({"instructions": ["One.", "Two:\n- a\n- b", "  Three.  "]}, "- One.\n\nTwo:\n- a\n- b\n\n- Three."),
        ({"description": ""}, ""),
    ],
)
def test_system_message_is_built_from_description_instructions_and_markdown(
    kwargs: dict[str, Any], expected: str | None
) -> None:
    # given
    session = Session(make_agent(**kwargs))

    # when
    work = session.start()

    # then
    contents = [(m.role, m.content) for m in work.messages]
    assert contents == ([("system", expected)] if expected is not None else []) + [("user", "hello")]


def test_a_duplicate_start_run_is_ignored_while_running_and_after_the_run_finished() -> None:
    # given
    session = Session()
    work = session.start()
    running = session.state

    # when / then
    assert session.send(start()) == Decision()
    assert session.state == running
    session.send(model_done(work, "done"))
    assert session.send(start()) == Decision()


def test_start_run_for_an_unknown_agent_decides_a_run_error_and_no_work() -> None:
    # given
    session = Session(make_agent("b"), make_agent("a"))

    # when
    decision = session.send(start(agent_id="nope"))

    # then
    (error,) = decision.events
    assert isinstance(error, RunError)
    assert error.error_type == "UnknownAgentError"
    assert error.content == "unknown agent_id 'nope'; registered agents: a, b"
    assert (error.seq, error.run_id, error.agent_id) == (0, "r1", "nope")
    assert decision.work == []
    assert "r1" in session.state.finished
    assert session.send(start(agent_id="a")) == Decision()


def test_unknown_agent_with_an_empty_registry_says_none() -> None:
    state = SessionState(session_id=SESSION)

    decision = decide(state, start(), DecisionContext(now=NOW, agents={}))

    (error,) = decision.events
    assert isinstance(error, RunError)
    assert error.content == "unknown agent_id 'a'; registered agents: (none)"


# --------------------------------------------------------------------------------------------- model answers


def test_a_model_answer_without_tool_calls_completes_the_run() -> None:
    # given
    session = Session(make_agent(instructions="Be brief."))
    work = session.start()
    session.now = NOW + 2.5

    # when
    answer = model_done(
        work,
        "It is sunny.",
        usage=ModelUsage(input_tokens=10, output_tokens=4, total_tokens=14, time_to_first_token=0.25, duration=1.0),
        provider_data={"id": "chatcmpl-1"},
    )
    decision = session.send(answer)

    # then
    assert kinds(decision) == ["RunContentCompleted", "RunCompleted"]
    content_completed, completed = decision.events
    assert isinstance(content_completed, RunContentCompleted)
    assert isinstance(completed, RunCompleted)
    assert (content_completed.seq, completed.seq) == (2, 3)
    assert completed.created_at == NOW + 2
    assert completed.content == "It is sunny."
    assert completed.model_provider_data == {"id": "chatcmpl-1"}
    assert completed.metrics == {
        "input_tokens": 10,
        "output_tokens": 4,
        "total_tokens": 14,
        "time_to_first_token": 0.25,
        "duration": 2.5,
        "details": {
            "model": [
                {
                    "input_tokens": 10,
                    "output_tokens": 4,
                    "total_tokens": 14,
                    "id": "fake-model",
                    "provider": "Fake Chat",
                }
            ]
        },
    }
    assert decision.work == []
    assert "r1" not in session.state.runs
    assert "r1" in session.state.finished
    (history,) = session.state.history
    assert history.run_id == "r1"
    assert [(m.role, m.content) for m in history.messages] == [("user", "hello"), ("assistant", "It is sunny.")]


def test_run_metrics_sum_over_every_model_request_and_keep_the_first_time_to_first_token() -> None:
    # given a run whose first turn calls a tool
    session = Session()
    first = session.start()
    tool_turn = session.send(
        model_done(first, calls=[call("c1")], usage=ModelUsage(input_tokens=5, output_tokens=2, total_tokens=7))
    )
    (tool_work,) = tool_works(tool_turn)
    second = only_model_work(session.send(tool_done(tool_work)))

    # when the second turn answers
    decision = session.send(
        model_done(
            second,
            "ok",
            usage=ModelUsage(input_tokens=20, output_tokens=3, total_tokens=23, time_to_first_token=0.5),
        )
    )

    # then
    completed = decision.events[-1]
    assert isinstance(completed, RunCompleted)
    assert completed.metrics is not None
    assert (completed.metrics["input_tokens"], completed.metrics["output_tokens"]) == (25, 5)
    assert completed.metrics["total_tokens"] == 30
    assert completed.metrics["time_to_first_token"] == 0.5
    assert completed.metrics["details"]["model"] == [
        {"input_tokens": 25, "output_tokens": 5, "total_tokens": 30, "id": "fake-model", "provider": "Fake Chat"}
    ]


def test_run_metrics_omit_zero_token_counts_and_missing_time_to_first_token() -> None:
    session = Session()
    work = session.start()

    decision = session.send(model_done(work, "ok"))

    completed = decision.events[-1]
    assert isinstance(completed, RunCompleted)
    assert completed.metrics == {"duration": 0.0, "details": {"model": [{"id": "fake-model", "provider": "Fake Chat"}]}}


def test_a_model_answer_with_one_tool_call_decides_tool_call_requested_and_tool_work() -> None:
    # given
    session = Session()
    work = session.start()

    # when
    decision = session.send(model_done(work, calls=[call("call_1", "get_weather", '{"city": "Paris"}')]))

    # then
    (requested,) = decision.events
    assert isinstance(requested, ToolCallRequested)
    assert (requested.seq, requested.tool_call_id, requested.tool_name) == (2, "call_1", "get_weather")
    assert requested.arguments == '{"city": "Paris"}'
    (tool_work,) = tool_works(decision)
    assert (tool_work.seq, tool_work.tool_call_id, tool_work.tool_name) == (2, "call_1", "get_weather")
    assert (tool_work.run_id, tool_work.session_id, tool_work.agent_id) == ("r1", SESSION, "a")
    assert tool_work.arguments == '{"city": "Paris"}'
    run = session.state.runs["r1"]
    assert run.pending_tools == {"call_1": 2}
    assert run.pending_model_seq is None


def test_a_tool_result_becomes_a_tool_message_and_the_model_is_asked_again() -> None:
    # given
    session = Session()
    first = session.start()
    (tool_work,) = tool_works(session.send(model_done(first, calls=[call("call_1")])))

    # when
    decision = session.send(tool_done(tool_work, "sunny"))

    # then
    assert kinds(decision) == ["ModelRequested"]
    requested = decision.events[0]
    assert isinstance(requested, ModelRequested)
    assert (requested.seq, requested.step) == (3, 1)
    work = only_model_work(decision)
    assert work.step == 1
    assert [m.role for m in work.messages] == ["user", "assistant", "tool"]
    tool_message = work.messages[-1]
    assert tool_message.content == "sunny"
    assert (tool_message.tool_call_id, tool_message.tool_name) == ("call_1", "get_weather")
    assert tool_message.tool_args == {"city": "Paris"}
    assert tool_message.tool_call_error is False
    assert tool_message.id == message_id("r1:2:done", "tool")
    assert requested.message_ids == tuple(m.id for m in work.messages)
    assert session.state.runs["r1"].tools == (execution(tool_work, "sunny"),)


def test_parallel_tool_results_answered_in_reverse_order_are_sent_in_the_models_tool_calls_order() -> None:
    # given a turn with two parallel tool calls
    session = Session()
    first = session.start()
    decision = session.send(model_done(first, calls=[call("c1", "a_tool"), call("c2", "b_tool")]))
    assert kinds(decision) == ["ToolCallRequested", "ToolCallRequested"]
    w1, w2 = tool_works(decision)
    assert (w1.seq, w2.seq) == (2, 3)

    # when the second call answers first
    early = session.send(tool_done(w2, "b-result"))
    late = session.send(tool_done(w1, "a-result"))

    # then nothing is decided until the batch is complete, and the results follow the tool_calls order
    assert early == Decision()
    assert kinds(late) == ["ModelRequested"]
    work = only_model_work(late)
    assert [(m.role, m.tool_call_id, m.content) for m in work.messages[2:]] == [
        ("tool", "c1", "a-result"),
        ("tool", "c2", "b-result"),
    ]
    # RunOutput.tools keeps completion order
    assert [t.tool_call_id for t in session.state.runs["r1"].tools] == ["c2", "c1"]


# --------------------------------------------------------------------------------------------- tool_call_limit


def test_tool_call_limit_errors_the_calls_over_the_limit_with_agnos_message() -> None:
    # given
    session = Session(make_agent(tool_call_limit=1))
    first = session.start()

    # when the model asks for three calls in one turn
    decision = session.send(
        model_done(first, calls=[call("c1", "t1"), call("c2", "t2", "not json"), call("c3", "t3", "[1, 2]")])
    )

    # then one is executed and two get agno's "limit reached" tool error
    assert kinds(decision) == ["ToolCallRequested", "ToolCallError", "ToolCallError"]
    assert [e.seq for e in decision.events] == [2, 3, 4]
    requested, err2, err3 = decision.events
    assert isinstance(requested, ToolCallRequested)
    assert requested.tool_call_id == "c1"
    for err, name in ((err2, "t2"), (err3, "t3")):
        assert isinstance(err, ToolCallError)
        assert err.part == ""
        message = f"Tool call limit reached. Tool call {name} not executed. Don't try to execute it again."
        assert err.error == message == TOOL_CALL_LIMIT_MESSAGE.format(name=name)
        assert err.tool is not None
        assert err.tool.tool_call_error is True
        assert err.tool.result == message
        assert err.tool.tool_args == {}  # invalid JSON / not an object
        assert err.tool.created_at == NOW
    (tool_work,) = tool_works(decision)
    assert tool_work.tool_call_id == "c1"

    # when the executed call answers, the model sees all three results in tool_calls order
    again = session.send(tool_done(tool_work, "r1"))
    work = only_model_work(again)
    tool_messages = [m for m in work.messages if m.role == "tool"]
    assert [(m.tool_call_id, m.tool_call_error) for m in tool_messages] == [("c1", False), ("c2", True), ("c3", True)]
    assert tool_messages[1].content == TOOL_CALL_LIMIT_MESSAGE.format(name="t2")


def test_tool_call_limit_counts_calls_across_turns_and_keeps_parsed_arguments() -> None:
    # given a limit of 2 and one call already executed
    session = Session(make_agent(tool_call_limit=2))
    first = session.start()
    (w1,) = tool_works(session.send(model_done(first, calls=[call("c1")])))
    second = only_model_work(session.send(tool_done(w1)))

    # when the next turn asks for two more
    decision = session.send(model_done(second, calls=[call("c2"), call("c3", "get_weather", '{"city": "Oslo"}')]))

    # then
    assert kinds(decision) == ["ToolCallRequested", "ToolCallError"]
    err = decision.events[1]
    assert isinstance(err, ToolCallError)
    assert err.tool is not None
    assert err.tool.tool_args == {"city": "Oslo"}
    assert session.state.runs["r1"].tools_executed == 2


def test_tool_call_limit_zero_asks_the_model_again_at_once() -> None:
    # given
    session = Session(make_agent(tool_call_limit=0))
    first = session.start()

    # when
    decision = session.send(model_done(first, calls=[call("c1", "t1"), call("c2", "t2")]))

    # then
    assert kinds(decision) == ["ToolCallError", "ToolCallError", "ModelRequested"]
    work = only_model_work(decision)
    assert work.seq == 4
    assert [(m.role, m.tool_call_id) for m in work.messages[1:]] == [
        ("assistant", None),
        ("tool", "c1"),
        ("tool", "c2"),
    ]
    assert session.state.runs["r1"].pending_model_seq == 4


# --------------------------------------------------------------------------------------------- failures


def test_a_tool_call_error_from_the_worker_becomes_an_error_tool_message_and_the_run_continues() -> None:
    # given
    session = Session()
    first = session.start()
    (tool_work,) = tool_works(session.send(model_done(first, calls=[call("c1")])))

    # when
    decision = session.send(tool_failed(tool_work, "ValueError: bad city"))

    # then
    assert kinds(decision) == ["ModelRequested"]
    message = only_model_work(decision).messages[-1]
    assert (message.role, message.content, message.tool_call_error) == ("tool", "ValueError: bad city", True)


def test_a_worker_tool_error_without_error_text_uses_the_tool_result() -> None:
    session = Session()
    first = session.start()
    (tool_work,) = tool_works(session.send(model_done(first, calls=[call("c1")])))

    decision = session.send(tool_failed(tool_work, error=None, result="timed out"))

    message = only_model_work(decision).messages[-1]
    assert (message.content, message.tool_call_error) == ("timed out", True)


def test_model_request_failed_decides_a_run_error() -> None:
    # given
    session = Session()
    work = session.start()

    # when
    decision = session.send(model_failed(work, "rate limited", "ModelRateLimitedError"))

    # then
    (error,) = decision.events
    assert isinstance(error, RunError)
    assert (error.seq, error.content, error.error_type, error.error_id) == (
        2,
        "rate limited",
        "ModelRateLimitedError",
        "429",
    )
    assert "r1" in session.state.finished
    assert session.state.runs == {}
    assert session.state.history == ()


def test_model_request_failed_for_a_decision_that_is_not_pending_is_ignored() -> None:
    session = Session()
    work = session.start()
    before = session.state

    decision = session.send(model_failed(replace(work, seq=7)))

    assert decision == Decision()
    assert session.state == before


def test_a_model_answer_without_a_message_is_ignored() -> None:
    session = Session()
    work = session.start()
    before = session.state

    decision = session.send(model_done(work, with_message=False))

    assert decision == Decision()
    assert session.state == before


# --------------------------------------------------------------------------------------------- cancel


def test_cancel_run_decides_run_cancelled_and_late_worker_answers_are_ignored() -> None:
    # given a run waiting for a tool
    session = Session()
    first = session.start()
    (tool_work,) = tool_works(session.send(model_done(first, calls=[call("c1")])))

    # when
    decision = session.send(CancelRun(run_id="r1", session_id=SESSION, created_at=NOW, reason="user pressed stop"))

    # then
    (cancelled,) = decision.events
    assert isinstance(cancelled, RunCancelled)
    assert (cancelled.seq, cancelled.reason) == (3, "user pressed stop")
    assert decision.work == []
    assert session.state.runs == {}
    assert "r1" in session.state.finished
    assert session.state.history == ()

    finished = session.state
    for late in (tool_done(tool_work), model_done(first, "late"), model_failed(first)):
        assert session.send(late) == Decision()
        assert session.state == finished
    assert session.send(CancelRun(run_id="r1", session_id=SESSION, created_at=NOW)) == Decision()


def test_cancel_without_a_reason_uses_the_default_reason() -> None:
    session = Session()
    session.start()

    decision = session.send(CancelRun(run_id="r1", session_id=SESSION, created_at=NOW))

    (cancelled,) = decision.events
    assert isinstance(cancelled, RunCancelled)
    assert cancelled.reason == "Run cancelled"


def test_cancel_of_an_unknown_run_is_ignored() -> None:
    session = Session()

    assert session.send(CancelRun(run_id="nope", session_id=SESSION, created_at=NOW)) == Decision()
    assert session.state == SessionState(session_id=SESSION)


# --------------------------------------------------------------------------------------------- redelivery


def test_a_redelivered_model_answer_is_a_no_op() -> None:
    # given
    session = Session()
    work = session.start()
    answer = model_done(work, calls=[call("c1")])
    session.send(answer)
    after_first = session.state

    # when
    decision = session.send(answer)

    # then
    assert decision == Decision()
    assert session.state == after_first


def test_a_redelivered_tool_answer_is_a_no_op() -> None:
    # given
    session = Session()
    first = session.start()
    w1, _w2 = tool_works(session.send(model_done(first, calls=[call("c1"), call("c2")])))
    session.send(tool_done(w1))
    after_first = session.state

    # when the same answer (same seq, part "done") comes again, also as an error
    again = session.send(tool_done(w1))
    error = session.send(tool_failed(w1))

    # then
    assert again == Decision()
    assert error == Decision()
    assert session.state == after_first
    assert session.state.runs["r1"].pending_tools == {"c2": 3}


def test_duplicate_decision_events_are_no_ops_for_evolve() -> None:
    # given a run that went through every kind of decision
    session = Session(make_agent(tool_call_limit=1))
    decisions = [session.send(start())]
    first = only_model_work(decisions[0])
    decisions.append(session.send(model_done(first, calls=[call("c1"), call("c2")])))
    (w1,) = tool_works(decisions[-1])
    decisions.append(session.send(tool_done(w1)))
    mid_run = session.state

    # when every decision event so far is folded again
    state = mid_run
    for decision in decisions:
        for event in decision.events:
            state = evolve(state, event)

    # then
    assert state == mid_run

    # and after the run finished, its decisions stay no-ops
    decisions.append(session.send(model_done(only_model_work(decisions[-1]), "done")))
    finished = session.state
    for decision in decisions:
        for event in decision.events:
            assert evolve(finished, event) == finished


def test_worker_progress_events_decide_nothing_and_change_nothing() -> None:
    # given
    session = Session()
    first = session.start()
    (tool_work,) = tool_works(session.send(model_done(first, calls=[call("c1")])))
    before = session.state
    common: dict[str, Any] = {"created_at": NOW, "run_id": "r1", "session_id": SESSION}

    # when / then
    progress: list[RunEvent] = [
        ModelRequestStarted(**common, seq=first.seq, part="start"),
        RunContent(**common, seq=first.seq, part="d1", content="It"),
        ToolCallStarted(**common, seq=tool_work.seq, part="start", tool=execution(tool_work, None)),
        tool_done(tool_work, part="d1"),
    ]
    for event in progress:
        assert session.send(event) == Decision()
        assert session.state == before


def test_answers_for_a_decision_that_is_not_pending_are_ignored() -> None:
    # given
    session = Session()
    first = session.start()
    (tool_work,) = tool_works(session.send(model_done(first, calls=[call("c1")])))
    before = session.state

    # when: a tool answer with the wrong seq, a tool answer for an unknown call, an answer without a tool
    wrong_seq = tool_done(replace(tool_work, seq=tool_work.seq + 5))
    wrong_call = tool_done(replace(tool_work, tool_call_id="zz"))
    no_tool = ToolCallCompleted(created_at=NOW, run_id="r1", session_id=SESSION, seq=tool_work.seq, part="done")
    stale_model = model_done(first, "stale")

    # then
    for item in (wrong_seq, wrong_call, no_tool, stale_model):
        assert session.send(item) == Decision()
        assert session.state == before


def test_events_of_an_unknown_run_decide_nothing_and_only_terminal_ones_are_remembered() -> None:
    # given
    session = Session()
    work = ModelWork(run_id="ghost", session_id=SESSION, agent_id="a", seq=1, created_at=NOW)

    # when / then
    assert session.send(model_done(work, "x")) == Decision()
    assert session.state == SessionState(session_id=SESSION)
    error = RunError(created_at=NOW, run_id="ghost", session_id=SESSION, seq=0, error_type="UnknownAgentError")
    state = evolve(session.state, error)
    assert state.finished == frozenset({"ghost"})
    assert evolve(state, error) is state


def test_run_started_of_another_session_raises_event_sequence_error() -> None:
    # given
    state = SessionState(session_id=SESSION)
    started = RunStarted(created_at=NOW, run_id="r1", session_id="other", seq=0)

    # when / then
    with pytest.raises(EventSequenceError, match="other"):
        evolve(state, started)


def test_a_run_started_without_messages_gives_an_empty_context() -> None:
    state = evolve(SessionState(session_id=SESSION), RunStarted(created_at=NOW, run_id="r1", session_id=SESSION, seq=0))

    assert state.runs["r1"].context() == ()


# --------------------------------------------------------------------------------------------- registry drift


def test_a_run_whose_agent_left_the_registry_runs_tools_without_limit_and_reports_the_provider_label() -> None:
    # given a run started with a limit-0 agent that is then unregistered
    session = Session(make_agent(tool_call_limit=0))
    first = session.start()
    session.agents = {}

    # when
    decision = session.send(model_done(first, calls=[call("c1")]))
    (tool_work,) = tool_works(decision)
    second = only_model_work(session.send(tool_done(tool_work)))
    final = session.send(model_done(second, "ok"))

    # then
    assert kinds(decision) == ["ToolCallRequested"]
    completed = final.events[-1]
    assert isinstance(completed, RunCompleted)
    assert completed.metrics is not None
    assert completed.metrics["details"]["model"][0]["provider"] == "Fake"


# --------------------------------------------------------------------------------------------- history


def history_agent(**kwargs: Any) -> Agent:
    return make_agent(add_history_to_context=True, **kwargs)


def add_errored_run(session: Session, run_id: str) -> None:
    session.send(model_failed(session.start(run_id, f"q-{run_id}")))


def add_cancelled_run(session: Session, run_id: str) -> None:
    session.start(run_id, f"q-{run_id}")
    session.send(CancelRun(run_id=run_id, session_id=SESSION, created_at=NOW))


def test_history_replays_only_the_last_n_completed_runs_marked_from_history() -> None:
    # given completed, errored and cancelled runs
    session = Session(history_agent(num_history_runs=2, instructions="Sys."))
    session.complete("r1", "q1", "a1")
    session.complete("r2", "q2", "a2")
    add_errored_run(session, "r3")
    session.complete("r4", "q4", "a4")
    add_cancelled_run(session, "r5")

    # when
    decision = session.send(start("r6", "q6"))

    # then only r2 and r4 (the last two COMPLETED runs) are history
    started = decision.events[0]
    assert isinstance(started, RunStarted)
    assert started.history_run_ids == ("r2", "r4")
    work = only_model_work(decision)
    assert [(m.role, m.content, m.from_history) for m in work.messages] == [
        ("system", "Sys.", False),
        ("user", "q2", True),
        ("assistant", "a2", True),
        ("user", "q4", True),
        ("assistant", "a4", True),
        ("user", "q6", False),
    ]
    r2_user = session.state.history[1].messages[0]
    assert work.messages[1].id == r2_user.id
    assert r2_user.from_history is False  # the stored run keeps its own flag


def test_history_includes_the_tool_messages_of_completed_runs() -> None:
    # given
    session = Session(history_agent())
    first = session.start("r1", "q1")
    (w,) = tool_works(session.send(model_done(first, calls=[call("c1")])))
    session.send(model_done(only_model_work(session.send(tool_done(w, "sunny"))), "a1"))

    # when
    work = session.start("r2", "q2")

    # then
    assert [(m.role, m.from_history) for m in work.messages] == [
        ("user", True),
        ("assistant", True),
        ("tool", True),
        ("assistant", True),
        ("user", False),
    ]


def test_default_num_history_runs_is_three() -> None:
    # given
    assert DEFAULT_NUM_HISTORY_RUNS == 3
    session = Session(history_agent())
    for i in range(1, 6):
        session.complete(f"r{i}", f"q{i}", f"a{i}")

    # when
    decision = session.send(start("r6", "q6"))

    # then
    started = decision.events[0]
    assert isinstance(started, RunStarted)
    assert started.history_run_ids == ("r3", "r4", "r5")


def test_without_add_history_to_context_there_is_no_history() -> None:
    session = Session(make_agent(num_history_runs=5))
    session.complete("r1")

    decision = session.send(start("r2", "q2"))

    started = decision.events[0]
    assert isinstance(started, RunStarted)
    assert started.history_run_ids == ()
    assert [m.content for m in only_model_work(decision).messages] == ["q2"]


def test_num_history_runs_zero_gives_no_history() -> None:
    session = Session(history_agent(num_history_runs=0))
    session.complete("r1")

    work = session.start("r2", "q2")

    assert [m.content for m in work.messages] == ["q2"]


def test_history_is_capped_at_max_history_runs() -> None:
    # given more completed runs than the session keeps
    session = Session(history_agent(num_history_runs=10_000))
    for i in range(MAX_HISTORY_RUNS + 2):
        session.complete(f"r{i}", f"q{i}", f"a{i}")

    # then the session keeps the last MAX_HISTORY_RUNS
    assert len(session.state.history) == MAX_HISTORY_RUNS
    assert session.state.history[0].run_id == "r2"

    # when / then a new run gets at most MAX_HISTORY_RUNS runs of history
    decision = session.send(start("last", "q"))
    started = decision.events[0]
    assert isinstance(started, RunStarted)
    assert len(started.history_run_ids) == MAX_HISTORY_RUNS
    assert started.history_run_ids[0] == "r2"


def test_a_state_holding_more_history_than_the_cap_still_gives_at_most_max_history_runs() -> None:
    # given a state built from more completed runs than the cap (e.g. an older engine's snapshot)
    runs = tuple(CompletedRun(f"r{i}", ()) for i in range(MAX_HISTORY_RUNS + 5))
    state = SessionState(session_id=SESSION, history=runs)

    # when
    decision = decide(state, start("new"), DecisionContext(now=NOW, agents={"a": history_agent(num_history_runs=500)}))

    # then
    started = decision.events[0]
    assert isinstance(started, RunStarted)
    assert started.history_run_ids == tuple(f"r{i}" for i in range(5, MAX_HISTORY_RUNS + 5))


def test_as_history_of_a_history_message_is_the_same_message() -> None:
    message = Message(id="m", role="user", content="x", from_history=True)

    assert message.as_history() is message


# --------------------------------------------------------------------------------------------- determinism


def play_one_tool_run() -> tuple[list[RunEvent], list[ModelWork | ToolWork]]:
    """Start, two parallel tool calls answered in reverse order, then a final answer; every decision's output."""
    session = Session(make_agent(description="d"))
    decisions = [session.send(start())]
    decisions.append(session.send(model_done(only_model_work(decisions[-1]), calls=[call("c1"), call("c2")])))
    w1, w2 = tool_works(decisions[-1])
    decisions.append(session.send(tool_done(w2)))
    decisions.append(session.send(tool_done(w1)))
    decisions.append(session.send(model_done(only_model_work(decisions[-1]), "done")))
    return [e for d in decisions for e in d.events], [w for d in decisions for w in d.work]


def test_same_inputs_give_the_same_events_work_and_ids() -> None:
    # given / when
    events_a, work_a = play_one_tool_run()
    events_b, work_b = play_one_tool_run()

    # then
    assert events_a == events_b
    assert work_a == work_b
    assert [e.event_id for e in events_a] == [f"r1:{i}" for i in range(len(events_a))]
    started = events_a[0]
    assert isinstance(started, RunStarted)
    assert started.message is not None
    assert started.system_message is not None
    assert started.message.id == message_id("r1", 0, "user")
    assert started.system_message.id == message_id("r1", 0, "system")
    assert message_id("r1", 0, "user") != message_id("r2", 0, "user")
