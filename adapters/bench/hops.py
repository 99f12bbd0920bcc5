"""Where an agent run's time goes: per-hop latencies from the record timestamps of a log.

Every record carries a wall-clock millisecond (`Record.timestamp_ms`): on the embedded log, that of its
append; on Kafka, the producer's create time (`kafka_run_hops`).

For each agent run started in a time window, `run_hops` pairs the records that open and close each hop of
the run's path and reports each hop's distribution over those runs. The hops:

| hop | from | to |
|---|---|---|
| orchestrator: start | the StartRun command | RunStarted |
| model worker: pick-up | ModelRequested | ModelRequestStarted (same `seq`) |
| model: first token | ModelRequestStarted | the request's first RunContent |
| model: turn | ModelRequestStarted | ModelRequestCompleted |
| orchestrator: model answer | ModelRequestCompleted | the next decided event |
| tool worker: pick-up | ToolCallRequested | ToolCallStarted (same `seq`) |
| tool: execution | ToolCallStarted | ToolCallCompleted |
| orchestrator: tool answer | the last ToolCallCompleted | the next decided event |
| run: first token | the StartRun command | the run's first RunContent |
| run: total | the StartRun command | RunCompleted |

A decided event is one the orchestrator appends (no `part`): RunStarted, ModelRequested, ToolCallRequested,
RunContentCompleted, RunCompleted. Worker events carry a `part` (`start~…`, `d1~…`, `done`). A hop that ends
with a decided event starts at the latest worker answer before it: of several parallel tool calls, the last
answer is the one the decision waited for. Timestamps are taken when an append is requested, so a hop
includes the group commit of its first record, not of its last. Team and workflow runs are not covered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from streams import Log, MemoryLog, Topics

from .stats import percentile

__all__ = ["HOPS", "HopCollector", "kafka_run_hops", "run_hops"]

HOPS = (
    "orchestrator: start",
    "model worker: pick-up",
    "model: first token",
    "model: turn",
    "orchestrator: model answer",
    "tool worker: pick-up",
    "tool: execution",
    "orchestrator: tool answer",
    "run: first token",
    "run: total",
)
"""Hop names, in path order (see the module docstring)."""

_ANSWERS = {"ModelRequestCompleted": "orchestrator: model answer", "ToolCallCompleted": "orchestrator: tool answer"}


class _Run:
    __slots__ = ("answer", "first_token", "model_started", "requested", "started_at", "tool_started")

    def __init__(self, started_at: int) -> None:
        self.started_at = started_at
        self.requested: dict[Any, int] = {}
        self.model_started: dict[Any, int] = {}
        self.tool_started: dict[Any, int] = {}
        self.answer: tuple[str, int] | None = None
        self.first_token = False


class HopCollector:
    """Collects hop durations (milliseconds) from StartRun commands and run events.

    Feed every StartRun command with `command` and each run's events in log order with `event`; a run's
    events are counted only when its command came first. `summary` gives the distributions.
    """

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}
        self.samples: dict[str, list[int]] = defaultdict(list)

    def command(self, value: Mapping[str, Any], timestamp_ms: int) -> None:
        """A record of the commands topic: a StartRun opens its run."""
        if value.get("command") == "StartRun" and isinstance(value.get("run_id"), str):
            self._runs[value["run_id"]] = _Run(timestamp_ms)

    def event(self, value: Mapping[str, Any], timestamp_ms: int) -> None:
        """A record of the run-events topic, in its partition's order."""
        run = self._runs.get(str(value.get("run_id")))
        if run is None:
            return
        name, seq, part = value.get("event"), value.get("seq"), value.get("part")
        if not part:  # decided by the orchestrator
            if run.answer is not None:
                self._add(run.answer[0], timestamp_ms - run.answer[1])
                run.answer = None
            if name == "RunStarted":
                self._add("orchestrator: start", timestamp_ms - run.started_at)
            elif name in ("ModelRequested", "ToolCallRequested"):
                run.requested[(name, seq)] = timestamp_ms
            elif name == "RunCompleted":
                self._add("run: total", timestamp_ms - run.started_at)
                del self._runs[str(value["run_id"])]
            return
        if name == "ModelRequestStarted":
            self._since(run.requested.pop(("ModelRequested", seq), None), "model worker: pick-up", timestamp_ms)
            run.model_started[seq] = timestamp_ms
        elif name == "RunContent":
            if str(part).startswith("d1~"):  # the first delta batch of a model request
                self._since(run.model_started.get(seq), "model: first token", timestamp_ms)
            if not run.first_token:
                run.first_token = True
                self._add("run: first token", timestamp_ms - run.started_at)
        elif name == "ToolCallStarted":
            self._since(run.requested.pop(("ToolCallRequested", seq), None), "tool worker: pick-up", timestamp_ms)
            run.tool_started[seq] = timestamp_ms
        elif part == "done" and name in _ANSWERS:
            if name == "ModelRequestCompleted":
                self._since(run.model_started.pop(seq, None), "model: turn", timestamp_ms)
            else:
                self._since(run.tool_started.pop(seq, None), "tool: execution", timestamp_ms)
            run.answer = (_ANSWERS[name], timestamp_ms)

    def _since(self, start: int | None, hop: str, timestamp_ms: int) -> None:
        if start is not None:
            self._add(hop, timestamp_ms - start)

    def _add(self, hop: str, ms: int) -> None:
        self.samples[hop].append(ms)

    def summary(self) -> list[dict[str, Any]]:
        """Per hop seen, in path order: `{"hop", "n", "p50_ms", "p95_ms", "mean_ms"}`."""
        out = []
        for hop in HOPS:
            values = sorted(self.samples.get(hop, ()))
            if values:
                out.append(
                    {
                        "hop": hop,
                        "n": len(values),
                        "p50_ms": round(percentile(values, 50), 1),
                        "p95_ms": round(percentile(values, 95), 1),
                        "mean_ms": round(sum(values) / len(values), 1),
                    }
                )
        return out


async def run_hops(
    path: str | Path, *, since_ms: int = 0, until_ms: int | None = None, prefix: str = "agno."
) -> list[dict[str, Any]]:
    """Hop distributions of the agent runs started in `[since_ms, until_ms)` (epoch ms) in the log at `path`.

    Returns `HopCollector.summary()`; empty when the log holds no such run.
    """
    return await _hops_of(MemoryLog(path), Topics(prefix), since_ms, until_ms)


async def kafka_run_hops(
    bootstrap_servers: str, *, prefix: str, since_ms: int = 0, until_ms: int | None = None
) -> list[dict[str, Any]]:
    """`run_hops` over the topics of `prefix` on a Kafka cluster (committed records only).

    Kafka's record timestamps are the producers' create times (`message.timestamp.type=CreateTime`, the
    default), taken when a record is handed to the producer: on the same clock as the embedded log's when
    every role runs in one process, as in the benchmark.

    Raises:
        BrokerUnavailableError: no broker answered at `bootstrap_servers`.
    """
    from streams import KafkaLog  # aiokafka is imported only when a Kafka log is used

    log = KafkaLog(bootstrap_servers, client_id="agnostream-bench-hops")
    return await _hops_of(log, Topics(prefix), since_ms, until_ms)


async def _hops_of(log: Log, topics: Topics, since_ms: int, until_ms: int | None) -> list[dict[str, Any]]:
    """`HopCollector.summary()` of `log` (opened and closed here).

    Fed the StartRun commands appended in `[since_ms, until_ms)`, then every run event.
    """
    await log.start()
    try:
        collector = HopCollector()
        async for record in log.scan(topics.commands):
            if since_ms <= record.timestamp_ms and (until_ms is None or record.timestamp_ms < until_ms):
                collector.command(orjson.loads(record.value), record.timestamp_ms)
        async for record in log.scan(topics.events):
            collector.event(orjson.loads(record.value), record.timestamp_ms)
        return collector.summary()
    finally:
        await log.close()
