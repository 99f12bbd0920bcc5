"""A small driver for team runs in engine tests: the orchestrator's loop around decide / evolve, by hand.

`Sim.send(item)` decides one input the way the orchestrator does (fold the input, fold the decided events)
and records the log (worker answers and decisions, in log order) for replay checks. `answer` / `fail` /
`tool_done` build the workers' answers to a work item.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from engine import (
    Agent,
    CancelRun,
    Command,
    Decision,
    DecisionContext,
    Message,
    ModelRequestCompleted,
    ModelRequestFailed,
    ModelWork,
    RunEvent,
    SessionState,
    StartTeamRun,
    Team,
    TeamModelRequestCompleted,
    ToolCall,
    ToolCallCompleted,
    ToolExecution,
    ToolWork,
    decide,
    evolve,
    history_limit_for,
    message_id,
    replay_check,
)

NOW = 1_700_000_000
SESSION = "s1"


@dataclass(frozen=True)
class FakeModel:
    id: str = "fake-model"
    provider: str = "OpenAI"
    name: str = "OpenAI Chat"


def member(member_id: str, **kwargs: Any) -> Agent:
    return Agent(id=member_id, name=kwargs.pop("name", member_id.upper()), model=FakeModel(), **kwargs)


def make_team(mode: str = "coordinate", members: tuple[Agent, ...] = (), **kwargs: Any) -> Team:
    return Team(
        id="t1",
        name="Weather Team",
        model=FakeModel(),
        members=members or (member("m1"), member("m2")),
        mode=mode,  # type: ignore[arg-type]
        **kwargs,
    )


_calls = iter(range(1, 1_000_000))


def call(name: str, **args: Any) -> ToolCall:
    """A tool call with a fresh id."""
    return ToolCall(id=f"call_{next(_calls)}", name=name, arguments=json.dumps(args))


@dataclass
class Sim:
    team: Team
    agents: dict[str, Agent] = field(default_factory=dict)
    now: float = NOW
    state: SessionState = field(default_factory=lambda: SessionState(session_id=SESSION))
    log: list[RunEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        # As the orchestrator: the session keeps as much history as the registry may ask for.
        limit = history_limit_for(self.agents.values(), [self.team])
        self.state = dataclasses.replace(self.state, history_limit=limit)

    @property
    def ctx(self) -> DecisionContext:
        return DecisionContext(now=self.now, agents=self.agents, teams={self.team.id: self.team})

    def send(self, item: Command | RunEvent) -> Decision:
        decision = decide(self.state, item, self.ctx)
        if isinstance(item, RunEvent):
            self.log.append(item)
            self.state = evolve(self.state, item)
        for event in decision.events:
            self.log.append(event)
            self.state = evolve(self.state, event)
        self.now += 1
        return decision

    def start(self, message: str = "What is the weather in Paris?", run_id: str = "tr") -> Decision:
        return self.send(StartTeamRun(run_id=run_id, session_id=SESSION, created_at=NOW, team_id="t1", message=message))

    def cancel(self, run_id: str = "tr", reason: str | None = "stop") -> Decision:
        return self.send(CancelRun(run_id=run_id, session_id=SESSION, created_at=NOW, reason=reason))

    def replay(self) -> Any:
        return replay_check([e.to_dict() for e in self.log], self.agents, teams={self.team.id: self.team})


def answer(work: ModelWork, content: str | None = None, calls: tuple[ToolCall, ...] = ()) -> ModelRequestCompleted:
    """The model worker's answer to `work` (Team* for a leader's turn)."""
    cls = TeamModelRequestCompleted if work.is_team else ModelRequestCompleted
    message = Message(
        id=message_id(work.run_id, work.seq, "assistant"),
        role="assistant",
        content=content,
        tool_calls=calls,
        provider_data={"id": f"chatcmpl-{work.seq}"},
        created_at=NOW,
    )
    return cls(
        created_at=NOW,
        run_id=work.run_id,
        session_id=work.session_id,
        seq=work.seq,
        part="done",
        agent_id=work.agent_id,
        parent_run_id=work.parent_run_id,
        model="fake-model",
        model_provider="OpenAI",
        input_tokens=50,
        output_tokens=12,
        total_tokens=62,
        message=message,
    )


def fail(work: ModelWork, error: str = "boom") -> ModelRequestFailed:
    return ModelRequestFailed(
        created_at=NOW,
        run_id=work.run_id,
        session_id=work.session_id,
        seq=work.seq,
        part="done",
        agent_id=work.agent_id,
        parent_run_id=work.parent_run_id,
        error=error,
        error_type="ModelProviderError",
    )


def tool_done(work: ToolWork, result: str) -> ToolCallCompleted:
    tool = ToolExecution(
        tool_call_id=work.tool_call_id,
        tool_name=work.tool_name,
        tool_args=json.loads(work.arguments),
        tool_call_error=False,
        result=result,
        created_at=NOW,
    )
    return ToolCallCompleted(
        created_at=NOW,
        run_id=work.run_id,
        session_id=work.session_id,
        seq=work.seq,
        part="done",
        agent_id=work.agent_id,
        parent_run_id=work.parent_run_id,
        content=f"{work.tool_name}(...) completed in 0.0010s. ",
        tool=tool,
    )


def names(decision: Decision) -> list[str]:
    return [e.event for e in decision.events]


def model_work(decision: Decision) -> list[ModelWork]:
    return [w for w in decision.work if isinstance(w, ModelWork)]
