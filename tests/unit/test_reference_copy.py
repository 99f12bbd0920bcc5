"""The repo's copy of the agno captures is the shared reference, byte for byte (when that is present)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REFERENCE

SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "agno-sse"


def test_the_copied_captures_equal_the_shared_reference() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"no shared reference next to the repo ({SHARED}): nothing to compare the copy with")
    copy = REFERENCE / "agno-sse"
    captures = sorted(p.name for p in SHARED.iterdir() if p.suffix in (".sse", ".json"))
    assert captures, f"no captures in {SHARED}"
    assert sorted(p.name for p in copy.iterdir() if p.suffix in (".sse", ".json")) == captures
    for name in captures:  # the README differs only by a note on the copy
        assert (copy / name).read_bytes() == (SHARED / name).read_bytes(), name
