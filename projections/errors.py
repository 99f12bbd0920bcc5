"""Errors of the projections layer.

::

    ProjectionError(EngineError)
    └── ProjectionLagTimeoutError(ProjectionError, TimeoutError)   the view did not catch up in time
"""

from __future__ import annotations

from engine import EngineError

__all__ = ["ProjectionError", "ProjectionLagTimeoutError"]


class ProjectionError(EngineError):
    """Base of projection errors."""


class ProjectionLagTimeoutError(ProjectionError, TimeoutError):
    """A projection did not reach the wanted position within the timeout."""
