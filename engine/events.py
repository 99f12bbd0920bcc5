"""Run events: agno's event strings and field names, plus the engine's own decision events.

Every event of a run is a record on the run-events topic. A record's value is the dict from
`to_dict()`: agno's fields (what `to_agno()` returns and what SSE clients see) plus the envelope
(`event_id`, `seq`, `part`, `runtime`) and engine-internal fields (`is_internal` events and fields
listed in `_internal` never reach agno clients).

Identity: the orchestrator numbers its decisions per run (`seq` = 0, 1, 2 ...; `part` = ""). A worker
answering the work item decided at `seq` writes its events with the same `seq` and a `part`
("start", "d1", "d2" ..., "done"), so `event_id` = ``f"{run_id}:{seq}"`` or ``f"{run_id}:{seq}:{part}"``
is deterministic and a redelivered record is recognised by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ._codec import Converter, FieldSpec, build_specs, from_fields, nested, nested_tuple
from .messages import Message, ModelUsage, Requirement, ToolExecution

__all__ = [
    "ModelRequestCompleted",
    "ModelRequestFailed",
    "ModelRequestStarted",
    "ModelRequested",
    "RunCancelled",
    "RunCompleted",
    "RunContent",
    "RunContentCompleted",
    "RunContinued",
    "RunError",
    "RunEvent",
    "RunPaused",
    "RunStarted",
    "ToolCallCompleted",
    "ToolCallError",
    "ToolCallPaused",
    "ToolCallRequested",
    "ToolCallStarted",
    "event_id",
    "is_progress_part",
]

RUNTIME = "agnostream"
_SPECS: dict[type, tuple[FieldSpec, ...]] = {}


def event_id(run_id: str, seq: int, part: str = "") -> str:
    """Return the deterministic id of the event at (`run_id`, `seq`, `part`)."""
    return f"{run_id}:{seq}:{part}" if part else f"{run_id}:{seq}"


def is_progress_part(part: object) -> bool:
    """True for a worker's progress part (`start~…`, `d1~…`): any part but "" (a decision) and "done" (an answer).

    Progress events (ModelRequestStarted, RunContent deltas, ToolCallStarted) fold to nothing and answer
    nothing; the fold, the record codec and replay all skip them by this rule.
    """
    return type(part) is str and part != "" and part != "done"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEvent:
    """Base of every run event: agno's `BaseAgentRunEvent` fields plus the engine envelope."""

    event: ClassVar[str] = ""
    is_internal: ClassVar[bool] = False
    """True for engine decision/worker events that agno clients never see."""
    is_terminal: ClassVar[bool] = False
    """True for events that end the run (RunCompleted, RunError, RunCancelled)."""
    _internal: ClassVar[frozenset[str]] = frozenset()
    _codecs: ClassVar[dict[str, Converter]] = {}
    _keep_none: ClassVar[frozenset[str]] = frozenset()
    _renames: ClassVar[dict[str, str]] = {}
    """Fields whose wire name differs: team events carry `agent_id` / `agent_name` as `team_id` / `team_name`."""

    created_at: int
    """Unix seconds (agno's `created_at`); from the decision context or the worker's clock."""
    agent_id: str = ""
    agent_name: str = ""
    run_id: str
    parent_run_id: str | None = None
    session_id: str
    workflow_id: str | None = None
    """Set on the events of a workflow step's agent run (and on every workflow event)."""
    workflow_run_id: str | None = None
    """The workflow run a step's agent run belongs to (agno's field)."""
    step_id: str | None = None
    step_name: str | None = None
    step_index: int | list[int] | None = None
    """Position of the step: `i` at the top level, `[i, j]` inside a container (agno's tuple)."""
    nested_depth: int = 0
    seq: int
    """The orchestrator decision this event is (part of); see the module docstring."""
    part: str = ""

    @property
    def event_id(self) -> str:
        """Deterministic id: `run_id:seq` or `run_id:seq:part`."""
        return event_id(self.run_id, self.seq, self.part)

    @classmethod
    def _specs(cls) -> tuple[FieldSpec, ...]:
        specs = _SPECS.get(cls)
        if specs is None:
            specs = build_specs(cls, cls._codecs, cls._internal, cls._keep_none, cls._renames)
            _SPECS[cls] = specs
        return specs

    def to_agno(self) -> dict[str, Any]:
        """Return agno's event dict: None fields dropped (nested `tool` objects keep theirs)."""
        d: dict[str, Any] = {"created_at": self.created_at, "event": self.event}
        for spec in self._specs():
            name = spec.name
            if spec.is_internal or name in ("seq", "part", "created_at"):
                continue
            value = getattr(self, name)
            if value is None and not spec.keep_none:
                continue
            d[spec.key] = spec.to_json(value) if spec.to_json is not None else value
        return d

    def to_dict(self) -> dict[str, Any]:
        """Return the full record value: agno fields, envelope and internal fields."""
        d: dict[str, Any] = {"created_at": self.created_at, "event": self.event}
        for spec in self._specs():
            value = getattr(self, spec.name)
            if value is None and not spec.keep_none:
                continue
            if spec.name == "part" and not value:
                continue
            d[spec.key] = spec.to_json(value) if spec.to_json is not None else value
        d["event_id"] = self.event_id
        d["runtime"] = RUNTIME
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunEvent:
        """Build the event from a record value produced by `to_dict`.

        Raises:
            SchemaError: a required field is missing or has the wrong shape.
        """
        event: RunEvent = from_fields(cls, cls._specs(), d, cls.event)
        return event


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(RunEvent):
    """The run was accepted and started. Emitted once, first, at seq 0.

    Records the decision's inputs so the run's state is a fold of its events: the user message,
    the system message sent to the model, and which earlier runs of the session form its history.
    """

    event: ClassVar[str] = "RunStarted"
    _internal: ClassVar[frozenset[str]] = frozenset(
        {"user_id", "input", "message", "system_message", "history_run_ids"}
    )
    _codecs: ClassVar[dict[str, Converter]] = {"message": nested(Message), "system_message": nested(Message)}

    model: str = ""
    model_provider: str = ""
    user_id: str | None = None
    input: str = ""
    """The user's input text (agno `RunInput.input_content`)."""
    message: Message | None = None
    """The user message of this run."""
    system_message: Message | None = None
    history_run_ids: tuple[str, ...] = ()
    """Ids of the session's earlier runs whose messages are replayed as history, oldest first."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRequested(RunEvent):
    """Engine decision: ask the model worker for the next assistant turn. Internal.

    A `ModelWork` item with the same (run_id, seq) is produced in the same transaction.
    """

    event: ClassVar[str] = "ModelRequested"
    is_internal: ClassVar[bool] = True
    step: int = 0
    """0 for the first model request of the run, +1 for each following one."""
    message_ids: tuple[str, ...] = ()
    """Ids of the messages sent, in order (system, history, this run's); lets replay detect context drift."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRequestStarted(RunEvent):
    """The model worker sent the request to the provider (part "start")."""

    event: ClassVar[str] = "ModelRequestStarted"
    model: str = ""
    model_provider: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContent(RunEvent):
    """A streamed content delta (coalesced over a short window). Carries no state; not needed for replay."""

    event: ClassVar[str] = "RunContent"
    content: str = ""
    workflow_agent: bool = False
    content_type: str = "str"
    reasoning_content: str = ""
    model_provider_data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRequestCompleted(RunEvent):
    """The model answered (part "done"): usage in agno's fields, the assistant message internally."""

    event: ClassVar[str] = "ModelRequestCompleted"
    _internal: ClassVar[frozenset[str]] = frozenset({"message", "duration"})
    _codecs: ClassVar[dict[str, Converter]] = {"message": nested(Message)}
    model: str = ""
    model_provider: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    time_to_first_token: float | None = None
    reasoning_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    duration: float | None = None
    """Seconds the request took."""
    message: Message | None = None
    """The assistant message: content and/or tool calls."""

    def usage(self) -> ModelUsage:
        """Return the usage fields as a `ModelUsage`."""
        return ModelUsage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            total_tokens=self.total_tokens,
            reasoning_tokens=self.reasoning_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
            time_to_first_token=self.time_to_first_token,
            duration=self.duration,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRequestFailed(RunEvent):
    """The model worker gave up on the request (part "done"). Internal; the orchestrator decides RunError."""

    event: ClassVar[str] = "ModelRequestFailed"
    is_internal: ClassVar[bool] = True
    error_type: str = "ModelProviderError"
    error: str = ""
    """Human-readable reason, e.g. the provider's error message or "OPENAI_API_KEY is not set"."""
    error_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallRequested(RunEvent):
    """Engine decision: execute one tool call. Internal; a `ToolWork` item goes out with it."""

    event: ClassVar[str] = "ToolCallRequested"
    is_internal: ClassVar[bool] = True
    tool_call_id: str = ""
    tool_name: str = ""
    arguments: str = "{}"
    """The arguments JSON text as the model produced it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallStarted(RunEvent):
    """The tool worker is about to execute the call (part "start")."""

    event: ClassVar[str] = "ToolCallStarted"
    _codecs: ClassVar[dict[str, Converter]] = {"tool": nested(ToolExecution)}
    tool: ToolExecution | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallCompleted(RunEvent):
    """The tool returned (part "done"); `tool.result` is its result as text. Never executed again after this."""

    event: ClassVar[str] = "ToolCallCompleted"
    _codecs: ClassVar[dict[str, Converter]] = {"tool": nested(ToolExecution)}
    content: str | None = None
    tool: ToolExecution | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallError(RunEvent):
    """The tool raised, timed out, was unknown, got invalid arguments, or was over `tool_call_limit`.

    The error text is returned to the model as the tool message (agno's behaviour) and the run continues.
    """

    event: ClassVar[str] = "ToolCallError"
    _codecs: ClassVar[dict[str, Converter]] = {"tool": nested(ToolExecution)}
    tool: ToolExecution | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContentCompleted(RunEvent):
    """The final content is complete (emitted just before RunCompleted)."""

    event: ClassVar[str] = "RunContentCompleted"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCompleted(RunEvent):
    """The run finished successfully. Terminal: no event of this run follows."""

    event: ClassVar[str] = "RunCompleted"
    is_terminal: ClassVar[bool] = True
    content: str | None = None
    content_type: str = "str"
    model_provider_data: dict[str, Any] | None = None
    session_state: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    """`{}` on a workflow step's run, as agno sends it; absent otherwise."""
    metrics: dict[str, Any] | None = None
    """agno `RunMetrics.to_dict()`: token sums, time_to_first_token and duration in seconds, details."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunError(RunEvent):
    """The run failed. Terminal. `content` is the error message, `error_type` its class."""

    event: ClassVar[str] = "RunError"
    is_terminal: ClassVar[bool] = True
    content: str | None = None
    error_type: str | None = None
    error_id: str | None = None
    additional_data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCancelled(RunEvent):
    """The run was cancelled by a CancelRun command. Terminal."""

    event: ClassVar[str] = "RunCancelled"
    is_terminal: ClassVar[bool] = True
    _internal: ClassVar[frozenset[str]] = frozenset({"cancelled_by"})
    reason: str | None = None
    cancelled_by: str | None = None
    """The run whose CancelRun this cancel follows from (a team run cancelling its members, a member run
    its team), or None when the CancelRun named this run. Internal; replay rebuilds the command from it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallPaused(RunEvent):
    """Engine decision: a call of a human-in-the-loop tool is held, not executed. Internal.

    `tool` carries agno's pause flags (`requires_confirmation`, `requires_user_input` with the
    `user_input_schema` the model's arguments prefilled, `external_execution_required`). The run pauses
    (RunPaused) once the other calls of the same model turn have answered.
    """

    event: ClassVar[str] = "ToolCallPaused"
    is_internal: ClassVar[bool] = True
    _codecs: ClassVar[dict[str, Converter]] = {"tool": nested(ToolExecution)}
    tool: ToolExecution | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPaused(RunEvent):
    """The run waits for a human (agno `RunPausedEvent`).

    `tools` are the run's tool executions so far (the held ones flagged), `requirements` one per held
    call. Not terminal for the run: a ContinueRun resumes it (RunContinued); it ends the SSE stream that
    saw it, as in agno.
    """

    event: ClassVar[str] = "RunPaused"
    _codecs: ClassVar[dict[str, Converter]] = {
        "tools": nested_tuple(ToolExecution),
        "requirements": nested_tuple(Requirement),
    }
    content: str | None = None
    """agno's paused text, e.g. "I have tools to execute, but I need confirmation."."""
    tools: tuple[ToolExecution, ...] = ()
    requirements: tuple[Requirement, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContinued(RunEvent):
    """A paused run resumed by a ContinueRun (agno `RunContinuedEvent`; no agno fields beyond the base).

    Internally it records the command (`updates`, `user_id`: what replay rebuilds the ContinueRun from)
    and the decision: `tools`, the held calls resolved (confirmed / rejected / user input filled /
    external result), and `messages`, the tool messages of the calls that are not executed here
    (rejected ones get agno's rejection text, external ones the caller's result). Confirmed and
    user-input calls are executed next (ToolCallRequested).
    """

    event: ClassVar[str] = "RunContinued"
    _internal: ClassVar[frozenset[str]] = frozenset({"updates", "user_id", "tools", "messages"})
    _codecs: ClassVar[dict[str, Converter]] = {
        "updates": nested_tuple(ToolExecution),
        "tools": nested_tuple(ToolExecution),
        "messages": nested_tuple(Message),
    }
    updates: tuple[ToolExecution, ...] = ()
    user_id: str | None = None
    tools: tuple[ToolExecution, ...] = ()
    messages: tuple[Message, ...] = ()
