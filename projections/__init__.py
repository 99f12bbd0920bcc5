"""Read models built from the run-events log.

Owns: the sessions/runs view in agno's `agno_sessions` / `agno_runs` shape (`sessions`), its stores
(`view_sql` shared by SQLite in `store` and PostgreSQL in `postgres_store`, chosen by `make_view_store`),
its runner (view + position written atomically) and rebuilds from a log file.
May import: `engine`, `streams`.
"""

from .errors import PositionConflictError, ProjectionError, ProjectionLagTimeoutError
from .postgres_store import PostgresViewStore
from .rebuild import rebuild_view
from .runner import SessionsProjection
from .sessions import SessionsView, fold_event, run_messages
from .store import SqliteViewStore, make_view_store
from .view_sql import RUN_COLUMNS, SESSION_COLUMNS, ViewStore

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
