"""The one table mapping project exceptions to HTTP statuses (domain errors carry no status codes)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from engine import CommandRejectedError, ConfigurationError, EngineError, SchemaError, UnknownAgentError
from projections import ProjectionLagTimeoutError
from streams import BrokerUnavailableError

__all__ = ["STATUS_BY_ERROR", "install_error_handlers"]

STATUS_BY_ERROR: tuple[tuple[type[EngineError], int], ...] = (
    (UnknownAgentError, 404),
    (CommandRejectedError, 409),
    (SchemaError, 422),
    (ConfigurationError, 500),
    (ProjectionLagTimeoutError, 504),
    (BrokerUnavailableError, 503),
    (EngineError, 500),
)


def install_error_handlers(app: FastAPI) -> None:
    """Register one handler turning any `EngineError` into `{"detail", "error_type"}` with its status."""

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        status = next(code for cls, code in STATUS_BY_ERROR if isinstance(exc, cls))
        return JSONResponse({"detail": str(exc), "error_type": type(exc).__name__}, status_code=status)

    app.add_exception_handler(EngineError, handle)
