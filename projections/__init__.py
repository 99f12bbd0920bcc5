"""Read models built from the run-events log.

Owns: the sessions/runs view in agno's `agno_sessions` / `agno_runs` shape (`sessions`, `store`), its
runner (view + position written atomically) and rebuilds from a log file.
May import: `engine`, `streams`.
"""

from .errors import ProjectionError, ProjectionLagTimeoutError
from .rebuild import rebuild_view
from .runner import SessionsProjection
from .sessions import SessionsView, fold_event, run_messages
from .store import RUN_COLUMNS, SESSION_COLUMNS, SqliteViewStore

__all__ = [
    "RUN_COLUMNS",
    "SESSION_COLUMNS",
    "ProjectionError",
    "ProjectionLagTimeoutError",
    "SessionsProjection",
    "SessionsView",
    "SqliteViewStore",
    "fold_event",
    "rebuild_view",
    "run_messages",
]
