"""Work items: what the orchestrator asks model workers and tool workers to do.

Work items travel on the work topics keyed by run_id. Each answers to one decision (`seq`) and the
worker writes its events with that `seq`, so redelivered work produces events with the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ._codec import Converter, FieldSpec, build_specs, from_fields, nested, nested_tuple
from .errors import SchemaError
from .messages import Message, ToolExecution

__all__ = ["ModelWork", "StepWork", "ToolWork", "WorkItem", "decode_work"]

_SPECS: dict[type, tuple[FieldSpec, ...]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Work:
    kind: ClassVar[str] = ""
    run_id: str
    session_id: str
    agent_id: str
    seq: int
    """The decision (ModelRequested / ToolCallRequested) this work answers."""
    created_at: int
    parent_run_id: str | None = None
    """The team run of a member run: the worker's events carry it (agno's `parent_run_id`)."""

    def event_fields(self) -> dict[str, Any]:
        """Fields the worker's events for this item carry besides the run's ids (`parent_run_id` if set)."""
        return {} if self.parent_run_id is None else {"parent_run_id": self.parent_run_id}

    @classmethod
    def _specs(cls) -> tuple[FieldSpec, ...]:
        specs = _SPECS.get(cls)
        if specs is None:
            codecs: dict[str, Converter] = (
                {"messages": nested_tuple(Message)} if cls is ModelWork else {"execution": nested(ToolExecution)}
            )
            specs = build_specs(cls, codecs, frozenset(), frozenset())
            _SPECS[cls] = specs
        return specs

    def to_dict(self) -> dict[str, Any]:
        """Return the record value `{"kind": ..., fields...}` (None values dropped)."""
        d: dict[str, Any] = {"kind": self.kind}
        for spec in self._specs():
            value = getattr(self, spec.name)
            if value is not None:
                d[spec.name] = spec.to_json(value) if spec.to_json is not None else value
        return d


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelWork(_Work):
    """Ask the model worker for the next assistant turn of a run.

    `messages` is the full context in order: system message (if any), history, this run's messages.
    """

    kind: ClassVar[str] = "model"
    step: int = 0
    messages: tuple[Message, ...] = ()
    is_team: bool = False
    """True for a team leader's turn: the worker writes the Team* model events (`team_events`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolWork(_Work):
    """Ask the tool worker to execute one tool call (`arguments` is the model's JSON text).

    `execution` is set for a call a human resolved (confirmed, or user input filled in): the held
    ToolExecution whose agno flags (`requires_confirmation`, `confirmed`, ...) the worker's events carry.
    """

    kind: ClassVar[str] = "tool"
    tool_call_id: str = ""
    tool_name: str = ""
    arguments: str = "{}"
    execution: ToolExecution | None = None
    is_team: bool = False
    """True for a call of a team leader's own tool: the worker writes the Team* tool events (`team_events`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StepWork(_Work):
    """Ask the tool worker to run a workflow Step's function executor (on the tools topic, like a tool call).

    `run_id` is the workflow run's; `path` the step's execution path, which names the executor in the
    workflow definition; `step_input` the agno `StepInput.to_dict()` it is called with; `agent_id` is "".
    A function with a `run_context` parameter gets agno's `RunContext` with a copy of `session_state`.
    The worker tries up to `1 + max_retries` times and answers with one StepExecuted.
    """

    kind: ClassVar[str] = "step"
    workflow_id: str = ""
    path: str = ""
    step_input: dict[str, Any] = field(default_factory=dict)
    max_retries: int = 0
    session_state: dict[str, Any] = field(default_factory=dict)
    """The workflow run's session state when the step was requested (the function's `run_context`)."""
    user_id: str | None = None


WorkItem = ModelWork | ToolWork | StepWork


def decode_work(d: dict[str, Any]) -> WorkItem:
    """Decode a work-topic record value.

    Raises:
        SchemaError: the `kind` is unknown or a field does not decode.
    """
    kind = d.get("kind")
    if kind == "model":
        model_work: ModelWork = from_fields(ModelWork, ModelWork._specs(), d, "ModelWork")
        return model_work
    if kind == "tool":
        tool_work: ToolWork = from_fields(ToolWork, ToolWork._specs(), d, "ToolWork")
        return tool_work
    if kind == "step":
        step_work: StepWork = from_fields(StepWork, StepWork._specs(), d, "StepWork")
        return step_work
    raise SchemaError(f"unknown work kind {kind!r}; expected 'model', 'tool' or 'step'")
