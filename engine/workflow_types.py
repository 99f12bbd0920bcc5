"""Workflow data passed between steps, in agno's shapes: `StepInput`, `StepOutput`, `HumanReview`, `RunContext`.

`StepOutput.to_dict()` writes agno's `StepOutput.to_dict()` keys in agno's order (media fields always
null, `steps` only when nested outputs exist); `StepInput` keeps agno's helpers (`get_step_content`,
`get_step_output`, `get_all_previous_content`, `get_last_step_content`). Both are immutable: they travel
inside events and work items, so a step's input and output are facts of the log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigurationError, SchemaError

__all__ = [
    "HumanReview",
    "OnError",
    "RunContext",
    "StepInput",
    "StepOutput",
    "as_step_output",
    "content_text",
    "deepest_content",
]

OnError = Literal["fail", "skip"]


def content_text(content: Any) -> str | None:
    """A content value as text, as agno's `get_input_as_string` renders it (JSON for dicts and lists)."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, dict | list):
        return json.dumps(content, indent=2, default=str, ensure_ascii=False)
    return str(content)


def _json_content(content: Any) -> Any:
    """Agno's StepOutput content serialisation: str, dict and list kept, anything else `str()`."""
    if content is None or isinstance(content, str | dict | list):
        return content
    if hasattr(content, "model_dump"):  # a pydantic model, as agno's `model_dump(mode="json")`
        return content.model_dump(exclude_none=True, mode="json")
    return str(content)


@dataclass(slots=True, kw_only=True)
class RunContext:
    """The part of agno's `RunContext` a function step gets when it has a `run_context` parameter.

    `session_state` is the workflow run's session state as the step was requested: a private copy the
    function may change in place (top-level keys set, changed or deleted are sent back and recorded).
    """

    run_id: str
    """The workflow run's id."""
    session_id: str
    user_id: str | None = None
    workflow_id: str | None = None
    workflow_name: str | None = None
    session_state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class HumanReview:
    """The part of agno's `HumanReview` agnostream supports: what a failed step does.

    Attributes:
        on_error: "skip" (agno's default): the step's output records the error (`success=False`) and the
            workflow goes on; "fail": the workflow ends with StepError + WorkflowError.
    """

    on_error: OnError = "skip"

    def __post_init__(self) -> None:
        if self.on_error not in ("fail", "skip"):
            raise ConfigurationError(f"HumanReview.on_error must be 'fail' or 'skip', got {self.on_error!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class StepOutput:
    """What a step produced (agno `StepOutput`); a container's output nests its children's in `steps`.

    A function executor returns one (or a plain value, which becomes its `content`). `stop=True` ends the
    workflow after this step (agno's early termination).
    """

    step_name: str | None = None
    step_id: str | None = None
    step_type: str | None = None
    """"Step", "Steps", "Parallel", "Condition", "Loop" or "Router"."""
    executor_type: str | None = None
    """"agent", "team", "function" ("parallel" for a Parallel's joined output); None for other containers."""
    executor_name: str | None = None
    content: Any = None
    """str, dict or list (anything else is stored as `str(content)`)."""
    step_run_id: str | None = None
    """Run id of the step's agent run."""
    metrics: dict[str, Any] | None = None
    """The agent run's agno `RunMetrics.to_dict()`."""
    success: bool = True
    error: str | None = None
    stop: bool = False
    is_paused: bool = False
    steps: tuple[StepOutput, ...] | None = None
    """Outputs of a container's children, in declaration (and iteration) order."""

    def to_dict(self) -> dict[str, Any]:
        """Agno's `StepOutput.to_dict()`."""
        d: dict[str, Any] = {
            "content": _json_content(self.content),
            "step_name": self.step_name,
            "step_id": self.step_id,
            "step_type": self.step_type,
            "executor_type": self.executor_type,
            "executor_name": self.executor_name,
            "step_run_id": self.step_run_id,
            "images": None,
            "videos": None,
            "audio": None,
            "files": None,
            "metrics": self.metrics,
            "success": self.success,
            "error": self.error,
            "stop": self.stop,
            "is_paused": self.is_paused,
        }
        if self.steps:
            d["steps"] = [s.to_dict() for s in self.steps]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StepOutput:
        """Read agno's `StepOutput.to_dict()` shape.

        Raises:
            SchemaError: `d` is not a mapping or `steps` is malformed.
        """
        if not isinstance(d, Mapping):
            raise SchemaError(f"StepOutput must be an object, got {type(d).__name__}")
        steps = d.get("steps")
        return cls(
            step_name=d.get("step_name"),
            step_id=d.get("step_id"),
            step_type=d.get("step_type"),
            executor_type=d.get("executor_type"),
            executor_name=d.get("executor_name"),
            content=d.get("content"),
            step_run_id=d.get("step_run_id"),
            metrics=d.get("metrics"),
            success=bool(d.get("success", True)),
            error=d.get("error"),
            stop=bool(d.get("stop", False)),
            is_paused=bool(d.get("is_paused", False)),
            steps=tuple(cls.from_dict(s) for s in steps) if steps else None,
        )


def as_step_output(value: Any) -> StepOutput:
    """A function executor's return value as its StepOutput: a StepOutput as is, anything else `str(value)`."""
    return value if isinstance(value, StepOutput) else StepOutput(content=str(value))


def deepest_content(output: StepOutput) -> Any:
    """The content of the innermost last output (agno `_get_deepest_step_content`)."""
    while output.steps:
        output = output.steps[-1]
    return output.content


def _search(output: StepOutput, name: str) -> StepOutput | None:
    for nested in output.steps or ():
        if nested.step_name == name:
            return nested
        found = _search(nested, name)
        if found is not None:
            return found
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepInput:
    """What a step receives (agno `StepInput`): the workflow input and the outputs of the steps before it.

    `previous_step_outputs` maps step names to outputs in execution order (inside a container: the
    container's inputs plus its earlier children); `previous_step_content` is the last one's content.
    """

    input: Any = None
    """The workflow run's input (the `message` of the request)."""
    previous_step_content: Any = None
    previous_step_outputs: Mapping[str, StepOutput] | None = None
    additional_data: dict[str, Any] | None = None
    """The request's `additional_data`."""
    images: None = None
    videos: None = None
    audio: None = None
    files: None = None
    workflow_session: None = field(default=None, repr=False)
    """Always None in agnostream (the session lives in the log)."""

    def get_input_as_string(self) -> str | None:
        """The input as text (JSON for dicts and lists)."""
        return content_text(self.input)

    def get_step_output(self, step_name: str) -> StepOutput | None:
        """The output of an earlier step by name, searched through nested containers too."""
        if not self.previous_step_outputs:
            return None
        direct = self.previous_step_outputs.get(step_name)
        if direct is not None:
            return direct
        for output in self.previous_step_outputs.values():
            found = _search(output, step_name)
            if found is not None:
                return found
        return None

    def get_step_content(self, step_name: str) -> Any:
        """An earlier step's content: a Parallel's is `{branch_name: content}`, a container's the deepest."""
        output = self.get_step_output(step_name)
        if output is None:
            return None
        if output.step_type == "Parallel" and output.steps:
            parallel: dict[str, str] = {}
            for sub in output.steps:
                if not sub.step_name or sub.content is None or not str(sub.content).strip():
                    continue
                if sub.steps:
                    for nested in sub.steps:
                        if nested.step_name and nested.content is not None and str(nested.content).strip():
                            parallel[nested.step_name] = str(nested.content)
                else:
                    parallel[sub.step_name] = str(sub.content)
            return parallel or str(output.content)
        return deepest_content(output)

    def get_all_previous_content(self) -> str:
        """Every earlier step's content as `=== name ===` sections."""
        parts = [
            f"=== {name} ===\n{output.content}"
            for name, output in (self.previous_step_outputs or {}).items()
            if output.content is not None and str(output.content).strip()
        ]
        return "\n\n".join(parts)

    def get_last_step_content(self) -> Any:
        """The deepest content of the last earlier step, or None."""
        if not self.previous_step_outputs:
            return None
        return deepest_content(list(self.previous_step_outputs.values())[-1])

    def to_dict(self) -> dict[str, Any]:
        """Agno's `StepInput.to_dict()` shape (outputs as StepOutput dicts, content kept as is)."""
        return {
            "input": _json_content(self.input),
            "previous_step_outputs": {k: v.to_dict() for k, v in (self.previous_step_outputs or {}).items()},
            "previous_step_content": _json_content(self.previous_step_content),
            "additional_data": self.additional_data,
            "images": None,
            "videos": None,
            "audio": None,
            "files": None,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StepInput:
        """Read the shape `to_dict` writes.

        Raises:
            SchemaError: an output does not decode.
        """
        outputs = d.get("previous_step_outputs") or {}
        return cls(
            input=d.get("input"),
            previous_step_content=d.get("previous_step_content"),
            previous_step_outputs={k: StepOutput.from_dict(v) for k, v in outputs.items()} or None,
            additional_data=d.get("additional_data"),
        )
