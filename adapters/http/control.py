"""Control-plane routes of agnostream itself (not part of agno's AgentOS API): `GET /v1/support-matrix`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..models.support_matrix import support_matrix as _support_matrix

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["Control"])


@router.get("/support-matrix")
async def support_matrix() -> dict[str, Any]:
    """What each model provider supports and how it is configured (rendered from the provider registry).

    The body is `adapters.models.support_matrix.support_matrix()`: `{"capabilities": [...], "providers":
    [{"provider", "label", "capabilities": {name: bool}, "unconfirmed", "env", "default_base_url", ...}]}`.
    It describes what agnostream implements, not which keys this server has (see `agnostream providers`).
    """
    return _support_matrix()
