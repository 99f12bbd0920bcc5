"""Settings: the only place agnostream reads environment variables (pydantic-settings).

Every variable is listed in `.env.example` (a test keeps the two in sync). Runtime settings use the
`AGNOSTREAM_` prefix; provider keys use the names agno uses (`OPENAI_API_KEY`, ...), so an existing agno
deployment's environment works unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PROVIDER_KEY_ENV", "ProviderKeys", "Settings", "load_settings"]

PROVIDER_KEY_ENV = (
    "OPENAI_API_KEY",
    "GOOGLE_API_KEY",
    "GROQ_API_KEY",
    "CEREBRAS_API_KEY",
    "OPENROUTER_API_KEY",
    "SILICONFLOW_API_KEY",
    "MODELSCOPE_API_KEY",
    "ZHIPUAI_API_KEY",
)
"""API key variables of the providers that need one, in support-matrix order (Ollama needs none locally)."""


class ProviderKeys(BaseSettings):
    """Provider keys, base-URL overrides and hosts; a missing key disables only that provider.

    Keys use agno's variable names where agno has them (OPENAI_API_KEY, GOOGLE_API_KEY, GROQ_API_KEY,
    CEREBRAS_API_KEY, OPENROUTER_API_KEY, SILICONFLOW_API_KEY); ModelScope and GLM are not in agno, so
    their names follow the provider SDK (ZHIPUAI_API_KEY) or the common convention (MODELSCOPE_API_KEY).
    Every `*_BASE_URL` is an API root (the part before `/chat/completions`); unset means the provider's
    default endpoint. Sources: the shared reference, providers.md §0 and agno.md §9.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    OPENAI_API_KEY: SecretStr | None = None
    """OpenAI key (agno's variable name)."""
    OPENAI_BASE_URL: str | None = None
    """Override of the OpenAI base URL (e.g. a local OpenAI-compatible server), default https://api.openai.com/v1."""
    GOOGLE_API_KEY: SecretStr | None = None
    """Gemini key (agno's and google-genai's variable name; providers.md §2.1)."""
    GEMINI_BASE_URL: str | None = None
    """Override of the Gemini API root, default https://generativelanguage.googleapis.com/v1beta."""
    OLLAMA_HOST: str | None = None
    """Ollama server, `host[:port]` or URL (the ollama client's variable); unset = http://localhost:11434."""
    OLLAMA_API_KEY: SecretStr | None = None
    """Ollama cloud key (agno's variable name; providers.md §0); not needed for a local server."""
    GROQ_API_KEY: SecretStr | None = None
    """Groq key (agno's variable name; providers.md §4)."""
    GROQ_BASE_URL: str | None = None
    """Override of the Groq API root, default https://api.groq.com/openai/v1 (a bare host gets /openai/v1)."""
    CEREBRAS_API_KEY: SecretStr | None = None
    """Cerebras key (agno's variable name; providers.md §5)."""
    CEREBRAS_BASE_URL: str | None = None
    """Override of the Cerebras API root, default https://api.cerebras.ai/v1 (a bare host gets /v1)."""
    OPENROUTER_API_KEY: SecretStr | None = None
    """OpenRouter key (agno's variable name; providers.md §6)."""
    OPENROUTER_BASE_URL: str | None = None
    """Override of the OpenRouter API root, default https://openrouter.ai/api/v1."""
    OPENROUTER_SITE_URL: str | None = None
    """Your site's URL, sent as OpenRouter's optional `HTTP-Referer` attribution header (providers.md §6)."""
    OPENROUTER_APP_TITLE: str | None = None
    """Your app's name, sent as OpenRouter's optional `X-OpenRouter-Title` / `X-Title` attribution headers."""
    SILICONFLOW_API_KEY: SecretStr | None = None
    """SiliconFlow key (agno's variable name; providers.md §7)."""
    SILICONFLOW_BASE_URL: str | None = None
    """Override of the SiliconFlow API root, default https://api.siliconflow.cn/v1 (intl .com host)."""
    MODELSCOPE_API_KEY: SecretStr | None = None
    """ModelScope Access Token (no official variable exists; common convention; providers.md §8)."""
    MODELSCOPE_BASE_URL: str | None = None
    """Override of the ModelScope API-Inference root, default https://api-inference.modelscope.cn/v1."""
    ZHIPUAI_API_KEY: SecretStr | None = None
    """GLM (Zhipu BigModel / Z.ai) key, the zhipuai SDK's variable name (providers.md §9)."""
    ZHIPUAI_BASE_URL: str | None = None
    """Override of the GLM API root, default https://open.bigmodel.cn/api/paas/v4 (Z.ai: api.z.ai)."""

    def secret(self, env_name: str) -> str | None:
        """Return the value of provider variable `env_name`, or None when unset or empty."""
        value = getattr(self, env_name, None)
        if isinstance(value, SecretStr):
            return value.get_secret_value() or None
        return value or None


class Settings(BaseSettings):
    """Runtime settings (env prefix `AGNOSTREAM_`).

    Attributes:
        broker: `embedded` (default) or `kafka://HOST:PORT` (AGNOSTREAM_BROKER).
        log_path: SQLite file of the embedded log (AGNOSTREAM_LOG_PATH), default `./agnostream.db`.
        db_path: SQLite file of the projections (AGNOSTREAM_DB_PATH), default `./agnostream-views.db`.
        db_url: PostgreSQL URL of the projections (AGNOSTREAM_DB_URL), e.g.
            `postgresql://user@host:5432/agnostream`; when set it replaces `db_path`, so several API servers
            can serve one view. Unset (default): the SQLite file.
        topic_prefix: topic name prefix (AGNOSTREAM_TOPIC_PREFIX), default `agno.`.
        partitions: partitions per topic (AGNOSTREAM_PARTITIONS), default 12.
        host / port: HTTP bind address (AGNOSTREAM_HOST, AGNOSTREAM_PORT), default 127.0.0.1:7777.
        agents: module path defining agents (AGNOSTREAM_AGENTS), default the bundled demo.
        os_security_key: bearer token required on every route when set (OS_SECURITY_KEY, as agno).
        content_flush_ms: RunContent coalescing window in milliseconds (AGNOSTREAM_CONTENT_FLUSH_MS); the
            first delta of a turn is never held. 50 ms (20 updates a second per stream) served 6.5 % more
            requests/s than 20 ms in the benchmark (every record costs an append, a publish and an SSE write).
            Once a turn streams text, the OpenAI-compatible providers read its response once per window too
            (the end of a turn is then seen up to one window late; 0 reads every token as it arrives).
        view_batch_ms: least time between two writes of the sessions view, milliseconds
            (AGNOSTREAM_VIEW_BATCH_MS): under load the view is written once per interval (the view lags the log
            by up to this much); a record after a quiet spell is written at once. 0 writes every batch as it
            is read.
        kafka_txn_retry_backoff_ms: how long a Kafka transactional producer waits before it retries a refused
            request, milliseconds (AGNOSTREAM_KAFKA_TXN_RETRY_BACKOFF_MS; aiokafka's default is 100). A
            transaction that begins while the broker still writes the previous one's commit markers is
            refused (CONCURRENT_TRANSACTIONS) and holds its group commit for this long; while the broker is
            unreachable, each producer with a commit in flight retries at this pace (one producer per
            partition and role; measured 2.7 % of a core each at 20 ms, 1.0 % at 100).
        kafka_offset_commit_ms: how often a Kafka group member commits the offsets its transactions covered,
            at most, milliseconds (AGNOSTREAM_KAFKA_OFFSET_COMMIT_MS; they are committed right after each
            transaction, not in it). A member that dies leaves its successor this much to re-read, which it
            recognises from the log; raise it to trade that for fewer commit requests.
        gc_gen0_threshold: net allocations between two generation-0 garbage collections in `serve` and
            `worker` (AGNOSTREAM_GC_GEN0_THRESHOLD; CPython's default is 700), see `adapters.gc_tuning`.
        tool_timeout_s: per-call tool timeout in seconds (AGNOSTREAM_TOOL_TIMEOUT_S).
        demo_provider: model provider of the demo agents (AGNOSTREAM_DEMO_PROVIDER): `scripted` (default,
            no key) or a provider key of `adapters.models.registry` (`openai`, `gemini`, `ollama`, ...).
        demo_model: model id for `demo_provider` (AGNOSTREAM_DEMO_MODEL); empty means the provider's default.
    """

    model_config = SettingsConfigDict(env_prefix="AGNOSTREAM_", env_file=".env", extra="ignore")

    broker: str = "embedded"
    log_path: str = "agnostream.db"
    db_path: str = "agnostream-views.db"
    db_url: str | None = None
    topic_prefix: str = "agno."
    partitions: int = Field(default=12, ge=1)
    host: str = "127.0.0.1"
    port: int = Field(default=7777, ge=0, le=65535)
    agents: str = "adapters.demo.agents"
    os_security_key: SecretStr | None = Field(default=None, validation_alias="OS_SECURITY_KEY")
    content_flush_ms: int = Field(default=50, ge=0)
    view_batch_ms: int = Field(default=50, ge=0)
    kafka_txn_retry_backoff_ms: int = Field(default=20, ge=1)
    kafka_offset_commit_ms: int = Field(default=100, ge=1)
    gc_gen0_threshold: int = Field(default=10_000, ge=0)
    tool_timeout_s: float = Field(default=60.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    demo_provider: str = "scripted"
    demo_model: str | None = None

    @property
    def view_db(self) -> str:
        """Where the projections live: `db_url` when set, else the SQLite file `db_path`."""
        return self.db_url or self.db_path


@lru_cache(maxsize=1)
def load_settings() -> tuple[Settings, ProviderKeys]:
    """Read the environment (and `.env`) once and return (settings, provider keys)."""
    return Settings(), ProviderKeys()
