"""Turn the JUnit XML of `pytest -m live tests/live` into artifacts/providers-live.json.

    python scripts/providers_report.py artifacts/providers-live.xml artifacts/providers-live.json

Used by `make providers-test`. Each live test module is `tests/live/test_<provider>_live.py`, so a test
case's class name names its provider. Every provider of the registry gets an entry:

    {"generated_at": ISO-8601, "summary": {"passed": [keys], "failed": [keys], "skipped": [keys],
     "no_tests": [keys]},
     "providers": {"<key>": {"label", "status", "reason", "tests": [{"name", "outcome", "reason",
                   "duration_s"}]}}}

A provider's status is "failed" when any of its tests failed or errored, else "passed" when any passed
(tests that skipped next to it are listed, e.g. an embedding test without an embedding model), else
"skipped" with the first skip reason (normally the missing key), else "no tests".
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from adapters.models.registry import PROVIDERS

_MODULE = re.compile(r"(?:^|\.)test_(?P<key>[a-z0-9]+)_live(?:\.|$)")


def _outcome(case: ET.Element) -> tuple[str, str | None]:
    """(outcome, reason) of one <testcase>: passed, failed (failure or error) or skipped."""
    for tag, outcome in (("failure", "failed"), ("error", "failed"), ("skipped", "skipped")):
        element = case.find(tag)
        if element is not None:
            return outcome, element.get("message") or (element.text or "").strip() or None
    return "passed", None


def build_report(junit_xml: str, *, generated_at: str | None = None) -> dict[str, Any]:
    """The report for the JUnit XML text of a live test session."""
    tests: dict[str, list[dict[str, Any]]] = {info.key: [] for info in PROVIDERS}
    for case in ET.fromstring(junit_xml).iter("testcase"):
        match = _MODULE.search(case.get("classname", ""))
        if match is None:
            continue
        outcome, reason = _outcome(case)
        tests.setdefault(match["key"], []).append(
            {"name": case.get("name"), "outcome": outcome, "reason": reason, "duration_s": float(case.get("time", 0))}
        )
    labels = {info.key: info.label for info in PROVIDERS}
    providers: dict[str, Any] = {}
    summary: dict[str, list[str]] = {"passed": [], "failed": [], "skipped": [], "no_tests": []}
    for key, cases in tests.items():
        outcomes = {case["outcome"] for case in cases}
        status = next((s for s in ("failed", "passed", "skipped") if s in outcomes), "no_tests")
        reason = next((case["reason"] for case in cases if case["outcome"] == status), None)
        providers[key] = {"label": labels.get(key, key), "status": status, "reason": reason, "tests": cases}
        summary[status].append(key)
    return {
        "generated_at": generated_at or datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": summary,
        "providers": providers,
    }


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        print("usage: providers_report.py JUNIT_XML OUT_JSON", file=sys.stderr)
        return 2
    report = build_report(Path(argv[0]).read_text(encoding="utf-8"))
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    for status in ("passed", "failed", "skipped", "no_tests"):
        print(f"{status}: {', '.join(report['summary'][status]) or '-'}")
    print(f"report: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
