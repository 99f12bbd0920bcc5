"""Module size budget (STYLE 7.3): no module of the four packages passes 800 lines without a reason."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CAP = 800
ALLOWLIST: dict[str, str] = {}


def test_no_module_over_the_cap() -> None:
    over = {
        str(path.relative_to(ROOT)): n
        for package in ("engine", "streams", "projections", "adapters")
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > CAP and str(path.relative_to(ROOT)) not in ALLOWLIST
    }
    assert over == {}
