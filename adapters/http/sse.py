r"""SSE framing and the agno views of a run: frames as agno's AgentOS writes them, RunOutput for stream=false.

Frame format (agno `os/utils.py:format_sse_event`): ``event: <event>\\ndata: <compact json>\\n\\n``, one event
per frame, None fields omitted, no `id:` line and no `[DONE]` sentinel; the stream ends after the
terminal event (or RunPaused). Engine-internal events and envelope fields never reach the client.

Resumable streams (background runs, continues, `/resume`) add agno's `event_index` to every frame
(`format_sse_event_with_index`): the 0-based position of the event among the run's client-visible
events in the log, counted over the whole run (a continue goes on from where the paused stream stopped),
so a client that reconnects with the last index it saw gets exactly the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import orjson

from engine import RunEvent, SchemaError, decode_event
from projections import SessionsView, fold_event
from streams import Subscription

__all__ = [
    "CONTENT_ONLY_EVENTS",
    "IndexedEvent",
    "fold_run",
    "indexed_events",
    "indexed_frame",
    "indexed_stream",
    "run_output",
    "sse_frame",
    "sse_stream",
    "stream_status",
]

IndexedEvent = tuple[int, RunEvent]
"""A client-visible event and its `event_index`."""

_TERMINAL = frozenset({"RunCompleted", "RunError", "RunCancelled"})

CONTENT_ONLY_EVENTS = frozenset(
    {"RunContent", "RunError", "RunCancelled", "RunPaused"}
    | {"TeamRunContent", "TeamRunError", "TeamRunCancelled", "TeamRunPaused"}
)
"""Events sent when `stream_events=false` (agno's SDK default streams only content and terminal errors)."""


def sse_frame(event: RunEvent) -> bytes:
    """Encode one event as an SSE frame."""
    return b"event: " + event.event.encode() + b"\ndata: " + orjson.dumps(event.to_agno()) + b"\n\n"


def indexed_frame(event: RunEvent, index: int) -> bytes:
    """Encode one event as an SSE frame carrying `event_index` (agno `format_sse_event_with_index`)."""
    data = event.to_agno()
    data["event_index"] = index
    return b"event: " + event.event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _visible(value: dict[str, Any]) -> RunEvent | None:
    try:
        event = decode_event(value)
    except SchemaError:
        return None
    return None if event.is_internal else event


def indexed_events(values: Iterable[dict[str, Any]]) -> list[IndexedEvent]:
    """Number a run's recorded events as its streams did: client-visible ones only, up to its terminal event."""
    out: list[IndexedEvent] = []
    for value in values:
        event = _visible(value)
        if event is None:
            continue
        out.append((len(out), event))
        if event.event in _TERMINAL and not event.part:
            break
    return out


async def indexed_stream(
    prior: Sequence[IndexedEvent],
    subscription: Subscription | None,
    *,
    after: int = -1,
    stream_events: bool = True,
) -> AsyncIterator[bytes]:
    """Frames with `event_index`: the `prior` events past index `after`, then the live ones that follow them.

    The live events are numbered on from the last prior one; the stream ends after the run's terminal
    event or RunPaused (the subscription's end), or after `prior` when there is no subscription.
    """
    next_index = prior[-1][0] + 1 if prior else 0
    for index, event in prior:
        if index > after and (stream_events or event.event in CONTENT_ONLY_EVENTS):
            yield indexed_frame(event, index)
    if subscription is None:
        return
    async for value in subscription:
        live = _visible(value)
        if live is None:
            continue
        index, next_index = next_index, next_index + 1
        if index > after and (stream_events or live.event in CONTENT_ONLY_EVENTS):
            yield indexed_frame(live, index)


def stream_status(values: Iterable[dict[str, Any]]) -> str:
    """The run's status as its streams see it: COMPLETED / ERROR / CANCELLED, PAUSED, else RUNNING."""
    status = "RUNNING"
    for value in values:
        name = value.get("event")
        if value.get("part"):
            continue
        if name in _TERMINAL:
            return {"RunCompleted": "COMPLETED", "RunError": "ERROR"}.get(str(name), "CANCELLED")
        if name == "RunPaused":
            status = "PAUSED"
        elif name == "RunContinued":
            status = "RUNNING"
    return status


async def sse_stream(subscription: Subscription, *, stream_events: bool = True) -> AsyncIterator[bytes]:
    """Yield the run's SSE frames until its terminal event; frames already queued go out as one chunk."""
    async with contextlib.aclosing(subscription.batches()) as batches:
        async for values in batches:
            frames = [frame for value in values if (frame := _frame(value, stream_events)) is not None]
            if frames:
                yield frames[0] if len(frames) == 1 else b"".join(frames)


def _frame(value: dict[str, Any], stream_events: bool) -> bytes | None:
    """The SSE frame of one recorded event, or None when the client does not see it."""
    try:
        event = decode_event(value)
    except SchemaError:
        return None
    if event.is_internal:
        return None
    if not stream_events and event.event not in CONTENT_ONLY_EVENTS:
        return None
    return sse_frame(event)


def fold_run(view: SessionsView, values: Iterable[dict[str, Any]]) -> None:
    """Fold recorded run events (record dicts) into `view`; undecodable ones are skipped."""
    for value in values:
        try:
            fold_event(view, decode_event(value))
        except SchemaError:
            continue


async def run_output(subscription: Subscription, prior: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Consume the run's events (after its `prior` recorded ones) and return agno's `RunOutput.to_dict()`.

    For a `stream=false` request: the run as it stands when its stream ends (completed, failed, cancelled
    or paused).
    """
    view = SessionsView()
    run_id = subscription.run_id
    fold_run(view, prior)
    async for value in subscription:
        fold_run(view, (value,))
    row = view.runs.get(run_id)
    if row is None:
        return {"run_id": run_id, "status": "ERROR", "content": "the run produced no events"}
    data: dict[str, Any] = row["run_data"]
    return {k: v for k, v in data.items() if v is not None}
