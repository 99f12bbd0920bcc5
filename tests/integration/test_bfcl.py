"""BFCL multi-turn cases through the runtime: parser, schema conversion, harness, rebuild and replay."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

pytest.importorskip("bfcl_eval", reason="needs bfcl-eval (pip install --no-deps bfcl-eval mpmath)")

from adapters.bfcl import (
    BfclDataError,
    HarnessRun,
    agent_id_for_turn,
    build_agents,
    load_cases,
    load_func_docs,
    make_instances,
    method_table,
    parse_call,
    run_cases,
    scripted_model,
    to_json_schema,
    tool_schema,
)
from adapters.bfcl.rebuild import check, check_in_fresh_process
from adapters.models.scripted import ScriptedCall
from engine import Tool

pytestmark = pytest.mark.bfcl


class _Api:
    """A stand-in tool class for the parser: positional, keyword, defaults."""

    def move(self, source: str, destination: str, overwrite: bool = False) -> None: ...

    def configure(self, options: dict[str, Any], ratio: float = 1.0, points: tuple[int, ...] = ()) -> None: ...


# ------------------------------------------------------------------ ground-truth call parser


def test_parse_call_keyword_arguments() -> None:
    call = parse_call("move(source='a.txt', destination='tmp')", method_table({"Api": _Api()}))
    assert call.name == "move"
    assert dict(call.arguments) == {"source": "a.txt", "destination": "tmp"}
    assert call.source == "move(source='a.txt', destination='tmp')"


def test_parse_call_names_positional_arguments_from_the_signature() -> None:
    call = parse_call("move('a.txt', 'tmp', overwrite=True)", method_table({"Api": _Api()}))
    assert dict(call.arguments) == {"source": "a.txt", "destination": "tmp", "overwrite": True}


def test_parse_call_nested_literals_and_floats() -> None:
    source = "configure({'doors': ['driver', 'rear_left'], 'limits': {'max': 2.5}}, 0.25, points=(1, 2))"
    call = parse_call(source, method_table({"Api": _Api()}))
    assert dict(call.arguments) == {
        "options": {"doors": ["driver", "rear_left"], "limits": {"max": 2.5}},
        "ratio": 0.25,
        "points": (1, 2),
    }


def test_parse_call_on_a_bfcl_instance() -> None:
    case = load_cases("multi_turn_base", limit=1)[0]
    call = parse_call("sort('final_report.pdf')", method_table(make_instances(case)))
    assert (call.name, dict(call.arguments)) == ("sort", {"file_name": "final_report.pdf"})


@pytest.mark.parametrize(
    "source",
    ["move(source=open('x'))", "rm_rf(path='/')", "move('a')", "move('a', 'b', 'c', 'd')", "move(", "x = 1"],
)
def test_parse_call_rejects_what_it_cannot_execute_faithfully(source: str) -> None:
    with pytest.raises(BfclDataError):
        parse_call(source, method_table({"Api": _Api()}))


# ------------------------------------------------------------------ schema conversion


def test_to_json_schema_converts_the_bfcl_dialect_recursively() -> None:
    bfcl = {
        "type": "dict",
        "properties": {
            "ratio": {"type": "float", "description": "a ratio", "default": 1.0},
            "point": {"type": "tuple", "items": {"type": "float"}},
            "anything": {"type": "any", "description": "free"},
            "nested": {
                "type": "dict",
                "properties": {"rows": {"type": "array", "items": {"type": "dict", "properties": {}}}},
            },
        },
        "required": ["ratio"],
    }
    original = orjson.loads(orjson.dumps(bfcl))
    assert to_json_schema(bfcl) == {
        "type": "object",
        "properties": {
            "ratio": {"type": "number", "description": "a ratio", "default": 1.0},
            "point": {"type": "array", "items": {"type": "number"}},
            "anything": {"description": "free"},
            "nested": {
                "type": "object",
                "properties": {"rows": {"type": "array", "items": {"type": "object", "properties": {}}}},
            },
        },
        "required": ["ratio"],
    }
    assert bfcl == original


def test_every_func_doc_becomes_a_valid_tool() -> None:
    docs = load_func_docs(["GorillaFileSystem", "MathAPI", "MessageAPI", "TwitterAPI", "TicketAPI",
                           "TradingBot", "TravelAPI", "VehicleControlAPI"])  # fmt: skip
    for doc in docs:
        schema = tool_schema(doc)
        tool = Tool.from_schema(schema)
        assert tool.parameters["type"] == "object"
        assert "response" not in schema
        assert '"dict"' not in orjson.dumps(schema).decode()
        assert '"float"' not in orjson.dumps(schema).decode()


# ------------------------------------------------------------------ cases and agents


def test_miss_func_holds_tools_out_until_their_turn() -> None:
    case = next(c for c in load_cases("multi_turn_miss_func", limit=5) if c.missed_function)
    turn, names = next(iter(case.missed_function.items()))
    agents = build_agents(case, scripted_model(()))
    before = agents[agent_id_for_turn(case, turn - 1)]
    after = agents[agent_id_for_turn(case, turn)]
    assert agent_id_for_turn(case, turn) == case.id
    assert all(before.get_tool(n) is None and after.get_tool(n) is not None for n in names)
    assert case.questions[turn] == ()
    assert "more functions" in case.user_message(turn)


# ------------------------------------------------------------------ harness, rebuild, replay


@pytest.fixture(scope="module")
def first_cases(tmp_path_factory: pytest.TempPathFactory) -> HarnessRun:
    cases = load_cases("multi_turn_base", limit=8)
    return asyncio.run(run_cases(cases, tmp_path_factory.mktemp("bfcl"), concurrency=4))


def test_first_base_cases_pass(first_cases: HarnessRun) -> None:
    cases = {c.id: c for c in load_cases("multi_turn_base", limit=8)}
    assert [(r.id, r.status, r.reason) for r in first_cases.results] == [(i, "passed", "") for i in cases]
    for result in first_cases.results:
        case = cases[result.id]
        assert result.runs_completed
        assert result.terminal_events == ["RunCompleted"] * case.turns
        assert result.tool_calls == sum(len(t) for t in case.ground_truth)
        assert result.tool_errors == 0
    assert first_cases.events > 0


def test_log_rebuilds_to_the_projection_in_a_fresh_process(first_cases: HarnessRun) -> None:
    report = check_in_fresh_process(first_cases.events_path, first_cases.views_path)
    assert report["ok"] is True, report
    assert report["sessions"] == {"rebuilt": 8, "stored": 8, "equal": 8, "mismatched": []}
    assert report["replay"]["divergences"] == []
    assert report["replay"]["decisions_checked"] > 0


def test_rebuild_detects_a_projection_row_that_differs(first_cases: HarnessRun, tmp_path: Path) -> None:
    views = tmp_path / "views.db"
    with sqlite3.connect(first_cases.views_path) as source, sqlite3.connect(views) as copy:
        source.backup(copy)
    with sqlite3.connect(views) as conn:
        conn.execute("UPDATE agno_runs SET status = 'ERROR' WHERE run_id = 'multi_turn_base_3:turn-0'")
    report = check(first_cases.events_path, views)
    assert report["ok"] is False
    [mismatch] = report["sessions"]["mismatched"]
    assert mismatch["session_id"] == "multi_turn_base_3"
    assert any("status" in d for d in mismatch["diffs"])


async def test_a_wrong_script_is_detected_as_a_state_mismatch(tmp_path: Path) -> None:
    case = load_cases("multi_turn_base", limit=1)[0]
    assert case.ground_truth[0][1] == "mkdir(dir_name='temp')"
    wrong = [
        [ScriptedCall("cd", {"folder": "document"}), ScriptedCall("mkdir", {"dir_name": "tmp"})],
        *([] for _ in range(case.turns - 1)),
    ]
    run = await run_cases([case], tmp_path, scripts={case.id: wrong})
    [result] = run.results
    assert result.status == "failed"
    assert result.reason.startswith("turn 0: Model instance for GorillaFileSystem does not match")
    assert result.differences is not None
    assert "root" in result.differences
    assert result.runs_completed


async def test_a_failing_ground_truth_is_reported_as_gt_error_not_failed(tmp_path: Path) -> None:
    case = load_cases("multi_turn_base", limit=1)[0]
    broken = dataclasses.replace(case, ground_truth=(("cd(folder=None)",), *(() for _ in range(case.turns - 1))))
    run = await run_cases([broken], tmp_path)
    [result] = run.results
    assert result.status == "gt_error"
    assert result.reason == (
        "ground truth is not executable as given: turn 0: cd(folder=None) -> "
        "AttributeError: 'NoneType' object has no attribute 'rstrip'"
    )
    assert (result.tool_calls, result.tool_errors, result.differences) == (1, 1, None)
    assert result.runs_completed


def test_the_cli_passes_bfcl_options_through(tmp_path: Path) -> None:
    from adapters.cli import main

    out = tmp_path / "bfcl.json"
    assert main(["bfcl", "--category", "multi_turn_base", "--limit", "1", "--out", str(out)]) == 0
    report = orjson.loads(out.read_bytes())
    assert report["summary"]["passed"] == 1
