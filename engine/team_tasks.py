"""The task list of a tasks-mode team run: agno's `TaskList` rules as pure functions over immutable tasks.

agno (`team/task.py`): a task is `pending` until its dependencies are `completed`, `blocked` while one is
unfinished (or unknown), `failed` / `cancelled` automatically when one failed / was cancelled;
`completed`, `failed` and `cancelled` are terminal. Creating a task or moving one to a non-completed status
clears the goal's completion marker. Task ids are deterministic here (agno draws 8 random hex digits):
derived from the run, the decision and the call, so a replay re-creates the same ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import SchemaError

__all__ = [
    "TASK_STATUSES",
    "TERMINAL_TASK_STATUSES",
    "TaskBoard",
    "TeamTask",
    "create_task",
    "is_blocked",
    "settle",
    "update_problem",
    "update_task",
]

TASK_STATUSES = ("pending", "in_progress", "completed", "failed", "cancelled", "blocked")
"""agno's `TaskStatus` values."""
TERMINAL_TASK_STATUSES = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamTask:
    """One task of the shared list (agno `Task`); `to_dict` is agno's `TaskData` shape plus `notes`."""

    id: str
    title: str
    description: str = ""
    status: str = "pending"
    assignee: str | None = None
    """The member id the task is assigned to, or None."""
    dependencies: tuple[str, ...] = ()
    """Ids of the tasks that must be completed first, in the order given."""
    result: str | None = None
    notes: tuple[str, ...] = ()

    def task_data(self) -> dict[str, Any]:
        """Agno's `TaskData` dict (the `tasks` entries of `TeamTaskStateUpdated`)."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "status": self.status,
            "assignee": self.assignee,
            "dependencies": list(self.dependencies),
            "result": self.result,
        }

    def to_dict(self) -> dict[str, Any]:
        """The record shape: `task_data()` plus `notes`."""
        return {**self.task_data(), "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TeamTask:
        """Read the shape produced by `to_dict`.

        Raises:
            SchemaError: `id` or `title` is missing.
        """
        if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not isinstance(d.get("title"), str):
            raise SchemaError(f"task needs an id and a title, got {d!r:.200}")
        return cls(
            id=d["id"],
            title=d["title"],
            description=str(d.get("description") or ""),
            status=str(d.get("status") or "pending"),
            assignee=d.get("assignee"),
            dependencies=tuple(d.get("dependencies") or ()),
            result=d.get("result"),
            notes=tuple(d.get("notes") or ()),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskBoard:
    """The whole task state of a tasks-mode run: the tasks in creation order and the goal's completion."""

    tasks: tuple[TeamTask, ...] = ()
    goal_complete: bool = False
    completion_summary: str | None = None
    _by_id: dict[str, TeamTask] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {t.id: t for t in self.tasks})

    def get(self, task_id: str) -> TeamTask | None:
        """The task with id `task_id`, or None."""
        return self._by_id.get(task_id)

    def find_title(self, title: str) -> TeamTask | None:
        """The task whose title equals `title` ignoring case and surrounding spaces (agno's duplicate check)."""
        wanted = title.lower().strip()
        return next((t for t in self.tasks if t.title.lower().strip() == wanted), None)

    def replace_task(self, task: TeamTask) -> TaskBoard:
        """The board with `task` replacing the task of the same id."""
        return replace(self, tasks=tuple(task if t.id == task.id else t for t in self.tasks))

    @property
    def all_terminal(self) -> bool:
        """True when there are tasks and every one is completed, failed or cancelled."""
        return bool(self.tasks) and all(t.status in TERMINAL_TASK_STATUSES for t in self.tasks)

    @property
    def has_failures(self) -> bool:
        """True when a task failed."""
        return any(t.status == "failed" for t in self.tasks)

    def summary(self, result_limit: int = 200) -> str:
        """Agno's `get_summary_string()`: the list as the leader sees it (`list_tasks`, iteration prompts)."""
        if not self.tasks:
            return "No tasks created yet."
        counts: dict[str, int] = {}
        for t in self.tasks:
            counts[t.status] = counts.get(t.status, 0) + 1
        parts = [f"{v} {k}" for k, v in counts.items()]
        lines = [f"Tasks ({len(self.tasks)} total: {', '.join(parts)}):"]
        for t in self.tasks:
            assignee = f" (assigned: {t.assignee})" if t.assignee else " (unassigned)"
            lines.append(f"  [{t.id}] {t.title} - {t.status.upper()}{assignee}")
            if t.dependencies:
                lines.append(f"      Depends on: {list(t.dependencies)}")
            if t.result:
                preview = t.result[:result_limit] + "..." if len(t.result) > result_limit else t.result
                lines.append(f"      Result: {preview}")
            lines.extend(f"      Note: {note}" for note in t.notes[-3:])
        if self.goal_complete and self.completion_summary:
            lines.append(f"\nGoal marked complete: {self.completion_summary}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The record shape `{tasks, goal_complete, completion_summary}` (agno's `TaskList.to_dict`)."""
        return {
            "tasks": [t.to_dict() for t in self.tasks],
            "goal_complete": self.goal_complete,
            "completion_summary": self.completion_summary,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskBoard:
        """Read the shape produced by `to_dict`.

        Raises:
            SchemaError: a task does not decode.
        """
        return cls(
            tasks=tuple(TeamTask.from_dict(t) for t in d.get("tasks") or ()),
            goal_complete=bool(d.get("goal_complete", False)),
            completion_summary=d.get("completion_summary"),
        )


def is_blocked(board: TaskBoard, task: TeamTask, dependencies: Sequence[str] | None = None) -> bool:
    """Agno `_is_blocked`: a dependency on itself, an unknown one or one not completed blocks the task."""
    for dep_id in task.dependencies if dependencies is None else dependencies:
        dep = board.get(dep_id)
        if dep_id == task.id or dep is None or dep.status != "completed":
            return True
    return False


def settle(board: TaskBoard) -> TaskBoard:
    """Agno `_update_blocked_statuses`: recompute pending / blocked / auto-failed / auto-cancelled to a fixpoint."""
    changed = True
    while changed:
        changed = False
        for task in board.tasks:
            if task.status not in ("pending", "blocked"):
                continue
            deps = [board.get(d) for d in task.dependencies]
            status, result = task.status, task.result
            if any(d is not None and d.status == "failed" for d in deps):
                status = "failed"
                result = "Automatically failed: a dependency failed." if result is None else result
            elif any(d is not None and d.status == "cancelled" for d in deps):
                status = "cancelled"
                result = "Automatically cancelled: a dependency was cancelled." if result is None else result
            else:
                status = "blocked" if is_blocked(board, task) else "pending"
            if (status, result) != (task.status, task.result):
                board = board.replace_task(replace(task, status=status, result=result))
                changed = True
    return board


def create_task(
    board: TaskBoard, task_id: str, title: str, description: str, assignee: str | None, dependencies: Sequence[str]
) -> TaskBoard:
    """Agno `TaskList.create_task`: append a pending task (then settle), clearing the completion marker."""
    task = TeamTask(
        id=task_id, title=title, description=description, assignee=assignee or None, dependencies=tuple(dependencies)
    )
    return settle(TaskBoard(tasks=(*board.tasks, task)))


def update_problem(board: TaskBoard, task_id: str, status: str) -> str | None:
    """Agno's refusals of `TaskList.update_task` for a known task, or None when the update is allowed."""
    task = board.get(task_id)
    assert task is not None, task_id
    if task.status == "cancelled" and status != "cancelled":
        return "Cancelled tasks cannot be reopened."
    if status in ("pending", "in_progress", "completed") and is_blocked(board, task):
        return "Tasks with unresolved dependencies cannot be started or completed."
    return None


def update_task(board: TaskBoard, task_id: str, *, status: str, result: str | None = None) -> TaskBoard:
    """Agno `TaskList.update_task` for a known task and an allowed update (`update_problem` is None).

    Sets the status (and the result when given; leaving a terminal status without one clears it), clears
    the completion marker unless the task completes, then settles the list.
    """
    task = board.get(task_id)
    assert task is not None, task_id
    new_result = task.result if result is None else result
    if status != task.status and task.status in TERMINAL_TASK_STATUSES and result is None:
        new_result = None
    goal_complete, summary = board.goal_complete, board.completion_summary
    if status != task.status and status != "completed":
        goal_complete, summary = False, None
    board = board.replace_task(replace(task, status=status, result=new_result))
    return settle(replace(board, goal_complete=goal_complete, completion_summary=summary))
