"""One fully populated example of each team event type (for the event round-trip tests)."""

from __future__ import annotations

from typing import Any

from engine import Message, Requirement, TaskBoard, TeamTask, ToolExecution

TASK = TeamTask(id="t-1", title="Research", description="Find it", assignee="m1", dependencies=("t-0",))
BOARD = TaskBoard(tasks=(TASK,), goal_complete=True, completion_summary="done")
DELEGATION = ToolExecution(
    tool_call_id="c1",
    tool_name="delegate_task_to_member",
    tool_args={"member_id": "m1", "task": "x"},
    result="It is sunny.",
    child_run_id="m-run",
    stop_after_tool_call=True,
    created_at=12,
)

HELD = ToolExecution(
    tool_call_id="c2", tool_name="delete_file", tool_args={"path": "/tmp/x"}, requires_confirmation=True, created_at=12
)
MEMBER_REQUIREMENT = Requirement(
    id="r1",
    created_at="2026-01-01T00:00:00+00:00",
    tool_execution=HELD,
    member_agent_id="m1",
    member_agent_name="M1",
    member_run_id="m-run",
    confirmation=True,
    confirmation_note="ok",
)

TEAM_EXAMPLES: dict[str, dict[str, Any]] = {
    "TeamRunStarted": {
        "model": "gpt-4o-mini",
        "model_provider": "OpenAI",
        "user_id": "u1",
        "input": "hi",
        "message": Message(id="m-user", role="user", content="hi"),
        "system_message": Message(id="m-sys", role="system", content="Lead."),
        "history_run_ids": ("r0",),
        "mode": "tasks",
    },
    "TeamModelRequestStarted": {"part": "start", "model": "gpt-4o-mini", "model_provider": "OpenAI"},
    "TeamRunContent": {"part": "d1", "content": "It", "workflow_agent": True, "model_provider_data": {"id": "x"}},
    "TeamModelRequestCompleted": {
        "part": "done",
        "model": "gpt-4o-mini",
        "model_provider": "OpenAI",
        "input_tokens": 3,
        "output_tokens": 4,
        "total_tokens": 7,
        "time_to_first_token": 0.1,
        "duration": 0.5,
        "message": Message(id="m-asst", role="assistant", content="ok"),
    },
    "TeamToolCallStarted": {
        "tool": DELEGATION,
        "member_run_ids": ("m-run",),
        "task_ids": ("t-1",),
        "board": BOARD,
    },
    "TeamToolCallCompleted": {"content": "delegate_task_to_member(...) completed", "tool": DELEGATION, "board": BOARD},
    "TeamToolCallError": {"tool": DELEGATION, "error": "Function x not found"},
    "TeamRunContentCompleted": {},
    "TeamRunCompleted": {
        "content": "It is sunny.",
        "model_provider_data": {"id": "x"},
        "session_state": {"k": 1},
        "metrics": {"input_tokens": 3},
        "member_responses": ({"run_id": "m-run", "content": "It is sunny."},),
    },
    "TeamRunError": {"content": "boom", "error_type": "X", "error_id": "e1", "additional_data": {"a": 1}},
    "TeamRunCancelled": {"reason": "stop", "cancelled_by": "p0"},
    "TeamRunPaused": {
        "content": "Team run paused. The following require input:\n- M1: delete_file requires confirmation",
        "tools": (DELEGATION,),
        "requirements": (MEMBER_REQUIREMENT,),
    },
    "TeamRequirementsResolved": {"requirements": (MEMBER_REQUIREMENT,), "user_id": "u1", "member_run_ids": ("m-run",)},
    "TeamRunContinued": {
        "updates": (HELD,),
        "user_id": "u1",
        "tools": (HELD,),
        "messages": (Message(id="m-tool", role="tool", content="rejected", tool_call_id="c2"),),
        "member_tools": (DELEGATION,),
        "member_messages": (Message(id="m-del", role="tool", content="It is sunny.", tool_call_id="c1"),),
    },
    "TeamTaskIterationStarted": {
        "iteration": 2,
        "max_iterations": 3,
        "message": Message(id="m-iter", role="user", content="<current_task_state>"),
    },
    "TeamTaskIterationCompleted": {"iteration": 2, "max_iterations": 3, "task_summary": "Tasks (1 total)"},
    "TeamTaskStateUpdated": {
        "task_summary": "Tasks (1 total)",
        "goal_complete": True,
        "tasks": (TASK.task_data(),),
        "completion_summary": "done",
    },
    "TeamTaskCreated": {
        "task_id": "t-1",
        "title": "Research",
        "description": "Find it",
        "assignee": "m1",
        "status": "blocked",
        "dependencies": ("t-0",),
    },
    "TeamTaskUpdated": {
        "task_id": "t-1",
        "title": "Research",
        "status": "completed",
        "previous_status": "in_progress",
        "result": "It is sunny.",
        "assignee": "m1",
    },
}
