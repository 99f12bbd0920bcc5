"""The sessions view of paused, continued and cancelled runs: status PAUSED then COMPLETED, tools, requirements."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from engine import (
    Agent,
    CancelRun,
    Command,
    ContinueRun,
    Decision,
    DecisionContext,
    Message,
    ModelRequestCompleted,
    ModelWork,
    RunEvent,
    SessionState,
    StartRun,
    Tool,
    ToolCall,
    ToolCallCompleted,
    ToolExecution,
    ToolWork,
    decide,
    decode_event,
    evolve,
    message_id,
)
from projections import SessionsView, fold_event

NOW = 1_700_000_000


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


AGENT = Agent(
    id="a",
    model=FakeModel(),
    tools=[
        Tool.from_schema({"name": "delete"}, requires_confirmation=True),
        Tool.from_schema({"name": "shell"}, external_execution=True),
        Tool.from_schema({"name": "weather"}),
    ],
)


class Recorder:
    """The orchestrator and workers in miniature, recording the log."""

    def __init__(self) -> None:
        self.state = SessionState(session_id="s1")
        self.log: list[dict[str, Any]] = []

    def decide(self, item: Command | RunEvent) -> Decision:
        decision = decide(self.state, item, DecisionContext(now=NOW, agents={"a": AGENT}))
        if isinstance(item, RunEvent):
            self.log.append(item.to_dict())
            self.state = evolve(self.state, item)
        for event in decision.events:
            self.state = evolve(self.state, event)
            self.log.append(event.to_dict())
        return decision

    def model(self, work: ModelWork, content: str | None = None, calls: tuple[ToolCall, ...] = ()) -> Decision:
        message = Message(
            id=message_id(work.run_id, work.seq, "assistant"), role="assistant", content=content, tool_calls=calls
        )
        return self.decide(
            ModelRequestCompleted(
                created_at=NOW,
                run_id="r1",
                session_id="s1",
                seq=work.seq,
                part="done",
                input_tokens=5,
                total_tokens=5,
                message=message,
            )
        )

    def tool(self, work: ToolWork, result: str) -> Decision:
        tool = work.execution or ToolExecution(tool_call_id=work.tool_call_id, tool_name=work.tool_name)
        return self.decide(
            ToolCallCompleted(
                created_at=NOW,
                run_id="r1",
                session_id="s1",
                seq=work.seq,
                part="done",
                tool=replace(tool, result=result),
            )
        )


def fold(records: list[dict[str, Any]]) -> SessionsView:
    view = SessionsView()
    for record in records:
        fold_event(view, decode_event(record))
    return view


def pause(rec: Recorder) -> None:
    (work,) = rec.decide(StartRun(run_id="r1", session_id="s1", created_at=NOW, agent_id="a", message="go")).work
    assert isinstance(work, ModelWork)
    calls = (
        ToolCall(id="c1", name="weather", arguments="{}"),
        ToolCall(id="c2", name="delete", arguments='{"path": "/x"}'),
        ToolCall(id="c3", name="shell", arguments='{"command": "ls"}'),
        ToolCall(id="c4", name="delete", arguments='{"path": "/y"}'),
    )
    (weather,) = [w for w in rec.model(work, calls=calls).work if isinstance(w, ToolWork)]
    rec.tool(weather, "sunny")


def test_a_paused_run_row_is_paused_with_the_held_tools_and_their_requirements() -> None:
    rec = Recorder()
    pause(rec)

    view = fold(rec.log)

    row = view.runs["r1"]
    data = row["run_data"]
    assert row["status"] == data["status"] == "PAUSED"
    assert data["content"] == "I have tools to execute, but I need confirmation."  # agno: the last held call's need
    assert [t["tool_call_id"] for t in data["tools"]] == ["c1", "c2", "c3", "c4"]
    assert [t["requires_confirmation"] for t in data["tools"]] == [None, True, None, True]
    assert [r["tool_execution"]["tool_call_id"] for r in data["requirements"]] == ["c2", "c3", "c4"]
    assert [m["role"] for m in data["messages"]] == ["user", "assistant", "tool"]


def test_a_continued_run_resolves_its_tools_in_place_and_completes() -> None:
    # given a paused run
    rec = Recorder()
    pause(rec)

    # when one call is confirmed, one rejected, the external one answered, and the run completes
    answers = (
        ToolExecution(tool_call_id="c2", tool_name="delete", confirmed=True),
        ToolExecution(tool_call_id="c3", tool_name="shell", result="a.txt"),
        ToolExecution(tool_call_id="c4", tool_name="delete", confirmed=False, confirmation_note="keep /y"),
    )
    decision = rec.decide(ContinueRun(run_id="r1", session_id="s1", created_at=NOW, tools=answers))
    middle = fold(rec.log)
    (delete,) = [w for w in decision.work if isinstance(w, ToolWork)]
    (work,) = rec.tool(delete, "deleted /x").work
    assert isinstance(work, ModelWork)
    rec.model(work, "Done.")

    # then
    assert middle.runs["r1"]["status"] == "RUNNING"
    data = fold(rec.log).runs["r1"]["run_data"]
    assert data["status"] == "COMPLETED"
    assert data["content"] == "Done."
    tools = {t["tool_call_id"]: t for t in data["tools"]}
    assert list(tools) == ["c1", "c2", "c3", "c4"]
    assert (tools["c2"]["confirmed"], tools["c2"]["result"]) == (True, "deleted /x")
    assert (tools["c3"]["result"], tools["c3"]["external_execution_required"]) == ("a.txt", False)
    assert (tools["c4"]["confirmed"], tools["c4"]["confirmation_note"], tools["c4"]["tool_call_error"]) == (
        False, "keep /y", True,
    )  # fmt: skip
    messages = data["messages"]
    assert [(m["role"], m.get("tool_call_id")) for m in messages] == [
        ("user", None), ("assistant", None), ("tool", "c1"), ("tool", "c2"), ("tool", "c3"), ("tool", "c4"),
        ("assistant", None),
    ]  # fmt: skip
    assert [m["content"] for m in messages[2:6]] == ["sunny", "deleted /x", "a.txt", "keep /y"]
    # the view holds the engine's messages of the completed run
    (completed,) = rec.state.history
    assert [m["id"] for m in messages] == [m.id for m in completed.messages]


def test_duplicated_pause_and_continue_records_and_a_cancel_while_paused() -> None:
    rec = Recorder()
    pause(rec)
    paused = [r for r in rec.log if r["event"] == "RunPaused"]
    rec.decide(CancelRun(run_id="r1", session_id="s1", created_at=NOW, reason="stop"))

    continued = {"event": "RunContinued", "created_at": NOW, "run_id": "r1", "session_id": "s1", "seq": 99}
    early = fold([rec.log[0], continued])
    view = fold([*rec.log[:-1], *paused, rec.log[-1], continued])

    assert early.runs["r1"]["run_data"]["status"] == "RUNNING"  # a RunContinued of a running run changes nothing
    data = view.runs["r1"]["run_data"]
    assert data["status"] == "CANCELLED"
    assert data["content"] == "stop"
    assert len(data["requirements"]) == 3  # the duplicated RunPaused was applied once
