"""The model worker: executes ModelWork items through the agent's model and reports as run events.

For each item it appends `ModelRequestStarted`, then `RunContent` deltas coalesced over a short window
(the first delta is flushed at once, so time-to-first-token is not delayed), and finally answers with
`ModelRequestCompleted` (usage + the assistant message) or `ModelRequestFailed` (error type and code).
Provider retries happen inside the model client; a failure here is final for the run.

Cancel: with a `CancelWatch` (the runtime gives one to every model worker), a CancelRun of the item's run
seen on the commands topic, by this process or any other, aborts the stream at once (the provider request
is closed). The item is then answered with nothing: the orchestrator decides the run's RunCancelled from
the command, and a ModelRequestCompleted / ModelRequestFailed racing it could only confuse that.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Mapping
from typing import Any

from engine import (
    Agent,
    Message,
    ModelRequestCompleted,
    ModelRequestFailed,
    ModelRequestStarted,
    ModelWork,
    RunContent,
    RunEvent,
    WorkItem,
    message_id,
)
from streams import CancelWatch, Emit

from .errors import AdapterError
from .models.base import ModelClient, ModelResponse, TextDelta

__all__ = ["MODEL_GROUP", "ModelExecutor"]

MODEL_GROUP = "process.model"


class ModelExecutor:
    """`WorkHandler` for model work.

    Args:
        agents: registry by agent id; each agent's `model` must be a `ModelClient`.
        content_flush_s: RunContent coalescing window in seconds (settings `AGNOSTREAM_CONTENT_FLUSH_MS`).
        cancels: the cancel watch that aborts streams of cancelled runs, or None.
    """

    def __init__(
        self, agents: Mapping[str, Agent], *, content_flush_s: float = 0.02, cancels: CancelWatch | None = None
    ) -> None:
        self._agents = agents
        self._flush_s = content_flush_s
        self._cancels = cancels

    async def execute(self, work: WorkItem, emit: Emit) -> list[RunEvent]:
        """Stream the model turn for `work`; return the final answer event (none when the run was cancelled)."""
        assert isinstance(work, ModelWork)
        if self._cancels is None:
            return await self._turn(work, emit)
        if self._cancels.cancelled(work.run_id):
            return []
        cancelled = self._cancels.watch(work.run_id)
        turn = asyncio.ensure_future(self._turn(work, emit))
        stop = asyncio.ensure_future(cancelled.wait())
        try:
            await asyncio.wait({turn, stop}, return_when=asyncio.FIRST_COMPLETED)
            if turn.done():
                return turn.result()
            return []
        finally:
            for task in (turn, stop):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            self._cancels.unwatch(work.run_id, cancelled)

    async def _turn(self, work: ModelWork, emit: Emit) -> list[RunEvent]:
        agent = self._agents.get(work.agent_id)
        base: dict[str, Any] = {
            "run_id": work.run_id,
            "session_id": work.session_id,
            "seq": work.seq,
            "agent_id": work.agent_id,
            "agent_name": agent.name if agent else "",
        }
        if agent is None or not isinstance(agent.model, ModelClient):
            return [
                ModelRequestFailed(
                    created_at=int(time.time()),
                    part="done",
                    error_type="ConfigurationError",
                    error=f"agent {work.agent_id!r} is not registered in this worker or has no streamable model",
                    **base,
                )
            ]
        model = agent.model
        names: dict[str, Any] = {"model": model.id, "model_provider": model.provider}
        # Progress events are per attempt: a request re-executed after a crash streams under new ids, so no
        # event id repeats in the log (the final answer keeps the deterministic part "done").
        attempt = uuid.uuid4().hex[:8]
        await emit([ModelRequestStarted(created_at=int(time.time()), part=f"start~{attempt}", **base, **names)])
        pending: list[str] = []
        provider_data: dict[str, Any] | None = None
        parts = 0
        last_flush = 0.0
        response: ModelResponse | None = None
        try:
            async for update in model.stream(work.messages, agent.tool_list):
                if isinstance(update, TextDelta):
                    pending.append(update.text)
                    provider_data = update.provider_data or provider_data
                    now = time.monotonic()
                    if now - last_flush >= self._flush_s:
                        parts += 1
                        await emit([_content(base, f"{parts}~{attempt}", "".join(pending), provider_data)])
                        pending.clear()
                        last_flush = now
                else:
                    response = update
        except AdapterError as exc:
            return [_failed(base, type(exc).__name__, str(exc), exc.error_code)]
        if pending:
            parts += 1
            await emit([_content(base, f"{parts}~{attempt}", "".join(pending), provider_data)])
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
            ModelRequestCompleted(
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


def _content(base: Mapping[str, Any], n: str, text: str, provider_data: dict[str, Any] | None) -> RunContent:
    return RunContent(
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
