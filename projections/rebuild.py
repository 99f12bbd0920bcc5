"""Rebuild the sessions view from a log alone (a JSONL export or a list of record values)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine import decode_event

from .sessions import SessionsView, fold_event

__all__ = ["rebuild_view"]


def rebuild_view(values: Iterable[dict[str, Any]]) -> SessionsView:
    """Fold run-event record values (in log order) into a fresh view.

    Raises:
        SchemaError: a record does not decode.
    """
    view = SessionsView()
    for value in values:
        fold_event(view, decode_event(value))
    for session in view.sessions.values():
        session.pop("run_count", None)
    view.clear_dirty()
    return view
