"""The decide / evolve laws over random team runs (every mode), with hypothesis.

A random script answers the outstanding model work items in random order (the leader with random team tool
calls, unknown members and bad task ids included; members with text, nothing or a failure), redelivers
answers, and cancels the team run or a member run at random moments. Checked:

(a) deciding an input again on the state folded from its decision decides nothing (no member run starts
    twice); folding decided events never raises;
(b) every run ends with exactly one terminal event, its last decision; decision seqs are 0, 1, 2, ...;
(c) `replay_check` over the log reports no divergence and folds to the same final state.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import (
    MODE_TOOLS,
    ContinueTeamRun,
    ModelWork,
    Requirement,
    Tool,
    ToolCall,
    ToolWork,
    decide,
    pending_requirements,
)
from tests.unit.engine.team_sim import Sim, answer, call, fail, make_team, member, model_work, tool_done

MEMBER_IDS = ("m1", "m2", "ghost")


def leader_call(data: st.DataObject, name: str, task_ids: list[str]) -> ToolCall:
    member_id = data.draw(st.sampled_from(MEMBER_IDS))
    task_id = data.draw(st.sampled_from([*task_ids, "zz"]))
    args = {
        "delegate_task_to_member": {"member_id": member_id, "task": "do it"},
        "delegate_task_to_members": {"task": "do it"},
        "create_task": {"title": data.draw(st.sampled_from(["A", "B", "C"])), "assignee": member_id},
        "update_task_status": {"task_id": task_id, "status": data.draw(st.sampled_from(["completed", "failed"]))},
        "list_tasks": {},
        "add_task_note": {"task_id": task_id, "note": "n"},
        "mark_all_complete": {"summary": "s"},
        "execute_task": {"task_id": task_id, "member_id": member_id},
        "execute_tasks_parallel": {"task_ids": data.draw(st.lists(st.sampled_from([*task_ids, "zz"]), max_size=2))},
    }[name]
    return call(name, **args)


def answer_for(data: st.DataObject, sim: Sim, work: ModelWork) -> object:
    if not work.is_team:
        kind = data.draw(st.sampled_from(["text", "empty", "fail"]))
        return fail(work) if kind == "fail" else answer(work, content="done" if kind == "text" else None)
    team = sim.state.runs[work.run_id].team
    assert team is not None
    task_ids = [t.id for t in team.board.tasks]
    names = data.draw(st.lists(st.sampled_from(MODE_TOOLS[team.mode]), max_size=2))
    if not names:
        return answer(work, content=data.draw(st.sampled_from(["The answer.", ""])))
    return answer(work, calls=tuple(leader_call(data, name, task_ids) for name in names))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_team_runs_keep_the_laws(data: st.DataObject) -> None:
    mode = data.draw(st.sampled_from(list(MODE_TOOLS)))
    sim = Sim(make_team(mode, max_iterations=2))
    outstanding = model_work(sim.start())
    answered: list[object] = []
    for _step in range(40):
        outstanding = [w for w in outstanding if w.run_id in sim.state.runs]
        if not outstanding:
            break
        roll = data.draw(st.integers(0, 19))
        if roll == 0:
            target = data.draw(st.sampled_from(sorted(sim.state.runs)))
            decision = sim.cancel(target)
        elif roll == 1 and answered:
            decision = sim.send(data.draw(st.sampled_from(answered)))  # type: ignore[arg-type]
            assert decision.events == []
        else:
            work = outstanding.pop(data.draw(st.integers(0, len(outstanding) - 1)))
            item = answer_for(data, sim, work)
            decision = sim.send(item)  # type: ignore[arg-type]
            answered.append(item)
            # (a) the same input again decides nothing
            assert decide(sim.state, item, sim.ctx).events == []  # type: ignore[arg-type]
        outstanding += model_work(decision)
    if sim.state.runs:
        sim.cancel()
    assert not sim.state.runs

    # (b) one terminal event per run, its last decision; contiguous decision seqs
    seqs: dict[str, list[int]] = defaultdict(list)
    terminal: dict[str, list[int]] = defaultdict(list)
    for event in sim.log:
        if event.part == "":
            seqs[event.run_id].append(event.seq)
            if event.is_terminal:
                terminal[event.run_id].append(event.seq)
    for run_id, run_seqs in seqs.items():
        assert run_seqs == list(range(len(run_seqs))), run_id
        assert terminal[run_id] == [run_seqs[-1]], run_id

    # (c) the log replays without divergence to the same state
    report = sim.replay()
    assert report.divergences == []
    assert report.sessions["s1"] == sim.state


def _continue(data: st.DataObject, sim: Sim) -> object:
    """A ContinueTeamRun answering every pending requirement of the paused team run, confirmed or rejected."""
    run = sim.state.runs["tr"]
    answers = tuple(
        Requirement.from_dict({**r.to_dict(), "confirmation": data.draw(st.booleans())})
        for r in pending_requirements(run)
    )
    return ContinueTeamRun(run_id="tr", session_id="s1", created_at=int(sim.now), requirements=answers)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_team_runs_with_human_in_the_loop_keep_the_laws(data: st.DataObject) -> None:
    careful = Tool.from_schema({"name": "careful", "parameters": {"type": "object", "properties": {}}})
    careful = replace(careful, requires_confirmation=True)
    members = (member("m1", tools=[careful]), member("m2", tools=[careful]))
    mode = data.draw(st.sampled_from(["coordinate", "route", "broadcast"]))
    sim = Sim(make_team(mode, members=members, tools=[careful]))
    outstanding: list[ModelWork | ToolWork] = list(model_work(sim.start()))
    answered: list[object] = []
    for _step in range(40):
        run = sim.state.runs.get("tr")
        if run is None:
            break
        outstanding = [w for w in outstanding if w.run_id in sim.state.runs]
        if run.status == "PAUSED":
            item = _continue(data, sim)
        elif not outstanding:
            break
        else:
            work = outstanding.pop(data.draw(st.integers(0, len(outstanding) - 1)))
            if isinstance(work, ToolWork):
                item = tool_done(work, "done")
            else:
                kind = data.draw(
                    st.sampled_from(["text", "careful", "delegate"] if work.is_team else ["text", "careful"])
                )
                name = {"coordinate": "delegate_task_to_member", "route": "delegate_task_to_member"}.get(
                    mode, "delegate_task_to_members"
                )
                args = {"member_id": data.draw(st.sampled_from(["m1", "m2"])), "task": "t"}
                calls = {"text": (), "careful": (call("careful"),), "delegate": (call(name, **args),)}[kind]
                item = answer(work, content="ok" if not calls else None, calls=calls)
        decision = sim.send(item)  # type: ignore[arg-type]
        if answered and data.draw(st.booleans()):
            assert sim.send(data.draw(st.sampled_from(answered))).events == []  # type: ignore[arg-type]
        answered.append(item)
        # (a) the same input again decides nothing
        assert decide(sim.state, item, sim.ctx).events == []  # type: ignore[arg-type]
        outstanding += [w for w in decision.work if isinstance(w, ModelWork | ToolWork)]
    if sim.state.runs:
        sim.cancel()
    assert not sim.state.runs

    # (b) contiguous decision seqs, one terminal event per run, its last decision
    seqs: dict[str, list[int]] = defaultdict(list)
    for event in sim.log:
        if event.part == "":
            seqs[event.run_id].append(event.seq)
    for run_id, run_seqs in seqs.items():
        assert run_seqs == list(range(len(run_seqs))), run_id

    # (c) the log replays without divergence to the same state
    report = sim.replay()
    assert report.divergences == []
    assert report.sessions["s1"] == sim.state
