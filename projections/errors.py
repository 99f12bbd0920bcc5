"""Errors of the projections layer.

::

    ProjectionError(EngineError)
    ├── ProjectionLagTimeoutError(ProjectionError, TimeoutError)   the view did not catch up in time
    └── PositionConflictError(ProjectionError)   another writer advanced the projection's stored positions first
"""

from __future__ import annotations

from typing import ClassVar

from engine import EngineError

__all__ = ["PositionConflictError", "ProjectionError", "ProjectionLagTimeoutError"]


class ProjectionError(EngineError):
    """Base of projection errors."""


class ProjectionLagTimeoutError(ProjectionError, TimeoutError):
    """A projection did not reach the wanted position within the timeout."""


class PositionConflictError(ProjectionError):
    """A batch was not applied: its projection's stored positions moved since this writer read them.

    Another process writing the same projection into the same database applied those records first; the
    writer reloads the stored positions and reads on from there.
    """

    retriable: ClassVar[bool] = True
