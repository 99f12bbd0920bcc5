"""Codec: events, commands and work items as records (key, headers, value) and back."""

from __future__ import annotations

import orjson
import pytest

from engine import (
    CancelRun,
    Message,
    ModelRequestCompleted,
    ModelWork,
    RunStarted,
    SchemaError,
    StartRun,
    ToolCall,
    ToolWork,
)
from streams import (
    SCHEMA_VERSION,
    OutRecord,
    Record,
    command_record,
    decode_value,
    event_record,
    read_command,
    read_event,
    read_work,
    work_record,
)


def as_record(out: OutRecord, *, partition: int = 0, offset: int = 0) -> Record:
    return Record(out.topic, partition, offset, out.key, out.value, out.headers, 0)


def raw(value: bytes) -> Record:
    return Record("t", 1, 7, b"k", value, (), 0)


USER = Message(id="u1", role="user", content="hi")
STARTED = RunStarted(
    created_at=1_700_000_000,
    run_id="r1",
    session_id="s1",
    seq=0,
    agent_id="a1",
    agent_name="Agent",
    model="m",
    model_provider="P",
    input="hi",
    message=USER,
    history_run_ids=("h1", "h2"),
)
ANSWER = ModelRequestCompleted(
    created_at=1_700_000_001,
    run_id="r1",
    session_id="s1",
    seq=1,
    part="done",
    message=Message(id="m1", role="assistant", tool_calls=(ToolCall(id="c1", name="f", arguments='{"x": 1}'),)),
    input_tokens=3,
)


@pytest.mark.parametrize("event", [STARTED, ANSWER])
def test_event_record_is_keyed_by_session_and_round_trips(event: RunStarted | ModelRequestCompleted) -> None:
    out = event_record("events", event)

    assert (out.topic, out.key) == ("events", b"s1")
    assert out.headers == (("event", event.event.encode()), ("schema_version", SCHEMA_VERSION))
    decoded = read_event(as_record(out))
    assert decoded == event
    assert orjson.dumps(decoded.to_dict()) == out.value  # the wire form survives a decode/encode cycle


def test_a_decision_with_tuple_fields_decodes_to_an_equal_hashable_event() -> None:
    decoded = read_event(as_record(event_record("events", STARTED)))

    assert decoded == STARTED
    assert isinstance(decoded, RunStarted)
    assert decoded.history_run_ids == ("h1", "h2")
    assert hash(decoded) == hash(STARTED)


def test_event_value_is_the_events_dict() -> None:
    out = event_record("events", ANSWER)
    value = orjson.loads(out.value)

    assert value == ANSWER.to_dict()
    assert (value["event"], value["event_id"], value["part"]) == ("ModelRequestCompleted", "r1:1:done", "done")


def test_command_records_round_trip() -> None:
    start = StartRun(run_id="r1", session_id="s1", created_at=5, agent_id="a1", message="hi", user_id="u")
    cancel = CancelRun(run_id="r1", session_id="s1", created_at=6)

    for command in (start, cancel):
        out = command_record("commands", command)
        assert (out.topic, out.key) == ("commands", b"s1")
        assert out.headers == (("command", command.command.encode()), ("schema_version", b"1"))
        assert read_command(as_record(out)) == command


def test_work_records_are_keyed_by_run_and_round_trip() -> None:
    model = ModelWork(run_id="r1", session_id="s1", agent_id="a1", seq=1, created_at=5, step=0, messages=(USER,))
    tool = ToolWork(run_id="r1", session_id="s1", agent_id="a1", seq=2, created_at=5, tool_call_id="c1", tool_name="f")

    for work, kind in ((model, b"model"), (tool, b"tool")):
        out = work_record("work", work)
        assert (out.topic, out.key) == ("work", b"r1")
        assert out.headers == (("work", kind), ("schema_version", b"1"))
        assert read_work(as_record(out)) == work


def test_decode_value_returns_the_json_object() -> None:
    assert decode_value(raw(b'{"a": [1, 2]}')) == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"not json", "t/1@7 is not JSON"),
        (b"", "t/1@7 is not JSON"),
        (b"[1, 2]", "t/1@7 is not a JSON object"),
        (b'"text"', "t/1@7 is not a JSON object"),
        (b"null", "t/1@7 is not a JSON object"),
    ],
)
def test_decode_value_rejects_non_json_and_non_objects(value: bytes, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        decode_value(raw(value))


def test_readers_reject_unknown_types() -> None:
    with pytest.raises(SchemaError, match="unknown event type"):
        read_event(raw(b'{"event": "Nope"}'))
    with pytest.raises(SchemaError, match="unknown command"):
        read_command(raw(b'{"command": "Nope"}'))
    with pytest.raises(SchemaError, match="unknown work kind"):
        read_work(raw(b'{"kind": "nope"}'))
    with pytest.raises(SchemaError, match="not JSON"):
        read_event(raw(b"{"))
