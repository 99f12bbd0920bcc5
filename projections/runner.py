"""The sessions projection runner: follows run events and maintains the sessions view.

It reads every run-events partition from the positions stored in the view database (not from a
consumer group: the view database is the source of truth of its progress), folds each batch with
`sessions.fold_event` and writes the changed rows and the new positions in one transaction, on a
dedicated thread so the event loop never blocks on the database.

Several runners may write one shared view (API servers on one PostgreSQL database, each running the
projection): each batch is written only if the stored positions are still the ones it was read from
(`ViewStore.apply(expected=...)`). The runner that loses a race drops its batch, reloads the stored
positions and reads on from there, so a session row is never folded from a stale copy.

The rows a batch folded stay cached for the next batches (sessions by recent use, runs until they end),
so a batch does not re-read and re-decode the rows it just wrote. A cached row of partition p is only
used by a batch holding records of p, whose write is conditional on p's stored position still being the
one this runner wrote; so a row another writer changed is never written back from the cache. On any
failed batch (a position conflict included) the cache is dropped, because the fold mutated its rows.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from engine import SchemaError, owner_run_id
from streams import Log, Record, TopicPartition, Topics, is_progress, read_event

from .errors import PositionConflictError, ProjectionLagTimeoutError
from .sessions import SessionsView, fold_event
from .view_sql import ViewStore

__all__ = ["SessionsProjection"]

_CACHED_SESSIONS = 2048
"""Session rows kept between batches (least recently folded dropped first)."""
_CACHED_RUNS = 4096
"""Run rows kept between batches; a run's row is dropped as soon as the run has ended."""
_OPEN = ("RUNNING", "PAUSED")


class SessionsProjection:
    """Keeps `agno_sessions` / `agno_runs` up to date from the run-events topic.

    Args:
        log: the log.
        topics: topic names.
        store: the view database.
        name: projection name, the key of its stored positions.
        batch_interval_s: least time between the starts of two batch writes, seconds (settings
            `AGNOSTREAM_VIEW_BATCH_MS`). A record arriving after a quiet spell is written at once; under load
            the records of the interval go in one transaction, so a run's row is written about once per
            interval instead of once per event, and the view lags the log by up to the interval.
    """

    def __init__(
        self, log: Log, topics: Topics, store: ViewStore, *, name: str = "sessions", batch_interval_s: float = 0.0
    ) -> None:
        self._log = log
        self._batch_interval_s = batch_interval_s
        self._t = topics
        self.store = store
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"projection-{name}")
        self._positions: dict[TopicPartition, int] = {}
        self._read_to: dict[TopicPartition, int] = {}
        """Consumer position per partition: past transaction markers, unlike `_positions` (last record + 1)."""
        self._ready = asyncio.Event()
        self._sessions: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._runs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        """Rows as this runner last wrote them (see module docstring); touched on the writer thread only."""

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        """Open the store and load positions (idempotent)."""
        if self._ready.is_set():
            return
        await self._call(self.store.open)
        self._positions = await self._call(self.store.positions, self.name)
        self._ready.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the topic until `stop` is set."""
        await self.open()
        n = self._log.partitions_for(self._t.events)
        tps = [TopicPartition(self._t.events, p) for p in range(n)]
        consumer = self._log.consumer([self._t.events], group_id=None)
        await consumer.start()
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, self._positions.get(tp, 0))
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=100, max_records=2000)
                if not batch:
                    for tp in tps:
                        self._read_to[tp] = await consumer.position(tp)
                    continue
                began = time.monotonic()
                positions = {tp: records[-1].offset + 1 for tp, records in batch.items()}
                expected = {tp: self._positions.get(tp, 0) for tp in positions}
                records = [r for rs in batch.values() for r in rs]
                try:
                    await self._call(self._apply, records, positions, expected)
                except PositionConflictError:
                    # Another writer of this view applied these records first: continue from its positions.
                    self._positions = await self._call(self.store.positions, self.name)
                    for tp in tps:
                        consumer.seek(tp, self._positions.get(tp, 0))
                    continue
                self._positions.update(positions)
                for tp in batch:
                    self._read_to[tp] = await consumer.position(tp)
                rest = self._batch_interval_s - (time.monotonic() - began)
                if rest > 0:  # busy: let the next batch gather (see `batch_interval_s`)
                    await asyncio.sleep(rest)
        finally:
            await consumer.stop()

    async def close(self) -> None:
        """Close the store and the writer thread."""
        await self._call(self.store.close)
        self._executor.shutdown(wait=True)

    def _apply(
        self, records: list[Record], positions: dict[TopicPartition, int], expected: dict[TopicPartition, int]
    ) -> None:
        try:
            view = self._fold(records)
            self.store.apply(
                self.name,
                [view.sessions[s] for s in sorted(view.dirty_sessions)],
                [view.runs[r] for r in sorted(view.dirty_runs)],
                positions,
                expected=expected,
            )
        except BaseException:
            self._sessions.clear()
            self._runs.clear()
            raise
        self._keep(view)

    def _fold(self, records: list[Record]) -> SessionsView:
        view = SessionsView()
        sessions, runs = self._sessions, self._runs
        for record in records:
            if is_progress(record):  # worker progress changes no row: skip it undecoded
                continue
            try:
                event = read_event(record)
            except SchemaError:
                continue  # the orchestrator dead-letters undecodable records
            # A workflow step's agent run lives in its workflow run's row (projections.workflows).
            session_id, run_id = event.session_id, owner_run_id(event.run_id)
            if session_id not in view.sessions:
                session = sessions.get(session_id)
                if session is None:
                    session = self.store.load_session(session_id)
                if session is not None:
                    view.sessions[session_id] = session
            if run_id not in view.runs:
                run = runs.get(run_id)
                if run is None:
                    run = self.store.load_run(run_id)
                if run is not None:
                    view.runs[run_id] = run
            fold_event(view, event)
        return view

    def _keep(self, view: SessionsView) -> None:
        """Cache the rows of a written batch: every session, and the runs still open."""
        sessions, runs = self._sessions, self._runs
        for session_id, session in view.sessions.items():
            sessions[session_id] = session
            sessions.move_to_end(session_id)
        for run_id, run in view.runs.items():
            if run["status"] in _OPEN:
                runs[run_id] = run
                runs.move_to_end(run_id)
            else:
                runs.pop(run_id, None)
        while len(sessions) > _CACHED_SESSIONS:
            sessions.popitem(last=False)
        while len(runs) > _CACHED_RUNS:
            runs.popitem(last=False)

    async def wait_caught_up(self, timeout_s: float = 10.0) -> None:
        """Wait until the view reflects every record visible now.

        Raises:
            ProjectionLagTimeoutError: not caught up within `timeout_s` seconds.
        """
        n = self._log.partitions_for(self._t.events)
        ends = await self._log.end_offsets([TopicPartition(self._t.events, p) for p in range(n)])
        deadline = time.monotonic() + timeout_s

        def behind(tp: TopicPartition, end: int) -> bool:
            return max(self._positions.get(tp, 0), self._read_to.get(tp, 0)) < end

        while any(behind(tp, end) for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise ProjectionLagTimeoutError(f"projection {self.name!r} not caught up after {timeout_s}s")
            await asyncio.sleep(0.005)
