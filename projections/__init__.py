"""Read models built from the run-events log.

Owns: the sessions/runs view in agno's `agno_sessions` / `agno_runs` shape (`sessions`), its stores
(`view_sql` shared by SQLite in `store` and PostgreSQL in `postgres_store`, chosen by `make_view_store`),
its runner (view + position written atomically) and rebuilds from a log file.
May import: `engine`, `streams`.
"""

import importlib
import typing

from .errors import PositionConflictError, ProjectionError, ProjectionLagTimeoutError
from .rebuild import rebuild_view
from .runner import SessionsProjection
from .sessions import SessionsView, fold_event, run_messages
from .store import SqliteViewStore, make_view_store
from .view_sql import RUN_COLUMNS, SESSION_COLUMNS, ViewStore

if typing.TYPE_CHECKING:
    from .postgres_store import PostgresViewStore

_LAZY = {"PostgresViewStore": ".postgres_store"}
"""Public names imported on first use: psycopg is loaded only when a PostgreSQL view is configured."""


def __getattr__(name: str) -> typing.Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "RUN_COLUMNS",
    "SESSION_COLUMNS",
    "PositionConflictError",
    "PostgresViewStore",
    "ProjectionError",
    "ProjectionLagTimeoutError",
    "SessionsProjection",
    "SessionsView",
    "SqliteViewStore",
    "ViewStore",
    "fold_event",
    "make_view_store",
    "rebuild_view",
    "run_messages",
]
