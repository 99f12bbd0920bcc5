"""The sessions view: run events folded into agno's agno_sessions / agno_runs rows."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from engine import (
    Agent,
    CancelRun,
    Command,
    Decision,
    DecisionContext,
    Message,
    ModelRequestCompleted,
    ModelRequestFailed,
    ModelRequestStarted,
    ModelWork,
    RunCompleted,
    RunContent,
    RunEvent,
    RunStarted,
    SessionState,
    StartRun,
    ToolCall,
    ToolCallCompleted,
    ToolCallError,
    ToolCallStarted,
    ToolExecution,
    ToolWork,
    decide,
    decode_event,
    evolve,
    message_id,
)
from projections import SessionsView, fold_event, rebuild_view, run_messages
from projections.sessions import snapshot

NOW = 1_700_000_000


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


AGENT = Agent(id="a", name="Weather Agent", model=FakeModel(), instructions="Be brief.", tool_call_limit=2)
AGENTS = {"a": AGENT}


class Recorder:
    """Plays the orchestrator and workers with the engine's decide/evolve; records the run-events log."""

    def __init__(self) -> None:
        self.states: dict[str, SessionState] = {}
        self.log: list[dict[str, Any]] = []
        self.clock = NOW

    def decide(self, item: Command | RunEvent) -> Decision:
        self.clock += 1
        state = self.states.setdefault(item.session_id, SessionState(session_id=item.session_id))
        decision = decide(state, item, DecisionContext(now=self.clock, agents=AGENTS))
        if isinstance(item, RunEvent):
            state = evolve(state, item)
        for event in decision.events:
            state = evolve(state, event)
            self.log.append(event.to_dict())
        self.states[item.session_id] = state
        return decision

    def start(self, run_id: str, session_id: str = "s1", message: str = "What is the weather?") -> ModelWork:
        decision = self.decide(
            StartRun(
                run_id=run_id, session_id=session_id, created_at=self.clock, agent_id="a", message=message, user_id="u1"
            )
        )
        (work,) = decision.work
        assert isinstance(work, ModelWork)
        return work

    def answer(self, *events: RunEvent) -> Decision:
        for event in events:
            self.log.append(event.to_dict())
        out = Decision()
        for event in events:
            decision = self.decide(event)
            out.events.extend(decision.events)
            out.work.extend(decision.work)
        return out

    def model(
        self, work: ModelWork, content: str | None = None, calls: tuple[ToolCall, ...] = (), tokens: int = 10
    ) -> Decision:
        common: dict[str, Any] = {
            "created_at": self.clock,
            "run_id": work.run_id,
            "session_id": work.session_id,
            "seq": work.seq,
        }
        message = Message(
            id=message_id(work.run_id, work.seq, "assistant"),
            role="assistant",
            content=content,
            tool_calls=calls,
            metrics={"input_tokens": tokens},
            created_at=self.clock,
        )
        return self.answer(
            ModelRequestStarted(**common, part="start", model="fake-model", model_provider="Fake"),
            *([RunContent(**common, part="d1", content=content)] if content else []),
            ModelRequestCompleted(
                **common,
                part="done",
                input_tokens=tokens,
                output_tokens=2,
                total_tokens=tokens + 2,
                message=message,
            ),
        )

    def tool_events(self, work: ToolWork, result: str, *, error: bool = False) -> list[RunEvent]:
        common: dict[str, Any] = {
            "created_at": self.clock,
            "run_id": work.run_id,
            "session_id": work.session_id,
            "seq": work.seq,
        }
        tool = ToolExecution(tool_call_id=work.tool_call_id, tool_name=work.tool_name, tool_args={"city": "Paris"})
        done: RunEvent
        if error:
            done = ToolCallError(
                **common, part="done", tool=ToolExecution(**{**_fields(tool), "tool_call_error": True}), error=result
            )
        else:
            done = ToolCallCompleted(**common, part="done", tool=ToolExecution(**{**_fields(tool), "result": result}))
        return [ToolCallStarted(**common, part="start", tool=tool), done]


def _fields(tool: ToolExecution) -> dict[str, Any]:
    return {
        "tool_call_id": tool.tool_call_id,
        "tool_name": tool.tool_name,
        "tool_args": tool.tool_args,
        "created_at": tool.created_at,
    }


def model_work(decision: Decision) -> ModelWork:
    (work,) = decision.work
    assert isinstance(work, ModelWork)
    return work


def tool_works(decision: Decision) -> list[ToolWork]:
    return [w for w in decision.work if isinstance(w, ToolWork)]


def full_run(rec: Recorder, run_id: str = "r1", session_id: str = "s1") -> None:
    """Three tool calls (limit 2: one limit error), answered in reverse order with one tool error, then an answer."""
    first = rec.start(run_id, session_id)
    calls = (
        ToolCall(id=f"{run_id}-c1", name="get_weather", arguments='{"city": "Paris"}'),
        ToolCall(id=f"{run_id}-c2", name="get_time", arguments="{}"),
        ToolCall(id=f"{run_id}-c3", name="get_news", arguments="{}"),
    )
    w1, w2 = tool_works(rec.model(first, calls=calls, tokens=10))
    rec.answer(*rec.tool_events(w2, "ValueError: no clock", error=True))
    second = model_work(rec.answer(*rec.tool_events(w1, "Sunny")))
    rec.model(second, "It is sunny.", tokens=20)


def fold_all(records: list[dict[str, Any]], view: SessionsView | None = None) -> SessionsView:
    view = view or SessionsView()
    for record in records:
        fold_event(view, decode_event(record))
    return view


# --------------------------------------------------------------------------------------------- a full run


def test_a_full_run_folds_into_agnos_session_and_run_rows() -> None:
    # given
    rec = Recorder()
    full_run(rec)

    # when
    view = fold_all(rec.log)

    # then the session row
    started = decode_event(rec.log[0])
    assert isinstance(started, RunStarted)
    completed = decode_event(next(r for r in rec.log if r["event"] == "RunCompleted"))
    assert isinstance(completed, RunCompleted)
    session = view.sessions["s1"]
    assert session == {
        "session_id": "s1",
        "session_type": "agent",
        "agent_id": "a",
        "team_id": None,
        "workflow_id": None,
        "user_id": "u1",
        "session_data": {
            "session_state": {},
            "session_metrics": {"input_tokens": 30, "output_tokens": 4, "total_tokens": 34},
        },
        "agent_data": {"name": "Weather Agent", "agent_id": "a", "model": {"provider": "Fake", "id": "fake-model"}},
        "team_data": None,
        "workflow_data": None,
        "metadata": None,
        "summary": None,
        "created_at": started.created_at,
        "updated_at": completed.created_at,
        "run_count": 1,
    }

    # and the run row
    row = view.runs["r1"]
    assert {k: v for k, v in row.items() if k != "run_data"} == {
        "run_id": "r1",
        "session_id": "s1",
        "run_type": "agent",
        "agent_id": "a",
        "team_id": None,
        "workflow_id": None,
        "user_id": "u1",
        "parent_run_id": None,
        "status": "COMPLETED",
        "run_index": 0,
        "created_at": started.created_at,
        "updated_at": completed.created_at,
    }
    data = row["run_data"]
    assert set(data) == {
        "run_id",
        "agent_id",
        "agent_name",
        "session_id",
        "user_id",
        "content",
        "content_type",
        "model",
        "model_provider",
        "session_state",
        "created_at",
        "status",
        "metrics",
        "messages",
        "tools",
        "input",
    }
    assert (data["run_id"], data["agent_id"], data["agent_name"], data["session_id"]) == (
        "r1",
        "a",
        "Weather Agent",
        "s1",
    )
    assert (data["user_id"], data["content"], data["content_type"]) == ("u1", "It is sunny.", "str")
    assert (data["model"], data["model_provider"]) == ("fake-model", "Fake")
    assert (data["session_state"], data["created_at"], data["status"]) == ({}, started.created_at, "COMPLETED")
    assert data["metrics"] == completed.metrics
    assert data["metrics"]["input_tokens"] == 30
    assert data["input"] == {"input_content": "What is the weather?"}


def test_run_messages_are_in_agnos_order_with_tool_results_in_tool_calls_order() -> None:
    # given tool results that finished in reverse order, and a limit error decided before either
    rec = Recorder()
    full_run(rec)

    # when
    view = fold_all(rec.log)

    # then
    messages = run_messages(view.runs["r1"]["run_data"])
    assert [(m["role"], m.get("tool_call_id"), m.get("tool_call_error")) for m in messages] == [
        ("system", None, None),
        ("user", None, None),
        ("assistant", None, None),
        ("tool", "r1-c1", False),
        ("tool", "r1-c2", True),
        ("tool", "r1-c3", True),
        ("assistant", None, None),
    ]
    assert messages[0]["content"] == "Be brief."
    assert messages[3]["content"] == "Sunny"
    assert messages[4]["content"] == "ValueError: no clock"
    assert messages[5]["content"].startswith("Tool call limit reached. Tool call get_news not executed.")
    assert messages[-1]["content"] == "It is sunny."
    assert all(m["from_history"] is False for m in messages)
    # RunOutput.tools: in the order they finished (the limit error was decided first)
    assert [t["tool_call_id"] for t in view.runs["r1"]["run_data"]["tools"]] == ["r1-c3", "r1-c2", "r1-c1"]


def test_the_view_holds_the_same_messages_as_the_engines_completed_run() -> None:
    rec = Recorder()
    full_run(rec)

    view = fold_all(rec.log)

    (completed,) = rec.states["s1"].history
    stored = run_messages(view.runs["r1"]["run_data"])[1:]  # without the system message
    assert [m["id"] for m in stored] == [m.id for m in completed.messages]
    assert [m.get("content") for m in stored] == [m.content for m in completed.messages]
    assert [m["role"] for m in stored] == [m.role for m in completed.messages]


def test_duplicated_worker_answers_are_applied_once() -> None:
    # given a log where every worker record was redelivered
    rec = Recorder()
    full_run(rec)
    doubled: list[dict[str, Any]] = []
    for record in rec.log:
        doubled.append(record)
        if "part" in record:
            doubled.append(copy.deepcopy(record))

    # when / then
    assert view_rows(fold_all(doubled)) == view_rows(fold_all(rec.log))


def test_a_tool_call_id_reused_in_a_later_turn_keeps_both_results() -> None:
    # given a provider that numbers tool calls per turn ("call_0" in both turns of the run)
    rec = Recorder()
    first = rec.start("r1")
    (w1,) = tool_works(rec.model(first, calls=(ToolCall(id="call_0", name="get_weather", arguments="{}"),)))
    second = model_work(rec.answer(*rec.tool_events(w1, "Sunny")))
    (w2,) = tool_works(rec.model(second, calls=(ToolCall(id="call_0", name="get_weather", arguments="{}"),)))
    rec.model(model_work(rec.answer(*rec.tool_events(w2, "Rainy"))), "done")

    # when
    view = fold_all(rec.log)

    # then the view keeps both tool results, like the engine's run history
    data = view.runs["r1"]["run_data"]
    assert [(m["role"], m.get("content")) for m in run_messages(data)[1:]] == [
        ("user", "What is the weather?"),
        ("assistant", None),
        ("tool", "Sunny"),
        ("assistant", None),
        ("tool", "Rainy"),
        ("assistant", "done"),
    ]
    assert [t["result"] for t in data["tools"]] == ["Sunny", "Rainy"]
    (completed,) = rec.states["s1"].history
    assert [m["id"] for m in run_messages(data)[1:]] == [m.id for m in completed.messages]


def test_a_duplicated_run_completed_does_not_count_the_runs_tokens_twice() -> None:
    rec = Recorder()
    full_run(rec)
    completed = [r for r in rec.log if r["event"] == "RunCompleted"]

    view = fold_all(rec.log + completed)

    assert view.sessions["s1"]["session_data"]["session_metrics"] == {
        "input_tokens": 30,
        "output_tokens": 4,
        "total_tokens": 34,
    }
    assert view_rows(view) == view_rows(fold_all(rec.log))


def test_duplicated_run_started_is_ignored() -> None:
    rec = Recorder()
    full_run(rec)

    view = fold_all(rec.log)
    before = copy.deepcopy(view.runs)
    fold_event(view, decode_event(rec.log[0]))

    assert view.runs == before
    assert view.sessions["s1"]["run_count"] == 1


def test_run_index_increments_per_session_and_session_metrics_accumulate() -> None:
    # given two sessions; s1 has two runs
    rec = Recorder()
    full_run(rec, "r1", "s1")
    full_run(rec, "r2", "s2")
    full_run(rec, "r3", "s1")

    # when
    view = fold_all(rec.log)

    # then
    assert [view.runs[r]["run_index"] for r in ("r1", "r2", "r3")] == [0, 0, 1]
    assert view.sessions["s1"]["run_count"] == 2
    assert view.sessions["s1"]["session_data"]["session_metrics"] == {
        "input_tokens": 60,
        "output_tokens": 8,
        "total_tokens": 68,
    }
    assert view.sessions["s2"]["session_data"]["session_metrics"]["total_tokens"] == 34


def test_model_request_failed_gives_an_error_run_row() -> None:
    rec = Recorder()
    work = rec.start("r1")
    rec.answer(
        ModelRequestFailed(
            created_at=rec.clock,
            run_id="r1",
            session_id="s1",
            seq=work.seq,
            part="done",
            error="Incorrect API key",
            error_type="ModelAuthError",
        )
    )

    view = fold_all(rec.log)

    row = view.runs["r1"]
    assert row["status"] == row["run_data"]["status"] == "ERROR"
    assert row["run_data"]["content"] == "Incorrect API key"
    assert view.sessions["s1"]["session_data"]["session_metrics"] == {}


def test_cancel_gives_a_cancelled_run_row() -> None:
    rec = Recorder()
    rec.start("r1")
    rec.decide(CancelRun(run_id="r1", session_id="s1", created_at=rec.clock, reason="user pressed stop"))

    view = fold_all(rec.log)

    row = view.runs["r1"]
    assert row["status"] == row["run_data"]["status"] == "CANCELLED"
    assert row["run_data"]["content"] == "user pressed stop"


def test_events_of_a_run_never_started_are_ignored() -> None:
    # given an unknown-agent StartRun: its only event is a RunError at seq 0
    rec = Recorder()
    rec.decide(StartRun(run_id="r1", session_id="s1", created_at=NOW, agent_id="ghost", message="hi"))

    view = fold_all(rec.log)

    assert view.runs == {}
    assert view.sessions == {}
    assert view.dirty_runs == set()


def test_progress_events_change_nothing_but_mark_nothing_dirty() -> None:
    rec = Recorder()
    work = rec.start("r1")
    view = fold_all(rec.log)
    view.clear_dirty()
    before = copy.deepcopy(view.runs)
    common: dict[str, Any] = {"created_at": NOW + 50, "run_id": "r1", "session_id": "s1", "seq": work.seq}

    for event in (
        ModelRequestStarted(**common, part="start"),
        RunContent(**common, part="d1", content="x"),
        ToolCallStarted(**common, part="start", tool=ToolExecution(tool_call_id="c", tool_name="t")),
        ToolCallCompleted(**common, part="d1", tool=ToolExecution(tool_call_id="c", tool_name="t")),
        ModelRequestCompleted(**common, part="done"),  # no message
    ):
        fold_event(view, event)

    assert view.runs == before
    assert view.dirty_runs == set()
    assert view.dirty_sessions == set()


def test_dirty_sets_name_the_changed_rows_until_cleared() -> None:
    rec = Recorder()
    full_run(rec, "r1", "s1")
    view = fold_all(rec.log)
    assert (view.dirty_runs, view.dirty_sessions) == ({"r1"}, {"s1"})

    view.clear_dirty()

    assert (view.dirty_runs, view.dirty_sessions) == (set(), set())


def test_run_completed_keeps_model_provider_data_and_defaults_missing_metrics() -> None:
    rec = Recorder()
    rec.start("r1")
    view = fold_all(rec.log)

    fold_event(
        view,
        RunCompleted(
            created_at=NOW + 9,
            run_id="r1",
            session_id="s1",
            seq=2,
            content="x",
            model_provider_data={"id": "chatcmpl-9"},
        ),
    )

    data = view.runs["r1"]["run_data"]
    assert data["model_provider_data"] == {"id": "chatcmpl-9"}
    assert data["metrics"] == {}
    assert view.sessions["s1"]["updated_at"] == NOW + 9


def test_a_run_whose_session_row_is_missing_still_updates_its_run_row() -> None:
    # the live runner loads rows lazily; a run row can be present without its session row
    rec = Recorder()
    full_run(rec)
    view = fold_all(rec.log[:1])
    del view.sessions["s1"]

    fold_all(rec.log[1:], view)

    assert view.runs["r1"]["status"] == "COMPLETED"
    assert view.sessions == {}


def test_a_tool_result_with_no_preceding_assistant_message_is_kept() -> None:
    # given a run row whose messages are only tool results (e.g. written by an older version)
    view = SessionsView()
    fold_event(view, RunStarted(created_at=NOW, run_id="r1", session_id="s1", seq=0))
    assert run_messages(view.runs["r1"]["run_data"]) == []

    # when
    tool = ToolExecution(tool_call_id="c1", tool_name="t", result="ok")
    fold_event(view, ToolCallCompleted(created_at=NOW, run_id="r1", session_id="s1", seq=1, part="done", tool=tool))

    # then
    (message,) = run_messages(view.runs["r1"]["run_data"])
    assert (message["role"], message["tool_call_id"], message["content"]) == ("tool", "c1", "ok")


# --------------------------------------------------------------------------------------------- rebuild


def view_rows(view: SessionsView) -> tuple[dict[str, Any], dict[str, Any]]:
    sessions = {k: {c: v for c, v in s.items() if c != "run_count"} for k, s in view.sessions.items()}
    return sessions, view.runs


def test_rebuild_view_equals_the_incremental_fold() -> None:
    # given
    rec = Recorder()
    full_run(rec, "r1", "s1")
    full_run(rec, "r2", "s2")
    rec.start("r3", "s1")
    rec.decide(CancelRun(run_id="r3", session_id="s1", created_at=rec.clock))

    # when
    incremental = SessionsView()
    for record in rec.log:
        fold_event(incremental, decode_event(record))
    rebuilt = rebuild_view(rec.log)

    # then
    assert view_rows(rebuilt) == view_rows(incremental)
    assert all("run_count" not in s for s in rebuilt.sessions.values())
    assert rebuilt.dirty_runs == set()
    assert rebuilt.dirty_sessions == set()


def test_snapshot_is_a_deep_copy() -> None:
    rec = Recorder()
    full_run(rec)
    view = fold_all(rec.log)

    copied = snapshot(view)
    copied.runs["r1"]["run_data"]["messages"].clear()

    assert copied.sessions == view.sessions
    assert run_messages(view.runs["r1"]["run_data"])


@pytest.mark.parametrize("n", [0, 1, 5])
def test_rebuild_of_a_prefix_matches_the_fold_of_the_prefix(n: int) -> None:
    rec = Recorder()
    full_run(rec)
    prefix = rec.log[: n * 3]

    assert view_rows(rebuild_view(prefix)) == view_rows(fold_all(prefix))
