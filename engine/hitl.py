"""Human in the loop: holding tool calls, pausing a run and resolving a ContinueRun (pure helpers for `run`).

agno's behaviour (`models/base.py`, `agent/_tools.py:handle_tool_call_updates`, `utils/response.py`):

- a call of a tool with `requires_confirmation`, `requires_user_input` or `external_execution` is not
  executed; the run pauses once the turn's other calls have answered (RunContentCompleted, RunPaused);
- on continue, per held call (matched by `tool_call_id`): confirmation first — `confirmed: true` executes
  the call, anything else rejects it and the model gets the `confirmation_note` or "Function call was
  rejected by the user"; then external execution — the caller's `result` becomes the tool message (no
  result: the continue is refused); then user input — `user_input_schema[].value` fill the arguments and
  the call executes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from .messages import Message, Requirement, ToolCall, ToolExecution, UserInputField
from .state import RunState, message_id
from .tools import Tool

__all__ = [
    "MISSING_UPDATES",
    "REJECTED_NOTE",
    "REJECTED_RESULT",
    "Resolution",
    "arguments_text",
    "call_arguments",
    "continue_problem",
    "held_execution",
    "paused_content",
    "requirements",
    "resolve",
]

REJECTED_RESULT = "Function call was rejected by the user"
"""agno's tool message for a rejected call without a `confirmation_note` (`reject_tool_call`)."""
REJECTED_NOTE = "Tool call was rejected"
"""agno's `confirmation_note` on a rejected call that came without one."""
MISSING_UPDATES = (
    "Run has unresolved HITL requirements. Provide the `tools` parameter (or resolve an admin approval first)."
)
"""agno's error for a continue of a paused run that resolves nothing."""


def held_execution(tool: Tool, call: ToolCall, now: int) -> ToolExecution:
    """The ToolExecution of a held call, with agno's pause flags; user input fields prefilled by the model."""
    args = call_arguments(call.arguments)
    schema = None
    if tool.requires_user_input:
        schema = tuple(replace(f, value=args.get(f.name)) for f in tool.user_input_schema)
    return ToolExecution(
        tool_call_id=call.id,
        tool_name=call.name,
        tool_args=args,
        created_at=now,
        requires_confirmation=True if tool.requires_confirmation else None,
        requires_user_input=True if tool.requires_user_input else None,
        user_input_schema=schema,
        external_execution_required=True if tool.external_execution else None,
    )


def paused_content(tools: Sequence[ToolExecution]) -> str:
    """The RunPaused `content` agno writes (`get_paused_content`): what the last pausing call still needs."""
    content = ""
    for tool in tools:
        if tool.external_execution_silent:
            continue
        needs = [
            name
            for name, flag in (
                ("confirmation", bool(tool.requires_confirmation) and not tool.confirmed),
                ("user input", bool(tool.requires_user_input)),
                ("external execution", bool(tool.external_execution_required)),
            )
            if flag
        ]
        if needs == ["external execution"]:
            content = "I have tools to execute, but it needs external execution."
        elif len(needs) == 3:
            content = "I have tools to execute, but I need confirmation, user input, or external execution."
        elif needs:
            content = f"I have tools to execute, but I need {' or '.join(needs)}."
    return content


def requirements(run_id: str, seq: int, held: Sequence[ToolExecution], now: float) -> tuple[Requirement, ...]:
    """One agno RunRequirement per held call; ids derived from the pause decision, `created_at` ISO 8601 UTC."""
    created_at = datetime.fromtimestamp(now, UTC).isoformat()
    return tuple(
        Requirement(id=message_id(run_id, seq, "requirement", t.tool_call_id), created_at=created_at, tool_execution=t)
        for t in held
    )


def continue_problem(run: RunState, updates: Sequence[ToolExecution]) -> str | None:
    """Why `updates` cannot continue `run` (agno's message), or None when they can."""
    if run.status != "PAUSED":
        return f"Cannot continue run {run.run_id}: run is not paused (status {run.status})"
    if not updates:
        return MISSING_UPDATES
    by_id = {u.tool_call_id: u for u in updates}
    for held in run.held:
        answer = by_id.get(held.tool_call_id)
        external = held.external_execution_required and not held.requires_confirmation
        if external and (answer is None or answer.result is None):
            return f"Tool {held.tool_name} requires external execution, cannot continue run"
    return None


@dataclass(frozen=True, slots=True)
class Resolution:
    """How a ContinueRun resolves the held calls.

    Attributes:
        tools: every held call as resolved (agno's stored ToolExecution), in the model's order.
        messages: tool messages of the calls answered without execution (rejected; external result).
        execute: the calls to execute now (confirmed; user input filled in), with their final arguments.
    """

    tools: tuple[ToolExecution, ...] = ()
    messages: tuple[Message, ...] = ()
    execute: tuple[ToolExecution, ...] = field(default=())


def resolve(run: RunState, updates: Sequence[ToolExecution], seq: int, now: int) -> Resolution:
    """Resolve the held calls of `run` with the client's `updates` (see the module docstring)."""
    by_id = {u.tool_call_id: u for u in updates}
    tools: list[ToolExecution] = []
    messages: list[Message] = []
    execute: list[ToolExecution] = []
    for held in run.held:
        answer = by_id.get(held.tool_call_id, held)
        if held.requires_confirmation and answer.confirmed is not True:
            resolved = replace(
                held,
                confirmed=False,
                confirmation_note=answer.confirmation_note or REJECTED_NOTE,
                tool_call_error=True,
                requires_confirmation=False,
            )
            content = answer.confirmation_note or REJECTED_RESULT
            messages.append(_tool_message(run.run_id, seq, resolved, content, error=True, now=now))
        elif held.external_execution_required and not held.requires_confirmation:
            error = bool(answer.tool_call_error)
            resolved = replace(held, result=answer.result, tool_call_error=error, external_execution_required=False)
            messages.append(_tool_message(run.run_id, seq, resolved, answer.result, error=error, now=now))
        else:
            resolved = held
            if held.requires_confirmation:
                resolved = replace(resolved, confirmed=True, confirmation_note=answer.confirmation_note)
            if held.requires_user_input:
                schema = _merge_inputs(held.user_input_schema or (), answer.user_input_schema or ())
                args = {**held.tool_args, **{f.name: f.value for f in schema}}
                resolved = replace(resolved, tool_args=args, user_input_schema=schema)
            execute.append(resolved)
        tools.append(resolved)
    return Resolution(tools=tuple(tools), messages=tuple(messages), execute=tuple(execute))


def arguments_text(execution: ToolExecution) -> str:
    """The arguments of a resolved call as the JSON text a ToolCallRequested carries."""
    return json.dumps(execution.tool_args)


def _merge_inputs(held: Sequence[UserInputField], given: Sequence[UserInputField]) -> tuple[UserInputField, ...]:
    """The held fields with the values the client gave (by name); fields the client added are kept too."""
    values = {f.name: f.value for f in given}
    merged = [replace(f, value=values[f.name]) if f.name in values else f for f in held]
    known = {f.name for f in held}
    return (*merged, *(f for f in given if f.name not in known))


def _tool_message(run_id: str, seq: int, tool: ToolExecution, content: str | None, *, error: bool, now: int) -> Message:
    return Message(
        id=message_id(run_id, seq, tool.tool_call_id, "tool"),
        role="tool",
        content=content,
        tool_call_id=tool.tool_call_id,
        tool_name=tool.tool_name,
        tool_args=tool.tool_args,
        tool_call_error=error,
        created_at=now,
    )


def call_arguments(text: str) -> dict[str, Any]:
    """The model's arguments JSON text as a dict; `{}` when it is not a JSON object."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
