"""Workflow run events: agno's `WorkflowRunEvent` strings and fields, plus the engine's own decision events.

Every event of a workflow run has the workflow run's `run_id` and is numbered by the orchestrator like
an agent run's decisions (`seq`; the tool worker's answer to a function step reuses the seq of the
request, part "done"). agno's base fields are `workflow_id`, `workflow_name`, `session_id`, `run_id`,
`step_id`, `parent_step_id`, `nested_depth`; the step events add `step_name` and `step_index`.

Internal fields (never sent to clients): `path`, the execution path of the step an event is about
(see `engine.workflow`), and `output`, a container's own joined StepOutput on its Completed event; both
let `evolve` rebuild the run without the definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ._codec import Converter, nested, nested_tuple
from .events import RunEvent
from .workflow_types import StepOutput

__all__ = [
    "WORKFLOW_EVENT_TYPES",
    "ConditionExecutionCompleted",
    "ConditionExecutionStarted",
    "LoopExecutionCompleted",
    "LoopExecutionStarted",
    "LoopIterationCompleted",
    "LoopIterationStarted",
    "ParallelExecutionCompleted",
    "ParallelExecutionStarted",
    "RouterExecutionCompleted",
    "RouterExecutionStarted",
    "SessionStateUpdated",
    "StepCompleted",
    "StepError",
    "StepExecuted",
    "StepExecutionRequested",
    "StepOutputEvent",
    "StepSkipped",
    "StepStarted",
    "StepsExecutionCompleted",
    "StepsExecutionStarted",
    "WorkflowCancelled",
    "WorkflowCompleted",
    "WorkflowError",
    "WorkflowEvent",
    "WorkflowStarted",
]

_HIDDEN = frozenset({"agent_id", "agent_name", "workflow_run_id", "path"})
_OUTPUT: dict[str, Converter] = {"output": nested(StepOutput)}
_RESULTS: dict[str, Converter] = {"step_results": nested_tuple(StepOutput), **_OUTPUT}
_ALL_RESULTS: Converter = (
    lambda v: [[o.to_dict() for o in it] for it in v],
    lambda d: tuple(tuple(StepOutput.from_dict(o) for o in it) for it in d or ()),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowEvent(RunEvent):
    """Base of workflow run events (agno `BaseWorkflowRunOutputEvent`)."""

    _internal: ClassVar[frozenset[str]] = _HIDDEN
    workflow_name: str = ""
    parent_step_id: str | None = None
    """step_id of the container a nested step's event belongs to."""
    path: str = ""
    """Execution path of the step this event is about (internal); "" for run-level events."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowStarted(WorkflowEvent):
    """The workflow run started (seq 0). Records the StartWorkflow inputs (internal fields)."""

    event: ClassVar[str] = "WorkflowStarted"
    _internal: ClassVar[frozenset[str]] = _HIDDEN | {
        "input", "user_id", "additional_data", "workflow_steps", "session_state", "run_session_state",
    }  # fmt: skip
    input: Any = None
    user_id: str | None = None
    additional_data: dict[str, Any] | None = None
    workflow_steps: tuple[dict[str, Any], ...] = ()
    """agno's `workflow_data.steps` summary of the definition, for the sessions view."""
    session_state: dict[str, Any] | None = None
    """The run's initial session state, resolved when deciding the start (agno `_load_session_state`): the
    session's stored state (the workflow's `session_state` defaults for a session without one) deep-merged
    with the run's `session_state` argument."""
    run_session_state: dict[str, Any] | None = None
    """The run's `session_state` argument as given (StartWorkflow), so a replay re-decides the start."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStarted(WorkflowEvent):
    """A Step began: its agent run (RunStarted follows) or its function work item was started."""

    event: ClassVar[str] = "StepStarted"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepExecutionRequested(WorkflowEvent):
    """Engine decision: run a Step's function executor. Internal; a `StepWork` item goes out with it."""

    event: ClassVar[str] = "StepExecutionRequested"
    is_internal: ClassVar[bool] = True


@dataclass(frozen=True, slots=True, kw_only=True)
class StepExecuted(WorkflowEvent):
    """The tool worker ran a function executor (part "done"): its output, or the error of the last attempt.

    Internal. Never executed again once in the log (see `streams.worker`).
    """

    event: ClassVar[str] = "StepExecuted"
    is_internal: ClassVar[bool] = True
    _codecs: ClassVar[dict[str, Converter]] = _OUTPUT
    output: StepOutput | None = None
    error: str | None = None
    attempts: int = 1
    state_changes: dict[str, Any] | None = None
    """Top-level keys of the session state the function set or changed (it takes a `run_context`); None
    when it cannot change the state."""
    state_removed: tuple[str, ...] = ()
    """Top-level keys of the session state the function deleted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStateUpdated(WorkflowEvent):
    """Decision: a function step changed the run's session state; `session_state` is the whole new state.

    Internal. Decided from the tool worker's StepExecuted, just before the step's output, so a fold (and a
    replay) reads the state from the log and never calls the function again.
    """

    event: ClassVar[str] = "SessionStateUpdated"
    is_internal: ClassVar[bool] = True
    session_state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepOutputEvent(WorkflowEvent):
    """agno's `StepOutput` event: a top-level function step's output, just before its StepCompleted.

    (Named `...Event` as agno's class is, so it does not clash with the `StepOutput` data type.)
    """

    event: ClassVar[str] = "StepOutput"
    _codecs: ClassVar[dict[str, Converter]] = {"step_output": nested(StepOutput)}
    step_output: StepOutput | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepCompleted(WorkflowEvent):
    """A Step finished: `step_response` is its output (also when its agent run failed: `success` false)."""

    event: ClassVar[str] = "StepCompleted"
    _codecs: ClassVar[dict[str, Converter]] = {"step_response": nested(StepOutput)}
    content: Any = None
    content_type: str = "str"
    step_response: StepOutput | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepSkipped(WorkflowEvent):
    """A failed Step's error output was recorded and the workflow goes on (agno sends no event). Internal."""

    event: ClassVar[str] = "StepSkipped"
    is_internal: ClassVar[bool] = True
    _codecs: ClassVar[dict[str, Converter]] = _OUTPUT
    output: StepOutput | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepError(WorkflowEvent):
    """A Step failed with `on_error="fail"`; WorkflowError follows."""

    event: ClassVar[str] = "StepError"
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepsExecutionStarted(WorkflowEvent):
    """A Steps group began."""

    event: ClassVar[str] = "StepsExecutionStarted"
    steps_count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepsExecutionCompleted(WorkflowEvent):
    """A Steps group finished; `step_results` are its children's outputs."""

    event: ClassVar[str] = "StepsExecutionCompleted"
    _internal: ClassVar[frozenset[str]] = _HIDDEN | {"output"}
    _codecs: ClassVar[dict[str, Converter]] = _RESULTS
    steps_count: int | None = None
    executed_steps: int | None = None
    step_results: tuple[StepOutput, ...] = ()
    output: StepOutput | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelExecutionStarted(WorkflowEvent):
    """A Parallel began: all its branches start in the same decision."""

    event: ClassVar[str] = "ParallelExecutionStarted"
    parallel_step_count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelExecutionCompleted(WorkflowEvent):
    """Every branch of a Parallel finished; `step_results` in declaration order, whatever the finishing order."""

    event: ClassVar[str] = "ParallelExecutionCompleted"
    _internal: ClassVar[frozenset[str]] = _HIDDEN | {"output"}
    _codecs: ClassVar[dict[str, Converter]] = _RESULTS
    parallel_step_count: int | None = None
    step_results: tuple[StepOutput, ...] = ()
    output: StepOutput | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionExecutionStarted(WorkflowEvent):
    """A Condition began; `condition_result` is the evaluator's answer (recorded, so replays compare it)."""

    event: ClassVar[str] = "ConditionExecutionStarted"
    condition_result: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionExecutionCompleted(WorkflowEvent):
    """A Condition finished; `branch` is "if" or "else" (absent when no branch ran)."""

    event: ClassVar[str] = "ConditionExecutionCompleted"
    _internal: ClassVar[frozenset[str]] = _HIDDEN | {"output"}
    _codecs: ClassVar[dict[str, Converter]] = _RESULTS
    condition_result: bool | None = None
    executed_steps: int | None = None
    branch: str | None = None
    step_results: tuple[StepOutput, ...] = ()
    output: StepOutput | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterExecutionStarted(WorkflowEvent):
    """A Router began; `selected_steps` are the names the selector chose (recorded, so replays compare it)."""

    event: ClassVar[str] = "RouterExecutionStarted"
    selected_steps: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterExecutionCompleted(WorkflowEvent):
    """A Router's chosen steps finished."""

    event: ClassVar[str] = "RouterExecutionCompleted"
    _internal: ClassVar[frozenset[str]] = _HIDDEN | {"output"}
    _codecs: ClassVar[dict[str, Converter]] = _RESULTS
    selected_steps: tuple[str, ...] = ()
    executed_steps: int | None = None
    step_results: tuple[StepOutput, ...] = ()
    output: StepOutput | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopExecutionStarted(WorkflowEvent):
    """A Loop began."""

    event: ClassVar[str] = "LoopExecutionStarted"
    max_iterations: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopIterationStarted(WorkflowEvent):
    """Iteration `iteration` (1-based) of a Loop began; `path` is the iteration's path (`<loop>@<n>`)."""

    event: ClassVar[str] = "LoopIterationStarted"
    iteration: int | None = None
    max_iterations: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopIterationCompleted(WorkflowEvent):
    """An iteration finished; `should_continue` records the end condition's verdict (false = loop ends)."""

    event: ClassVar[str] = "LoopIterationCompleted"
    _codecs: ClassVar[dict[str, Converter]] = {"iteration_results": nested_tuple(StepOutput)}
    iteration: int | None = None
    max_iterations: int | None = None
    iteration_results: tuple[StepOutput, ...] = ()
    should_continue: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopExecutionCompleted(WorkflowEvent):
    """A Loop finished after `total_iterations` iterations."""

    event: ClassVar[str] = "LoopExecutionCompleted"
    _internal: ClassVar[frozenset[str]] = _HIDDEN | {"output"}
    _codecs: ClassVar[dict[str, Converter]] = {"all_results": _ALL_RESULTS, **_OUTPUT}
    total_iterations: int | None = None
    max_iterations: int | None = None
    all_results: tuple[tuple[StepOutput, ...], ...] = ()
    output: StepOutput | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowCompleted(WorkflowEvent):
    """The workflow run finished. Terminal.

    `step_executor_runs` (the step agent runs, agno `RunOutput` dicts) is not recorded: the HTTP layer
    and the sessions view fold it from those runs' own events.
    """

    event: ClassVar[str] = "WorkflowCompleted"
    is_terminal: ClassVar[bool] = True
    _codecs: ClassVar[dict[str, Converter]] = {"step_results": nested_tuple(StepOutput)}
    content: Any = None
    content_type: str = "str"
    step_results: tuple[StepOutput, ...] = ()
    step_executor_runs: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] | None = None
    """agno `WorkflowMetrics.to_dict()`: `{steps: {name: StepMetrics}, duration}` (seconds)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowError(WorkflowEvent):
    """The workflow run failed. Terminal. `error` is the message."""

    event: ClassVar[str] = "WorkflowError"
    is_terminal: ClassVar[bool] = True
    error: str | None = None
    error_type: str | None = None
    error_id: str | None = None
    additional_data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowCancelled(WorkflowEvent):
    """The workflow run was cancelled by a CancelRun. Terminal; its running step agent runs end with RunCancelled."""

    event: ClassVar[str] = "WorkflowCancelled"
    is_terminal: ClassVar[bool] = True
    reason: str | None = None
    content: str | None = None


WORKFLOW_EVENT_TYPES: tuple[type[WorkflowEvent], ...] = (
    WorkflowStarted,
    StepStarted,
    StepExecutionRequested,
    StepExecuted,
    SessionStateUpdated,
    StepOutputEvent,
    StepCompleted,
    StepSkipped,
    StepError,
    StepsExecutionStarted,
    StepsExecutionCompleted,
    ParallelExecutionStarted,
    ParallelExecutionCompleted,
    ConditionExecutionStarted,
    ConditionExecutionCompleted,
    RouterExecutionStarted,
    RouterExecutionCompleted,
    LoopExecutionStarted,
    LoopIterationStarted,
    LoopIterationCompleted,
    LoopExecutionCompleted,
    WorkflowCompleted,
    WorkflowError,
    WorkflowCancelled,
)
"""Every workflow event class, for the registry in `engine.schema`."""
