"""A small simulator of the runtime around the workflow engine, for the engine tests.

It plays the orchestrator (decide, then evolve the input and every decided event, in log order), the
model worker (an agent's reply is `reply(agent_id, user_message)`: a text, or tool calls) and the tool
worker (function steps are called with their StepInput, and a `run_context` when they take one, retried
like `adapters.step_worker`). Outstanding work items can be
answered in any order, so Parallel joins can be checked against completion order. At every step it
checks the engine laws: deciding the same input again decides nothing, and folding an event twice
changes nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine import (
    Agent,
    CancelRun,
    Command,
    DecisionContext,
    Message,
    ModelRequestCompleted,
    ModelUsage,
    ModelWork,
    RunContext,
    RunEvent,
    SessionState,
    StartWorkflow,
    StepExecuted,
    StepInput,
    StepWork,
    ToolCall,
    Workflow,
    WorkItem,
    as_step_output,
    decide,
    evolve,
    history_limit_for,
    message_id,
    with_step_agents,
    with_step_teams,
)
from engine.workflow import Step

NOW = 1_700_000_000
SESSION = "s1"


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "Fake"
    name: str = "Fake Chat"


def agent(agent_id: str, name: str | None = None) -> Agent:
    return Agent(id=agent_id, name=name or agent_id.upper(), model=FakeModel())


def default_reply(agent_id: str, message: str) -> str:
    return f"{agent_id}({message})"


@dataclass
class Sim:
    workflows: Sequence[Workflow]
    reply: Callable[[str, str], str | list[ToolCall]] = default_reply
    state: SessionState = field(default_factory=lambda: SessionState(session_id=SESSION))
    log: list[RunEvent] = field(default_factory=list)
    outstanding: list[WorkItem] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    """Function steps executed, by path, in execution order."""
    now: float = NOW

    def __post_init__(self) -> None:
        # As the orchestrator: the session keeps as much history as the registry may ask for.
        ctx = self.ctx
        limit = history_limit_for(ctx.agents.values(), ctx.teams.values())
        self.state = dataclasses.replace(self.state, history_limit=limit)

    @property
    def ctx(self) -> DecisionContext:
        registry = {w.id: w for w in self.workflows}
        return DecisionContext(
            now=self.now,
            agents=with_step_agents({}, registry),
            workflows=registry,
            teams=with_step_teams({}, registry),
        )

    def apply(self, item: Command | RunEvent) -> list[RunEvent]:
        decision = decide(self.state, item, self.ctx)
        if isinstance(item, RunEvent):
            self.state = evolve(self.state, item)
            self.log.append(item)
        for event in decision.events:
            self.state = evolve(self.state, event)
            assert evolve(self.state, event) == self.state, f"folding {event.event} twice changed the state"
            self.log.append(event)
        again = decide(self.state, item, self.ctx)
        assert again.events == [], f"deciding {type(item).__name__} again decided {again}"
        assert again.work == [], f"deciding {type(item).__name__} again sent {again.work}"
        self.outstanding.extend(decision.work)
        return decision.events

    def start(self, workflow_id: str, message: str = "hello", run_id: str = "w1", **kwargs: Any) -> list[RunEvent]:
        command = StartWorkflow(
            run_id=run_id, session_id=SESSION, created_at=NOW, workflow_id=workflow_id, message=message, **kwargs
        )
        return self.apply(command)

    def cancel(self, run_id: str = "w1") -> list[RunEvent]:
        return self.apply(CancelRun(run_id=run_id, session_id=SESSION, created_at=NOW, reason="stop it"))

    def answer(self, work: WorkItem) -> RunEvent:
        """The worker's final event for `work` (not applied)."""
        if isinstance(work, ModelWork):
            user = next(m.content or "" for m in reversed(work.messages) if m.role == "user")
            text = self.reply(work.agent_id, user)
            calls = tuple(text) if isinstance(text, list) else ()
            message = Message(
                id=message_id(work.run_id, work.seq, "assistant"), role="assistant",
                content=None if calls else text, tool_calls=calls, created_at=NOW,
            )  # fmt: skip
            usage = ModelUsage(input_tokens=3, output_tokens=2, total_tokens=5)
            return ModelRequestCompleted(
                created_at=NOW, run_id=work.run_id, session_id=work.session_id, agent_id=work.agent_id,
                seq=work.seq, part="done", model="fake-model", model_provider="Fake", message=message,
                input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, total_tokens=usage.total_tokens,
            )  # fmt: skip
        assert isinstance(work, StepWork)
        workflow = next(w for w in self.workflows if w.id == work.workflow_id)
        node = workflow.node_at(work.path)
        assert isinstance(node, Step)
        assert node.executor is not None
        base: dict[str, Any] = {
            "created_at": NOW, "run_id": work.run_id, "session_id": work.session_id, "seq": work.seq,
            "part": "done", "workflow_id": work.workflow_id, "path": work.path,
        }  # fmt: skip
        error = ""
        wants_context = "run_context" in inspect.signature(node.executor).parameters
        for attempt in range(1, work.max_retries + 2):
            self.calls.append(work.path)
            context = RunContext(
                run_id=work.run_id, session_id=work.session_id, session_state=copy.deepcopy(work.session_state)
            )
            kwargs = {"run_context": context} if wants_context else {}
            try:
                value = node.executor(StepInput.from_dict(work.step_input), **kwargs)
            except Exception as exc:
                error = str(exc)
                continue
            if wants_context:
                after, before = context.session_state, work.session_state
                base["state_changes"] = {k: v for k, v in after.items() if k not in before or before[k] != v}
                base["state_removed"] = tuple(k for k in before if k not in after)
            return StepExecuted(output=as_step_output(value), attempts=attempt, **base)
        return StepExecuted(error=error, attempts=work.max_retries + 1, **base)

    def step(self, index: int = 0) -> list[RunEvent]:
        """Answer the outstanding work item at `index` (0 = oldest)."""
        work = self.outstanding.pop(index)
        return self.apply(self.answer(work))

    def run(self, pick: Callable[[list[WorkItem]], int] = lambda _w: 0, limit: int = 200) -> None:
        """Answer outstanding work until none is left (`pick` chooses which one next)."""
        for _ in range(limit):
            if not self.outstanding:
                return
            self.step(pick(self.outstanding))
        raise AssertionError("the workflow did not settle")

    def names(self, run_id: str | None = None) -> list[str]:
        """Client-visible event names in log order (of one run, or all)."""
        return [e.event for e in self.log if not e.is_internal and (run_id is None or e.run_id == run_id)]

    def visible(self) -> list[RunEvent]:
        return [e for e in self.log if not e.is_internal]

    def last(self, name: str) -> Any:
        return next(e for e in reversed(self.log) if e.event == name)

    def records(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.log]
