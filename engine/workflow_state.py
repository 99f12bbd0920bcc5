"""State of a workflow run (the fold of its events) and the workflow fields of a step's agent run.

A workflow run lives in its session's state (`SessionState.workflows`) next to the agent runs of its
steps, which are ordinary runs in the same session (same partition) whose ids are
`<workflow run id>~<execution path>` (`step_run_id`): deterministic, so a replay or a rebuild produces
the same ids, and any consumer can tell a step's run from its id alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .workflow_types import StepOutput

__all__ = ["STEP_RUN_SEPARATOR", "StepContext", "WorkflowRunState", "WorkflowStatus", "owner_run_id", "step_run_id"]

STEP_RUN_SEPARATOR = "~"
"""Separates the workflow run id from the execution path in a step's agent run id."""

WorkflowStatus = Literal["RUNNING", "COMPLETED", "ERROR", "CANCELLED"]


def step_run_id(workflow_run_id: str, path: str) -> str:
    """The run id of the agent run executing the step at `path` of a workflow run."""
    return f"{workflow_run_id}{STEP_RUN_SEPARATOR}{path}"


def owner_run_id(run_id: str) -> str:
    """The workflow run id of a step's agent run id; any other run id unchanged."""
    return run_id.split(STEP_RUN_SEPARATOR, 1)[0]


@dataclass(frozen=True, slots=True)
class StepContext:
    """agno's workflow fields carried by every event of a step's agent run (see `RunEvent`)."""

    workflow_id: str
    workflow_run_id: str
    step_id: str
    step_name: str
    step_index: int | list[int]

    def fields(self) -> dict[str, Any]:
        """The event fields: workflow_id, workflow_run_id, step_id, step_name, step_index."""
        return {
            "workflow_id": self.workflow_id,
            "workflow_run_id": self.workflow_run_id,
            "step_id": self.step_id,
            "step_name": self.step_name,
            "step_index": self.step_index,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowRunState:
    """One workflow run in flight. Paths are execution paths (see `engine.workflow`)."""

    run_id: str
    session_id: str
    workflow_id: str
    workflow_name: str
    user_id: str | None
    input: Any
    additional_data: dict[str, Any] | None
    started_at: int
    """Unix seconds of WorkflowStarted."""
    seq: int = 0
    """Highest decision seq applied."""
    status: WorkflowStatus = "RUNNING"
    started: frozenset[str] = frozenset()
    """Paths whose Started event was decided (steps, containers, loop iterations `<loop>@<n>`)."""
    outputs: Mapping[str, StepOutput | None] = field(default_factory=dict)
    """Finished steps and containers by path; None for a Condition or Router that ran no branch."""
    requested: Mapping[str, int] = field(default_factory=dict)
    """Function steps waiting for the tool worker: path -> seq of their StepExecutionRequested."""
    decisions: Mapping[str, Any] = field(default_factory=dict)
    """Recorded results of user callables: a Condition's bool, a Router's chosen names, and per loop
    iteration path, whether the loop goes on."""
    session_state: Mapping[str, Any] = field(default_factory=dict)
    """The run's session state (agno `run_context.session_state`): as WorkflowStarted resolved it, then as
    the last SessionStateUpdated left it. Treated as immutable: a change replaces the whole mapping."""

    def in_flight(self, path: str) -> bool:
        """True when the step at `path` started and has no output yet."""
        return path in self.started and path not in self.outputs
