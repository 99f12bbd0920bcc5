"""Laws of decide / evolve over random run scripts, driven by a small simulator of the runtime.

The simulator plays the parts of the runtime around the pure core:

- the commands topic (StartRun, duplicate StartRun, CancelRun at random moments, ContinueRun with random
  answers for paused runs, sometimes answers that cannot continue), consumed in order;
- the run-events log: every record is appended in write order, and the orchestrator consumes it in that
  order (its own decisions included), while commands may be consumed in between, so a cancel can race a
  worker answer that is already in the log;
- model and tool workers that pick outstanding work items in random order, write progress and answer
  events, and sometimes execute a work item again (redelivery: the same events, the same ids);
- humans answering paused runs (tools requiring confirmation, user input or external execution).

Laws checked at every orchestrator step:

(a) `evolve` over [input, *decision.events] never raises; deciding the same input on the folded state decides
    nothing (idempotency); folding the input or any decided event again changes nothing; the work items agree
    with the folded state (a ModelWork carries exactly the run's context; a ToolWork is the pending call).
(b) at the end, every run has exactly one terminal event, it is the run's last decision, and the decision
    seqs of each run are 0, 1, 2, ... with no gaps; no run is left in flight.
(c) `replay_check` over the produced log reports no divergence and folds to the orchestrator's final state.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from engine import (
    Agent,
    CancelRun,
    Command,
    ContinueRun,
    Decision,
    DecisionContext,
    Message,
    ModelRequestCompleted,
    ModelRequestFailed,
    ModelRequestStarted,
    ModelWork,
    RunContent,
    RunEvent,
    SessionState,
    StartRun,
    Tool,
    ToolCall,
    ToolCallCompleted,
    ToolCallError,
    ToolCallStarted,
    ToolExecution,
    ToolWork,
    UserInputField,
    decide,
    evolve,
    history_limit_for,
    message_id,
    replay_check,
)

TOOL_NAMES = ("t1", "t2", "t3", "confirm", "input", "external")
"""Ordinary tools, and human-in-the-loop ones named after their flag."""
MAX_MODEL_STEPS = 4
MAX_REDELIVERIES = 2


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


@st.composite
def agents(draw: st.DrawFn, agent_id: str) -> Agent:
    tools = draw(st.lists(st.sampled_from(TOOL_NAMES), unique=True, max_size=3))
    return Agent(
        id=agent_id,
        model=FakeModel(),
        instructions=draw(st.none() | st.just("Be brief.")),
        tools=[_tool(name) for name in tools],
        tool_call_limit=draw(st.none() | st.integers(0, 3)),
        add_history_to_context=draw(st.booleans()),
        num_history_runs=draw(st.none() | st.integers(0, 2)),
    )


def _tool(name: str) -> Tool:
    schema = {"name": name, "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}
    return Tool.from_schema(
        schema,
        requires_confirmation=name == "confirm",
        requires_user_input=name == "input",
        external_execution=name == "external",
    )


@dataclass
class World:
    """The runtime around decide/evolve, with the law checks at every orchestrator step."""

    agents: dict[str, Agent]
    now: int = 1_700_000_000
    states: dict[str, SessionState] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    unconsumed: deque[RunEvent] = field(default_factory=deque)
    commands: deque[Command] = field(default_factory=deque)
    work: list[ModelWork | ToolWork] = field(default_factory=list)
    answers: dict[tuple[str, int], list[RunEvent]] = field(default_factory=dict)
    deliveries: dict[tuple[str, int], int] = field(default_factory=dict)
    run_agent: dict[str, str] = field(default_factory=dict)
    steps: int = 0

    def paused(self) -> list[dict[str, Any]]:
        """The RunPaused records of runs whose last decision is that pause."""
        last: dict[str, dict[str, Any]] = {}
        for record in self.log:
            if "part" not in record:
                last[record["run_id"]] = record
        return [r for r in last.values() if r["event"] == "RunPaused"]

    def answer_pause(self, data: st.DataObject) -> ContinueRun:
        """A human's answers to a pause: random confirmations, inputs and external results (maybe missing)."""
        paused = data.draw(st.sampled_from(self.paused()), label="paused run")
        answers = []
        for requirement in paused["requirements"]:
            held = requirement["tool_execution"]
            if data.draw(st.booleans(), label="leave the call out"):
                continue
            answers.append(
                ToolExecution(
                    tool_call_id=held["tool_call_id"],
                    tool_name=held["tool_name"],
                    confirmed=data.draw(st.none() | st.booleans(), label="confirmed"),
                    confirmation_note=data.draw(st.none() | st.just("no"), label="note"),
                    result=data.draw(st.none() | st.just("external result"), label="result"),
                    user_input_schema=(UserInputField(name="x", value=data.draw(st.integers(0, 9), label="x")),),
                )
            )
        return ContinueRun(
            run_id=paused["run_id"], session_id=paused["session_id"], created_at=self.now, tools=tuple(answers)
        )

    def state(self, session_id: str) -> SessionState:
        # As the orchestrator: the session keeps as much history as the registry's agents may ask for.
        limit = history_limit_for(self.agents.values())
        return self.states.setdefault(session_id, SessionState(session_id=session_id, history_limit=limit))

    def write(self, event: RunEvent) -> None:
        self.log.append(event.to_dict())
        self.unconsumed.append(event)

    # ------------------------------------------------------------------ orchestrator

    def consume(self, item: Command | RunEvent) -> None:
        self.now += 1
        self.steps += 1
        state = self.state(item.session_id)
        if isinstance(item, RunEvent) and item.part == "":
            # The orchestrator reads its own decisions back from the log: already applied, a no-op.
            assert evolve(state, item) == state
            return
        ctx = DecisionContext(now=self.now, agents=self.agents)
        decision = decide(state, item, ctx)

        folded = evolve(state, item) if isinstance(item, RunEvent) else state
        for event in decision.events:
            folded = evolve(folded, event)

        # (a) idempotency: the same input again decides nothing and folds to the same state
        assert decide(folded, item, ctx) == Decision()
        if isinstance(item, RunEvent):
            assert evolve(folded, item) == folded
        for event in decision.events:
            assert evolve(folded, event) == folded
        # (a) the work agrees with the folded state
        for work in decision.work:
            run = folded.runs[work.run_id]
            if isinstance(work, ModelWork):
                assert run.pending_model_seq == work.seq
                assert work.messages == run.context()
                assert work.step == run.step - 1
            else:
                assert run.pending_tools[work.tool_call_id] == work.seq
        if isinstance(item, RunEvent) and item.part != "done":
            assert decision == Decision()

        self.states[item.session_id] = folded
        for event in decision.events:
            self.write(event)
        self.work.extend(decision.work)

    # ------------------------------------------------------------------ workers

    def execute(self, data: st.DataObject, index: int) -> None:
        work = self.work[index]
        key = (work.run_id, work.seq)
        self.deliveries[key] = self.deliveries.get(key, 0) + 1
        if self.deliveries[key] > MAX_REDELIVERIES or not data.draw(st.booleans(), label="redeliver later"):
            self.work.pop(index)
        if key not in self.answers:
            self.answers[key] = (
                self.model_answer(data, work) if isinstance(work, ModelWork) else self.tool_answer(data, work)
            )
        for event in self.answers[key]:
            self.write(event)

    def model_answer(self, data: st.DataObject, work: ModelWork) -> list[RunEvent]:
        common: dict[str, Any] = {
            "created_at": self.now,
            "run_id": work.run_id,
            "session_id": work.session_id,
            "seq": work.seq,
        }
        events: list[RunEvent] = [ModelRequestStarted(**common, part="start", model="fake-model")]
        agent = self.agents[self.run_agent[work.run_id]]
        kind = data.draw(st.sampled_from(["text"] * 3 + ["fail"] + ["calls"] * 6), label="model answer")
        if kind == "fail":
            events.append(ModelRequestFailed(**common, part="done", error="provider down", error_code="503"))
            return events
        calls: tuple[ToolCall, ...] = ()
        if kind == "calls" and work.step < MAX_MODEL_STEPS:
            names = data.draw(
                st.lists(st.sampled_from((*[t.name for t in agent.tool_list], "unknown")), min_size=1, max_size=3)
            )
            calls = tuple(
                ToolCall(id=f"{work.run_id}-{work.seq}-{i}", name=name, arguments='{"x": 1}')
                for i, name in enumerate(names)
            )
        content = None if calls else f"answer {work.run_id}/{work.seq}"
        if content:
            events.append(RunContent(**common, part="d1", content=content))
        tokens = data.draw(st.integers(0, 50), label="tokens")
        message = Message(
            id=message_id(work.run_id, work.seq, "assistant"), role="assistant", content=content, tool_calls=calls
        )
        events.append(
            ModelRequestCompleted(
                **common, part="done", input_tokens=tokens, output_tokens=1, total_tokens=tokens + 1, message=message
            )
        )
        return events

    def tool_answer(self, data: st.DataObject, work: ToolWork) -> list[RunEvent]:
        common: dict[str, Any] = {
            "created_at": self.now,
            "run_id": work.run_id,
            "session_id": work.session_id,
            "seq": work.seq,
        }
        tool = ToolExecution(tool_call_id=work.tool_call_id, tool_name=work.tool_name, tool_args={"x": 1})
        started = ToolCallStarted(**common, part="start", tool=tool)
        if work.tool_name == "unknown" or data.draw(st.booleans(), label="tool fails"):
            error = f"tool {work.tool_name} failed"
            failed = ToolExecution(
                tool_call_id=work.tool_call_id, tool_name=work.tool_name, tool_call_error=True, result=error
            )
            return [started, ToolCallError(**common, part="done", tool=failed, error=error)]
        done = ToolExecution(tool_call_id=work.tool_call_id, tool_name=work.tool_name, result=f"result of {work.seq}")
        return [started, ToolCallCompleted(**common, part="done", tool=done)]


def _cancel_raced(log: list[dict[str, Any]]) -> bool:
    """A worker answer of a run was written after the run's last decision but before its RunCancelled."""
    last_decision: dict[str, int] = {}
    for i, record in enumerate(log):
        if "part" not in record:
            if record["event"] == "RunCancelled" and any(
                r.get("part") == "done" and r["run_id"] == record["run_id"]
                for r in log[last_decision.get(record["run_id"], 0) : i]
            ):
                return True
            last_decision[record["run_id"]] = i
    return False


@st.composite
def worlds(draw: st.DrawFn) -> tuple[World, list[StartRun]]:
    n_agents = draw(st.integers(1, 2))
    registry = {f"a{i}": draw(agents(f"a{i}")) for i in range(n_agents)}
    world = World(agents=registry)
    starts = []
    for i in range(draw(st.integers(1, 4))):
        agent_id = draw(st.sampled_from([*registry, "ghost"]))
        session_id = draw(st.sampled_from(["s1", "s2"]))
        run_id = f"r{i}"
        world.run_agent[run_id] = agent_id
        starts.append(
            StartRun(run_id=run_id, session_id=session_id, created_at=world.now, agent_id=agent_id, message=f"q{i}")
        )
    return world, starts


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setup=worlds(), data=st.data())
def test_decide_and_evolve_laws_hold_over_random_run_scripts(
    setup: tuple[World, list[StartRun]], data: st.DataObject
) -> None:
    world, starts = setup
    world.commands.extend(starts)
    cancels = data.draw(st.integers(0, 2), label="cancels")
    duplicate_start = True

    while world.commands or world.unconsumed or world.work or world.paused():
        assert world.steps < 5_000, "the simulation does not terminate"
        actions = [
            name
            for name, ok in (
                ("command", world.commands),
                ("event", world.unconsumed),
                ("work", world.work),
                ("continue", world.paused()),
            )
            if ok
        ]
        if cancels:
            actions.append("cancel")
        if duplicate_start:
            actions.append("duplicate start")
        action = data.draw(st.sampled_from(actions), label="action")
        if action == "command":
            world.consume(world.commands.popleft())
        elif action == "event":
            world.consume(world.unconsumed.popleft())
        elif action == "work":
            world.execute(data, data.draw(st.integers(0, len(world.work) - 1), label="work item"))
        elif action == "continue":
            world.commands.append(world.answer_pause(data))
        elif action == "cancel":
            cancels -= 1
            target = data.draw(st.sampled_from(starts), label="cancel target")
            world.commands.append(CancelRun(run_id=target.run_id, session_id=target.session_id, created_at=world.now))
        else:
            world.commands.append(data.draw(st.sampled_from(starts), label="duplicate"))
            duplicate_start = False

    # (b) every run ended exactly once, with gap-free decision seqs
    assert all(not state.runs for state in world.states.values())
    for run_id in world.run_agent:
        decisions = [r for r in world.log if r["run_id"] == run_id and "part" not in r]
        assert [r["seq"] for r in decisions] == list(range(len(decisions)))
        terminals = [r for r in decisions if r["event"] in ("RunCompleted", "RunError", "RunCancelled")]
        assert len(terminals) == 1
        assert terminals[0] is decisions[-1]
        if world.run_agent[run_id] == "ghost":
            assert [r["event"] for r in decisions] == ["RunError"]

    ids = [r["event_id"] for r in world.log]
    note("redelivered worker answers" if len(ids) != len(set(ids)) else "no redelivery")
    note(
        "tool_call_limit reached"
        if any(r["event"] == "ToolCallError" and "part" not in r for r in world.log)
        else "no limit"
    )
    note("cancelled" if any(r["event"] == "RunCancelled" for r in world.log) else "not cancelled")
    note("cancel raced a logged answer" if _cancel_raced(world.log) else "no cancel race")
    note("paused and continued" if any(r["event"] == "RunContinued" for r in world.log) else "no continue")
    note(f"{sum(r['event'] == 'ToolCallRequested' for r in world.log)} tool calls" if world.log else "empty")

    # (c) the replay check agrees with every decision and folds to the same states
    report = replay_check(world.log, world.agents)
    assert report.divergences == []
    # ... also over the log as exported to JSON lines (tuples come back as lists)
    exported = [json.loads(json.dumps(record)) for record in world.log]
    assert replay_check(exported, world.agents).divergences == []
    assert report.runs == len(world.run_agent)
    for session_id, state in world.states.items():
        replayed = report.sessions[session_id]
        assert replayed.finished == state.finished
        assert replayed.history == state.history
        assert replayed.runs == state.runs
