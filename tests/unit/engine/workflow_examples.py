"""One example of each workflow event's own fields, for the event round-trip tests of `test_events`."""

from __future__ import annotations

from typing import Any

from engine import StepOutput

OUT = StepOutput(
    step_name="a", step_id="sid-a", step_type="Step", executor_type="function", executor_name="fa", content="A"
)
NESTED = StepOutput(step_name="par", step_id="sid-p", step_type="Parallel", content="joined", steps=(OUT,))
STEP = {
    "workflow_id": "w",
    "workflow_name": "W",
    "path": "0.1",
    "step_id": "sid",
    "step_name": "a",
    "step_index": [0, 1],
}

WORKFLOW_EXAMPLES: dict[str, dict[str, Any]] = {
    "WorkflowStarted": {
        "workflow_id": "w", "workflow_name": "W", "input": "hi", "user_id": "u1", "additional_data": {"k": 1},
        "workflow_steps": ({"name": "a", "description": None, "type": "Step"},), "session_state": {"n": 1},
        "run_session_state": {"n": 1},
    },
    "StepStarted": {**STEP, "parent_step_id": "sid-parent"},
    "StepExecutionRequested": STEP,
    "StepExecuted": {
        **STEP, "part": "done", "output": OUT, "attempts": 2, "state_changes": {"n": 2}, "state_removed": ("x",)
    },
    "SessionStateUpdated": {**STEP, "session_state": {"n": 2, "d": {"a": [1]}}},
    "StepOutput": {**STEP, "step_output": OUT},
    "StepCompleted": {**STEP, "content": "A", "step_response": OUT},
    "StepSkipped": {**STEP, "output": OUT},
    "StepError": {**STEP, "error": "boom"},
    "StepsExecutionStarted": {**STEP, "steps_count": 2},
    "StepsExecutionCompleted": {
        **STEP, "steps_count": 2, "executed_steps": 1, "step_results": (OUT,), "output": NESTED
    },
    "ParallelExecutionStarted": {**STEP, "parallel_step_count": 2},
    "ParallelExecutionCompleted": {**STEP, "parallel_step_count": 1, "step_results": (OUT,), "output": NESTED},
    "ConditionExecutionStarted": {**STEP, "condition_result": True},
    "ConditionExecutionCompleted": {
        **STEP, "condition_result": False, "executed_steps": 1, "branch": "else", "step_results": (OUT,),
        "output": NESTED,
    },
    "RouterExecutionStarted": {**STEP, "selected_steps": ("a",)},
    "RouterExecutionCompleted": {
        **STEP, "selected_steps": ("a",), "executed_steps": 1, "step_results": (OUT,), "output": NESTED
    },
    "LoopExecutionStarted": {**STEP, "max_iterations": 3},
    "LoopIterationStarted": {**STEP, "iteration": 1, "max_iterations": 3},
    "LoopIterationCompleted": {
        **STEP, "iteration": 1, "max_iterations": 3, "iteration_results": (OUT,), "should_continue": False
    },
    "LoopExecutionCompleted": {
        **STEP, "total_iterations": 1, "max_iterations": 3, "all_results": ((OUT,),), "output": NESTED
    },
    "WorkflowCompleted": {
        "workflow_id": "w", "workflow_name": "W", "content": "A", "step_results": (NESTED,), "metadata": {"m": 1},
        "metrics": {"steps": {}, "duration": 0.5},
    },
    "WorkflowError": {"workflow_id": "w", "error": "boom", "error_type": "RuntimeError", "error_id": "e1"},
    "WorkflowCancelled": {"workflow_id": "w", "reason": "stop", "content": "stop"},
}  # fmt: skip
