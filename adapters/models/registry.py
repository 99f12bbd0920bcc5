"""The provider registry: the one source of truth for the providers, their configuration and capabilities.

`PROVIDERS` holds one `ProviderInfo` per provider, in support-matrix order. Everything user-facing about
providers is derived from it: `build_model` / `build_embedder` (configuration → client), `provider_status`
(`agnostream providers`), and in `support_matrix` the JSON of `GET /v1/support-matrix` and the
rendering of `docs/support-matrix.md`.

Env var names, default base URLs and default model ids are read from the provider classes themselves,
so the registry cannot disagree with what a client actually sends. Capability flags say what agnostream
implements for the provider (the module sends and parses it, and the contract tests cover it);
`unconfirmed` names the flags the provider's documentation does not confirm (providers.md marks them
UNCONFIRMED), which are tested against assumed-shape fixtures only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from adapters.settings import ProviderKeys
from engine import ConfigurationError

from ._gemini_http import API_KEY_ENV as GEMINI_API_KEY_ENV
from ._gemini_http import BASE_URL_ENV as GEMINI_BASE_URL_ENV
from ._gemini_http import DEFAULT_BASE_URL as GEMINI_DEFAULT_BASE_URL
from .base import Embedder, ModelClient
from .cerebras import Cerebras
from .gemini import Gemini
from .gemini_embedder import GeminiEmbedder
from .glm import GLM, GLMEmbedder
from .groq import Groq
from .modelscope import ModelScope
from .ollama import CLOUD_HOST, DEFAULT_HOST, Ollama, parse_host
from .ollama_embedder import OllamaEmbedder
from .openai import OpenAIChat, OpenAILike
from .openai_embedder import OpenAIEmbedder, OpenAILikeEmbedder, embeddings_not_supported
from .openrouter import OpenRouter, OpenRouterEmbedder
from .siliconflow import Siliconflow, SiliconflowEmbedder

__all__ = [
    "CAPABILITIES",
    "PROVIDERS",
    "Capability",
    "ProviderInfo",
    "build_embedder",
    "build_model",
    "get_provider",
    "provider_status",
]

ChatClass = type[OpenAILike] | type[Gemini] | type[Ollama]
"""A chat model class; each takes `(id, *, provider_keys=...)` and implements `ModelClient`."""
EmbedderClass = type[OpenAILikeEmbedder] | type[GeminiEmbedder] | type[OllamaEmbedder]
"""An embedder class; each takes `(id, *, provider_keys=...)` and implements `Embedder`."""

Capability = Literal["chat", "streaming", "tools", "parallel_tools", "embeddings", "structured_output"]
CAPABILITIES: tuple[Capability, ...] = (
    "chat",
    "streaming",
    "tools",
    "parallel_tools",
    "embeddings",
    "structured_output",
)
"""The capability flags of `ProviderInfo`, in support-matrix column order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderInfo:
    """One provider: its classes, configuration and capabilities.

    Attributes:
        key: configuration name, lower case (`AGNOSTREAM_DEMO_PROVIDER=openai`, `build_model("openai")`).
        label: human name used in messages and the matrix, e.g. "OpenAI".
        chat_class: the chat model class (`ModelClient`).
        embedder_class: the embedder class (`Embedder`), or None when the provider has no embeddings API.
        api: the wire API the client speaks.
        api_key_env: variable holding the required key, or None when no key is required (local Ollama).
        base_url_env: variable overriding the endpoint (for Ollama the host, OLLAMA_HOST).
        optional_env: further optional variables (Ollama's cloud key, OpenRouter's attribution).
        default_base_url: endpoint used when `base_url_env` is unset.
        default_model: chat model id used when none is configured.
        default_embedding_model: embedding model id used when none is configured, None without embeddings.
        chat / streaming / tools / parallel_tools / embeddings / structured_output: what agnostream
            implements for this provider (parallel_tools: several tool calls in one assistant turn;
            structured_output: a JSON-schema `response_format`, implemented by no provider yet).
        unconfirmed: capability flags that are True but not confirmed by the provider's documentation.
        reference: section of the shared providers.md that documents the wire format.
        notes: one line for the matrix (quirks a user should know about).
    """

    key: str
    label: str
    chat_class: ChatClass
    embedder_class: EmbedderClass | None
    api: str
    api_key_env: str | None
    base_url_env: str
    optional_env: tuple[str, ...] = ()
    default_base_url: str
    default_model: str
    default_embedding_model: str | None
    chat: bool = True
    streaming: bool = True
    tools: bool = True
    parallel_tools: bool = True
    embeddings: bool
    structured_output: bool = False
    unconfirmed: tuple[Capability, ...] = ()
    reference: str
    notes: str = ""

    @property
    def env_vars(self) -> tuple[str, ...]:
        """Every variable this provider reads: required key (if any), endpoint override, optional ones."""
        required = (self.api_key_env,) if self.api_key_env else ()
        return (*required, self.base_url_env, *self.optional_env)

    def capabilities(self) -> dict[Capability, bool]:
        """The capability flags by name, in `CAPABILITIES` order."""
        return {
            "chat": self.chat,
            "streaming": self.streaming,
            "tools": self.tools,
            "parallel_tools": self.parallel_tools,
            "embeddings": self.embeddings,
            "structured_output": self.structured_output,
        }

    def capability(self, name: Capability) -> bool:
        """The value of capability flag `name`."""
        return self.capabilities()[name]


def _openai_compatible(
    key: str,
    label: str,
    chat_class: type[OpenAILike],
    embedder_class: type[OpenAILikeEmbedder] | None,
    *,
    reference: str,
    optional_env: tuple[str, ...] = (),
    unconfirmed: tuple[Capability, ...] = (),
    notes: str = "",
) -> ProviderInfo:
    """A `ProviderInfo` whose env vars, endpoint and model ids are read from the OpenAI-compatible classes."""
    assert chat_class.base_url_env is not None, chat_class
    assert chat_class.default_base_url is not None, chat_class
    return ProviderInfo(
        key=key,
        label=label,
        chat_class=chat_class,
        embedder_class=embedder_class,
        api="OpenAI Chat Completions, SSE",
        api_key_env=chat_class.api_key_env,
        base_url_env=chat_class.base_url_env,
        optional_env=optional_env,
        default_base_url=chat_class.default_base_url,
        default_model=chat_class.default_id,
        default_embedding_model=embedder_class.default_id if embedder_class else None,
        embeddings=embedder_class is not None,
        unconfirmed=unconfirmed,
        reference=reference,
        notes=notes,
    )


PROVIDERS: tuple[ProviderInfo, ...] = (
    _openai_compatible("openai", "OpenAI", OpenAIChat, OpenAIEmbedder, reference="§1"),
    ProviderInfo(
        key="gemini",
        label="Gemini",
        chat_class=Gemini,
        embedder_class=GeminiEmbedder,
        api="Gemini generateContent (native), SSE",
        api_key_env=GEMINI_API_KEY_ENV,
        base_url_env=GEMINI_BASE_URL_ENV,
        default_base_url=GEMINI_DEFAULT_BASE_URL,
        default_model=Gemini.default_id,
        default_embedding_model=GeminiEmbedder.default_id,
        embeddings=True,
        reference="§2",
        notes="Events name the provider `Google` (as agno does).",
    ),
    ProviderInfo(
        key="ollama",
        label="Ollama",
        chat_class=Ollama,
        embedder_class=OllamaEmbedder,
        api="Ollama /api/chat (native), NDJSON",
        api_key_env=None,
        base_url_env=Ollama.host_env,
        optional_env=(Ollama.api_key_env,),
        default_base_url=DEFAULT_HOST,
        default_model=Ollama.default_id,
        default_embedding_model=OllamaEmbedder.default_id,
        embeddings=True,
        reference="§3",
        notes=f"No key locally; with `{Ollama.api_key_env}` and no `{Ollama.host_env}` the cloud {CLOUD_HOST} is used.",
    ),
    _openai_compatible(
        "groq", "Groq", Groq, None, reference="§4", notes="No embeddings API; streamed usage read from `x_groq.usage`."
    ),
    _openai_compatible(
        "cerebras",
        "Cerebras",
        Cerebras,
        None,
        reference="§5",
        unconfirmed=("parallel_tools",),
        notes="No embeddings API.",
    ),
    _openai_compatible(
        "openrouter",
        "OpenRouter",
        OpenRouter,
        OpenRouterEmbedder,
        reference="§6",
        optional_env=("OPENROUTER_SITE_URL", "OPENROUTER_APP_TITLE"),
        notes="Model ids carry the vendor (`openai/gpt-4o-mini`); optional attribution headers.",
    ),
    _openai_compatible(
        "siliconflow",
        "SiliconFlow",
        Siliconflow,
        SiliconflowEmbedder,
        reference="§7",
        unconfirmed=("parallel_tools",),
        notes="International host: https://api.siliconflow.com/v1.",
    ),
    _openai_compatible(
        "modelscope",
        "ModelScope",
        ModelScope,
        None,
        reference="§8",
        unconfirmed=("tools", "parallel_tools"),
        notes="Key is a ModelScope Access Token; no documented embeddings API.",
    ),
    _openai_compatible(
        "glm",
        "GLM",
        GLM,
        GLMEmbedder,
        reference="§9",
        unconfirmed=("parallel_tools",),
        notes="GLM-4 family (Zhipu BigModel); Z.ai: https://api.z.ai/api/paas/v4.",
    ),
)

_BY_KEY = {info.key: info for info in PROVIDERS}


def get_provider(provider: str) -> ProviderInfo:
    """Return the registry entry for `provider` (its key, case-insensitive).

    Raises:
        ConfigurationError: no such provider; the message lists the known ones.
    """
    info = _BY_KEY.get(provider.strip().lower())
    if info is None:
        raise ConfigurationError(f"unknown model provider {provider!r}; known providers: {', '.join(_BY_KEY)}")
    return info


def build_model(provider: str, model_id: str | None = None, keys: ProviderKeys | None = None) -> ModelClient:
    """Build the chat model of `provider` (default model when `model_id` is None or empty).

    Construction does no I/O: a missing key surfaces on the first request as `ModelAuthError` naming the
    variable, so a missing key disables only the runs that use this model.

    Args:
        provider: provider key, e.g. "openai" (see `PROVIDERS`).
        model_id: model id, or None for the provider's `default_model`.
        keys: where keys and base URLs come from; `load_settings()` (lazily, per request) when None.

    Raises:
        ConfigurationError: `provider` is unknown.
    """
    info = get_provider(provider)
    return info.chat_class(model_id or None, provider_keys=keys)


def build_embedder(provider: str, model_id: str | None = None, keys: ProviderKeys | None = None) -> Embedder:
    """Build the embedder of `provider` (default embedding model when `model_id` is None or empty).

    Raises:
        ConfigurationError: `provider` is unknown, or has no embeddings API ("embeddings are not supported
            by <provider>; use one of: ...").
    """
    info = get_provider(provider)
    if info.embedder_class is None:
        raise embeddings_not_supported(info.label)
    return info.embedder_class(model_id or None, provider_keys=keys)


def provider_status(keys: ProviderKeys) -> list[dict[str, Any]]:
    """Each provider's configuration status, in registry order (what `agnostream providers` prints).

    Every entry has `provider` (key), `label`, `configured` (bool), `status` ("configured",
    "missing <VAR>", or for Ollama "local, no key; host <url>" / "cloud key set; host <url>"),
    `api_key_env`, `endpoint` (the override when set, else the default), `default_model` and
    `embeddings`. Nothing is contacted: "configured" means the key is set, not that it works.
    """
    return [_status(info, keys) for info in PROVIDERS]


def _status(info: ProviderInfo, keys: ProviderKeys) -> dict[str, Any]:
    endpoint = keys.secret(info.base_url_env) or info.default_base_url
    configured = True
    if info.api_key_env is None:  # Ollama: the host decides, an optional key selects the cloud
        cloud_key = any(keys.secret(name) for name in info.optional_env)
        host = keys.secret(info.base_url_env)
        try:
            endpoint = parse_host(host) if host else (CLOUD_HOST if cloud_key else DEFAULT_HOST)
        except ConfigurationError as exc:
            configured, status = False, f"invalid {info.base_url_env}: {exc}"
        else:
            status = f"{'cloud key set' if cloud_key else 'local, no key'}; host {endpoint}"
    elif keys.secret(info.api_key_env) is None:
        configured, status = False, f"missing {info.api_key_env}"
    else:
        status = "configured"
    return {
        "provider": info.key,
        "label": info.label,
        "configured": configured,
        "status": status,
        "api_key_env": info.api_key_env,
        "endpoint": endpoint,
        "default_model": info.default_model,
        "embeddings": info.embeddings,
    }
