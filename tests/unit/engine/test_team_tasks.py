"""Tasks mode: agno's task tools over a task list with dependencies, and the iteration loop."""

from __future__ import annotations

from typing import Any

import pytest

from engine import (
    Decision,
    SchemaError,
    TaskBoard,
    TeamRunCompleted,
    TeamTask,
    TeamTaskCreated,
    TeamTaskIterationStarted,
    TeamTaskStateUpdated,
    TeamTaskUpdated,
    TeamToolCallCompleted,
    TeamToolCallError,
)
from engine.team_tasks import create_task, update_problem, update_task
from tests.unit.engine.team_sim import Sim, answer, call, fail, make_team, model_work, names


def results(decision: Decision) -> list[str]:
    return [e.tool.result or "" for e in decision.events if isinstance(e, TeamToolCallCompleted) and e.tool]


def created_ids(decision: Decision) -> list[str]:
    return [e.task_id for e in decision.events if isinstance(e, TeamTaskCreated)]


def updates(decision: Decision) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (e.task_id, e.status, e.previous_status, e.result) for e in decision.events if isinstance(e, TeamTaskUpdated)
    ]


def board(sim: Sim) -> TaskBoard:
    team = sim.state.runs["tr"].team
    assert team is not None
    return team.board


def test_a_task_plan_with_dependencies_is_executed_by_members_and_completed() -> None:
    sim = Sim(make_team("tasks", max_iterations=3))
    started = sim.start()
    assert names(started) == ["TeamRunStarted", "TeamTaskIterationStarted", "ModelRequested"]
    [lead] = model_work(started)

    d = sim.send(answer(lead, calls=(call("create_task", title="Research", description="Find facts", assignee="m1"),)))
    assert names(d) == ["TeamToolCallStarted", "TeamTaskCreated", "TeamToolCallCompleted", "ModelRequested"]
    [rid] = created_ids(d)
    assert results(d) == [f"Task created: [{rid}] Research (status: pending)"]
    [lead] = model_work(d)

    calls = (
        call("create_task", title="Write", assignee="m2", depends_on=[rid]),
        call("create_task", title=" research "),
        call("create_task", title="Review", assignee="m1"),
        call("list_tasks"),
    )
    d = sim.send(answer(lead, calls=calls))
    wid, vid = created_ids(d)
    assert (
        results(d)[1]
        == f"Task already exists: [{rid}] Research (status: pending). Use this task instead of creating a duplicate."
    )
    assert results(d)[3] == (
        "Tasks (3 total: 2 pending, 1 blocked):\n"
        f"  [{rid}] Research - PENDING (assigned: m1)\n"
        f"  [{wid}] Write - BLOCKED (assigned: m2)\n"
        f"      Depends on: ['{rid}']\n"
        f"  [{vid}] Review - PENDING (assigned: m1)"
    )
    [lead] = model_work(d)

    # execute_task: the member runs the task's description; a blocked task is refused
    d = sim.send(
        answer(
            lead,
            calls=(
                call("execute_task", task_id=rid, member_id="m1"),
                call("execute_task", task_id=wid, member_id="m2"),
            ),
        )
    )
    assert updates(d) == [(rid, "in_progress", "pending", None)]
    assert results(d) == [f"Task [{wid}] is blocked and cannot be executed."]
    [m1] = model_work(d)
    assert m1.messages[-1].content == "Find facts"
    d = sim.send(answer(m1, content="Facts."))
    assert names(d)[:4] == ["RunContentCompleted", "RunCompleted", "TeamTaskUpdated", "TeamToolCallCompleted"]
    assert updates(d) == [(rid, "completed", "in_progress", "Facts.")]
    assert results(d) == [f"Task [{rid}] completed. Result: Facts."]
    assert board(sim).get(wid).status == "pending"  # type: ignore[union-attr]
    [lead] = model_work(d)

    # execute_tasks_parallel: both members at once; results in task order
    d = sim.send(answer(lead, calls=(call("execute_tasks_parallel", task_ids=[wid, vid]),)))
    assert updates(d) == [(wid, "in_progress", "pending", None), (vid, "in_progress", "pending", None)]
    m2, m1 = model_work(d)
    assert (m2.agent_id, m1.agent_id) == ("m2", "m1")
    sim.send(answer(m1, content=""))
    d = sim.send(fail(m2, "boom"))
    assert results(d) == [f"Task [{wid}] failed: boom\nTask [{vid}] completed with no content."]
    [lead] = model_work(d)

    # the leader fixes the failed task by hand, notes the review and marks the goal complete
    calls = (
        call("update_task_status", task_id=wid, status="pending"),
        call("update_task_status", task_id=wid, status="completed", result="Written by hand"),
        call("add_task_note", task_id=vid, note="checked"),
        call("mark_all_complete", summary="All done"),
    )
    d = sim.send(answer(lead, calls=calls))
    assert results(d) == [
        f"Task [{wid}] 'Write' updated to pending.",
        f"Task [{wid}] 'Write' updated to completed.",
        f"Note added to task [{vid}].",
        "Goal marked as complete. Summary: All done",
    ]
    assert updates(d) == [(wid, "pending", "failed", None), (wid, "completed", "pending", "Written by hand")]
    [lead] = model_work(d)

    d = sim.send(answer(lead, content="Here is the report."))
    assert names(d) == [
        "TeamTaskStateUpdated",
        "TeamTaskIterationCompleted",
        "TeamRunContentCompleted",
        "TeamRunCompleted",
    ]
    state = d.events[0]
    assert isinstance(state, TeamTaskStateUpdated)
    assert state.goal_complete
    assert state.completion_summary == "All done"
    assert [t["status"] for t in state.tasks] == ["completed", "completed", "completed"]
    assert state.task_summary.endswith("\nGoal marked complete: All done")
    assert "      Note: checked" in state.task_summary
    final = d.events[-1]
    assert isinstance(final, TeamRunCompleted)
    assert len(final.member_responses) == 3
    assert sim.replay().ok


def test_the_task_tools_refuse_what_agno_refuses() -> None:
    sim = Sim(make_team("tasks"))
    [lead] = model_work(sim.start())
    d = sim.send(
        answer(lead, calls=(call("create_task", title="A"), call("create_task", title="Lonely", assignee="m1")))
    )
    aid, lid = created_ids(d)
    [lead] = model_work(d)
    d = sim.send(
        answer(
            lead,
            calls=(
                call("create_task", title="B", depends_on=[aid]),
                call("create_task", title="C", depends_on="not a list"),
            ),
        )
    )
    bid, cid = created_ids(d)
    [lead] = model_work(d)
    calls = (
        call("update_task_status", task_id=aid, status="done"),
        call("update_task_status", task_id=aid, status="blocked"),
        call("update_task_status", task_id="zz", status="completed"),
        call("update_task_status", task_id=bid, status="in_progress"),
        call("update_task_status", task_id=aid, status="cancelled"),
        call("update_task_status", task_id=aid, status="pending"),
        call("add_task_note", task_id="zz", note="x"),
        call("execute_task", task_id="zz", member_id="m1"),
        call("execute_task", task_id=cid, member_id="nobody"),
        call("execute_tasks_parallel", task_ids=["zz"]),
        call("execute_tasks_parallel", task_ids=[bid]),
        call("execute_tasks_parallel", task_ids=[cid]),
        call("execute_tasks_parallel", task_ids=[]),
        call("execute_tasks_parallel", task_ids="x"),
    )
    d = sim.send(answer(lead, calls=calls))
    assert results(d) == [
        "Invalid status 'done'. Must be one of: pending, in_progress, completed, failed.",
        "Cannot manually set status to 'blocked'. Blocked status is managed automatically based on task dependencies.",
        "Task with ID 'zz' not found.",
        "Tasks with unresolved dependencies cannot be started or completed.",
        f"Task [{aid}] 'A' updated to cancelled.",
        "Cancelled tasks cannot be reopened.",
        "Task with ID 'zz' not found.",
        "Task with ID 'zz' not found.",
        "Member with ID nobody not found. Available members:\n"
        '<member id="m1" name="M1">\n</member>\n<member id="m2" name="M2">\n</member>\n',
        "Task 'zz' not found.",
        f"Task [{bid}] is cancelled, cannot execute.",
        f"Task [{cid}] has no assignee. Assign a member_id first.",
        "No valid tasks to execute.",
    ]
    errors = [e for e in d.events if isinstance(e, TeamToolCallError)]
    assert [e.error for e in errors] == [
        "Error: invalid arguments for execute_tasks_parallel: 'task_ids' must be a array"
    ]
    assert board(sim).get(bid).result == "Automatically cancelled: a dependency was cancelled."  # type: ignore[union-attr]
    [lead] = model_work(d)
    d = sim.send(
        answer(
            lead,
            calls=(
                call("update_task_status", task_id=lid, status="completed"),
                call("execute_tasks_parallel", task_ids=[lid]),
            ),
        )
    )
    assert results(d)[1] == f"Task [{lid}] is completed, cannot execute."
    assert sim.replay().ok


def test_a_parallel_task_whose_member_is_unknown_is_refused() -> None:
    sim = Sim(make_team("tasks"))
    [lead] = model_work(sim.start())
    d = sim.send(answer(lead, calls=(call("create_task", title="A", assignee="ghost"),)))
    [aid] = created_ids(d)
    [lead] = model_work(d)
    d = sim.send(answer(lead, calls=(call("execute_tasks_parallel", task_ids=[aid]),)))
    assert results(d) == [f"Member 'ghost' not found for task [{aid}]."]


def test_the_loop_iterates_with_agnos_task_state_message_until_the_tasks_are_done() -> None:
    sim = Sim(make_team("tasks", max_iterations=5))
    [lead] = model_work(sim.start())
    d = sim.send(answer(lead, calls=(call("create_task", title="A", assignee="m1"),)))
    [aid] = created_ids(d)
    [lead] = model_work(d)
    d = sim.send(answer(lead, content="I made a plan."))
    assert names(d) == [
        "TeamTaskStateUpdated",
        "TeamTaskIterationCompleted",
        "TeamTaskIterationStarted",
        "ModelRequested",
    ]
    second = d.events[2]
    assert isinstance(second, TeamTaskIterationStarted)
    assert (second.iteration, second.max_iterations) == (2, 5)
    assert second.message is not None
    assert (second.message.content or "").startswith("<current_task_state>\nTasks (1 total: 1 pending):")
    assert (second.message.content or "").endswith("call `mark_all_complete`.")
    [lead] = model_work(d)
    assert lead.messages[-1] == second.message

    [m1] = model_work(sim.send(answer(lead, calls=(call("execute_task", task_id=aid, member_id="m1"),))))
    [lead] = model_work(sim.send(answer(m1, content="done")))
    d = sim.send(answer(lead, content="All tasks are done."))  # every task completed: the run ends
    assert names(d)[-2:] == ["TeamRunContentCompleted", "TeamRunCompleted"]
    assert d.events[-1].content == "All tasks are done."  # type: ignore[attr-defined]
    assert sim.replay().ok


@pytest.mark.parametrize(
    ("content", "max_iterations", "model_turns"),
    [("Hello there.", 3, 1), ("", 2, 2)],
    ids=["direct-answer", "empty-until-the-limit"],
)
def test_a_run_without_tasks_ends_on_an_answer_or_at_max_iterations(
    content: str, max_iterations: int, model_turns: int
) -> None:
    sim = Sim(make_team("tasks", max_iterations=max_iterations))
    [lead] = model_work(sim.start())
    turns = 1
    d = sim.send(answer(lead, content=content))
    while model_work(d):
        [lead] = model_work(d)
        d = sim.send(answer(lead, content=content))
        turns += 1
    assert turns == model_turns
    assert names(d)[-1] == "TeamRunCompleted"
    assert sim.replay().ok


def test_a_failed_task_keeps_the_loop_going() -> None:
    sim = Sim(make_team("tasks", max_iterations=2))
    [lead] = model_work(sim.start())
    d = sim.send(answer(lead, calls=(call("create_task", title="A", assignee="m1"),)))
    [aid] = created_ids(d)
    [lead] = model_work(d)
    [m1] = model_work(sim.send(answer(lead, calls=(call("execute_task", task_id=aid, member_id="m1"),))))
    [lead] = model_work(sim.send(fail(m1)))
    d = sim.send(answer(lead, content="It failed."))
    assert "TeamTaskIterationStarted" in names(d)  # all terminal, but one failed


# --------------------------------------------------------------------------------------------- the task list


def test_the_summary_truncates_results_and_shows_the_last_three_notes() -> None:
    task = TeamTask(id="a", title="A", status="completed", result="x" * 250, notes=("1", "2", "3", "4"))
    text = TaskBoard(tasks=(task,)).summary()
    assert f"      Result: {'x' * 200}..." in text
    assert text.endswith("      Note: 2\n      Note: 3\n      Note: 4")
    assert TaskBoard().summary() == "No tasks created yet."


def test_dependencies_settle_blocked_failed_and_cancelled_tasks() -> None:
    board = create_task(TaskBoard(), "a", "A", "", None, [])
    board = create_task(board, "b", "B", "", None, ["a"])
    board = create_task(board, "c", "C", "", None, ["c"])
    board = create_task(board, "d", "D", "", None, ["missing"])
    assert [t.status for t in board.tasks] == ["pending", "blocked", "blocked", "blocked"]
    failed = update_task(board, "a", status="failed", result="no")
    assert failed.get("b").status == "failed"  # type: ignore[union-attr]
    assert failed.get("b").result == "Automatically failed: a dependency failed."  # type: ignore[union-attr]
    assert failed.has_failures
    assert (
        update_problem(board, "b", "completed") == "Tasks with unresolved dependencies cannot be started or completed."
    )
    assert update_problem(board, "b", "failed") is None
    done = update_task(board, "a", status="completed", result="yes")
    assert done.get("b").status == "pending"  # type: ignore[union-attr]
    assert update_task(done, "a", status="in_progress").get("a").result is None  # type: ignore[union-attr]
    complete = TaskBoard(tasks=(TeamTask(id="x", title="X", status="completed"),), goal_complete=True)
    assert update_task(complete, "x", status="completed").goal_complete
    assert not update_task(complete, "x", status="failed").goal_complete


def test_the_task_list_round_trips_and_refuses_bad_records() -> None:
    board = TaskBoard(tasks=(TeamTask(id="a", title="A", notes=("n",), dependencies=("b",)),), completion_summary="s")
    assert TaskBoard.from_dict(board.to_dict()) == board
    bad: list[Any] = [{"title": "no id"}, "not a dict"]
    for record in bad:
        with pytest.raises(SchemaError, match="task needs an id and a title"):
            TeamTask.from_dict(record)
