"""Run BFCL multi-turn cases through the runtime and compare tool states with the ground truth.

One session per case (session id = case id), one run per user turn, on a durable `MemoryLog` file in
a work directory. Each case's scripted model plays that turn's ground-truth calls, one per model step,
then answers "Done.". In lockstep, the same calls are executed directly on a second, fresh set of
instances; after every turn the two sets must be in the same state (bfcl's `state_checker`) and every
call must have returned the same result text.

bfcl's `MathAPI` keeps state in the process: `logarithm` sets the global `mpmath.mp.dps`, and an
`mpf` result's text depends on the precision current when it is rendered. With cases running
concurrently, its methods are therefore called and rendered to text under one lock (`_entrypoint`),
both in the engine and in the direct execution.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import state_checker

from adapters.brokers import make_log, parse_broker
from engine import Agent, Message, Tool
from projections import SqliteViewStore
from streams import Log, TopicPartition, Topics

from ..models.scripted import FunctionModel, ScriptedCall, Turn, step_of
from ..runtime import Runtime
from ..tool_worker import result_text
from ._cases import (
    BfclDataError,
    Case,
    GroundTruthCall,
    load_func_docs,
    make_instances,
    method_table,
    parse_call,
    tool_schema,
)

__all__ = [
    "FINAL_TEXT",
    "RUN_TIMEOUT_S",
    "CaseResult",
    "HarnessRun",
    "Script",
    "agent_id_for_turn",
    "build_agents",
    "entrypoints",
    "export_events",
    "ground_truth_script",
    "run_cases",
    "scripted_model",
]

_Status = Literal["passed", "failed", "gt_error"]
Script = Sequence[Sequence[ScriptedCall]]
"""Per turn, the calls the scripted model makes in order (one per model step)."""

FINAL_TEXT = "Done."
"""The scripted answer closing every turn."""
_PROCESS_STATE_CLASSES = frozenset({"MathAPI"})
"""bfcl classes whose methods read or write process-global state (`mpmath.mp`)."""
_PROCESS_STATE_LOCK = threading.Lock()
RUN_TIMEOUT_S = 60.0
"""Longest wait for one run's terminal event, seconds."""


@dataclass(slots=True)
class CaseResult:
    """Outcome of one case.

    Attributes:
        id: the case id (= session id).
        status: `passed`; `failed` (state or result mismatch, or a run not completed); `gt_error` (a
            ground-truth call failed when executed directly: the case is skipped, not failed).
        reason: why it did not pass (first problem found), empty when passed.
        turns: user turns (= runs) played.
        tool_calls: distinct tool calls answered (ToolCallCompleted + ToolCallError) on the subscriptions.
        tool_errors: of those, ToolCallError answers.
        runs_completed: every run ended with RunCompleted.
        terminal_events: the terminal event of each run, in turn order.
        differences: bfcl's state differences (attribute -> {model, ground_truth}) of the first mismatching
            turn, JSON-safe; None when the states matched.
        duration_s: wall time of the case, seconds.
    """

    id: str
    status: _Status = "passed"
    reason: str = ""
    turns: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    runs_completed: bool = True
    terminal_events: list[str] = field(default_factory=list)
    differences: dict[str, Any] | None = None
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-safe dict."""
        return asdict(self)

    def fail(self, reason: str) -> None:
        """Mark failed with `reason` unless already failed (the first reason wins)."""
        if self.status == "passed":
            self.status, self.reason = "failed", reason


@dataclass(slots=True)
class HarnessRun:
    """What `run_cases` produced.

    Attributes:
        results: one per case, in input order.
        log_path: the log file; views_path: the projection database; events_path: the run-events JSONL export.
        events: records in the export.
        wall_s: wall time from runtime start to export, seconds.
    """

    results: list[CaseResult]
    log_path: Path
    views_path: Path
    events_path: Path
    events: int
    wall_s: float


def scripted_model(script: Script) -> FunctionModel:
    """The model of one case: plays `script[turn][step]`, then `FINAL_TEXT` once the turn's calls are made.

    The turn is the number of user messages in the context minus one (history holds every earlier
    turn); the step is `step_of(messages)`. Both come from the messages, so a redelivered model
    request plays the same call again.
    """

    def play(messages: Sequence[Message], _tools: Sequence[Tool]) -> Turn:
        turn = sum(1 for m in messages if m.role == "user") - 1
        calls = script[turn] if 0 <= turn < len(script) else ()
        step = step_of(messages)
        return Turn(tool_calls=(calls[step],)) if step < len(calls) else Turn(text=FINAL_TEXT)

    return FunctionModel(play, id="bfcl-ground-truth", provider="Scripted", name="BFCL ground truth")


def agent_id_for_turn(case: Case, turn: int) -> str:
    """The agent that plays `turn`: the case id, or `<id>:before-turn-<k>` while functions are held out."""
    later = [k for k in case.missed_function if k > turn]
    return f"{case.id}:before-turn-{min(later)}" if later else case.id


def build_agents(
    case: Case, model: FunctionModel, methods: Mapping[str, Callable[..., Any]] | None = None
) -> dict[str, Agent]:
    """The agents of a case by id: tools from the func docs, entrypoints from `methods` (None: no entrypoints).

    miss_func cases get one agent per set of visible tools (see `agent_id_for_turn`).
    """
    schemas = [tool_schema(doc) for doc in load_func_docs(case.involved_classes)]
    agents: dict[str, Agent] = {}
    for turn in range(case.turns):
        agent_id = agent_id_for_turn(case, turn)
        if agent_id in agents:
            continue
        hidden = case.hidden_tools(turn)
        tools = [
            Tool.from_schema(s, entrypoint=methods[s["name"]] if methods is not None else None)
            for s in schemas
            if s["name"] not in hidden
        ]
        agents[agent_id] = Agent(
            id=agent_id, model=model, tools=tools, add_history_to_context=True, num_history_runs=1000
        )
    return agents


def _entrypoint(method: Callable[..., Any]) -> Callable[..., Any]:
    """`method`, or for a `_PROCESS_STATE_CLASSES` method a wrapper calling and rendering it under the lock."""
    if type(getattr(method, "__self__", None)).__name__ not in _PROCESS_STATE_CLASSES:
        return method

    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> str:
        with _PROCESS_STATE_LOCK:
            return result_text(method(*args, **kwargs))

    return locked


def entrypoints(methods: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The tool entrypoints for `methods` (see `_entrypoint`), by name."""
    return {name: _entrypoint(method) for name, method in methods.items()}


def ground_truth_script(case: Case, methods: Mapping[str, Callable[..., Any]]) -> list[list[GroundTruthCall]]:
    """Parse every ground-truth call of `case`, per turn.

    Raises:
        BfclDataError: a call does not parse or does not fit its method.
    """
    return [[parse_call(source, methods) for source in turn] for turn in case.ground_truth]


def _execute_directly(
    methods: Mapping[str, Callable[..., Any]], calls: Sequence[GroundTruthCall]
) -> tuple[list[str], str]:
    """Execute calls in order, like bfcl's `execute_multi_turn_func_call`.

    Returns:
        Each call's result as the tool worker renders it (an exception as the worker's error text), and
        `"<call> -> <error>"` for the first call that raised (bfcl's "Error during execution"), or ''.
    """
    results: list[str] = []
    error = ""
    for call in calls:
        try:
            results.append(result_text(methods[call.name](**copy.deepcopy(dict(call.arguments)))))
        except Exception as exc:  # a ground-truth failure is data to report, not a harness crash
            results.append(f"Error executing {call.name}: {exc}")
            error = error or f"{call.source} -> {type(exc).__name__}: {exc}"
    return results, error


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=repr, option=orjson.OPT_NON_STR_KEYS))


@dataclass(slots=True)
class _Plan:
    case: Case
    agents: dict[str, Agent]
    instances: dict[str, Any]
    calls: list[list[GroundTruthCall]]


def _plan(case: Case, script: Script | None) -> _Plan | CaseResult:
    instances = make_instances(case)
    methods = method_table(instances)
    try:
        calls = ground_truth_script(case, methods)
    except BfclDataError as exc:
        return CaseResult(id=case.id, status="gt_error", reason=str(exc), turns=case.turns)
    if script is None:
        script = [[ScriptedCall(c.name, c.arguments) for c in turn] for turn in calls]
    return _Plan(case, build_agents(case, scripted_model(script), entrypoints(methods)), instances, calls)


def _held_out_call(case: Case, calls: Sequence[Sequence[GroundTruthCall]]) -> str:
    """Describe the first ground-truth call of a tool still held out in its turn (miss_func data slips), or ''."""
    for turn, turn_calls in enumerate(calls):
        hidden = case.hidden_tools(turn)
        for call in turn_calls:
            if call.name in hidden:
                return f"turn {turn}: {call.source} calls {call.name!r}, which is held out until a later turn"
    return ""


async def _play_run(runtime: Runtime, case: Case, turn: int, result: CaseResult) -> list[str]:
    """Run one turn; return the tool results (or error texts) the engine produced, in answer order."""
    _, subscription = await runtime.start_run(
        agent_id_for_turn(case, turn), case.user_message(turn), session_id=case.id, run_id=f"{case.id}:turn-{turn}"
    )
    answered: dict[str, str] = {}
    terminal = "(none)"
    try:
        async with asyncio.timeout(RUN_TIMEOUT_S):
            async for event in subscription:
                name = event.get("event")
                if name in ("ToolCallCompleted", "ToolCallError"):
                    tool = event.get("tool") or {}
                    key = str(tool.get("tool_call_id") or len(answered))
                    if key not in answered:
                        result.tool_errors += name == "ToolCallError"
                    answered[key] = str(tool.get("result") if name == "ToolCallCompleted" else event.get("error"))
                if name in ("RunCompleted", "RunError", "RunCancelled") and not event.get("part"):
                    terminal = str(name)
    except TimeoutError:
        terminal = f"(timeout after {RUN_TIMEOUT_S}s)"
    result.tool_calls += len(answered)
    result.terminal_events.append(terminal)
    if terminal != "RunCompleted":
        result.runs_completed = False
        result.fail(f"turn {turn}: run ended with {terminal}")
    return list(answered.values())


async def _run_case(runtime: Runtime, plan: _Plan) -> CaseResult:
    """Play the case turn by turn, executing the ground truth directly in lockstep and comparing after each turn."""
    case = plan.case
    started = time.perf_counter()
    result = CaseResult(id=case.id, turns=case.turns)
    truth = make_instances(case)
    truth_methods = entrypoints(method_table(truth))
    gt_error = _held_out_call(case, plan.calls)
    for turn in range(case.turns):
        expected, error = _execute_directly(truth_methods, plan.calls[turn])
        if error and not gt_error:
            gt_error = f"turn {turn}: {error}"
        got = await _play_run(runtime, case, turn, result)
        check = state_checker(plan.instances, truth)
        if not check["valid"] and result.differences is None:
            result.differences = _jsonable(check["details"]["differences"])
            result.fail(f"turn {turn}: {check['error_message']} differences: {sorted(result.differences or {})}")
        if got != expected:
            result.fail(f"turn {turn}: tool results differ: engine {got!r:.300} != direct {expected!r:.300}")
    if gt_error:
        result.status, result.reason = "gt_error", f"ground truth is not executable as given: {gt_error}"
    result.duration_s = round(time.perf_counter() - started, 4)
    return result


async def export_events(log: Log, topics: Topics, path: Path) -> int:
    """Write every run-events record value to `path` as JSONL (partition 0 first, offset order); return the count."""
    n = log.partitions_for(topics.events)
    tps = [TopicPartition(topics.events, p) for p in range(n)]
    ends = await log.end_offsets(tps)
    count = 0
    with path.open("wb") as f:
        for tp in tps:
            for record in await log.read(tp, 0, ends[tp]):
                f.write(orjson.dumps(orjson.loads(record.value)) + b"\n")
                count += 1
    return count


async def run_cases(
    cases: Sequence[Case],
    workdir: Path,
    *,
    concurrency: int = 16,
    scripts: Mapping[str, Script] | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
    broker: str = "embedded",
) -> HarnessRun:
    """Run `cases` through a fresh runtime on `workdir/log.db`, `concurrency` cases at a time.

    Args:
        cases: the cases (ids must be unique).
        workdir: directory for `log.db`, `views.db` and `events.jsonl`; existing files there are replaced.
        concurrency: cases in flight at once.
        scripts: per case id, a script replacing the ground-truth one (for negative tests).
        on_result: called with each result as its case finishes (progress display).
        broker: `embedded` (a durable log file in `workdir`) or `kafka://HOST:PORT` (fresh topics with a
            unique prefix on that cluster; the events are still exported to `workdir/events.jsonl`).

    Returns:
        Results in input order, the file paths and the number of exported events.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {name: workdir / name for name in ("log.db", "views.db", "events.jsonl")}
    for path in workdir.glob("*.db*"):
        path.unlink()
    plans = [_plan(case, (scripts or {}).get(case.id)) for case in cases]
    agents = {k: v for p in plans if isinstance(p, _Plan) for k, v in p.agents.items()}
    kind = parse_broker(broker).kind
    topics = Topics() if kind == "embedded" else Topics(prefix=f"bfcl-{uuid.uuid4().hex[:8]}.", partitions=12)
    log = make_log(broker, log_path=str(paths["log.db"]), partitions=topics.partitions)
    runtime = Runtime(log, topics, agents, view_store=SqliteViewStore(paths["views.db"]))
    semaphore = asyncio.Semaphore(concurrency)
    started = time.perf_counter()

    async def one(plan: _Plan | CaseResult) -> CaseResult:
        async with semaphore:
            result = plan if isinstance(plan, CaseResult) else await _run_case(runtime, plan)
        if on_result is not None:
            on_result(result)
        return result

    await runtime.start()
    try:
        results = list(await asyncio.gather(*(one(p) for p in plans)))
        assert runtime.projection is not None
        await runtime.projection.wait_caught_up(timeout_s=60.0)
        events = await export_events(log, topics, paths["events.jsonl"])
    finally:
        await runtime.stop()
    return HarnessRun(
        results, paths["log.db"], paths["views.db"], paths["events.jsonl"], events, time.perf_counter() - started
    )
