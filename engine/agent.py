"""The Agent definition: what a run of an agent may do, in agno's parameter names.

An `Agent` is configuration, not a running thing: `decide` reads it to build model requests, and the
workers read its `model` and `tools`. It is immutable and safe to share across sessions (unlike agno's
stateful Agent, issue agno#3937).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .errors import ConfigurationError
from .tools import Tool

__all__ = ["DEFAULT_NUM_HISTORY_RUNS", "Agent", "ModelRef"]

DEFAULT_NUM_HISTORY_RUNS = 3
"""agno: `num_history_runs` becomes 3 when neither it nor `num_history_messages` is set."""

_MARKDOWN_INSTRUCTION = "Use markdown to format your answers."
"""The line agno adds to the system message's `<additional_information>` when `markdown=True`."""


@runtime_checkable
class ModelRef(Protocol):
    """What the engine needs to know about a model: how to name it in events.

    Provider adapters (`adapters.models`) implement this plus the streaming call.
    """

    @property
    def id(self) -> str:
        """Model id sent to the provider, e.g. `gpt-4o-mini` (agno `RunStarted.model`)."""
        ...

    @property
    def provider(self) -> str:
        """Provider label as agno prints it in events, e.g. `OpenAI` (agno `model_provider`)."""
        ...

    @property
    def name(self) -> str:
        """Model class name as agno prints it in metrics details, e.g. `OpenAI Chat`."""
        ...


@dataclass(frozen=True, kw_only=True)
class Agent:
    """An agent: a model, instructions and tools.

    Attributes:
        id: unique agent id used in routes (`/agents/{id}/runs`) and events (`agent_id`).
        model: the model to call (an adapter from `adapters.models`).
        name: display name (`agent_name` in events); defaults to the id.
        description: optional description placed first in the system message.
        instructions: one string or a list of instructions for the system message.
        tools: tools the model may call: `Tool` objects, plain callables or JSON-schema dicts.
        tool_call_limit: max tool calls executed per run; further calls get agno's "limit reached" result.
        add_history_to_context: include messages of earlier runs of the session.
        num_history_runs: how many earlier runs (default 3, agno's default).
        markdown: add agno's "Use markdown to format your answers." line to the system message.
        role: the agent's role inside a team (listed to the team leader, agno's `role`).
        system_message: a system message used verbatim instead of the one built from the fields above.
    """

    id: str
    model: ModelRef
    name: str = ""
    description: str | None = None
    instructions: str | Sequence[str] | None = None
    tools: Sequence[Tool | Callable[..., Any] | Mapping[str, Any]] = ()
    tool_call_limit: int | None = None
    add_history_to_context: bool = False
    num_history_runs: int | None = None
    markdown: bool = False
    role: str | None = None
    system_message: str | None = None
    _tools: tuple[Tool, ...] = field(init=False, repr=False, compare=False, default=())
    _by_name: dict[str, Tool] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise ConfigurationError("Agent.id must be a non-empty string")
        if not isinstance(self.model, ModelRef):
            raise ConfigurationError(f"Agent {self.id!r}: model must have id, provider and name; got {self.model!r}")
        if self.tool_call_limit is not None and self.tool_call_limit < 0:
            raise ConfigurationError(f"Agent {self.id!r}: tool_call_limit must be >= 0")
        tools = tuple(_as_tool(t) for t in self.tools)
        by_name: dict[str, Tool] = {}
        for t in tools:
            if t.name in by_name:
                raise ConfigurationError(f"Agent {self.id!r}: two tools are named {t.name!r}")
            by_name[t.name] = t
        object.__setattr__(self, "_tools", tools)
        object.__setattr__(self, "_by_name", by_name)
        if not self.name:
            object.__setattr__(self, "name", self.id)

    @property
    def tool_list(self) -> tuple[Tool, ...]:
        """The normalised tools, in declaration order."""
        return self._tools

    def get_tool(self, name: str) -> Tool | None:
        """Return the tool called `name`, or None."""
        return self._by_name.get(name)

    @property
    def history_runs(self) -> int:
        """Number of earlier runs replayed as history; 0 when history is off."""
        if not self.add_history_to_context:
            return 0
        return DEFAULT_NUM_HISTORY_RUNS if self.num_history_runs is None else self.num_history_runs

    def system_message_content(self) -> str | None:
        """Build the system message text exactly as agno's default system message, or None if there is none.

        agno (`agent/_messages.py:get_system_message`, for the parameters this Agent has): the description
        and a newline; the instructions (one instruction as is; several as `- ` bullets, where a multi-line
        instruction stays a block between blank lines) and a blank line; then, with `markdown`, an
        `<additional_information>` block holding `- Use markdown to format your answers.`; the whole text
        stripped. agno's OpenAIChat sends it with role `developer` (see `adapters.models.openai`). A
        `system_message` is returned as is (agno's first rule).
        """
        if self.system_message is not None:
            return self.system_message
        content = ""
        if self.description is not None:
            content += f"{self.description}\n"
        instructions = [self.instructions] if isinstance(self.instructions, str) else list(self.instructions or ())
        if instructions:
            content += _render_instructions(instructions) + "\n\n"
        additional = [_MARKDOWN_INSTRUCTION] if self.markdown else []
        if additional:
            content += "<additional_information>" + "".join(f"\n- {line}" for line in additional)
            content += "\n</additional_information>\n\n"
        # agno tests the unstripped text: a blank description still yields an (empty) system message
        return content.strip() if content else None


def _render_instructions(instructions: Sequence[str]) -> str:
    """Render instructions as agno does (`render_instructions`): bullets; multi-line ones stay blocks."""
    if len(instructions) == 1:
        return instructions[0]
    if not any("\n" in line.strip() for line in instructions):
        return "\n".join(f"- {line.strip()}" for line in instructions)
    return "\n\n".join(line if "\n" in line.strip() else f"- {line.strip()}" for line in instructions)


def _as_tool(t: Tool | Callable[..., Any] | Mapping[str, Any]) -> Tool:
    if isinstance(t, Tool):
        return t
    if isinstance(t, Mapping):
        return Tool.from_schema(t)
    return Tool.from_callable(t)
