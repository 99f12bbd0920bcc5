"""The support matrix, rendered from the provider registry as JSON and as Markdown.

`support_matrix()` is the body of `GET /v1/support-matrix`; `render_support_matrix_markdown()` is the
content of `docs/support-matrix.md` (a test keeps the committed file equal to it; regenerate with
`agnostream providers --markdown > docs/support-matrix.md`). Both read only `registry.PROVIDERS`.
"""

from __future__ import annotations

from typing import Any

from .registry import CAPABILITIES, PROVIDERS, Capability, ProviderInfo

__all__ = ["render_support_matrix_markdown", "support_matrix"]

_HEADINGS: dict[Capability, str] = {
    "chat": "Chat",
    "streaming": "Streaming",
    "tools": "Tools",
    "parallel_tools": "Parallel tools",
    "embeddings": "Embeddings",
    "structured_output": "Structured output",
}

_INTRO = """\
# Provider support matrix

<!-- Generated from adapters/models/registry.py: `agnostream providers --markdown > docs/support-matrix.md`.
     Do not edit by hand; a test compares this file with the rendering. -->

What agnostream implements for each of its nine model providers. The same data is served as JSON by
`GET /v1/support-matrix`; `agnostream providers` shows which providers are configured.

- **yes**: implemented and covered by the provider's contract tests (`tests/contract/models/`).
- **yes (unconfirmed)**: implemented, but the provider's documentation does not confirm the behaviour (the
  shared providers.md marks it UNCONFIRMED), so it is tested against assumed-shape fixtures only.
- **no**: the provider has no such API, or agnostream does not implement it yet. Asking a provider without
  embeddings for an embedder fails with "embeddings are not supported by <provider>; use one of: ...".
  Structured output (a JSON-schema `response_format`) is not implemented for any provider yet.
"""

_CONFIGURATION = """\
## Configuration

A missing key disables only that provider: `agnostream serve` starts, and a run that needs the provider
ends with a `RunError` (`error_type` `ModelAuthError`) naming the variable. Every variable is listed in
`.env.example`. `AGNOSTREAM_DEMO_PROVIDER` / `AGNOSTREAM_DEMO_MODEL` switch the demo agent to a provider.
"""


def support_matrix() -> dict[str, Any]:
    """The support matrix as JSON (`GET /v1/support-matrix`): one entry per provider, in registry order.

    Shape: `{"capabilities": [names], "providers": [{"provider", "label", "model_provider", "chat_class",
    "embedder_class", "api", "capabilities": {name: bool}, "unconfirmed": [names], "env": {"api_key",
    "base_url", "optional"}, "default_base_url", "default_model", "default_embedding_model", "reference",
    "notes"}]}`. `model_provider` is the label run events carry (agno's, e.g. "Google" for Gemini).
    """
    return {"capabilities": list(CAPABILITIES), "providers": [_entry(info) for info in PROVIDERS]}


def render_support_matrix_markdown() -> str:
    """The content of `docs/support-matrix.md`: capability, configuration and client tables."""
    capabilities = [_row(["Provider", *(_HEADINGS[name] for name in CAPABILITIES)])]
    capabilities += [_row([info.label, *(_cell(info, name) for name in CAPABILITIES)]) for info in PROVIDERS]
    configuration = [
        _row(["Provider", "Key (required)", "Endpoint override", "Optional", "Default endpoint", "Default model"])
    ]
    configuration += [_configuration_row(info) for info in PROVIDERS]
    clients = [_row(["Provider", "Chat class", "Embedder class", "Default embedding model", "Wire API", "Notes"])]
    clients += [_client_row(info) for info in PROVIDERS]
    return "\n".join(
        [
            _INTRO,
            _table(capabilities),
            _CONFIGURATION,
            _table(configuration),
            "## Clients\n\nWire formats: the shared providers.md, section per provider (last column).\n",
            _table(clients),
        ]
    )


def _entry(info: ProviderInfo) -> dict[str, Any]:
    return {
        "provider": info.key,
        "label": info.label,
        "model_provider": info.chat_class.provider,
        "chat_class": info.chat_class.__name__,
        "embedder_class": info.embedder_class.__name__ if info.embedder_class else None,
        "api": info.api,
        "capabilities": info.capabilities(),
        "unconfirmed": list(info.unconfirmed),
        "env": {"api_key": info.api_key_env, "base_url": info.base_url_env, "optional": list(info.optional_env)},
        "default_base_url": info.default_base_url,
        "default_model": info.default_model,
        "default_embedding_model": info.default_embedding_model,
        "reference": f"providers.md {info.reference}",
        "notes": info.notes,
    }


def _cell(info: ProviderInfo, name: Capability) -> str:
    if not info.capability(name):
        return "no"
    return "yes (unconfirmed)" if name in info.unconfirmed else "yes"


def _configuration_row(info: ProviderInfo) -> str:
    key = f"`{info.api_key_env}`" if info.api_key_env else "none (local server)"
    optional = ", ".join(f"`{name}`" for name in info.optional_env) or "—"
    return _row([info.label, key, f"`{info.base_url_env}`", optional, info.default_base_url, f"`{info.default_model}`"])


def _client_row(info: ProviderInfo) -> str:
    embedder = f"`{info.embedder_class.__name__}`" if info.embedder_class else "—"
    embedding_model = f"`{info.default_embedding_model}`" if info.default_embedding_model else "—"
    notes = f"{info.notes} (providers.md {info.reference})" if info.notes else f"providers.md {info.reference}"
    return _row([info.label, f"`{info.chat_class.__name__}`", embedder, embedding_model, info.api, notes])


def _table(rows: list[str]) -> str:
    header, *body = rows
    separator = "|" + "---|" * header.count(" | ") + "---|"
    return "\n".join([header, separator, *body]) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
