"""compose.yaml stays valid for Docker users even though CI has no Docker engine to run it.

Checks what `docker compose config` would not: every agnostream command parses with the real CLI parser,
every AGNOSTREAM_* variable is a real setting, ports bind to loopback, the services others wait on have
healthchecks, and the image the services build contains every package the project ships.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.cli import _parser
from adapters.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def agnostream_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if s.get("image", "").startswith("agnostream")}


def test_every_agnostream_command_parses_with_the_cli(compose: dict[str, Any]) -> None:
    services = agnostream_services(compose)
    assert {"api", "topics", "orchestrator", "model", "tool", "projection"} <= set(services)
    for name, service in services.items():
        command = service["command"]
        assert command[0] == "agnostream", name
        args = _parser().parse_args(command[1:])  # exits (SystemExit) on an unknown flag or choice
        assert args.command in {"serve", "worker", "topics"}, name
    roles = {s["command"][3] for s in services.values() if s["command"][1] == "worker"}
    assert roles == {"orchestrator", "model", "tool", "projection"}


def test_agnostream_variables_are_settings_and_point_at_the_compose_services(compose: dict[str, Any]) -> None:
    fields = {f"AGNOSTREAM_{name.upper()}" for name in Settings.model_fields}
    for name, service in agnostream_services(compose).items():
        env = service["environment"]
        assert set(k for k in env if k.startswith("AGNOSTREAM_")) <= fields, name
        assert env["AGNOSTREAM_BROKER"] == "kafka://kafka:9092"
        assert re.fullmatch(r"postgresql://agnostream:.+@postgres:5432/agnostream", env["AGNOSTREAM_DB_URL"])


def test_published_ports_bind_to_loopback_only(compose: dict[str, Any]) -> None:
    published = [p for s in compose["services"].values() for p in s.get("ports", [])]
    assert published
    assert all(str(p).startswith("127.0.0.1:") for p in published), published


def test_dependencies_exist_and_wait_on_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("kafka", "postgres", "api"):
        assert services[name]["healthcheck"]["test"], name
    for name, service in services.items():
        for dep, condition in service.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            wanted = "service_completed_successfully" if dep == "topics" else "service_healthy"
            assert condition["condition"] == wanted, (name, dep)


def test_the_image_contains_every_shipped_package() -> None:
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    top_level = {p.split(".")[0] for p in packages}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    assert top_level <= copied
