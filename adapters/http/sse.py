r"""SSE framing and the agno views of a run: frames as agno's AgentOS writes them, RunOutput for stream=false.

Frame format (agno `os/utils.py:format_sse_event`): ``event: <event>\\ndata: <compact json>\\n\\n``, one event
per frame, None fields omitted, no `id:` line and no `[DONE]` sentinel; the stream ends after the
terminal event. Engine-internal events and envelope fields never reach the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from engine import RunEvent, SchemaError, decode_event
from projections import SessionsView, fold_event
from streams import Subscription

__all__ = ["CONTENT_ONLY_EVENTS", "run_output", "sse_frame", "sse_stream"]

CONTENT_ONLY_EVENTS = frozenset({"RunContent", "RunError", "RunCancelled", "RunPaused"})
"""Events sent when `stream_events=false` (agno's SDK default streams only content and terminal errors)."""


def sse_frame(event: RunEvent) -> bytes:
    """Encode one event as an SSE frame."""
    return b"event: " + event.event.encode() + b"\ndata: " + orjson.dumps(event.to_agno()) + b"\n\n"


async def sse_stream(subscription: Subscription, *, stream_events: bool = True) -> AsyncIterator[bytes]:
    """Yield the run's SSE frames until its terminal event."""
    async for value in subscription:
        try:
            event = decode_event(value)
        except SchemaError:
            continue
        if event.is_internal:
            continue
        if not stream_events and event.event not in CONTENT_ONLY_EVENTS:
            continue
        yield sse_frame(event)


async def run_output(subscription: Subscription) -> dict[str, Any]:
    """Consume the run's events and return agno's `RunOutput.to_dict()` for a `stream=false` request."""
    view = SessionsView()
    run_id = subscription.run_id
    async for value in subscription:
        try:
            fold_event(view, decode_event(value))
        except SchemaError:
            continue
    row = view.runs.get(run_id)
    if row is None:
        return {"run_id": run_id, "status": "ERROR", "content": "the run produced no events"}
    data: dict[str, Any] = row["run_data"]
    return {k: v for k, v in data.items() if v is not None}
