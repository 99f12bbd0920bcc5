"""Settings: the only env reader; `.env.example` documents exactly its variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.settings import ProviderKeys, Settings

ROOT = Path(__file__).resolve().parents[3]


def example_keys() -> set[str]:
    keys = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keys.add(line.split("=", 1)[0])
    return keys


def settings_keys() -> set[str]:
    keys = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        keys.add(alias if isinstance(alias, str) else f"AGNOSTREAM_{name.upper()}")
    return keys | set(ProviderKeys.model_fields)


def test_env_example_lists_every_variable() -> None:
    assert example_keys() == settings_keys()


def test_settings_read_prefixed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGNOSTREAM_PORT", "9001")
    monkeypatch.setenv("OS_SECURITY_KEY", "s3cret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = Settings(_env_file=None)
    assert settings.port == 9001
    assert settings.os_security_key is not None
    assert settings.os_security_key.get_secret_value() == "s3cret"
    keys = ProviderKeys(_env_file=None)
    assert keys.secret("OPENAI_API_KEY") == "sk-test"
    assert "sk-test" not in repr(keys)


def test_bad_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGNOSTREAM_PARTITIONS", "0")
    with pytest.raises(ValidationError, match="partitions"):
        Settings(_env_file=None)


def test_missing_key_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert ProviderKeys(_env_file=None).secret("OPENAI_API_KEY") is None


def test_kafka_retry_backoff_reaches_the_kafka_log(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.brokers import make_log
    from streams.kafka import KafkaLog

    monkeypatch.setenv("AGNOSTREAM_KAFKA_TXN_RETRY_BACKOFF_MS", "35")
    monkeypatch.setenv("AGNOSTREAM_KAFKA_OFFSET_COMMIT_MS", "250")
    settings = Settings(_env_file=None)
    log = make_log(
        "kafka://127.0.0.1:9", log_path="unused.db", partitions=1,
        txn_retry_backoff_ms=settings.kafka_txn_retry_backoff_ms,
        offset_commit_interval_ms=settings.kafka_offset_commit_ms,
    )  # fmt: skip
    assert isinstance(log, KafkaLog)
    assert log._txn_retry_backoff_ms == 35  # handed to every transactional producer it starts
    assert log._offset_commit_interval_s == 0.25  # and to every group consumer
    monkeypatch.setenv("AGNOSTREAM_KAFKA_TXN_RETRY_BACKOFF_MS", "0")
    with pytest.raises(ValidationError, match="kafka_txn_retry_backoff_ms"):
        Settings(_env_file=None)
