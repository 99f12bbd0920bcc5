"""Human in the loop and cancel, given-when-then on decide / evolve: pause, continue, reject, input, cancel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest

from engine import (
    MISSING_UPDATES,
    REJECTED_NOTE,
    REJECTED_RESULT,
    Agent,
    CancelRun,
    ContinueRun,
    Decision,
    DecisionContext,
    Message,
    ModelRequestCompleted,
    ModelWork,
    RunCancelled,
    RunCompleted,
    RunContinued,
    RunEvent,
    RunPaused,
    SessionState,
    StartRun,
    Tool,
    ToolCall,
    ToolCallCompleted,
    ToolCallPaused,
    ToolCallRequested,
    ToolExecution,
    ToolWork,
    UserInputField,
    continue_problem,
    decide,
    evolve,
    message_id,
    paused_content,
)

NOW = 1_700_000_000
SESSION = "s1"


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


def get_weather(city: str) -> str:
    """Get the weather.

    Args:
        city: The city.
    """
    return f"sunny in {city}"


def delete_file(path: str) -> str:
    """Delete a file.

    Args:
        path (str): The path to delete.
    """
    return f"deleted {path}"


def send_email(subject: str, to_address: str, retries: int = 1) -> str:
    """Send an email.

    Args:
        subject: The subject.
        to_address: Where to send it.
    """
    return f"sent {subject} to {to_address}"


def run_shell(command: str) -> str:
    """Run a shell command on the user's machine."""
    raise AssertionError("external tools are never executed here")


def hitl_agent(**kwargs: Any) -> Agent:
    return Agent(
        id="a",
        model=FakeModel(),
        tools=[
            get_weather,
            Tool.from_callable(delete_file, requires_confirmation=True),
            Tool.from_callable(send_email, requires_user_input=True, user_input_fields=["to_address"]),
            Tool.from_callable(run_shell, external_execution=True),
        ],
        **kwargs,
    )


def call(call_id: str, name: str, **arguments: Any) -> ToolCall:
    import json

    return ToolCall(id=call_id, name=name, arguments=json.dumps(arguments))


class Session:
    """The orchestrator's loop in miniature: decide, then fold the input and the decided events."""

    def __init__(self, agent: Agent | None = None) -> None:
        self.agent = agent or hitl_agent()
        self.state = SessionState(session_id=SESSION)

    def send(self, item: StartRun | CancelRun | ContinueRun | RunEvent) -> Decision:
        decision = decide(self.state, item, DecisionContext(now=NOW, agents={self.agent.id: self.agent}))
        if isinstance(item, RunEvent):
            self.state = evolve(self.state, item)
        for event in decision.events:
            self.state = evolve(self.state, event)
        return decision

    def start(self, run_id: str = "r1") -> ModelWork:
        decision = self.send(StartRun(run_id=run_id, session_id=SESSION, created_at=NOW, agent_id="a", message="hi"))
        (work,) = decision.work
        assert isinstance(work, ModelWork)
        return work

    def answer(self, work: ModelWork, content: str | None = None, calls: Sequence[ToolCall] = ()) -> Decision:
        message = Message(
            id=message_id(work.run_id, work.seq, "assistant"),
            role="assistant",
            content=content,
            tool_calls=tuple(calls),
            created_at=NOW,
        )
        return self.send(
            ModelRequestCompleted(
                created_at=NOW,
                run_id=work.run_id,
                session_id=SESSION,
                agent_id="a",
                seq=work.seq,
                part="done",
                input_tokens=5,
                output_tokens=2,
                total_tokens=7,
                message=message,
            )
        )

    def tool_done(self, work: ToolWork, result: str) -> Decision:
        tool = work.execution or ToolExecution(tool_call_id=work.tool_call_id, tool_name=work.tool_name)
        return self.send(
            ToolCallCompleted(
                created_at=NOW,
                run_id=work.run_id,
                session_id=SESSION,
                seq=work.seq,
                part="done",
                tool=replace(tool, tool_call_error=False, result=result),
            )
        )

    def resume(self, *tools: ToolExecution, run_id: str = "r1") -> Decision:
        return self.send(ContinueRun(run_id=run_id, session_id=SESSION, created_at=NOW, tools=tools, user_id="u1"))

    def pause_on(self, *calls: ToolCall) -> tuple[ModelWork, Decision]:
        work = self.start()
        return work, self.answer(work, calls=calls)


def kinds(decision: Decision) -> list[str]:
    return [e.event for e in decision.events]


def only(decision: Decision, cls: type) -> Any:
    (event,) = [e for e in decision.events if isinstance(e, cls)]
    return event


def model_work(decision: Decision) -> ModelWork:
    (work,) = decision.work
    assert isinstance(work, ModelWork)
    return work


def tool_works(decision: Decision) -> list[ToolWork]:
    works = [w for w in decision.work if isinstance(w, ToolWork)]
    assert len(works) == len(decision.work)
    return works


def confirm(call_id: str = "call_1", *, confirmed: bool | None = True, note: str | None = None) -> ToolExecution:
    return ToolExecution(
        tool_call_id=call_id, tool_name="delete_file", requires_confirmation=True, confirmed=confirmed,
        confirmation_note=note,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------- confirmation


def test_a_call_needing_confirmation_pauses_the_run_with_agnos_tools_and_requirements() -> None:
    # given
    session = Session()

    # when the model calls a requires_confirmation tool
    _work, decision = session.pause_on(call("call_1", "delete_file", path="/tmp/x.txt"))

    # then the call is held, not executed, and the run pauses (agno's event order)
    assert kinds(decision) == ["ToolCallPaused", "RunContentCompleted", "RunPaused"]
    assert decision.work == []
    paused = only(decision, RunPaused)
    assert paused.content == "I have tools to execute, but I need confirmation."
    (tool,) = paused.tools
    assert (tool.tool_call_id, tool.tool_name, tool.tool_args) == ("call_1", "delete_file", {"path": "/tmp/x.txt"})
    assert (tool.requires_confirmation, tool.confirmed, tool.result) == (True, None, None)
    (requirement,) = paused.requirements
    assert requirement.tool_execution == tool
    assert requirement.id == message_id("r1", paused.seq, "requirement", "call_1")
    assert requirement.created_at == "2023-11-14T22:13:20+00:00"
    assert set(paused.to_agno()) == {
        "created_at", "event", "agent_id", "agent_name", "run_id", "session_id", "nested_depth", "content", "tools",
        "requirements",
    }  # fmt: skip
    assert set(paused.to_agno()["requirements"][0]) == {"id", "created_at", "tool_execution"}
    run = session.state.runs["r1"]
    assert run.status == "PAUSED"
    assert run.held == (tool,)
    assert "r1" not in session.state.finished


def test_a_confirmed_call_executes_with_its_flags_and_the_run_completes_on_the_same_run_id() -> None:
    # given a paused run
    session = Session()
    session.pause_on(call("call_1", "delete_file", path="/tmp/x.txt"))

    # when the human confirms
    decision = session.resume(confirm())

    # then RunContinued, and the call goes to the tool worker with agno's flags
    assert kinds(decision) == ["RunContinued", "ToolCallRequested"]
    continued = only(decision, RunContinued)
    assert set(continued.to_agno()) == {
        "created_at", "event", "agent_id", "agent_name", "run_id", "session_id", "nested_depth"
    }  # fmt: skip
    assert continued.updates == (confirm(),)
    assert continued.user_id == "u1"
    assert continued.messages == ()
    (work,) = tool_works(decision)
    assert (work.tool_call_id, work.tool_name, work.arguments) == ("call_1", "delete_file", '{"path": "/tmp/x.txt"}')
    assert work.execution is not None
    assert (work.execution.requires_confirmation, work.execution.confirmed) == (True, True)
    assert session.state.runs["r1"].status == "RUNNING"

    # and when the tool answers, the model is asked again with the tool result, then the run completes
    next_model = model_work(session.tool_done(work, "deleted /tmp/x.txt"))
    assert [m.role for m in next_model.messages] == ["user", "assistant", "tool"]
    assert next_model.messages[-1].content == "deleted /tmp/x.txt"
    done = session.answer(next_model, "Deleted.")
    assert kinds(done) == ["RunContentCompleted", "RunCompleted"]
    assert only(done, RunCompleted).run_id == "r1"
    assert session.state.history[-1].run_id == "r1"
    assert only(done, RunCompleted).metrics["input_tokens"] == 10


@pytest.mark.parametrize(
    ("answer", "content", "note"),
    [
        (confirm(confirmed=False, note="not that file"), "not that file", "not that file"),
        (confirm(confirmed=False), REJECTED_RESULT, REJECTED_NOTE),
        (confirm(confirmed=None), REJECTED_RESULT, REJECTED_NOTE),
        (confirm("other-call"), REJECTED_RESULT, REJECTED_NOTE),  # a held call the client left out is rejected
    ],
)
def test_a_rejected_call_is_not_executed_and_the_model_gets_agnos_rejection(
    answer: ToolExecution, content: str, note: str
) -> None:
    # given
    session = Session()
    session.pause_on(call("call_1", "delete_file", path="/tmp/x.txt"))

    # when
    decision = session.resume(answer)

    # then no tool work: the rejection is the tool result and the model is asked again
    assert kinds(decision) == ["RunContinued", "ModelRequested"]
    continued = only(decision, RunContinued)
    (tool,) = continued.tools
    assert (tool.confirmed, tool.confirmation_note, tool.tool_call_error, tool.requires_confirmation) == (
        False, note, True, False,
    )  # fmt: skip
    (message,) = continued.messages
    assert (message.role, message.content, message.tool_call_error, message.tool_call_id) == (
        "tool", content, True, "call_1",
    )  # fmt: skip
    work = model_work(decision)
    assert work.messages[-1] == message
    assert session.state.runs["r1"].tools == (tool,)


# --------------------------------------------------------------------------------------------- user input


def test_user_input_fields_are_hidden_from_the_model_and_prefilled_with_its_arguments() -> None:
    agent = hitl_agent()
    send = agent.get_tool("send_email")
    assert send is not None
    assert set(send.parameters["properties"]) == {"subject", "retries"}
    assert [(f.name, f.field_type, f.description) for f in send.user_input_schema] == [
        ("subject", "str", "The subject."),
        ("to_address", "str", "Where to send it."),
        ("retries", "int", None),
    ]

    session = Session(agent)
    _work, decision = session.pause_on(call("call_1", "send_email", subject="Hello"))

    paused = only(decision, RunPaused)
    assert paused.content == "I have tools to execute, but I need user input."
    (tool,) = paused.tools
    assert tool.requires_user_input is True
    assert [(f.name, f.value) for f in tool.user_input_schema or ()] == [
        ("subject", "Hello"),
        ("to_address", None),
        ("retries", None),
    ]
    assert paused.to_agno()["requirements"][0]["user_input_schema"][1] == {
        "name": "to_address", "field_type": "str", "description": "Where to send it.", "value": None,
    }  # fmt: skip


def test_user_input_fills_the_arguments_and_the_call_executes() -> None:
    # given
    session = Session()
    session.pause_on(call("call_1", "send_email", subject="Hello"))

    # when the user fills in the address (and adds a field the schema did not list)
    answer = ToolExecution(
        tool_call_id="call_1",
        tool_name="send_email",
        user_input_schema=(
            UserInputField(name="to_address", value="bob@example.com"),
            UserInputField(name="cc", value="eve@example.com"),
        ),
    )
    decision = session.resume(answer)

    # then the call runs with the model's and the user's arguments
    assert kinds(decision) == ["RunContinued", "ToolCallRequested"]
    (work,) = tool_works(decision)
    assert work.execution is not None
    assert work.execution.tool_args == {
        "subject": "Hello", "to_address": "bob@example.com", "retries": None, "cc": "eve@example.com",
    }  # fmt: skip
    assert only(decision, ToolCallRequested).arguments == work.arguments
    assert '"to_address": "bob@example.com"' in work.arguments


def test_a_user_input_call_left_out_runs_with_the_models_values() -> None:
    session = Session()
    session.pause_on(call("call_1", "send_email", subject="Hello", to_address="model@example.com"))

    decision = session.resume(confirm("unrelated"))

    (work,) = tool_works(decision)
    assert work.execution is not None
    assert work.execution.tool_args["to_address"] == "model@example.com"


# --------------------------------------------------------------------------------------------- external execution


def test_external_execution_uses_the_callers_result_as_the_tool_result() -> None:
    # given
    session = Session()
    _work, paused = session.pause_on(call("call_1", "run_shell", command="ls"))
    assert only(paused, RunPaused).content == "I have tools to execute, but it needs external execution."

    # when
    answer = ToolExecution(tool_call_id="call_1", tool_name="run_shell", result="a.txt b.txt")
    decision = session.resume(answer)

    # then
    assert kinds(decision) == ["RunContinued", "ModelRequested"]
    (message,) = only(decision, RunContinued).messages
    assert (message.content, message.tool_call_error) == ("a.txt b.txt", False)
    (tool,) = only(decision, RunContinued).tools
    assert (tool.result, tool.external_execution_required) == ("a.txt b.txt", False)
    assert model_work(decision).messages[-1] == message


def test_external_execution_without_a_result_cannot_continue() -> None:
    session = Session()
    session.pause_on(call("call_1", "run_shell", command="ls"))
    run = session.state.runs["r1"]
    no_result = ToolExecution(tool_call_id="call_1", tool_name="run_shell")

    assert continue_problem(run, (no_result,)) == "Tool run_shell requires external execution, cannot continue run"
    assert session.resume(no_result) == Decision()
    assert session.state.runs["r1"].status == "PAUSED"


# --------------------------------------------------------------------------------------------- mixed batches


def test_ordinary_calls_of_the_turn_run_first_and_the_run_pauses_when_they_answered() -> None:
    # given a turn with an ordinary call, a confirmation and an external call
    session = Session()
    _work, decision = session.pause_on(
        call("call_1", "get_weather", city="Paris"),
        call("call_2", "delete_file", path="/x"),
        call("call_3", "run_shell", command="ls"),
    )

    # then only the ordinary call executes; no pause yet
    assert kinds(decision) == ["ToolCallRequested", "ToolCallPaused", "ToolCallPaused"]
    (weather,) = tool_works(decision)
    assert session.state.runs["r1"].status == "RUNNING"

    # when it answers, the run pauses with every tool of the run so far
    decision = session.tool_done(weather, "sunny")
    assert kinds(decision) == ["RunContentCompleted", "RunPaused"]
    paused = only(decision, RunPaused)
    assert [t.tool_call_id for t in paused.tools] == ["call_1", "call_2", "call_3"]
    assert [r.tool_execution.tool_call_id for r in paused.requirements] == ["call_2", "call_3"]
    assert paused.content == "I have tools to execute, but it needs external execution."

    # when both held calls are resolved, the tool messages reach the model in its call order
    decision = session.resume(
        confirm("call_2", confirmed=False), ToolExecution(tool_call_id="call_3", tool_name="run_shell", result="ok")
    )
    assert kinds(decision) == ["RunContinued", "ModelRequested"]
    messages = model_work(decision).messages
    assert [(m.role, m.tool_call_id) for m in messages[-3:]] == [
        ("tool", "call_1"),
        ("tool", "call_2"),
        ("tool", "call_3"),
    ]


def test_a_run_can_pause_again_after_a_continue() -> None:
    session = Session()
    session.pause_on(call("call_1", "delete_file", path="/a"))
    first_pause = session.state.runs["r1"].seq
    (work,) = tool_works(session.resume(confirm()))
    model = model_work(session.tool_done(work, "deleted /a"))

    decision = session.answer(model, calls=[call("call_2", "delete_file", path="/b")])

    paused = only(decision, RunPaused)
    assert [r.tool_execution.tool_call_id for r in paused.requirements] == ["call_2"]
    assert paused.requirements[0].id != message_id("r1", first_pause, "requirement", "call_1")
    assert [t.tool_call_id for t in paused.tools] == ["call_1", "call_2"]
    assert paused.tools[0].result == "deleted /a"
    assert kinds(session.resume(confirm("call_2"))) == ["RunContinued", "ToolCallRequested"]


def test_held_calls_count_against_the_tool_call_limit_of_their_turn() -> None:
    session = Session(hitl_agent(tool_call_limit=1))

    _work, decision = session.pause_on(
        call("call_1", "delete_file", path="/a"), call("call_2", "get_weather", city="P")
    )

    assert kinds(decision) == ["ToolCallPaused", "ToolCallError", "RunContentCompleted", "RunPaused"]


# --------------------------------------------------------------------------------------------- refused continues


def test_continue_of_a_run_that_is_not_paused_is_ignored() -> None:
    session = Session()
    work = session.start()
    running = session.state.runs["r1"]

    # running
    assert continue_problem(running, (confirm(),)) == "Cannot continue run r1: run is not paused (status RUNNING)"
    assert session.resume(confirm()) == Decision()
    # unknown
    assert session.resume(confirm(), run_id="nope") == Decision()
    # completed
    session.answer(work, "done")
    assert session.resume(confirm()) == Decision()
    assert session.state.runs == {}


def test_continue_without_tools_is_refused_with_agnos_message_and_a_second_continue_is_ignored() -> None:
    session = Session()
    session.pause_on(call("call_1", "delete_file", path="/a"))

    assert continue_problem(session.state.runs["r1"], ()) == MISSING_UPDATES
    assert session.resume() == Decision()

    assert kinds(session.resume(confirm())) == ["RunContinued", "ToolCallRequested"]
    assert session.resume(confirm()) == Decision()  # a duplicate ContinueRun once the run resumed


# --------------------------------------------------------------------------------------------- cancel


def cancel(run_id: str = "r1") -> CancelRun:
    return CancelRun(run_id=run_id, session_id=SESSION, created_at=NOW, reason="stop")


def test_cancel_while_paused_ends_the_run_and_a_later_continue_is_ignored() -> None:
    session = Session()
    session.pause_on(call("call_1", "delete_file", path="/a"))

    decision = session.send(cancel())

    assert kinds(decision) == ["RunCancelled"]
    assert session.state.runs == {}
    assert "r1" in session.state.finished
    assert session.resume(confirm()) == Decision()


@pytest.mark.parametrize("boundary", ["model", "tools", "continued tool", "after model answer"])
def test_cancel_at_each_step_boundary_decides_run_cancelled_and_ignores_the_late_answer(boundary: str) -> None:
    # given a run waiting at a step boundary
    session = Session()
    work = session.start()
    late: RunEvent
    if boundary == "model":
        late = _model_answer(work)
    elif boundary == "tools":
        (tool,) = tool_works(session.answer(work, calls=[call("call_1", "get_weather", city="P")]))
        late = _tool_answer(tool)
    elif boundary == "continued tool":
        session.answer(work, calls=[call("call_1", "delete_file", path="/a")])
        (tool,) = tool_works(session.resume(confirm()))
        late = _tool_answer(tool)
    else:
        (tool,) = tool_works(session.answer(work, calls=[call("call_1", "get_weather", city="P")]))
        next_model = model_work(session.tool_done(tool, "sunny"))
        late = _model_answer(next_model)

    # when
    decision = session.send(cancel())

    # then
    (cancelled,) = decision.events
    assert isinstance(cancelled, RunCancelled)
    assert cancelled.reason == "stop"
    assert decision.work == []
    finished = session.state
    assert session.send(late) == Decision()
    assert session.state.runs == finished.runs == {}
    assert session.send(cancel()) == Decision()  # cancelling a finished run is a no-op


def _model_answer(work: ModelWork) -> ModelRequestCompleted:
    message = Message(id=message_id(work.run_id, work.seq, "assistant"), role="assistant", content="late")
    return ModelRequestCompleted(
        created_at=NOW, run_id=work.run_id, session_id=SESSION, seq=work.seq, part="done", message=message
    )


def _tool_answer(work: ToolWork) -> ToolCallCompleted:
    tool = ToolExecution(tool_call_id=work.tool_call_id, tool_name=work.tool_name, result="late")
    return ToolCallCompleted(
        created_at=NOW, run_id=work.run_id, session_id=SESSION, seq=work.seq, part="done", tool=tool
    )


# --------------------------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"requires_confirmation": True}, "I have tools to execute, but I need confirmation."),
        ({"requires_user_input": True}, "I have tools to execute, but I need user input."),
        ({"external_execution_required": True}, "I have tools to execute, but it needs external execution."),
        (
            {"requires_confirmation": True, "requires_user_input": True},
            "I have tools to execute, but I need confirmation or user input.",
        ),
        (
            {"requires_confirmation": True, "external_execution_required": True},
            "I have tools to execute, but I need confirmation or external execution.",
        ),
        (
            {"requires_user_input": True, "external_execution_required": True},
            "I have tools to execute, but I need user input or external execution.",
        ),
        (
            {"requires_confirmation": True, "requires_user_input": True, "external_execution_required": True},
            "I have tools to execute, but I need confirmation, user input, or external execution.",
        ),
        ({"requires_confirmation": True, "confirmed": True}, ""),
        ({"external_execution_required": True, "external_execution_silent": True}, ""),
        ({}, ""),
    ],
)
def test_paused_content_is_agnos_text(flags: dict[str, Any], expected: str) -> None:
    assert paused_content([ToolExecution(tool_call_id="c", tool_name="t", **flags)]) == expected


def test_held_calls_with_unparsable_arguments_are_held_with_no_arguments() -> None:
    session = Session()
    work = session.start()
    bad = ToolCall(id="call_1", name="delete_file", arguments="not json")
    listed = ToolCall(id="call_2", name="delete_file", arguments="[1]")

    decision = session.answer(work, calls=[bad, listed])

    assert [e.tool.tool_args for e in decision.events if isinstance(e, ToolCallPaused) and e.tool] == [{}, {}]


def test_a_tool_call_paused_without_a_tool_changes_nothing() -> None:
    session = Session()
    session.start()
    before = session.state.runs["r1"]

    event = ToolCallPaused(created_at=NOW, run_id="r1", session_id=SESSION, seq=before.seq + 1)
    session.state = evolve(session.state, event)

    assert session.state.runs["r1"].held == ()


def test_tool_flags_from_a_schema_and_from_the_decorator() -> None:
    from engine import tool

    schema = {
        "name": "pay",
        "parameters": {
            "type": "object",
            "properties": {"amount": {"type": "number", "description": "How much"}, "to": {"type": "string"}, "x": 1},
            "required": ["amount", "to"],
        },
    }
    pay = Tool.from_schema(schema, requires_user_input=True, user_input_fields=["to"], requires_confirmation=True)
    assert [(f.name, f.field_type, f.description) for f in pay.user_input_schema] == [
        ("amount", "float", "How much"),
        ("to", "str", None),
        ("x", "str", None),
    ]
    assert pay.parameters["required"] == ["amount"]
    assert pay.pauses

    @tool(external_execution=True)
    def shell(command) -> str:  # type: ignore[no-untyped-def]
        return str(command)

    assert (shell.external_execution, shell.pauses, shell.user_input_schema) == (True, True, ())
    untyped = Tool.from_callable(lambda value: value, requires_user_input=True)
    assert [(f.name, f.field_type) for f in untyped.user_input_schema] == [("value", "str")]
    assert not Tool.from_callable(get_weather).pauses
    assert Tool.from_schema({"name": "plain"}, requires_user_input=True).user_input_schema == ()
