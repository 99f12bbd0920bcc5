"""Conversation data: messages, tool calls, tool executions and metrics, in agno's shapes.

These are the values carried inside events. Each type has `to_dict()` producing agno's JSON field
names (as `agno.models.message.Message`, `agno.models.response.ToolExecution` and `agno.metrics`
serialise them) and a `from_dict()` that reads the same shape back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .errors import SchemaError

__all__ = ["Message", "ModelUsage", "Requirement", "Role", "ToolCall", "ToolExecution", "UserInputField"]

Role = Literal["system", "user", "assistant", "tool"]


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    """One function call requested by the model in an assistant message.

    `arguments` is the JSON text exactly as the model produced it (it may be invalid JSON; the tool
    worker reports that as a `ToolCallError`).
    """

    id: str
    """Provider-assigned tool call id (`call_...`); unique within the run."""
    name: str
    """Name of the tool to call."""
    arguments: str
    """Arguments as a JSON object text; `"{}"` when the model sent none."""

    def to_dict(self) -> dict[str, Any]:
        """Return the OpenAI / agno shape `{id, type: "function", function: {name, arguments}}`."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolCall:
        """Read the shape produced by `to_dict`.

        Raises:
            SchemaError: a required key is missing.
        """
        try:
            fn = d["function"]
            return cls(id=d["id"], name=fn["name"], arguments=fn.get("arguments") or "{}")
        except (KeyError, TypeError) as exc:
            raise SchemaError(f"tool_calls entry is missing {exc}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelUsage:
    """Token usage and timing of one model request (agno's `ModelRequestCompleted` metrics).

    Token counts come from the provider's usage field; durations are seconds measured by the model worker.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    time_to_first_token: float | None = None
    """Seconds from sending the request to the first streamed content; None if nothing streamed."""
    duration: float | None = None
    """Seconds from sending the request to the end of the response."""

    def to_dict(self) -> dict[str, Any]:
        """Return all fields, None values dropped."""
        return _drop_none(
            {
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "total_tokens": self.total_tokens,
                "time_to_first_token": self.time_to_first_token,
                "reasoning_tokens": self.reasoning_tokens,
                "cache_read_tokens": self.cache_read_tokens,
                "cache_write_tokens": self.cache_write_tokens,
                "duration": self.duration,
            }
        )

    def message_metrics(self) -> dict[str, Any]:
        """Return agno's per-message metrics dict: zero token counts omitted (as `Metrics.to_dict`)."""
        d: dict[str, Any] = {}
        for key in ("input_tokens", "output_tokens", "total_tokens", "reasoning_tokens"):
            value = getattr(self, key)
            if value:
                d[key] = value
        if self.duration is not None:
            d["duration"] = self.duration
        if self.time_to_first_token is not None:
            d["time_to_first_token"] = self.time_to_first_token
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelUsage:
        """Read a dict with any subset of the fields."""
        return cls(
            input_tokens=int(d.get("input_tokens") or 0),
            output_tokens=int(d.get("output_tokens") or 0),
            total_tokens=int(d.get("total_tokens") or 0),
            reasoning_tokens=int(d.get("reasoning_tokens") or 0),
            cache_read_tokens=int(d.get("cache_read_tokens") or 0),
            cache_write_tokens=int(d.get("cache_write_tokens") or 0),
            time_to_first_token=d.get("time_to_first_token"),
            duration=d.get("duration"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One chat message of a run, in agno's `Message` shape.

    A user message carries `content`; an assistant message carries `content` and/or `tool_calls`;
    a tool message carries the tool's result in `content` plus `tool_call_id`, `tool_name`,
    `tool_args` and `tool_call_error`.
    """

    id: str
    """Deterministic message id (derived from run id and sequence, so replays agree)."""
    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    """Calls requested by an assistant message, in the order the model emitted them; empty otherwise."""
    tool_call_id: str | None = None
    tool_name: str | None = None
    tool_args: dict[str, Any] | None = None
    tool_call_error: bool | None = None
    provider_data: dict[str, Any] | None = None
    """Provider response data agno keeps (e.g. `{"id": "chatcmpl-..."}`)."""
    metrics: dict[str, Any] | None = None
    """agno message metrics (tokens, duration, time_to_first_token in seconds); None for user/tool."""
    from_history: bool = False
    """True when the message was copied into this run from an earlier run of the session."""
    created_at: int = 0
    """Unix seconds."""

    def to_dict(self) -> dict[str, Any]:
        """Return agno's stored message dict (None values dropped, as agno's `Message.to_dict`)."""
        d: dict[str, Any] = {"id": self.id}
        if self.content is not None:
            d["content"] = self.content
        d["from_history"] = self.from_history
        d["stop_after_tool_call"] = False
        d["role"] = self.role
        if self.tool_calls:
            d["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.tool_call_id is not None:
            d["tool_call_id"] = self.tool_call_id
        if self.tool_name is not None:
            d["tool_name"] = self.tool_name
        if self.tool_args is not None:
            d["tool_args"] = self.tool_args
        if self.tool_call_error is not None:
            d["tool_call_error"] = self.tool_call_error
        if self.provider_data is not None:
            d["provider_data"] = self.provider_data
        if self.metrics:
            d["metrics"] = self.metrics
        d["created_at"] = self.created_at
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        """Read the shape produced by `to_dict`.

        Raises:
            SchemaError: `id` or `role` is missing or the role is unknown.
        """
        role = d.get("role")
        if role not in ("system", "user", "assistant", "tool") or "id" not in d:
            raise SchemaError(f"message needs an id and a role of system|user|assistant|tool, got {d!r:.200}")
        return cls(
            id=d["id"],
            role=role,
            content=d.get("content"),
            tool_calls=tuple(ToolCall.from_dict(c) for c in d.get("tool_calls") or ()),
            tool_call_id=d.get("tool_call_id"),
            tool_name=d.get("tool_name"),
            tool_args=d.get("tool_args"),
            tool_call_error=d.get("tool_call_error"),
            provider_data=d.get("provider_data"),
            metrics=d.get("metrics"),
            from_history=bool(d.get("from_history", False)),
            created_at=int(d.get("created_at") or 0),
        )

    def as_history(self) -> Message:
        """Return a copy marked `from_history=True` (agno marks replayed history messages so)."""
        if self.from_history:
            return self
        return Message(
            id=self.id,
            role=self.role,
            content=self.content,
            tool_calls=self.tool_calls,
            tool_call_id=self.tool_call_id,
            tool_name=self.tool_name,
            tool_args=self.tool_args,
            tool_call_error=self.tool_call_error,
            provider_data=self.provider_data,
            metrics=self.metrics,
            from_history=True,
            created_at=self.created_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UserInputField:
    """One argument of a `requires_user_input` tool, in agno's `UserInputField` shape.

    `field_type` is the Python type's name as agno serialises it (`"str"`, `"int"`, ...); `value` is what the
    model proposed (or None) until the user fills it in on continue.
    """

    name: str
    field_type: str = "str"
    description: str | None = None
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Return `{name, field_type, description, value}` (None values kept, as agno)."""
        return {"name": self.name, "field_type": self.field_type, "description": self.description, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UserInputField:
        """Read the shape produced by `to_dict` (a missing `field_type` is `"str"`).

        Raises:
            SchemaError: `name` is missing.
        """
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise SchemaError(f"user_input_schema entries need a name, got {d!r:.200}")
        field_type = d.get("field_type")
        return cls(
            name=d["name"],
            field_type=field_type if isinstance(field_type, str) else "str",
            description=d.get("description"),
            value=d.get("value"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolExecution:
    """One tool call and its outcome, in agno's `ToolExecution` shape (the `tool` field of events).

    agno serialises this with `asdict`, so `to_dict` keeps None-valued fields (unlike events). The
    human-in-the-loop fields (`requires_confirmation`, `confirmed`, `requires_user_input`,
    `external_execution_required`, ...) are None for an ordinary call.
    """

    tool_call_id: str
    tool_name: str
    tool_args: dict[str, Any] = field(default_factory=dict)
    tool_call_error: bool | None = None
    result: str | None = None
    metrics: dict[str, float] | None = None
    """`{start_time, end_time}` as epoch seconds and `duration` in seconds, or None before it ran."""
    created_at: int = 0
    """Unix seconds."""
    requires_confirmation: bool | None = None
    confirmed: bool | None = None
    confirmation_note: str | None = None
    requires_user_input: bool | None = None
    user_input_schema: tuple[UserInputField, ...] | None = None
    answered: bool | None = None
    external_execution_required: bool | None = None
    external_execution_silent: bool | None = None
    child_run_id: str | None = None
    """The member run a team's delegation started (agno sets it on the team's delegation call)."""
    stop_after_tool_call: bool = False
    """True for a call after which the run ends with its result (a route-mode delegation)."""

    @property
    def is_paused(self) -> bool:
        """True while the call waits for a human: confirmation, user input or an external result (agno)."""
        return bool(self.requires_confirmation or self.requires_user_input or self.external_execution_required)

    def to_dict(self) -> dict[str, Any]:
        """Return agno's full field set, None values kept."""
        schema = self.user_input_schema
        return {
            "tool_call_id": self.tool_call_id,
            "tool_name": self.tool_name,
            "tool_args": self.tool_args,
            "tool_call_error": self.tool_call_error,
            "result": self.result,
            "metrics": self.metrics,
            "child_run_id": self.child_run_id,
            "stop_after_tool_call": self.stop_after_tool_call,
            "created_at": self.created_at,
            "requires_confirmation": self.requires_confirmation,
            "confirmed": self.confirmed,
            "confirmation_note": self.confirmation_note,
            "requires_user_input": self.requires_user_input,
            "user_input_schema": None if schema is None else [f.to_dict() for f in schema],
            "user_feedback_schema": None,
            "answered": self.answered,
            "external_execution_required": self.external_execution_required,
            "external_execution_silent": self.external_execution_silent,
            "approval_type": None,
            "approval_id": None,
            "parent_tool_call_id": None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolExecution:
        """Read the shape produced by `to_dict` (extra agno keys are ignored).

        Raises:
            SchemaError: `tool_call_id` or `tool_name` is missing, or a field has the wrong shape.
        """
        if not isinstance(d, dict):
            raise SchemaError(f"tool must be an object, got {d!r:.200}")
        schema = d.get("user_input_schema")
        if schema is not None and not isinstance(schema, list):
            raise SchemaError("tool.user_input_schema must be a list")
        args = d.get("tool_args") or {}
        if not isinstance(args, dict):
            raise SchemaError("tool.tool_args must be an object")
        result = d.get("result")
        try:
            return cls(
                tool_call_id=d["tool_call_id"],
                tool_name=d["tool_name"],
                tool_args=args,
                tool_call_error=d.get("tool_call_error"),
                result=result if result is None or isinstance(result, str) else _json_text(result),
                metrics=d.get("metrics"),
                created_at=int(d.get("created_at") or 0),
                requires_confirmation=d.get("requires_confirmation"),
                confirmed=d.get("confirmed"),
                confirmation_note=d.get("confirmation_note"),
                requires_user_input=d.get("requires_user_input"),
                user_input_schema=None if schema is None else tuple(UserInputField.from_dict(f) for f in schema),
                answered=d.get("answered"),
                external_execution_required=d.get("external_execution_required"),
                external_execution_silent=d.get("external_execution_silent"),
                child_run_id=d.get("child_run_id"),
                stop_after_tool_call=bool(d.get("stop_after_tool_call", False)),
            )
        except KeyError as exc:
            raise SchemaError(f"tool is missing {exc}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class Requirement:
    """What a paused run needs before it can continue, in agno's `RunRequirement` shape (one per paused call).

    `id` is deterministic (derived from the run, the pause decision and the call), `created_at` an ISO 8601
    UTC string as agno writes it. A team's requirement that comes from a paused member run names it
    (`member_agent_id`, `member_agent_name`, `member_run_id`, as agno's `_propagate_member_pause`). On a
    continue the client sends the requirements back resolved: agno's `confirmation` / `confirmation_note`,
    `external_execution_result` and `user_input_schema` values, or the same answers on `tool_execution`.
    """

    id: str
    created_at: str
    tool_execution: ToolExecution
    member_agent_id: str | None = None
    member_agent_name: str | None = None
    member_run_id: str | None = None
    confirmation: bool | None = None
    confirmation_note: str | None = None
    external_execution_result: str | None = None
    user_input_schema: tuple[UserInputField, ...] | None = None
    """The values the client filled in (None: those of `tool_execution.user_input_schema`)."""

    def to_dict(self) -> dict[str, Any]:
        """Return agno's `RunRequirement.to_dict()`: id, created_at, tool_execution (+ user_input_schema).

        The answer and member fields appear when set (agno drops None values).
        """
        d: dict[str, Any] = {"id": self.id, "created_at": self.created_at}
        d |= _drop_none(
            {
                "confirmation": self.confirmation,
                "confirmation_note": self.confirmation_note,
                "external_execution_result": self.external_execution_result,
                "member_agent_id": self.member_agent_id,
                "member_agent_name": self.member_agent_name,
                "member_run_id": self.member_run_id,
            }
        )
        d["tool_execution"] = self.tool_execution.to_dict()
        schema = self.user_input_schema or self.tool_execution.user_input_schema
        if schema is not None:
            d["user_input_schema"] = [f.to_dict() for f in schema]
        return d

    def answered(self) -> ToolExecution:
        """The tool execution with this requirement's answers applied (what a run's continue resolves it with).

        agno's `confirm()` / `reject(note)` / `set_external_execution_result(r)` / `provide_user_input(v)` set
        both the requirement's field and the tool execution's; a client may send either, the requirement's wins.
        """
        tool = self.tool_execution
        updates: dict[str, Any] = {}
        if self.confirmation is not None:
            updates["confirmed"] = self.confirmation
        if self.confirmation_note is not None:
            updates["confirmation_note"] = self.confirmation_note
        if self.external_execution_result is not None:
            updates["result"] = self.external_execution_result
        if self.user_input_schema is not None:
            updates["user_input_schema"] = self.user_input_schema
        return replace(tool, **updates) if updates else tool

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Requirement:
        """Read the shape produced by `to_dict` (the answer and member fields are optional).

        Raises:
            SchemaError: a field is missing or has the wrong shape.
        """
        if not isinstance(d, dict):
            raise SchemaError(f"requirement must be an object, got {d!r:.200}")
        schema = d.get("user_input_schema")
        if schema is not None and not isinstance(schema, list):
            raise SchemaError("requirement.user_input_schema must be a list")
        result = d.get("external_execution_result")
        try:
            execution = ToolExecution.from_dict(d["tool_execution"])
            inputs = None if schema is None else tuple(UserInputField.from_dict(f) for f in schema)
            return cls(
                id=d["id"],
                created_at=str(d.get("created_at") or ""),
                tool_execution=execution,
                member_agent_id=_text(d.get("member_agent_id")),
                member_agent_name=_text(d.get("member_agent_name")),
                member_run_id=_text(d.get("member_run_id")),
                confirmation=d.get("confirmation"),
                confirmation_note=_text(d.get("confirmation_note")),
                external_execution_result=result if result is None or isinstance(result, str) else _json_text(result),
                # agno writes the tool's schema at the top level too: only values that differ are answers
                user_input_schema=None if inputs == execution.user_input_schema else inputs,
            )
        except (KeyError, TypeError) as exc:
            raise SchemaError(f"requirement is missing {exc}") from exc


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _json_text(value: Any) -> str:
    """A non-string external result as JSON text (what the model is sent)."""
    return json.dumps(value)
