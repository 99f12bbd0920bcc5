"""`engine._replace.replace` copies like `dataclasses.replace`, and falls back to it where it must."""

from __future__ import annotations

import dataclasses

import pytest

from engine._replace import replace
from engine.state import RunState, SessionState


def run() -> RunState:
    return RunState(
        run_id="r",
        session_id="s",
        agent_id="a",
        agent_name="A",
        user_id=None,
        model="m",
        model_provider="p",
        started_at=1,
        seq=0,
        system_message=None,
        history=(),
        messages=(),
    )


def test_a_copy_equals_what_dataclasses_replace_builds_and_leaves_the_original_alone() -> None:
    original = run()
    copy = replace(original, seq=3, step=2)
    assert copy == dataclasses.replace(original, seq=3, step=2)
    assert type(copy) is RunState
    assert (original.seq, original.step) == (0, 0)
    state = SessionState(session_id="s")
    assert replace(state, runs={"r": original}) == dataclasses.replace(state, runs={"r": original})
    assert replace(original) == original


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(TypeError, match="no fields"):
        replace(run(), not_a_field=1)


@dataclasses.dataclass(frozen=True, slots=True)
class Validated:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n must be >= 0")


@dataclasses.dataclass(frozen=True)
class Unslotted:
    n: int


def test_classes_with_validation_or_without_slots_go_through_dataclasses_replace() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        replace(Validated(1), n=-1)  # __post_init__ still runs
    assert replace(Unslotted(1), n=2) == Unslotted(2)


def test_slotted_subclasses_are_copied_with_their_bases_fields() -> None:
    from engine import RunCompleted
    from engine._replace import _COPIERS

    event = RunCompleted(created_at=1, run_id="r", session_id="s", seq=3, content="hi", metrics={"duration": 1.0})
    copy = replace(event, created_at=2, metrics=None)
    assert copy == dataclasses.replace(event, created_at=2, metrics=None)
    assert _COPIERS[RunCompleted] is not None  # the generated copier, not the fallback
