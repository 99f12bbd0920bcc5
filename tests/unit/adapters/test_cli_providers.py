"""`agnostream providers`: the status table, JSON and the support-matrix Markdown."""

from __future__ import annotations

import argparse
import io

import orjson
import pytest
from pydantic import SecretStr
from rich.console import Console

from adapters.cli import main
from adapters.cli_providers import providers
from adapters.models.support_matrix import render_support_matrix_markdown
from adapters.settings import ProviderKeys


def run(keys: ProviderKeys, *, json: bool = False, markdown: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None, highlight=False)
    code = providers(argparse.Namespace(json=json, markdown=markdown), keys, console)
    return code, out.getvalue()


def test_table_shows_each_provider_status() -> None:
    keys = ProviderKeys.model_construct(GROQ_API_KEY=SecretStr("gsk-test"))
    code, text = run(keys)
    assert code == 0
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 2}
    assert set(lines) >= {"OpenAI", "Gemini", "Ollama", "Groq", "Cerebras", "OpenRouter", "SiliconFlow",
                          "ModelScope", "GLM"}  # fmt: skip
    assert "missing OPENAI_API_KEY" in lines["OpenAI"]
    assert "gpt-4o-mini" in lines["OpenAI"]
    assert "https://api.openai.com/v1" in lines["OpenAI"]
    assert "configured" in lines["Groq"]
    assert "local, no key; host http://localhost:11434" in lines["Ollama"]
    assert lines["Groq"].rstrip(" │").endswith("no")
    assert lines["GLM"].rstrip(" │").endswith("yes")
    assert "gsk-test" not in text
    assert "2 of 9 configured" in text


def test_json() -> None:
    code, text = run(ProviderKeys.model_construct(), json=True)
    assert code == 0
    rows = orjson.loads(text)
    assert [row["status"] for row in rows][:2] == ["missing OPENAI_API_KEY", "missing GOOGLE_API_KEY"]


def test_markdown_is_the_support_matrix() -> None:
    code, text = run(ProviderKeys.model_construct(), markdown=True)
    assert code == 0
    assert text == render_support_matrix_markdown()


def test_subcommand_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "--json"]) == 0
    assert len(orjson.loads(capsys.readouterr().out)) == 9
