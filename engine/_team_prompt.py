"""What a team leader's model sees: agno's team system message blocks and the JSON schemas of the team tools.

Texts follow agno's `team/_messages.py` (`_get_opening_prompt`, `_get_mode_instructions`,
`get_members_system_message_content`) and the docstrings of `team/_default_tools.py` /
`team/_task_tools.py`, from which agno builds the tool schemas. agno's coordinate prompt also documents a
`respond_directly` argument of `delegate_task_to_member` that agno 3.1's tool (`member_id`, `task`) does not
take; it is left out here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MODE_INSTRUCTIONS", "OPENING", "TOOL_SCHEMAS"]

OPENING = (
    "You coordinate a team of specialized AI agents to fulfill the user's request. "
    "Delegate to members when their expertise or tools are needed. "
    "For straightforward requests you can handle directly — including using your own tools — respond without "
    "delegating.\n"
)

MODE_INSTRUCTIONS: dict[str, str] = {
    "tasks": (
        "You operate in autonomous task mode. Decompose the user's goal into discrete tasks, "
        "execute them by delegating to team members, and deliver the final result.\n\n"
        "Planning:\n"
        "- Break the goal into tasks with clear, actionable titles and self-contained descriptions. "
        "Each task should be a single unit of work for one member.\n"
        "- Assign each task to the member whose role and tools are best suited.\n"
        "- Set `depends_on` when a task requires another task's output. "
        "Leave tasks independent when they can run in any order.\n\n"
        "Execution:\n"
        "- Use `execute_task` for sequential or dependent tasks.\n"
        "- Use `execute_tasks_parallel` for groups of independent tasks to maximize throughput.\n"
        "- Review each result before proceeding. If a task fails, decide whether to retry with the same member, "
        "reassign to a different member, or adjust the plan.\n\n"
        "Completion:\n"
        "- When all tasks are done and results are satisfactory, call `mark_all_complete` with a summary of the "
        "outcome.\n"
        "- Use `list_tasks` to check progress at any point, and `add_task_note` to record observations.\n\n"
        "Write task descriptions that give the member everything they need: "
        "the objective, relevant context from the conversation or prior task results, and what a good result "
        "looks like.\n"
    ),
    "route": (
        "You operate in route mode. For requests that need member expertise, "
        "identify the single best member and delegate to them — their response is returned directly to the user. "
        "For requests you can handle directly — simple questions, using your own tools, or general conversation — "
        "respond without delegating.\n\n"
        "When routing to a member:\n"
        "- Analyze the request to determine which member's role and tools are the best match.\n"
        "- Delegate to exactly one member. Use only the member's ID — do not prefix it with the team ID.\n"
        "- Write the task to faithfully represent the user's full intent. Do not reinterpret or narrow the request.\n"
        "- If no member is a clear fit, choose the closest match and include any additional context the member "
        "might need.\n"
    ),
    "broadcast": (
        "You operate in broadcast mode. For requests that benefit from multiple perspectives, "
        "send the request to all members simultaneously and synthesize their collective responses. "
        "For requests you can handle directly — simple questions, using your own tools, or general conversation — "
        "respond without delegating.\n\n"
        "When broadcasting:\n"
        "- Call `delegate_task_to_members` exactly once with a clear task description. "
        "This sends the task to every member in parallel.\n"
        "- Write the task so each member can respond independently from their own perspective.\n\n"
        "After receiving member responses:\n"
        "- Compare perspectives: note agreements, highlight complementary insights, and reconcile any "
        "contradictions.\n"
        "- Synthesize into a unified answer that integrates the strongest contributions thematically — "
        "do not list each member's response sequentially.\n"
    ),
    "coordinate": (
        "You operate in coordinate mode. For requests that need member expertise, "
        "select the best member(s), delegate with clear task descriptions, and synthesize their outputs into a "
        "unified response. For requests you can handle directly — simple questions, "
        "using your own tools, or general conversation — respond without delegating.\n\n"
        "Delegation:\n"
        "- Match each sub-task to the member whose role and tools are the best fit. "
        "Delegate to multiple members when the request spans different areas of expertise.\n"
        "- Write task descriptions that are self-contained: state the goal, provide relevant context "
        "from the conversation, and describe what a good result looks like.\n"
        "- Use only the member's ID when delegating — do not prefix it with the team ID.\n\n"
        "After receiving member responses:\n"
        "- If a response is incomplete or off-target, re-delegate with clearer instructions or try a different "
        "member.\n"
        "- Synthesize all results into a single coherent response. Resolve contradictions, fill gaps with your own "
        "reasoning, and add structure — do not simply concatenate member outputs.\n"
    ),
}
"""The `<how_to_respond>` body per mode."""


def _string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _schema(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required},
    }


_MEMBER_ID = _string("The ID of the member to delegate the task to, exactly as it appears in <team_members>.")

TOOL_SCHEMAS: dict[str, dict[str, Any]] = {
    "delegate_task_to_member": _schema(
        "delegate_task_to_member",
        "Use this function to delegate a task to the selected team member.",
        {
            "member_id": _MEMBER_ID,
            "task": _string(
                "A clear and concise description of the task the member should achieve, including what a good "
                "result looks like."
            ),
        },
        ["member_id", "task"],
    ),
    "delegate_task_to_members": _schema(
        "delegate_task_to_members",
        "Use this function to send one task to every member agent and return their responses.\n"
        "One call reaches all members; do not call it once per member.",
        {
            "task": _string(
                "A clear and concise description of the task to send to member agents, including what a good "
                "result looks like."
            )
        },
        ["task"],
    ),
    "create_task": _schema(
        "create_task",
        "Create a new task for the team to work on.",
        {
            "title": _string("A short, actionable title for the task."),
            "description": _string("Detailed description of what needs to be done."),
            "assignee": _string("The member_id to assign this task to. Must be a valid member_id."),
            "depends_on": {
                "type": "array",
                "items": {"type": "string"},
                "description": "List of task IDs that must complete before this task can start.",
            },
        },
        ["title"],
    ),
    "update_task_status": _schema(
        "update_task_status",
        "Update the status of a task. Use this to mark tasks you handle yourself as completed.",
        {
            "task_id": _string("The ID of the task to update."),
            "status": _string("New status. One of: pending, in_progress, completed, failed."),
            "result": _string("The result or outcome of the task (when completing)."),
        },
        ["task_id", "status"],
    ),
    "list_tasks": _schema(
        "list_tasks", "List all tasks with their current status, assignees, and dependencies.", {}, []
    ),
    "add_task_note": _schema(
        "add_task_note",
        "Add a note to a task for tracking progress or communicating context.",
        {"task_id": _string("The ID of the task."), "note": _string("The note to add.")},
        ["task_id", "note"],
    ),
    "mark_all_complete": _schema(
        "mark_all_complete",
        "Signal that the overall goal has been achieved. Call this when all tasks are done.",
        {"summary": _string("A summary of the work done and the final outcome.")},
        ["summary"],
    ),
    "execute_task": _schema(
        "execute_task",
        "Execute a task by delegating it to a team member. The member will receive the task\n"
        "description and return a result.",
        {
            "task_id": _string("The ID of the task to execute."),
            "member_id": _string("The ID of the member to execute the task."),
        },
        ["task_id", "member_id"],
    ),
    "execute_tasks_parallel": _schema(
        "execute_tasks_parallel",
        "Execute multiple independent tasks in parallel by delegating each to its assigned member.\n"
        "All tasks must be pending with no unresolved dependencies.",
        {
            "task_ids": {
                "type": "array",
                "items": {"type": "string"},
                "description": "List of task IDs to execute concurrently.",
            }
        },
        ["task_ids"],
    ),
}
"""Team tools by name: `{name, description, parameters}` (JSON schema, as agno derives it from the docstring)."""
