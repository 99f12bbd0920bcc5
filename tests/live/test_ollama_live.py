"""Live smoke test against a real Ollama server: one streamed answer, and one embedding when possible.

Runs only when OLLAMA_HOST is set (read through `adapters.settings`) and the server answers `GET /api/tags`
with at least one pulled model; otherwise skips with the reason. Select with `pytest -m live tests/live`.
The chat test uses the first pulled model whose name does not contain "embed"; the embedding test uses the
first one whose name does (e.g. `nomic-embed-text`), and skips when there is none. Nothing is pulled.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.models import _guard
from adapters.models.base import ModelResponse, TextDelta
from adapters.models.ollama import Ollama, parse_host
from adapters.models.ollama_embedder import OllamaEmbedder
from adapters.settings import ProviderKeys
from engine import Message

pytestmark = pytest.mark.live


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """(host, pulled model names), or a skip; also lifts the suite's block on non-loopback model requests."""
    host = ProviderKeys().secret("OLLAMA_HOST")
    if host is None:
        pytest.skip("OLLAMA_HOST is not set (live Ollama test)")
    base_url = parse_host(host)
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(f"{base_url}/api/tags")
            response.raise_for_status()
            tags: Any = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        pytest.skip(f"Ollama at {base_url} (OLLAMA_HOST) is not reachable: {exc!r}")
    names = [m["name"] for m in tags.get("models", []) if isinstance(m, dict) and isinstance(m.get("name"), str)]
    if not names:
        pytest.skip(f"Ollama at {base_url} has no pulled model (run `ollama pull llama3.2`)")
    monkeypatch.setattr(_guard, "ALLOW_MODEL_REQUESTS", True)
    return base_url, names


async def test_streamed_text(server: tuple[str, list[str]]) -> None:
    host, names = server
    chat_models = [n for n in names if "embed" not in n]
    if not chat_models:
        pytest.skip(f"no chat model pulled at {host} (only {names})")
    async with Ollama(chat_models[0], host=host, max_tokens=20, temperature=0) as chat:
        updates = [u async for u in chat.stream([Message(id="m1", role="user", content="Say: hello")], [])]
    *deltas, final = updates
    assert isinstance(final, ModelResponse)
    assert all(isinstance(d, TextDelta) for d in deltas)
    assert final.content == ("".join(d.text for d in deltas if isinstance(d, TextDelta)) or None)
    assert final.content or final.tool_calls
    assert final.usage.output_tokens > 0
    assert final.usage.total_tokens == final.usage.input_tokens + final.usage.output_tokens
    assert final.usage.duration is not None


async def test_embed(server: tuple[str, list[str]]) -> None:
    host, names = server
    embed_models = [n for n in names if "embed" in n]
    if not embed_models:
        pytest.skip(f"no embedding model pulled at {host} (e.g. `ollama pull nomic-embed-text`)")
    async with OllamaEmbedder(embed_models[0], host=host) as embedder:
        result = await embedder.embed(["hello", "world"])
    assert len(result.vectors) == 2
    assert len(result.vectors[0]) == len(result.vectors[1]) > 0
