"""Commands that drive runs: imperative requests on the run-commands topic that `decide` may reject."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ._codec import Converter, FieldSpec, build_specs, from_fields, nested_tuple
from .errors import SchemaError
from .messages import Requirement, ToolExecution

__all__ = [
    "COMMAND_TYPES",
    "CancelRun",
    "Command",
    "ContinueRun",
    "ContinueTeamRun",
    "StartRun",
    "StartTeamRun",
    "StartWorkflow",
    "decode_command",
]

_SPECS: dict[type, tuple[FieldSpec, ...]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base of run commands. Keyed by `session_id` on the commands topic."""

    command: ClassVar[str] = ""
    _codecs: ClassVar[dict[str, Converter]] = {}
    run_id: str
    session_id: str
    created_at: int
    """Unix seconds at which the API accepted the command."""

    @classmethod
    def _specs(cls) -> tuple[FieldSpec, ...]:
        specs = _SPECS.get(cls)
        if specs is None:
            specs = build_specs(cls, cls._codecs, frozenset(), frozenset())
            _SPECS[cls] = specs
        return specs

    @property
    def command_id(self) -> str:
        """Deterministic id of the command: `run_id:<command>`."""
        return f"{self.run_id}:{self.command}"

    def to_dict(self) -> dict[str, Any]:
        """Return the record value: `{"command": tag, ...fields}` with None values dropped."""
        d: dict[str, Any] = {"command": self.command}
        for spec in self._specs():
            value = getattr(self, spec.name)
            if value is None:
                continue
            if spec.to_json is not None:
                value = spec.to_json(value)
            d[spec.name] = list(value) if isinstance(value, tuple) else value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Command:
        """Build the command from a record value.

        Raises:
            SchemaError: a required field is missing or has the wrong shape.
        """
        command: Command = from_fields(cls, cls._specs(), d, cls.command)
        return command


@dataclass(frozen=True, slots=True, kw_only=True)
class StartRun(Command):
    """Start a run of `agent_id` in `session_id` with the user's `message`.

    Produces: RunStarted, ModelRequested (and a ModelWork item).

    Raises:
        UnknownAgentError: `agent_id` is not registered.
        CommandRejectedError: the run id is already in use.
    """

    command: ClassVar[str] = "StartRun"
    agent_id: str
    message: str
    user_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StartTeamRun(Command):
    """Start a run of team `team_id` in `session_id` with the user's `message` (`POST /teams/{id}/runs`).

    Produces: TeamRunStarted, then the leader's ModelRequested (and a ModelWork item); in tasks mode
    TeamTaskIterationStarted first. An unknown team yields TeamRunError.
    """

    command: ClassVar[str] = "StartTeamRun"
    team_id: str
    message: str
    user_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRun(Command):
    """Cancel a running run at its next step boundary.

    Produces: RunCancelled (for a team run: RunCancelled of its running member runs, then TeamRunCancelled;
    for a member run: also its team's). A cancel for a run that already ended is ignored (idempotent).
    """

    command: ClassVar[str] = "CancelRun"
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContinueRun(Command):
    """Resume a paused run with the human's answers (agno `continue_run(run_id, updated_tools=...)`).

    `tools` are agno ToolExecution dicts as the client sent them, matched to the held calls by
    `tool_call_id`: `confirmed` / `confirmation_note` for confirmation, `user_input_schema[].value` for
    user input, `result` for external execution. A held call the client left out is rejected if it needed
    confirmation.

    Produces: RunContinued, then ToolCallRequested for the calls to execute (or ModelRequested). A
    ContinueRun for a run that is not paused, or one lacking an external result, is ignored (the HTTP
    layer answers it with agno's error first; see `engine.hitl.continue_problem`).
    """

    command: ClassVar[str] = "ContinueRun"
    _codecs: ClassVar[dict[str, Converter]] = {"tools": nested_tuple(ToolExecution)}
    tools: tuple[ToolExecution, ...] = ()
    user_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContinueTeamRun(Command):
    """Resume a paused team run with the human's answers (agno `Team.continue_run(run_id, requirements=...)`).

    `requirements` are the team run's agno RunRequirement dicts as the client sent them back, resolved
    (`confirmation`, `external_execution_result`, `user_input_schema` values, or the same answers on
    `tool_execution`). Those naming a member run (`member_run_id`) continue that member run; the others
    resolve the leader's own held calls.

    Produces: TeamRequirementsResolved, then each member's RunContinued and its next steps; once those member
    runs have ended, TeamRunContinued and the leader's next model turn (or TeamRunPaused again when a member
    paused again). Ignored for a team run that is not paused or requirements `engine.team_continue_problem`
    refuses (the HTTP layer answers those with an error first).
    """

    command: ClassVar[str] = "ContinueTeamRun"
    _codecs: ClassVar[dict[str, Converter]] = {"requirements": nested_tuple(Requirement)}
    requirements: tuple[Requirement, ...] = ()
    user_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StartWorkflow(Command):
    """Start a run of workflow `workflow_id` in `session_id` with the user's `message` as its input.

    Produces: WorkflowStarted, then the first step's events (StepStarted and its agent run's RunStarted,
    or its function work item). An unknown workflow yields a WorkflowError at seq 0. A CancelRun with the
    workflow run's id cancels it.
    """

    command: ClassVar[str] = "StartWorkflow"
    workflow_id: str
    message: str
    user_id: str | None = None
    additional_data: dict[str, Any] | None = None
    """agno's `additional_data` form field, passed to every step as `StepInput.additional_data`."""
    session_state: dict[str, Any] | None = None
    """agno's `session_state` argument: deep-merged over the session's stored state for this run."""


COMMAND_TYPES: dict[str, type[Command]] = {
    cls.command: cls for cls in (StartRun, StartTeamRun, CancelRun, ContinueRun, ContinueTeamRun, StartWorkflow)
}


def decode_command(d: dict[str, Any]) -> Command:
    """Decode a run-commands record value.

    Raises:
        SchemaError: the `command` tag is missing or unknown, or a field does not decode.
    """
    tag = d.get("command")
    cls = COMMAND_TYPES.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise SchemaError(f"unknown command {tag!r}; known: {', '.join(sorted(COMMAND_TYPES))}")
    for name in ("run_id", "session_id"):
        if not isinstance(d.get(name), str) or not d[name]:
            raise SchemaError(f"{tag}: field {name!r} must be a non-empty string")
    return cls.from_dict(d)
