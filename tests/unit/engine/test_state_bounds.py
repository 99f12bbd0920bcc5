"""A long-lived session's state stays bounded: finished run ids in a window, history only when used."""

from __future__ import annotations

from engine import Agent, RunCompleted, RunStarted, SessionState, Team, evolve, history_limit_for
from engine.state import FINISHED_WINDOW, MAX_HISTORY_RUNS, RecentIds
from tests.unit.engine.team_sim import FakeModel


def test_recent_ids_remember_at_least_the_last_window_and_drop_older_ones() -> None:
    ids = RecentIds()
    for n in range(5 * FINISHED_WINDOW):
        ids = ids | {f"r{n}"}
    newest = {f"r{n}" for n in range(4 * FINISHED_WINDOW, 5 * FINISHED_WINDOW)}
    assert all(i in ids for i in newest)
    assert "r0" not in ids
    assert FINISHED_WINDOW <= len(ids) < 2 * FINISHED_WINDOW
    assert ids | {f"r{5 * FINISHED_WINDOW - 1}"} is ids  # nothing new: the same object
    assert RecentIds() | {"a", "b"} == {"a", "b"} == RecentIds(older=frozenset({"a"}), recent=frozenset({"b"}))


def _run(state: SessionState, n: int) -> SessionState:
    run_id = f"r{n}"
    state = evolve(state, RunStarted(created_at=n, run_id=run_id, session_id="s", seq=0, agent_id="a"))
    return evolve(state, RunCompleted(created_at=n, run_id=run_id, session_id="s", seq=1, agent_id="a"))


def test_a_session_without_history_keeps_none_and_a_bounded_set_of_finished_ids() -> None:
    state = SessionState(session_id="s", history_limit=0)
    for n in range(1000):
        state = _run(state, n)
    assert state.history == ()
    assert len(state.finished) < 2 * FINISHED_WINDOW
    assert "r999" in state.finished


def test_a_session_with_history_keeps_the_last_max_history_runs() -> None:
    state = SessionState(session_id="s")
    for n in range(MAX_HISTORY_RUNS + 5):
        state = _run(state, n)
    assert [r.run_id for r in state.history] == [f"r{n}" for n in range(5, MAX_HISTORY_RUNS + 5)]


def test_the_history_limit_follows_whether_any_agent_team_or_member_uses_history() -> None:
    plain = Agent(id="a", model=FakeModel())
    remembering = Agent(id="m", model=FakeModel(), add_history_to_context=True)
    assert history_limit_for([plain]) == 0
    assert history_limit_for([plain, remembering]) == MAX_HISTORY_RUNS
    assert history_limit_for([plain], [Team(id="t", members=[remembering], model=FakeModel())]) == MAX_HISTORY_RUNS
    team = Team(id="t", members=[plain], model=FakeModel(), add_history_to_context=True)
    assert history_limit_for([], [team]) == MAX_HISTORY_RUNS
    assert history_limit_for([], [Team(id="t", members=[plain], model=FakeModel())]) == 0
