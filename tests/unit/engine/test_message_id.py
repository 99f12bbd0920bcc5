"""message_id: the same ids as `uuid.uuid5` over the joined parts (logs recorded before stay valid)."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from engine import message_id
from engine.state import _NS

_part = st.one_of(st.text(), st.integers(), st.uuids().map(str))


@given(st.lists(_part, min_size=1, max_size=5))
def test_message_id_is_uuid5_of_the_joined_parts(parts: list[object]) -> None:
    expected = uuid.uuid5(_NS, "/".join(str(p) for p in parts))
    got = message_id(*parts)
    assert got == str(expected)
    assert uuid.UUID(got).version == 5


def test_a_known_id_does_not_change() -> None:
    # recorded logs carry these ids: a change of derivation would make every replay diverge
    assert message_id("run-1", 3, "assistant") == "b2852d22-4a46-575c-99ed-7dbb384aeb63"
    assert message_id("run-1", 3, "assistant") != message_id("run-1", 4, "assistant")
