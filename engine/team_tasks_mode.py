"""Tasks mode: agno's task tools (`team/_task_tools.py`) and iteration loop (`team/_run.py:_run_tasks`).

The task list lives in the team run's state (`TeamRunState.board`) and changes only through decisions:
`create_task`, `update_task_status`, `list_tasks`, `add_task_note` and `mark_all_complete` complete at
once; `execute_task` / `execute_tasks_parallel` start member runs and complete when they have all ended
(tasks `completed` with the member's answer, or `failed`). Results and refusals are agno's texts.

The loop: iteration `n` (TeamTaskIterationStarted; from the second one on with agno's
`<current_task_state>` user message) lets the leader's model call tools until it answers without tool
calls; then TeamTaskStateUpdated and TeamTaskIterationCompleted, and the run ends when the goal is marked
complete, every task completed, the run needed no task and the model answered, or `max_iterations` is reached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from .messages import Message, ToolCall
from .state import message_id
from .team_calls import TeamCalls
from .team_events import TeamTaskCreated, TeamTaskIterationCompleted, TeamTaskIterationStarted, TeamTaskStateUpdated
from .team_events import TeamTaskUpdated as Updated
from .team_state import Delegation, MemberOutcome
from .team_tasks import TASK_STATUSES, TaskBoard, TeamTask, create_task, settle, update_problem, update_task

__all__ = ["CONTINUE_PROMPT", "TasksMode"]

CONTINUE_PROMPT = (
    "<current_task_state>\n{summary}\n</current_task_state>\n\n"
    "Continue working on the tasks. Create, execute, or update tasks as needed. "
    "When the goal is met, write your answer and call `mark_all_complete`."
)
"""agno's user message at the start of every iteration after the first."""

Args = Mapping[str, Any]


def _updated(task: TeamTask, previous: str, result: str | None = None) -> tuple[type[Updated], dict[str, Any]]:
    fields = {"task_id": task.id, "title": task.title, "status": task.status, "previous_status": previous}
    return Updated, fields | {"result": result, "assignee": task.assignee}


class TasksMode(TeamCalls):
    """The tasks-mode tools and loop of a team run's builder."""

    def task_tools(self) -> dict[str, Callable[[ToolCall, Args], None]]:
        """The tasks-mode tools by name."""
        return {
            "create_task": self.create_task,
            "update_task_status": self.update_task_status,
            "list_tasks": self.list_tasks,
            "add_task_note": self.add_task_note,
            "mark_all_complete": self.mark_all_complete,
            "execute_task": self.execute_task,
            "execute_tasks_parallel": self.execute_tasks_parallel,
        }

    @property
    def board(self) -> TaskBoard:
        """The task list."""
        return self.team_state.board

    def create_task(self, call: ToolCall, args: Args) -> None:
        title = str(args["title"])
        existing = self.board.find_title(title)
        if existing is not None:
            text = f"Task already exists: [{existing.id}] {existing.title} (status: {existing.status}). "
            self.answer(call, args, text + "Use this task instead of creating a duplicate.")
            return
        task_id = message_id(self.run.run_id, self.run.seq + 1, call.id)[:8]
        depends_on = args.get("depends_on") or []
        board = create_task(
            self.board,
            task_id,
            title,
            str(args.get("description") or ""),
            str(args.get("assignee") or "") or None,
            [str(d) for d in depends_on] if isinstance(depends_on, list) else [],
        )
        task = board.get(task_id)
        assert task is not None
        created = {
            "task_id": task.id,
            "title": task.title,
            "description": task.description,
            "assignee": task.assignee,
            "status": task.status,
            "dependencies": task.dependencies,
        }
        text = f"Task created: [{task.id}] {task.title} (status: {task.status})"
        self.answer(call, args, text, board=board, events=[(TeamTaskCreated, created)])

    def update_task_status(self, call: ToolCall, args: Args) -> None:
        task_id, status, result = str(args["task_id"]), str(args["status"]), args.get("result")
        task = self.board.get(task_id)
        if status not in TASK_STATUSES:
            text = f"Invalid status '{status}'. Must be one of: pending, in_progress, completed, failed."
        elif status == "blocked":
            text = (
                "Cannot manually set status to 'blocked'. "
                "Blocked status is managed automatically based on task dependencies."
            )
        elif task is None:
            text = f"Task with ID '{task_id}' not found."
        else:
            problem = update_problem(self.board, task_id, status)
            if problem is not None:
                text = problem
            else:
                board = update_task(self.board, task_id, status=status, result=None if result is None else str(result))
                done = board.get(task_id)
                assert done is not None
                shown = done.result if status in ("completed", "failed") else None
                text = f"Task [{done.id}] '{done.title}' updated to {done.status}."
                self.answer(call, args, text, board=board, events=[_updated(done, task.status, shown)])
                return
        self.answer(call, args, text)

    def list_tasks(self, call: ToolCall, args: Args) -> None:
        self.answer(call, args, self.board.summary())

    def add_task_note(self, call: ToolCall, args: Args) -> None:
        task = self.board.get(str(args["task_id"]))
        if task is None:
            self.answer(call, args, f"Task with ID '{args['task_id']}' not found.")
            return
        board = self.board.replace_task(replace(task, notes=(*task.notes, str(args["note"]))))
        self.answer(call, args, f"Note added to task [{task.id}].", board=board)

    def mark_all_complete(self, call: ToolCall, args: Args) -> None:
        summary = str(args["summary"])
        board = replace(self.board, goal_complete=True, completion_summary=summary)
        self.answer(call, args, f"Goal marked as complete. Summary: {summary}", board=board)

    def execute_task(self, call: ToolCall, args: Args) -> None:
        task_id, member_id = str(args["task_id"]), str(args["member_id"])
        task = self.board.get(task_id)
        member = self.member(member_id)
        if task is None:
            self.answer(call, args, f"Task with ID '{task_id}' not found.")
        elif task.status not in ("pending", "in_progress"):
            self.answer(call, args, f"Task [{task_id}] is {task.status} and cannot be executed.")
        elif member is None:
            self.answer(
                call, args, f"Member with ID {member_id} not found. Available members:\n{self.members_content()}"
            )
        else:
            started = replace(task, status="in_progress", assignee=member_id)
            self.delegate(
                call,
                args,
                [(member, task.description or task.title)],
                task_ids=(task.id,),
                board=self.board.replace_task(started),
                events=[_updated(started, task.status)],
            )

    def execute_tasks_parallel(self, call: ToolCall, args: Args) -> None:
        ids = [str(t) for t in args["task_ids"]] if isinstance(args["task_ids"], list) else []
        board, events, assignments = self.board, [], []
        for tid in ids:
            task = board.get(tid)
            member = None if task is None or not task.assignee else self.member(task.assignee)
            if task is None:
                problem = f"Task '{tid}' not found."
            elif task.status not in ("pending", "in_progress"):
                problem = f"Task [{tid}] is {task.status}, cannot execute."
            elif not task.assignee:
                problem = f"Task [{tid}] has no assignee. Assign a member_id first."
            elif member is None:
                problem = f"Member '{task.assignee}' not found for task [{tid}]."
            else:
                started = replace(task, status="in_progress")
                board = board.replace_task(started)
                events.append(_updated(started, task.status))
                assignments.append((member, task.description or task.title))
                continue
            self.answer(call, args, problem)
            return
        if not assignments:
            self.answer(call, args, "No valid tasks to execute.")
            return
        self.delegate(call, args, assignments, task_ids=tuple(ids), board=board, events=events)

    def finish_tasks(self, delegation: Delegation, outcomes: list[MemberOutcome]) -> tuple[TaskBoard, str]:
        """The member runs of an execute_task(s) call ended (or paused): update the tasks, return board and result."""
        board, lines = self.board, []
        for task_id, outcome in zip(delegation.task_ids, outcomes, strict=True):
            task = board.get(task_id)
            assert task is not None
            if outcome.status == "PAUSED":  # agno puts the task back to pending until the human answered
                task = replace(task, status="pending")
                lines.append(f"{outcome.content} Task [{task.id}] paused.")
                board = board.replace_task(task)
                cls, fields = _updated(task, "in_progress")
                self.emit(cls, **fields)
                continue
            if outcome.status != "COMPLETED":
                task = replace(task, status="failed", result=outcome.content or "Task failed")
                lines.append(f"Task [{task.id}] failed: {task.result}")
            elif outcome.content:
                task = replace(task, status="completed", result=outcome.content)
                lines.append(f"Task [{task.id}] completed. Result: {outcome.content}")
            else:
                task = replace(task, status="completed", result="No content returned")
                lines.append(f"Task [{task.id}] completed with no content.")
            board = board.replace_task(task)
            cls, fields = _updated(task, "in_progress", task.result)
            self.emit(cls, **fields)
        return settle(board), "\n".join(lines)

    def begin_iteration(self, iteration: int) -> None:
        """Start iteration `iteration` (1-based) of the task loop and ask the leader's model."""
        message = None
        if iteration > 1:
            message = Message(
                id=message_id(self.run.run_id, self.run.seq + 1, "user"),
                role="user",
                content=CONTINUE_PROMPT.format(summary=self.board.summary()),
                created_at=int(self.ctx.now),
            )
        limit = self.max_iterations
        self.emit(TeamTaskIterationStarted, iteration=iteration, max_iterations=limit, message=message)
        self.request_model()

    @property
    def max_iterations(self) -> int:
        """The team's `max_iterations` (1 when the team is no longer registered)."""
        return 1 if self.team is None else self.team.max_iterations

    def end_iteration(self, message: Message) -> None:
        """The leader answered without tool calls: report the task state, then end the run or iterate."""
        team, board = self.team_state, self.board
        summary = board.summary()
        self.emit(
            TeamTaskStateUpdated,
            task_summary=summary,
            goal_complete=board.goal_complete,
            tasks=tuple(t.task_data() for t in board.tasks),
            completion_summary=board.completion_summary,
        )
        self.emit(
            TeamTaskIterationCompleted,
            iteration=team.iteration,
            max_iterations=self.max_iterations,
            task_summary=summary,
        )
        answered = bool((message.content or "").strip()) and len(self.run.tools) == team.iteration_tools
        if (
            board.goal_complete
            or (board.all_terminal and not board.has_failures)
            or (answered and not board.tasks)
            or team.iteration >= self.max_iterations
        ):
            self.complete(message.content, message.provider_data)
        else:
            self.begin_iteration(team.iteration + 1)
