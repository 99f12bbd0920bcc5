"""Events, commands, work items and messages: record round trips, agno's wire shapes, decode errors."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from engine import (
    COMMAND_TYPES,
    EVENT_TYPES,
    TEAM_EVENT_TYPES,
    CancelRun,
    CommandRejectedError,
    ConfigurationError,
    ContinueRun,
    EngineError,
    EventSequenceError,
    Message,
    ModelRequestCompleted,
    ModelUsage,
    ModelWork,
    NondeterminismError,
    Requirement,
    RunCompleted,
    RunEvent,
    RunNotActiveError,
    RunStarted,
    SchemaError,
    StartRun,
    ToolCall,
    ToolCallCompleted,
    ToolCallError,
    ToolCallStarted,
    ToolExecution,
    ToolWork,
    UnknownAgentError,
    UserInputField,
    decode_command,
    decode_event,
    decode_work,
    event_id,
)
from engine._codec import build_specs, from_fields
from tests.unit.engine.team_examples import TEAM_EXAMPLES
from tests.unit.engine.workflow_examples import WORKFLOW_EXAMPLES

ENVELOPE = {"event_id", "seq", "part", "runtime"}

USER = Message(id="m-user", role="user", content="hi", created_at=10)
ASSISTANT = Message(
    id="m-asst",
    role="assistant",
    content=None,
    tool_calls=(ToolCall(id="c1", name="get_weather", arguments='{"city": "Paris"}'),),
    provider_data={"id": "chatcmpl-1"},
    metrics={"input_tokens": 3, "duration": 0.5},
    created_at=11,
)
TOOL = ToolExecution(
    tool_call_id="c1", tool_name="get_weather", tool_args={"city": "Paris"}, result="sunny", created_at=12
)
HELD = ToolExecution(
    tool_call_id="c2",
    tool_name="send",
    tool_args={"to": "x"},
    created_at=12,
    requires_confirmation=True,
    requires_user_input=True,
    user_input_schema=(UserInputField(name="to", field_type="str", description="Address", value="x"),),
    external_execution_required=True,
    external_execution_silent=False,
)
RESOLVED = ToolExecution(
    tool_call_id="c2",
    tool_name="send",
    confirmed=False,
    confirmation_note="no",
    tool_call_error=True,
    answered=True,
)

# One fully populated example of each event type (non-default values in as many fields as possible).
EXAMPLES: dict[str, dict[str, Any]] = {
    "RunStarted": {
        "model": "gpt-4o-mini",
        "model_provider": "OpenAI",
        "user_id": "u1",
        "input": "hi",
        "message": USER,
        "system_message": Message(id="m-sys", role="system", content="Be brief."),
        "history_run_ids": ("r0",),
    },
    "ModelRequested": {"step": 2, "message_ids": ("m-sys", "m-user")},
    "ModelRequestStarted": {"part": "start", "model": "gpt-4o-mini", "model_provider": "OpenAI"},
    "RunContent": {
        "part": "d1",
        "content": "It",
        "workflow_agent": True,
        "content_type": "str",
        "reasoning_content": "thinking",
        "model_provider_data": {"id": "x"},
    },
    "ModelRequestCompleted": {
        "part": "done",
        "model": "gpt-4o-mini",
        "model_provider": "OpenAI",
        "input_tokens": 3,
        "output_tokens": 4,
        "total_tokens": 7,
        "time_to_first_token": 0.1,
        "reasoning_tokens": 1,
        "cache_read_tokens": 2,
        "cache_write_tokens": 5,
        "duration": 0.5,
        "message": ASSISTANT,
    },
    "ModelRequestFailed": {"part": "done", "error_type": "ModelAuthError", "error": "no key", "error_code": "401"},
    "ToolCallRequested": {"tool_call_id": "c1", "tool_name": "get_weather", "arguments": '{"city": "Paris"}'},
    "ToolCallStarted": {"part": "start", "tool": ToolExecution(tool_call_id="c1", tool_name="get_weather")},
    "ToolCallCompleted": {"part": "done", "content": "get_weather(city=Paris) completed in 0.1s. ", "tool": TOOL},
    "ToolCallError": {"part": "done", "tool": TOOL, "error": "ValueError: boom"},
    "RunContentCompleted": {},
    "RunCompleted": {
        "content": "It is sunny.",
        "content_type": "str",
        "model_provider_data": {"id": "x"},
        "session_state": {"k": 1},
        "metrics": {"input_tokens": 3, "details": {"model": [{"id": "m", "provider": "P"}]}},
    },
    "RunError": {"content": "boom", "error_type": "X", "error_id": "e1", "additional_data": {"a": 1}},
    "RunCancelled": {"reason": "stop", "cancelled_by": "p0"},
    "ToolCallPaused": {"tool": HELD},
    "RunPaused": {
        "content": "I have tools to execute, but I need confirmation.",
        "tools": (TOOL, HELD),
        "requirements": (Requirement(id="q1", created_at="2023-11-14T22:13:20+00:00", tool_execution=HELD),),
    },
    "RunContinued": {
        "updates": (RESOLVED,),
        "user_id": "u1",
        "tools": (RESOLVED,),
        "messages": (Message(id="m-tool", role="tool", content="no", tool_call_id="c2", tool_call_error=True),),
    },
}


EXAMPLES.update(TEAM_EXAMPLES)
EXAMPLES.update(WORKFLOW_EXAMPLES)


def make(tag: str, **extra: Any) -> RunEvent:
    fields: dict[str, Any] = {
        "created_at": 1_700_000_000,
        "agent_id": "a",
        "agent_name": "Agent A",
        "run_id": "r1",
        "parent_run_id": "p1",
        "session_id": "s1",
        "nested_depth": 1,
        "seq": 3,
    }
    fields.update(EXAMPLES[tag])
    fields.update(extra)
    return EVENT_TYPES[tag](**fields)


def test_every_event_type_has_an_example() -> None:
    assert set(EXAMPLES) == set(EVENT_TYPES)
    assert all(cls.event == tag for tag, cls in EVENT_TYPES.items())


@pytest.mark.parametrize("tag", sorted(EVENT_TYPES))
def test_every_event_round_trips_through_its_record_dict(tag: str) -> None:
    event = make(tag)

    record = event.to_dict()

    assert decode_event(record) == event
    assert record["event"] == tag
    assert record["runtime"] == "agnostream"
    assert record["event_id"] == event.event_id


@pytest.mark.parametrize("tag", sorted(EVENT_TYPES))
def test_an_event_with_only_required_fields_round_trips(tag: str) -> None:
    event = EVENT_TYPES[tag](created_at=1, run_id="r1", session_id="s1", seq=0)

    assert decode_event(event.to_dict()) == event


@pytest.mark.parametrize("tag", sorted(EVENT_TYPES))
def test_to_agno_drops_the_envelope_internal_fields_and_none_values(tag: str) -> None:
    event = make(tag, parent_run_id=None)

    agno = event.to_agno()

    assert agno["event"] == tag
    assert agno["created_at"] == 1_700_000_000
    assert not ENVELOPE & agno.keys()
    assert not type(event)._internal & agno.keys()
    assert "parent_run_id" not in agno
    assert all(v is not None for v in agno.values())


def test_to_agno_keeps_agnos_fields_and_hides_engine_ones() -> None:
    started = make("RunStarted")
    completed = make("ModelRequestCompleted")

    assert started.to_agno() == {
        "created_at": 1_700_000_000,
        "event": "RunStarted",
        "agent_id": "a",
        "agent_name": "Agent A",
        "run_id": "r1",
        "parent_run_id": "p1",
        "session_id": "s1",
        "nested_depth": 1,
        "model": "gpt-4o-mini",
        "model_provider": "OpenAI",
    }
    assert "message" not in completed.to_agno()
    assert "duration" not in completed.to_agno()
    assert completed.to_agno()["time_to_first_token"] == 0.1
    assert started.to_dict()["message"] == USER.to_dict()
    assert started.to_dict()["history_run_ids"] == ["r0"]


def test_to_agno_keeps_the_nested_tool_dict_with_its_none_values() -> None:
    event = make("ToolCallStarted", tool=ToolExecution(tool_call_id="c1", tool_name="t"))

    tool = event.to_agno()["tool"]

    assert tool["result"] is None
    assert tool["tool_call_error"] is None
    assert tool["requires_confirmation"] is None
    assert tool == ToolExecution(tool_call_id="c1", tool_name="t").to_dict()


def test_to_dict_omits_an_empty_part_and_none_fields() -> None:
    event = make("RunCompleted", parent_run_id=None, model_provider_data=None)

    record = event.to_dict()

    assert "part" not in record
    assert "parent_run_id" not in record
    assert "model_provider_data" not in record
    assert record["seq"] == 3


def test_event_id_is_run_id_and_seq_plus_part_when_set() -> None:
    assert event_id("r1", 0) == "r1:0"
    assert event_id("r1", 4, "done") == "r1:4:done"
    assert make("ModelRequested").event_id == "r1:3"
    assert make("ToolCallCompleted").event_id == "r1:3:done"


def test_event_classes_mark_terminal_and_internal_kinds() -> None:
    terminal = {tag for tag, cls in EVENT_TYPES.items() if cls.is_terminal and cls not in TEAM_EVENT_TYPES}
    terminal -= set(WORKFLOW_EXAMPLES)  # tests/unit/engine/test_workflow_events.py
    internal = {tag for tag, cls in EVENT_TYPES.items() if cls.is_internal} - set(WORKFLOW_EXAMPLES)

    assert terminal == {"RunCompleted", "RunError", "RunCancelled"}
    assert internal == {
        "ModelRequested",
        "ModelRequestFailed",
        "ToolCallRequested",
        "ToolCallPaused",
        "TeamRequirementsResolved",
    }


def test_model_request_completed_usage_collects_the_usage_fields() -> None:
    event = make("ModelRequestCompleted")
    assert isinstance(event, ModelRequestCompleted)

    assert event.usage() == ModelUsage(
        input_tokens=3,
        output_tokens=4,
        total_tokens=7,
        reasoning_tokens=1,
        cache_read_tokens=2,
        cache_write_tokens=5,
        time_to_first_token=0.1,
        duration=0.5,
    )


def test_decoding_ignores_unknown_keys() -> None:
    record = {**make("RunCompleted").to_dict(), "event_index": 5, "future_field": [1]}

    assert decode_event(record) == make("RunCompleted")


# --------------------------------------------------------------------------------------------- decode errors


@pytest.mark.parametrize("record", [{}, {"event": "Nope"}, {"event": 3}], ids=["missing", "unknown", "not-a-string"])
def test_decode_event_rejects_an_unknown_event(record: dict[str, Any]) -> None:
    with pytest.raises(SchemaError, match=r"unknown event type .*known: .*RunStarted"):
        decode_event(record)


@pytest.mark.parametrize("field", ["run_id", "session_id", "seq", "created_at"])
def test_decode_event_names_a_missing_required_field(field: str) -> None:
    record = make("RunCompleted").to_dict()
    del record[field]

    with pytest.raises(SchemaError, match=f"RunCompleted: missing required field '{field}'"):
        decode_event(record)


def test_decode_event_names_a_bad_nested_message() -> None:
    record = {**make("RunStarted").to_dict(), "message": {"id": "m", "role": "robot"}}

    with pytest.raises(SchemaError, match="role of system"):
        decode_event(record)


@pytest.mark.parametrize("bad", ["not a dict", 42, ["x"]])
def test_decode_event_names_the_field_of_an_undecodable_nested_value(bad: Any) -> None:
    record = {**make("ModelRequestCompleted").to_dict(), "message": bad}

    with pytest.raises(SchemaError, match=r"ModelRequestCompleted\.message: cannot decode"):
        decode_event(record)


def test_decode_event_names_a_tool_without_its_required_keys() -> None:
    record = {**make("ToolCallCompleted").to_dict(), "tool": {"tool_name": "t"}}

    with pytest.raises(SchemaError, match="tool is missing 'tool_call_id'"):
        decode_event(record)


def test_decode_event_reports_a_bad_tool_call_inside_a_message() -> None:
    message = {**ASSISTANT.to_dict(), "tool_calls": [{"id": "c1"}]}
    record = {**make("ModelRequestCompleted").to_dict(), "message": message}

    with pytest.raises(SchemaError, match="tool_calls entry is missing 'function'"):
        decode_event(record)


def test_from_fields_turns_a_constructor_type_error_into_a_schema_error() -> None:
    @dataclass(frozen=True)
    class Strict:
        n: int

        def __post_init__(self) -> None:
            if not isinstance(self.n, int):
                raise TypeError("n must be an int")

    specs = build_specs(Strict, {}, frozenset(), frozenset())

    assert from_fields(Strict, specs, {"n": 1}, "Strict") == Strict(1)
    with pytest.raises(SchemaError, match="Strict: n must be an int"):
        from_fields(Strict, specs, {"n": "x"}, "Strict")


# --------------------------------------------------------------------------------------------- commands


def test_commands_round_trip_and_drop_none_fields() -> None:
    start = StartRun(run_id="r1", session_id="s1", created_at=5, agent_id="a", message="hi")
    cancel = CancelRun(run_id="r1", session_id="s1", created_at=6, reason="stop")

    assert start.to_dict() == {
        "command": "StartRun",
        "run_id": "r1",
        "session_id": "s1",
        "created_at": 5,
        "agent_id": "a",
        "message": "hi",
    }
    assert decode_command(start.to_dict()) == start
    assert decode_command(cancel.to_dict()) == cancel
    bare = decode_command(CancelRun(run_id="r", session_id="s", created_at=1).to_dict())
    assert isinstance(bare, CancelRun)
    assert bare.reason is None
    assert (start.command_id, cancel.command_id) == ("r1:StartRun", "r1:CancelRun")
    assert {"StartRun", "StartTeamRun", "CancelRun", "ContinueRun"} <= set(COMMAND_TYPES)


def test_command_to_dict_turns_tuples_into_lists() -> None:
    # Commands have no tuple fields today; the conversion is still part of the record contract.
    cancel = CancelRun(run_id="r", session_id="s", created_at=1, reason=("a", "b"))  # type: ignore[arg-type]

    assert cancel.to_dict()["reason"] == ["a", "b"]


@pytest.mark.parametrize("record", [{}, {"command": "Nope"}, {"command": 1}])
def test_decode_command_rejects_an_unknown_command(record: dict[str, Any]) -> None:
    with pytest.raises(
        SchemaError, match=r"unknown command .*known: CancelRun, ContinueRun, ContinueTeamRun, StartRun"
    ):
        decode_command(record)


@pytest.mark.parametrize("field", ["run_id", "session_id"])
@pytest.mark.parametrize("bad", [None, "", 3])
def test_decode_command_requires_non_empty_string_ids(field: str, bad: Any) -> None:
    record = {"command": "CancelRun", "run_id": "r", "session_id": "s", "created_at": 1, field: bad}

    with pytest.raises(SchemaError, match=f"CancelRun: field '{field}' must be a non-empty string"):
        decode_command(record)


def test_decode_command_names_a_missing_required_field() -> None:
    record = {"command": "StartRun", "run_id": "r", "session_id": "s", "created_at": 1, "agent_id": "a"}

    with pytest.raises(SchemaError, match="StartRun: missing required field 'message'"):
        decode_command(record)


# --------------------------------------------------------------------------------------------- work items


def test_work_items_round_trip() -> None:
    model = ModelWork(run_id="r", session_id="s", agent_id="a", seq=1, created_at=2, step=0, messages=(USER, ASSISTANT))
    tool = ToolWork(run_id="r", session_id="s", agent_id="a", seq=2, created_at=3, tool_call_id="c1", tool_name="t")

    assert model.to_dict()["kind"] == "model"
    assert model.to_dict()["messages"] == [USER.to_dict(), ASSISTANT.to_dict()]
    assert decode_work(model.to_dict()) == model
    assert tool.to_dict() == {
        "kind": "tool",
        "run_id": "r",
        "session_id": "s",
        "agent_id": "a",
        "seq": 2,
        "created_at": 3,
        "tool_call_id": "c1",
        "tool_name": "t",
        "arguments": "{}",
        "is_team": False,
    }
    assert decode_work(tool.to_dict()) == tool


def test_a_model_work_without_messages_decodes_to_an_empty_tuple() -> None:
    record = ModelWork(run_id="r", session_id="s", agent_id="a", seq=1, created_at=2).to_dict()
    record["messages"] = None

    assert decode_work(record).messages == ()  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", [None, "other"])
def test_decode_work_rejects_an_unknown_kind(kind: Any) -> None:
    with pytest.raises(SchemaError, match="unknown work kind"):
        decode_work({"kind": kind})


def test_decode_work_names_a_missing_field_and_a_bad_message() -> None:
    with pytest.raises(SchemaError, match="ToolWork: missing required field 'run_id'"):
        decode_work({"kind": "tool", "session_id": "s", "agent_id": "a", "seq": 1, "created_at": 1})
    bad = ModelWork(run_id="r", session_id="s", agent_id="a", seq=1, created_at=2).to_dict()
    bad["messages"] = [{"id": "m"}]
    with pytest.raises(SchemaError, match="message needs an id and a role"):
        decode_work(bad)
    bad["messages"] = [3]
    with pytest.raises(SchemaError, match=r"ModelWork\.messages: cannot decode"):
        decode_work(bad)


# --------------------------------------------------------------------------------------------- messages


def test_message_to_dict_uses_agnos_field_names_and_omits_none() -> None:
    user = Message(id="m1", role="user", content="hi", created_at=7)

    assert user.to_dict() == {
        "id": "m1",
        "content": "hi",
        "from_history": False,
        "stop_after_tool_call": False,
        "role": "user",
        "created_at": 7,
    }
    assert list(user.to_dict()) == ["id", "content", "from_history", "stop_after_tool_call", "role", "created_at"]


def test_a_full_message_round_trips() -> None:
    tool_message = Message(
        id="m3",
        role="tool",
        content="sunny",
        tool_call_id="c1",
        tool_name="get_weather",
        tool_args={"city": "Paris"},
        tool_call_error=False,
        from_history=True,
        created_at=9,
    )

    for message in (USER, ASSISTANT, tool_message):
        assert Message.from_dict(message.to_dict()) == message
    assert ASSISTANT.to_dict()["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    ]
    assert ASSISTANT.to_dict()["metrics"] == {"input_tokens": 3, "duration": 0.5}
    assert ASSISTANT.to_dict()["provider_data"] == {"id": "chatcmpl-1"}
    assert "content" not in ASSISTANT.to_dict()
    assert tool_message.to_dict()["tool_call_error"] is False


def test_message_from_dict_defaults_and_empty_metrics() -> None:
    message = Message.from_dict({"id": "m", "role": "assistant"})

    assert message == Message(id="m", role="assistant")
    assert "metrics" not in Message(id="m", role="assistant", metrics={}).to_dict()


@pytest.mark.parametrize("record", [{"role": "user"}, {"id": "m"}, {"id": "m", "role": "robot"}])
def test_message_from_dict_needs_an_id_and_a_known_role(record: dict[str, Any]) -> None:
    with pytest.raises(SchemaError, match="message needs an id and a role"):
        Message.from_dict(record)


def test_tool_call_round_trips_and_defaults_missing_arguments_to_an_empty_object() -> None:
    tool_call = ToolCall(id="c1", name="t", arguments='{"x": 1}')

    assert ToolCall.from_dict(tool_call.to_dict()) == tool_call
    assert ToolCall.from_dict({"id": "c2", "function": {"name": "t"}}).arguments == "{}"
    with pytest.raises(SchemaError, match="tool_calls entry is missing"):
        ToolCall.from_dict({"id": "c3", "function": None})


def test_tool_execution_keeps_every_agno_field_with_none_values() -> None:
    execution = ToolExecution(tool_call_id="c1", tool_name="t")

    d = execution.to_dict()

    assert list(d) == [
        "tool_call_id",
        "tool_name",
        "tool_args",
        "tool_call_error",
        "result",
        "metrics",
        "child_run_id",
        "stop_after_tool_call",
        "created_at",
        "requires_confirmation",
        "confirmed",
        "confirmation_note",
        "requires_user_input",
        "user_input_schema",
        "user_feedback_schema",
        "answered",
        "external_execution_required",
        "external_execution_silent",
        "approval_type",
        "approval_id",
        "parent_tool_call_id",
    ]
    assert (d["tool_args"], d["stop_after_tool_call"], d["created_at"]) == ({}, False, 0)
    assert ToolExecution.from_dict(d) == execution
    full = ToolExecution(
        tool_call_id="c1",
        tool_name="t",
        tool_args={"a": 1},
        tool_call_error=True,
        result="r",
        metrics={"start_time": 1.0, "end_time": 2.0, "duration": 1.0},
        created_at=3,
    )
    assert ToolExecution.from_dict(full.to_dict()) == full
    assert ToolExecution.from_dict({"tool_call_id": "c", "tool_name": "t", "tool_args": None}).tool_args == {}


def test_tool_execution_from_dict_needs_its_ids() -> None:
    with pytest.raises(SchemaError, match="tool is missing 'tool_name'"):
        ToolExecution.from_dict({"tool_call_id": "c1"})


def test_model_usage_dicts() -> None:
    usage = ModelUsage(input_tokens=3, output_tokens=0, total_tokens=3, reasoning_tokens=2, duration=0.5)

    assert usage.to_dict() == {
        "input_tokens": 3,
        "output_tokens": 0,
        "total_tokens": 3,
        "reasoning_tokens": 2,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "duration": 0.5,
    }
    assert ModelUsage.from_dict(usage.to_dict()) == usage
    assert ModelUsage.from_dict({}) == ModelUsage()
    assert ModelUsage.from_dict({"input_tokens": None, "time_to_first_token": 0.2}).time_to_first_token == 0.2
    assert usage.message_metrics() == {"input_tokens": 3, "total_tokens": 3, "reasoning_tokens": 2, "duration": 0.5}
    assert ModelUsage(time_to_first_token=0.1).message_metrics() == {"time_to_first_token": 0.1}
    assert ModelUsage().message_metrics() == {}


def test_run_completed_and_tool_events_share_agnos_tool_shape() -> None:
    completed = make("ToolCallCompleted")
    error = make("ToolCallError")
    started = make("ToolCallStarted")
    assert isinstance(completed, ToolCallCompleted)
    assert isinstance(error, ToolCallError)
    assert isinstance(started, ToolCallStarted)

    assert completed.to_agno()["tool"] == TOOL.to_dict()
    assert error.to_agno()["error"] == "ValueError: boom"
    assert isinstance(make("RunCompleted"), RunCompleted)
    assert isinstance(make("RunStarted"), RunStarted)


# --------------------------------------------------------------------------------------------- errors


def test_error_hierarchy_and_attributes() -> None:
    unknown = UnknownAgentError("x", ["a", "b"])
    empty = UnknownAgentError("x", [])
    drift = NondeterminismError("r1", 4, {"event": "A"}, None)

    assert isinstance(unknown, CommandRejectedError)
    assert isinstance(unknown, EngineError)
    assert str(unknown) == "unknown agent_id 'x'; registered agents: a, b"
    assert str(empty) == "unknown agent_id 'x'; registered agents: (none)"
    assert (unknown.agent_id, unknown.known) == ("x", ["a", "b"])
    assert (drift.run_id, drift.seq, drift.expected, drift.got) == ("r1", 4, {"event": "A"}, None)
    assert str(drift) == "run r1 diverged at seq 4: expected {'event': 'A'}, got None"
    assert issubclass(SchemaError, ValueError)
    assert issubclass(RunNotActiveError, CommandRejectedError)
    assert not any(cls.retriable for cls in (EngineError, SchemaError, ConfigurationError, EventSequenceError))


# --------------------------------------------------------------------------------------------- human in the loop


def test_continue_run_round_trips_with_agnos_tool_dicts() -> None:
    command = ContinueRun(run_id="r1", session_id="s1", created_at=7, tools=(HELD, RESOLVED), user_id="u1")

    record = command.to_dict()

    assert record["command"] == "ContinueRun"
    assert record["tools"] == [HELD.to_dict(), RESOLVED.to_dict()]
    assert decode_command(record) == command


def test_a_tool_work_item_carries_the_resolved_execution() -> None:
    tool = ToolWork(run_id="r", session_id="s", agent_id="a", seq=2, created_at=3, tool_call_id="c2", execution=HELD)

    assert tool.to_dict()["execution"] == HELD.to_dict()
    assert decode_work(tool.to_dict()) == tool


def test_tool_execution_reads_agnos_hitl_fields_from_a_client() -> None:
    sent = {
        "tool_call_id": "c2",
        "tool_name": "send",
        "tool_args": None,
        "confirmed": True,
        "confirmation_note": "ok",
        "user_input_schema": [{"name": "to", "value": "bob"}, {"name": "n", "field_type": "int", "description": "N"}],
        "result": {"files": ["a"]},
        "answered": True,
    }

    tool = ToolExecution.from_dict(sent)

    assert tool.tool_args == {}
    assert (tool.confirmed, tool.confirmation_note, tool.answered) == (True, "ok", True)
    assert tool.user_input_schema == (
        UserInputField(name="to", field_type="str", value="bob"),
        UserInputField(name="n", field_type="int", description="N"),
    )
    assert tool.result == '{"files": ["a"]}'  # a structured external result reaches the model as JSON text
    assert not tool.is_paused
    assert HELD.is_paused
    assert ToolExecution.from_dict(HELD.to_dict()) == HELD


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("nope", "tool must be an object"),
        ({"tool_call_id": "c", "tool_name": "t", "user_input_schema": {"a": 1}}, "user_input_schema must be a list"),
        ({"tool_call_id": "c", "tool_name": "t", "tool_args": [1]}, "tool_args must be an object"),
        ({"tool_call_id": "c", "tool_name": "t", "user_input_schema": [{"value": 1}]}, "need a name"),
        ({"tool_call_id": "c"}, "tool is missing 'tool_name'"),
    ],
)
def test_tool_execution_rejects_bad_shapes_with_a_schema_error(record: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        ToolExecution.from_dict(record)


def test_requirements_round_trip_and_name_what_is_missing() -> None:
    requirement = Requirement(id="q1", created_at="2023-11-14T22:13:20+00:00", tool_execution=HELD)

    assert Requirement.from_dict(requirement.to_dict()) == requirement
    assert set(requirement.to_dict()) == {"id", "created_at", "tool_execution", "user_input_schema"}
    with pytest.raises(SchemaError, match="requirement is missing 'id'"):
        Requirement.from_dict({"created_at": "x", "tool_execution": HELD.to_dict()})
    with pytest.raises(SchemaError, match="requirement is missing 'tool_execution'"):
        Requirement.from_dict({"id": "q1"})
    # a client's answer: agno's requirement-level fields win over the tool execution's
    answered = Requirement.from_dict(
        {"id": "q1", "tool_execution": HELD.to_dict(), "confirmation": False, "confirmation_note": "no"}
    )
    assert answered.created_at == ""
    assert (answered.answered().confirmed, answered.answered().confirmation_note) == (False, "no")
    member = replace(requirement, member_agent_id="m1", member_agent_name="M1", member_run_id="mr")
    assert {
        "member_agent_id": "m1",
        "member_agent_name": "M1",
        "member_run_id": "mr",
    }.items() <= member.to_dict().items()
    assert Requirement.from_dict(member.to_dict()) == member
