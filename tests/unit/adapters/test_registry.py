"""The provider registry: one entry per provider, consistent with the provider modules, settings and docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.models import cerebras, glm, groq, modelscope, openrouter, siliconflow
from adapters.models.base import Embedder, ModelClient
from adapters.models.gemini import Gemini
from adapters.models.ollama import Ollama
from adapters.models.openai import OpenAIChat
from adapters.models.openai_embedder import EMBEDDING_PROVIDERS
from adapters.models.registry import (
    CAPABILITIES,
    PROVIDERS,
    build_embedder,
    build_model,
    get_provider,
    provider_status,
)
from adapters.models.support_matrix import render_support_matrix_markdown, support_matrix
from adapters.settings import PROVIDER_KEY_ENV, ProviderKeys
from engine import ConfigurationError

ROOT = Path(__file__).resolve().parents[3]
NINE = ["openai", "gemini", "ollama", "groq", "cerebras", "openrouter", "siliconflow", "modelscope", "glm"]


def empty_keys(**values: str) -> ProviderKeys:
    """Keys that ignore the environment and `.env`: only `values` are set."""
    return ProviderKeys.model_construct(**{name: SecretStr(v) if "KEY" in name else v for name, v in values.items()})


def test_nine_providers_in_matrix_order() -> None:
    assert [info.key for info in PROVIDERS] == NINE


def test_env_vars_are_exactly_the_provider_settings() -> None:
    registry_vars = [name for info in PROVIDERS for name in info.env_vars]
    assert len(registry_vars) == len(set(registry_vars))
    assert set(registry_vars) == set(ProviderKeys.model_fields)
    assert [info.api_key_env for info in PROVIDERS if info.api_key_env] == list(PROVIDER_KEY_ENV)


def test_embeddings_flag_matches_the_provider_modules() -> None:
    modules = {
        "groq": groq,
        "cerebras": cerebras,
        "openrouter": openrouter,
        "siliconflow": siliconflow,
        "modelscope": modelscope,
        "glm": glm,
    }
    for info in PROVIDERS:
        assert info.embeddings == (info.embedder_class is not None) == (info.default_embedding_model is not None)
        if info.key in modules:
            assert info.embeddings == modules[info.key].EMBEDDINGS_SUPPORTED, info.key
    # the "not supported" error names exactly the providers the registry says have embeddings
    assert [info.label for info in PROVIDERS if info.embeddings] == list(EMBEDDING_PROVIDERS)


def test_flags() -> None:
    for info in PROVIDERS:
        assert [info.chat, info.streaming, info.tools, info.parallel_tools] == [True] * 4, info.key
        assert info.structured_output is False, info.key
        assert set(info.unconfirmed) <= {name for name in CAPABILITIES if info.capability(name)}, info.key
    assert {info.key for info in PROVIDERS if not info.embeddings} == {"groq", "cerebras", "modelscope"}


def test_defaults_come_from_the_classes() -> None:
    openai = get_provider("openai")
    assert (openai.default_base_url, openai.default_model) == ("https://api.openai.com/v1", OpenAIChat.default_id)
    assert get_provider("gemini").default_model == Gemini.default_id
    assert get_provider("ollama").chat_class is Ollama


@pytest.mark.parametrize("key", NINE)
def test_build_model_uses_the_default_or_given_id(key: str) -> None:
    info = get_provider(key)
    model = build_model(key, None, empty_keys())
    assert isinstance(model, ModelClient)
    assert isinstance(model, info.chat_class)
    assert model.id == info.default_model
    assert build_model(key.upper(), "some-model", empty_keys()).id == "some-model"


def test_build_model_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="unknown model provider 'anthropic'") as info:
        build_model("anthropic", None, empty_keys())
    assert ", ".join(NINE) in str(info.value)


@pytest.mark.parametrize("key", [info.key for info in PROVIDERS if info.embeddings])
def test_build_embedder(key: str) -> None:
    embedder = build_embedder(key, None, empty_keys())
    assert isinstance(embedder, Embedder)
    assert embedder.id == get_provider(key).default_embedding_model
    assert isinstance(embedder, get_provider(key).embedder_class or type(None))
    assert build_embedder(key, "custom-embed", empty_keys()).id == "custom-embed"


@pytest.mark.parametrize(("key", "label"), [("groq", "Groq"), ("cerebras", "Cerebras"), ("modelscope", "ModelScope")])
def test_build_embedder_without_embeddings_api(key: str, label: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        build_embedder(key, None, empty_keys())
    assert str(info.value) == (
        f"embeddings are not supported by {label}; use one of: OpenAI, Gemini, Ollama, OpenRouter, SiliconFlow, GLM"
    )


def test_provider_status_names_the_missing_variable() -> None:
    rows = {row["provider"]: row for row in provider_status(empty_keys(OPENAI_API_KEY="sk-x"))}
    assert list(rows) == NINE
    assert rows["openai"]["configured"] is True
    assert rows["openai"]["status"] == "configured"
    assert rows["groq"]["configured"] is False
    assert rows["groq"]["status"] == "missing GROQ_API_KEY"
    assert rows["glm"]["status"] == "missing ZHIPUAI_API_KEY"
    assert rows["ollama"]["configured"] is True
    assert rows["ollama"]["status"] == "local, no key; host http://localhost:11434"
    assert rows["openai"]["endpoint"] == "https://api.openai.com/v1"
    assert {row["embeddings"] for name, row in rows.items() if name in ("groq", "cerebras", "modelscope")} == {False}


def test_provider_status_shows_overrides_and_ollama_hosts() -> None:
    rows = {
        row["provider"]: row
        for row in provider_status(empty_keys(OPENAI_BASE_URL="http://127.0.0.1:9/v1", OLLAMA_HOST="gpu-box"))
    }
    assert rows["openai"]["endpoint"] == "http://127.0.0.1:9/v1"
    assert rows["ollama"]["status"] == "local, no key; host http://gpu-box:11434"
    cloud = provider_status(empty_keys(OLLAMA_API_KEY="k"))[NINE.index("ollama")]
    assert cloud["status"] == "cloud key set; host https://ollama.com"
    bad = provider_status(empty_keys(OLLAMA_HOST="ftp://x"))[NINE.index("ollama")]
    assert bad["configured"] is False
    assert bad["status"].startswith("invalid OLLAMA_HOST: ")


def test_support_matrix_json() -> None:
    matrix = support_matrix()
    assert matrix["capabilities"] == list(CAPABILITIES)
    entries = {entry["provider"]: entry for entry in matrix["providers"]}
    assert list(entries) == NINE
    assert entries["openai"]["env"] == {"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL", "optional": []}
    assert entries["groq"]["capabilities"]["embeddings"] is False
    assert entries["groq"]["embedder_class"] is None
    assert entries["gemini"]["model_provider"] == "Google"
    assert entries["ollama"]["default_base_url"] == "http://localhost:11434"
    assert entries["ollama"]["env"] == {"api_key": None, "base_url": "OLLAMA_HOST", "optional": ["OLLAMA_API_KEY"]}
    assert entries["modelscope"]["unconfirmed"] == ["tools", "parallel_tools"]
    assert all(set(entry["capabilities"]) == set(CAPABILITIES) for entry in entries.values())


def test_committed_support_matrix_doc_is_the_rendering() -> None:
    committed = (ROOT / "docs" / "support-matrix.md").read_text(encoding="utf-8")
    assert committed == render_support_matrix_markdown(), (
        "docs/support-matrix.md is stale: run `agnostream providers --markdown > docs/support-matrix.md`"
    )


def test_markdown_has_one_row_per_provider_and_capability() -> None:
    text = render_support_matrix_markdown()
    header = "| Provider | Chat | Streaming | Tools | Parallel tools | Embeddings | Structured output |"
    assert header in text
    assert "| Groq | yes | yes | yes | yes | no | no |" in text
    assert "| ModelScope | yes | yes | yes (unconfirmed) | yes (unconfirmed) | no | no |" in text
    for info in PROVIDERS:
        assert text.count(f"| {info.label} |") == 3, info.key


def test_capabilities_cover_every_flag_in_order() -> None:
    for info in PROVIDERS:
        assert tuple(info.capabilities()) == CAPABILITIES
