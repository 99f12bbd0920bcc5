"""The ASGI app: AgentOS-compatible routes over a `Runtime`.

`create_app(runtime)` builds the FastAPI app; the runtime is started and stopped with the app's
lifespan. When `security_key` is set (settings: `OS_SECURITY_KEY`, as agno), every route except
`/health` requires `Authorization: Bearer <key>`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from ..runtime import Runtime
from . import agents, control, run_control, runs, sessions, team_control, teams, workflows
from .errors import install_error_handlers

__all__ = ["create_app"]


def create_app(runtime: Runtime, *, security_key: str | None = None, manage_runtime: bool = True) -> FastAPI:
    """Build the app for `runtime`.

    Args:
        runtime: the runtime serving runs and queries.
        security_key: bearer token required on every route but `/health`, or None for no auth.
        manage_runtime: start/stop the runtime with the app's lifespan.
    """
    instantiated_at = datetime.now(UTC).isoformat()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(title="agnostream AgentOS", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime
    install_error_handlers(app)

    if security_key:

        @app.middleware("http")
        async def bearer_auth(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            if request.url.path != "/health":
                header = request.headers.get("authorization", "")
                if not secrets.compare_digest(header, f"Bearer {security_key}"):
                    return JSONResponse(
                        {"detail": "Invalid or missing bearer token (OS_SECURITY_KEY)"}, status_code=401
                    )
            return await call_next(request)

    @app.get("/health", tags=["Core"])
    async def health() -> dict[str, Any]:
        """`{"status": "ok", "instantiated_at": ISO}` (agno's shape)."""
        return {"status": "ok", "instantiated_at": instantiated_at}

    app.include_router(agents.router)
    app.include_router(runs.router)
    app.include_router(run_control.router)
    app.include_router(sessions.router)
    app.include_router(teams.router)
    app.include_router(team_control.router)
    app.include_router(workflows.router)
    app.include_router(control.router)
    return app
