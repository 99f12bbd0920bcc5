"""The Team definition: a leader model that delegates to member agents, in agno's parameter names.

`Team(id, members, model, mode=...)` is configuration, immutable and shared, like `Agent`. `decide` runs a
team run as a run of its `leader` (an `Agent` whose tools are the team tools of the mode and whose system
message lists the members), and each delegation as a member run in the team's session
(`engine.team_run`). Modes (agno's `TeamMode`; the older booleans are accepted):

- `coordinate` (default): `delegate_task_to_member(member_id, task)`; the leader may delegate several times
  and synthesizes the answer.
- `route` (`respond_directly=True`): the same tool; the member's answer ends the run as the team's answer.
- `broadcast` (`delegate_to_all_members=True`): `delegate_task_to_members(task)` runs every member on the
  same task concurrently; the leader synthesizes.
- `tasks`: a task list with dependencies (`create_task`, `update_task_status`, `list_tasks`,
  `add_task_note`, `mark_all_complete`, `execute_task`, `execute_tasks_parallel`), worked in iterations of
  model turns until the goal is complete or `max_iterations` is reached.

Members are `Agent`s (nested teams are not supported). Member ids must be unique within the team.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._team_prompt import MODE_INSTRUCTIONS, OPENING, TOOL_SCHEMAS
from .agent import Agent, ModelRef
from .errors import ConfigurationError
from .tools import Tool

__all__ = ["MODE_TOOLS", "TEAM_MODES", "Team", "TeamMode", "agent_registry"]

TeamMode = Literal["coordinate", "route", "broadcast", "tasks"]
TEAM_MODES: tuple[TeamMode, ...] = ("coordinate", "route", "broadcast", "tasks")

MODE_TOOLS: dict[str, tuple[str, ...]] = {
    "coordinate": ("delegate_task_to_member",),
    "route": ("delegate_task_to_member",),
    "broadcast": ("delegate_task_to_members",),
    "tasks": (
        "create_task",
        "update_task_status",
        "list_tasks",
        "add_task_note",
        "mark_all_complete",
        "execute_task",
        "execute_tasks_parallel",
    ),
}
"""The leader's tools per mode, in the order they are offered to the model."""


@dataclass(frozen=True, kw_only=True)
class Team:
    """A team of member agents led by a model.

    Attributes:
        id: unique team id used in routes (`/teams/{id}/runs`) and events (`team_id`).
        members: the member agents, in the order they are listed to the leader (and joined in broadcast).
        model: the leader's model (an adapter from `adapters.models`).
        name: display name (`team_name` in events); defaults to the id.
        mode: `coordinate` (default), `route`, `broadcast` or `tasks`.
        respond_directly: agno's older flag for `route` (used when `mode` is None).
        delegate_to_all_members: agno's older flag for `broadcast` (used when `mode` is None).
        description: placed in the leader's system message (`<description>`).
        role: placed in the leader's system message (`<your_role>`).
        instructions: one string or a list of instructions for the leader's system message.
        markdown: add agno's markdown line to the leader's system message.
        max_iterations: tasks mode: most iterations of the task loop (agno default 10).
        determine_input_for_members: members get the leader's `task` (True, default) or the user's input.
        add_history_to_context: include earlier runs of this team in the session as the leader's history.
        num_history_runs: how many (default 3).
        tool_call_limit: most team tool calls per run; further calls get agno's "limit reached" result.
        add_member_tools_to_context: list each member's tools to the leader.
        add_name_to_context: tell the leader its name.
        tools: the leader's own tools, offered after the mode's (`Tool` objects, callables or JSON-schema
            dicts, as an Agent's); executed by the tool worker, or held for a human (requires_confirmation,
            requires_user_input, external_execution), which pauses the team run.
    """

    id: str
    members: Sequence[Agent]
    model: ModelRef
    name: str = ""
    mode: TeamMode | None = None
    respond_directly: bool = False
    delegate_to_all_members: bool = False
    description: str | None = None
    role: str | None = None
    instructions: str | Sequence[str] | None = None
    markdown: bool = False
    max_iterations: int = 10
    determine_input_for_members: bool = True
    add_history_to_context: bool = False
    num_history_runs: int | None = None
    tool_call_limit: int | None = None
    add_member_tools_to_context: bool = False
    add_name_to_context: bool = False
    tools: Sequence[Tool | Callable[..., Any] | Mapping[str, Any]] = ()
    _leader: Agent | None = field(init=False, repr=False, compare=False, default=None)
    _by_id: dict[str, Agent] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise ConfigurationError("Team.id must be a non-empty string")
        if not isinstance(self.model, ModelRef):
            raise ConfigurationError(f"Team {self.id!r}: model must have id, provider and name; got {self.model!r}")
        mode = self.mode
        if mode is None:
            mode = "route" if self.respond_directly else "broadcast" if self.delegate_to_all_members else "coordinate"
        if mode not in TEAM_MODES:
            raise ConfigurationError(f"Team {self.id!r}: mode must be one of {', '.join(TEAM_MODES)}; got {mode!r}")
        if self.max_iterations < 1:
            raise ConfigurationError(f"Team {self.id!r}: max_iterations must be >= 1")
        by_id: dict[str, Agent] = {}
        for member in self.members:
            if not isinstance(member, Agent):
                raise ConfigurationError(f"Team {self.id!r}: members must be engine.Agent; got {member!r}")
            if member.id in by_id:
                raise ConfigurationError(f"Team {self.id!r}: two members have the id {member.id!r}")
            by_id[member.id] = member
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "members", tuple(self.members))
        object.__setattr__(self, "_by_id", by_id)
        if not self.name:
            object.__setattr__(self, "name", self.id)
        leader = Agent(
            id=self.id,
            name=self.name,
            model=self.model,
            tools=[*(Tool.from_schema(TOOL_SCHEMAS[n]) for n in MODE_TOOLS[mode]), *self.tools],
            tool_call_limit=self.tool_call_limit,
            system_message=self.system_message_content(),
        )
        object.__setattr__(self, "_leader", leader)

    @property
    def team_mode(self) -> TeamMode:
        """The normalised mode."""
        assert self.mode is not None
        return self.mode

    @property
    def leader(self) -> Agent:
        """The leader as an agent: id and name of the team, its model, the mode's tools and system message."""
        assert self._leader is not None
        return self._leader

    def member(self, member_id: str) -> Agent | None:
        """The member with id `member_id`, or None."""
        return self._by_id.get(member_id)

    @property
    def history_runs(self) -> int:
        """Earlier team runs replayed as the leader's history; 0 when history is off."""
        if not self.add_history_to_context:
            return 0
        return 3 if self.num_history_runs is None else self.num_history_runs

    def members_content(self) -> str:
        """Agno `get_members_system_message_content(indent=0)`: one `<member id=… name=…>` block per member."""
        content = ""
        for member in self.members:
            content += f'<member id="{member.id}" name="{member.name}">\n'
            if member.role is not None:
                content += f"  Role: {member.role}\n"
            if member.description is not None:
                content += f"  Description: {member.description}\n"
            if self.add_member_tools_to_context and member.tool_list:
                content += f"  Tools: {', '.join(t.name for t in member.tool_list)}\n"
            content += "</member>\n"
        return content

    def system_message_content(self) -> str:
        """The leader's system message as agno builds it (`team/_messages.py:get_system_message`).

        Blocks in agno's order: the opening, `<team_members>`, the mode's `<how_to_respond>` (when the team
        has members), `<description>`, `<your_role>`, the instructions, `<additional_information>`
        (markdown, name); the whole text stripped.
        """
        content = ""
        if self.members:
            content += OPENING + "\n<team_members>\n" + self.members_content() + "</team_members>\n"
            content += "\n<how_to_respond>\n" + MODE_INSTRUCTIONS[self.team_mode] + "</how_to_respond>\n\n"
        if self.description is not None:
            content += f"<description>\n{self.description}\n</description>\n\n"
        if self.role is not None:
            content += f"<your_role>\n{self.role}\n</your_role>\n\n"
        instructions = [self.instructions] if isinstance(self.instructions, str) else list(self.instructions or ())
        if len(instructions) > 1:
            content += "".join(f"- {line}\n" for line in instructions)
        elif instructions:
            content += instructions[0] + "\n\n"
        additional = ["Use markdown to format your answers."] if self.markdown else []
        if self.add_name_to_context:
            additional.append(f"Your name is: {self.name}.")
        if additional:
            content += "<additional_information>" + "".join(f"\n- {line}" for line in additional)
            content += "\n</additional_information>\n\n"
        return content.strip()


def agent_registry(agents: Mapping[str, Agent], teams: Mapping[str, Team]) -> dict[str, Agent]:
    """Every agent a worker may run: the registered agents, the teams' members and the teams' leaders.

    Raises:
        ConfigurationError: two different agents (or an agent and a team) share an id.
    """
    registry = dict(agents)
    for team in teams.values():
        for agent in (*team.members, team.leader):
            known = registry.get(agent.id)
            if known is not None and known is not agent:
                what = "team" if agent is team.leader else f"member of team {team.id!r}"
                raise ConfigurationError(f"id {agent.id!r} of a {what} is already used by another agent or team")
            registry[agent.id] = agent
    return registry
