"""The model worker: executes ModelWork items through the agent's model and reports as run events.

For each item it appends `ModelRequestStarted` (while the request goes out), then `RunContent` deltas
coalesced over a short window (the first delta is flushed at once, so time-to-first-token is not
delayed), and finally answers with
`ModelRequestCompleted` (usage + the assistant message) or `ModelRequestFailed` (error type and code).
Provider retries happen inside the model client; a failure here is final for the run.

Cancel: with a `CancelWatch` (the runtime gives one to every model worker), a CancelRun of the item's run
seen on the commands topic, by this process or any other, aborts the stream at once (the provider request
is closed). The item is then answered with nothing: the orchestrator decides the run's RunCancelled from
the command, and a ModelRequestCompleted / ModelRequestFailed racing it could only confuse that.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any, cast

from engine import (
    Agent,
    Message,
    ModelRequestFailed,
    ModelWork,
    RunContent,
    RunEvent,
    WorkItem,
    message_id,
    model_event_classes,
)
from streams import CancelWatch, Emit

from .errors import AdapterError
from .models._http import HTTPConnection
from .models.base import ModelClient, ModelResponse, TextDelta, text_read_interval

__all__ = ["MODEL_GROUP", "ModelExecutor", "close_models"]

MODEL_GROUP = "process.model"


class ModelExecutor:
    """`WorkHandler` for model work.

    Args:
        agents: registry by agent id; each agent's `model` must be a `ModelClient`.
        content_flush_s: RunContent coalescing window in seconds (settings `AGNOSTREAM_CONTENT_FLUSH_MS`); also
            how often a turn's response is read once it streams text (`models.base.text_read_interval`).
        cancels: the cancel watch that aborts streams of cancelled runs, or None.
    """

    def __init__(
        self, agents: Mapping[str, Agent], *, content_flush_s: float = 0.05, cancels: CancelWatch | None = None
    ) -> None:
        self._agents = agents
        self._flush_s = content_flush_s
        self._cancels = cancels
        self._streamable: dict[int, bool] = {}
        """Per model object: is it a ModelClient (a runtime Protocol check costs ~1.5 % of a loaded server)."""

    async def execute(self, work: WorkItem, emit: Emit) -> list[RunEvent]:
        """Stream the model turn for `work`; return the final answer event (none when the run was cancelled)."""
        assert isinstance(work, ModelWork)
        if self._cancels is None:
            return await self._turn(work, emit)
        if self._cancels.cancelled(work.run_id):
            return []
        # The turn runs in this task, and a CancelRun cancels this task. A task of its own for the turn started
        # one event-loop iteration later and answered two after the turn ended (~1 ms each on a loaded loop).
        task = asyncio.current_task()
        assert task is not None
        cancelled = self._cancels.watch(work.run_id)
        stop = asyncio.ensure_future(cancelled.wait())
        turn_running, stopped = True, False

        def on_cancel(_: object) -> None:
            nonlocal stopped
            if turn_running and not stop.cancelled():
                stopped = True
                task.cancel()

        stop.add_done_callback(on_cancel)
        try:
            return await self._turn(work, emit)
        except asyncio.CancelledError:
            if not stopped or task.uncancel() > 0:  # cancelled from elsewhere too (shutdown, revoke)
                raise
            return []
        finally:
            turn_running = False
            stop.cancel()
            self._cancels.unwatch(work.run_id, cancelled)

    async def _turn(self, work: ModelWork, emit: Emit) -> list[RunEvent]:
        agent = self._agents.get(work.agent_id)
        base: dict[str, Any] = {
            "run_id": work.run_id,
            "session_id": work.session_id,
            "seq": work.seq,
            "agent_id": work.agent_id,
            "agent_name": agent.name if agent else "",
            **work.event_fields(),
        }
        started, content_event, completed = model_event_classes(work.is_team)  # a team leader's: Team* events
        if agent is None or not self._is_streamable(agent.model):
            return [
                ModelRequestFailed(
                    created_at=int(time.time()),
                    part="done",
                    error_type="ConfigurationError",
                    error=f"agent {work.agent_id!r} is not registered in this worker or has no streamable model",
                    **base,
                )
            ]
        model = cast(ModelClient, agent.model)  # checked (and cached) above
        names: dict[str, Any] = {"model": model.id, "model_provider": model.provider}
        # Progress events are per attempt: a request re-executed after a crash streams under new ids, so no
        # event id repeats in the log (the final answer keeps the deterministic part "done").
        attempt = uuid.uuid4().hex[:8]
        content = _ContentWriter(emit, base, attempt, self._flush_s, content_event)
        # ModelRequestStarted is appended while the request goes out: the deltas queue behind it (appends
        # are sequential), so the log order is the same, but the first token no longer waits for a group
        # commit before the model is even called.
        content.follow(emit([started(created_at=int(time.time()), part=f"start~{attempt}", **base, **names)]))
        response: ModelResponse | None = None
        # Text goes out once a window: the provider need not read its socket more often (see text_read_interval).
        interval_token = text_read_interval.set(self._flush_s)
        try:
            async for update in model.stream(work.messages, agent.tool_list):
                if isinstance(update, TextDelta):
                    content.add(update.text, update.provider_data)
                else:
                    response = update
        except AdapterError as exc:
            await content.drain(flush=False)
            return [_failed(base, type(exc).__name__, str(exc), exc.error_code)]
        except BaseException:
            content.abort()
            raise
        finally:
            text_read_interval.reset(interval_token)
        await content.drain(flush=True)
        if response is None:
            return [
                _failed(
                    base,
                    "UnexpectedModelBehaviorError",
                    "the model stream ended without a response",
                    "malformed_response",
                )
            ]
        usage = response.usage
        message = Message(
            id=message_id(work.run_id, work.seq, "assistant"),
            role="assistant",
            content=response.content,
            tool_calls=response.tool_calls,
            provider_data=response.provider_data,
            metrics=usage.message_metrics(),
            created_at=int(time.time()),
        )
        return [
            completed(
                created_at=int(time.time()),
                part="done",
                **base,
                **names,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                total_tokens=usage.total_tokens,
                time_to_first_token=usage.time_to_first_token,
                reasoning_tokens=usage.reasoning_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                duration=usage.duration,
                message=message,
            )
        ]

    def _is_streamable(self, model: object) -> bool:
        known = self._streamable.get(id(model))
        if known is None:
            known = self._streamable[id(model)] = isinstance(model, ModelClient)
        return known


class _ContentWriter:
    """Coalesces a turn's text deltas into RunContent events and appends them without stalling the stream.

    The first delta is appended at once (time to first token); after that, a batch is appended when the
    window has passed since the previous append started AND that append has returned. The append runs
    in a task (taking the deltas when it starts, so those of one network read go together) while the
    stream goes on, so a slow log (a busy group commit) makes batches bigger instead
    of turning every delta into a record of its own and holding the provider stream while it waits.
    Appends are strictly sequential: parts `d1`, `d2`, ... reach the log in order.
    """

    def __init__(
        self, emit: Emit, base: Mapping[str, Any], attempt: str, window_s: float, event: type[RunContent] = RunContent
    ) -> None:
        self._event = event
        self._emit = emit
        self._base = base
        self._attempt = attempt
        self._window_s = window_s
        self._pending: list[str] = []
        self._provider_data: dict[str, Any] | None = None
        self._parts = 0
        self._last = -window_s
        self._inflight: asyncio.Future[None] | None = None

    def add(self, text: str, provider_data: dict[str, Any] | None) -> None:
        """Take one delta; start an append when the window has passed and none is in flight."""
        self._pending.append(text)
        self._provider_data = provider_data or self._provider_data
        inflight = self._inflight
        if inflight is not None:
            if not inflight.done():
                return
            inflight.result()  # an append that failed fails the turn, as an inline append did
            self._inflight = None
        now = time.monotonic()
        if now - self._last >= self._window_s:
            self._last = now
            self._inflight = asyncio.ensure_future(self._append())

    def follow(self, first: Awaitable[None]) -> None:
        """Queue this turn's appends behind `first` (an append started before the stream).

        Deltas that arrive while `first` is in flight are appended as soon as it has returned, so the
        first token waits for `first` only, not for a later delta. Call before the first `add`.
        """
        self._inflight = asyncio.ensure_future(self._after(first))

    async def _after(self, first: Awaitable[None]) -> None:
        await first
        if self._pending:
            self._last = time.monotonic()
            await self._emit([self._take()])

    async def _append(self) -> None:
        # The batch is taken when this task first runs, after the deltas of the same network read.
        if self._pending:
            await self._emit([self._take()])

    async def drain(self, *, flush: bool) -> None:
        """Wait for the append in flight; then, with `flush`, append what is still pending."""
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            await inflight
        if flush and self._pending:
            await self._emit([self._take()])

    def abort(self) -> None:
        """Cancel an append still in flight (the turn was cancelled or failed unexpectedly)."""
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()

    def _take(self) -> RunContent:
        self._parts += 1
        text = "".join(self._pending)
        self._pending.clear()
        return _content(self._base, f"{self._parts}~{self._attempt}", text, self._provider_data, self._event)


def _content(
    base: Mapping[str, Any],
    n: str,
    text: str,
    provider_data: dict[str, Any] | None,
    event: type[RunContent] = RunContent,
) -> RunContent:
    return event(
        created_at=int(time.time()),
        part=f"d{n}",
        content=text,
        model_provider_data=provider_data,
        **base,
    )


def _failed(base: Mapping[str, Any], error_type: str, error: str, code: str) -> ModelRequestFailed:
    return ModelRequestFailed(
        created_at=int(time.time()),
        part="done",
        error_type=error_type,
        error=error,
        error_code=code,
        **base,
    )


async def close_models(agents: Iterable[Agent]) -> None:
    """Close the HTTP clients the agents' models created (each model once; agents may share one)."""
    seen: set[int] = set()
    for agent in agents:
        model = agent.model
        if isinstance(model, HTTPConnection) and id(model) not in seen:
            seen.add(id(model))
            await model.aclose()
