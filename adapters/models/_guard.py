"""The global model-request guard: tests forbid requests to any host that is not loopback.

`tests/conftest.py` sets `ALLOW_MODEL_REQUESTS = False`, so a test that forgot to point a provider at a
loopback fixture server fails loudly instead of calling (and paying) a real provider. Loopback hosts
(127.0.0.0/8, ::1, `localhost`) stay allowed because that is where the fixture servers listen.
Modelled on pydantic-ai's `ALLOW_MODEL_REQUESTS` / `check_allow_model_requests`.
"""

from __future__ import annotations

import ipaddress

import httpx

from adapters.errors import ModelRequestsBlockedError

__all__ = ["ALLOW_MODEL_REQUESTS", "check_allowed", "is_loopback"]

ALLOW_MODEL_REQUESTS = True
"""Whether model requests may reach non-loopback hosts. Read on every request, so tests may flip it."""


def is_loopback(host: str) -> bool:
    """Return True when `host` (a hostname or IP literal, IPv6 with or without brackets) is loopback."""
    bare = host.strip("[]").lower()
    if bare == "localhost" or bare.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def check_allowed(url: str | httpx.URL) -> None:
    """Refuse a model request to a non-loopback host while `ALLOW_MODEL_REQUESTS` is False.

    Args:
        url: the full request URL.

    Raises:
        ModelRequestsBlockedError: requests are disabled and the host of `url` is not loopback
            (or `url` has no parseable host).
    """
    if ALLOW_MODEL_REQUESTS:
        return
    try:
        host = httpx.URL(url).host
    except httpx.InvalidURL:
        host = ""
    if not is_loopback(host):
        raise ModelRequestsBlockedError(
            f"model request to {host or str(url)!r} blocked: adapters.models._guard.ALLOW_MODEL_REQUESTS is False; "
            "point the model at a loopback fixture server or use the scripted model (adapters.models.scripted)"
        )
