"""scripts/providers_report.py: JUnit XML of the live tests -> artifacts/providers-live.json."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import orjson

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "providers_report.py"

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest">
<testcase classname="tests.live.test_openai_live" name="test_streamed_text" time="1.5"/>
<testcase classname="tests.live.test_openai_live" name="test_tool_call" time="0.9"/>
<testcase classname="tests.live.test_gemini_live" name="test_streamed_text" time="0.4"/>
<testcase classname="tests.live.test_gemini_live" name="test_embeddings" time="0.1">
  <failure message="AssertionError: no vectors">trace</failure></testcase>
<testcase classname="tests.live.test_ollama_live" name="test_chat" time="0.2"/>
<testcase classname="tests.live.test_ollama_live" name="test_embed" time="0.0">
  <skipped type="pytest.skip" message="no embedding model pulled">x</skipped></testcase>
<testcase classname="tests.live.test_groq_live" name="test_streamed_text" time="0.0">
  <skipped type="pytest.skip" message="GROQ_API_KEY is not set (live Groq test)">x</skipped></testcase>
</testsuite></testsuites>"""


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("providers_report", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_per_provider() -> None:
    report = load_script().build_report(JUNIT, generated_at="2026-01-01T00:00:00+00:00")
    assert report["summary"] == {
        "passed": ["openai", "ollama"],
        "failed": ["gemini"],
        "skipped": ["groq"],
        "no_tests": ["cerebras", "openrouter", "siliconflow", "modelscope", "glm"],
    }
    providers = report["providers"]
    assert providers["openai"]["status"] == "passed"
    assert [t["outcome"] for t in providers["openai"]["tests"]] == ["passed", "passed"]
    assert providers["gemini"]["reason"] == "AssertionError: no vectors"
    assert providers["ollama"]["tests"][1] == {
        "name": "test_embed", "outcome": "skipped", "reason": "no embedding model pulled", "duration_s": 0.0,
    }  # fmt: skip
    assert providers["groq"] == {
        "label": "Groq",
        "status": "skipped",
        "reason": "GROQ_API_KEY is not set (live Groq test)",
        "tests": [{"name": "test_streamed_text", "outcome": "skipped",
                   "reason": "GROQ_API_KEY is not set (live Groq test)", "duration_s": 0.0}],
    }  # fmt: skip


def test_main_writes_the_json(tmp_path: Path) -> None:
    (tmp_path / "live.xml").write_text(JUNIT)
    out = tmp_path / "artifacts" / "providers-live.json"
    assert load_script().main([str(tmp_path / "live.xml"), str(out)]) == 0
    assert orjson.loads(out.read_bytes())["summary"]["failed"] == ["gemini"]
