"""The runtime: one process running the processors on one log, and the entry points to start runs.

`Runtime` wires the orchestrator, the model and tool workers, the sessions projection and the event tap
onto a log (the embedded `MemoryLog` by default). The HTTP server, the CLI and the BFCL harness all use
it. Which processors run is configurable (`roles`), so a Kafka deployment can run them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from engine import (
    Agent,
    CancelRun,
    Command,
    StartRun,
    StartTeamRun,
    StartWorkflow,
    Team,
    Workflow,
    agent_registry,
    with_step_agents,
    with_step_teams,
)
from projections import SessionsProjection, ViewStore
from streams import (
    CancelWatch,
    EventTap,
    Log,
    Orchestrator,
    Subscription,
    Topics,
    WorkerLoop,
    command_record,
    run_processor,
)

from .model_worker import MODEL_GROUP, ModelExecutor, close_models
from .step_worker import StepExecutor, ToolTopicHandler
from .tool_worker import TOOL_GROUP, ToolExecutor

__all__ = ["ALL_ROLES", "Runtime"]

ALL_ROLES = ("orchestrator", "model", "tool", "projection")
_log = logging.getLogger("agnostream.runtime")
STOP_GRACE_S = 10.0
"""Seconds `Runtime.stop` lets the processors, then the log, finish before it cancels them or moves on.

A Kafka request to a broker that went away can take aiokafka's 40 s request timeout; what a cancelled
processor had in hand is not committed, so it is handled again from the log after the restart."""


class Runtime:
    """Processors + tap on one log.

    Args:
        log: the log (not yet started; `start()` starts it).
        topics: topic names.
        agents: the agent registry by id.
        view_store: the sessions view database, or None to run without the projection.
        roles: processors to run in this process (subset of ALL_ROLES).
        content_flush_s: RunContent coalescing window, seconds.
        view_batch_s: least time between two writes of the sessions view, seconds (`SessionsProjection`).
        tool_timeout_s: per tool call (and function step attempt) timeout, seconds.
        workflows: the workflow registry by id; their step agents join the processors' agent registry, their
            step teams the team registry.
        teams: the team registry by id; their members and leaders join the processors' agent registry.
    """

    def __init__(
        self,
        log: Log,
        topics: Topics,
        agents: Mapping[str, Agent],
        *,
        view_store: ViewStore | None = None,
        roles: Sequence[str] = ALL_ROLES,
        content_flush_s: float = 0.05,
        view_batch_s: float = 0.05,
        tool_timeout_s: float = 60.0,
        workflows: Mapping[str, Workflow] | None = None,
        teams: Mapping[str, Team] | None = None,
    ) -> None:
        self.log = log
        self.topics = topics
        self.agents = dict(agents)
        self.workflows = dict(workflows or {})
        self.teams = dict(teams or {})
        step_teams = with_step_teams(self.teams, self.workflows)
        self._registry = agent_registry(with_step_agents(self.agents, self.workflows), step_teams)
        self.tap = EventTap(log, topics)
        self.projection = (
            SessionsProjection(log, topics, view_store, batch_interval_s=view_batch_s)
            if view_store is not None
            else None
        )
        self._roles = set(roles) - ({"projection"} if view_store is None else set())
        self._flush_s = content_flush_s
        self._tool_timeout_s = tool_timeout_s
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.orchestrator = Orchestrator(log, topics, self._registry, workflows=self.workflows, teams=step_teams)
        self.cancels = CancelWatch(log, topics) if "model" in self._roles else None
        """Lets this process's model worker abort the stream of a run cancelled from any replica."""

    async def start(self) -> None:
        """Start the log, create topics, start the processors and the tap."""
        await self.log.start()
        await self.log.create_topics(self.topics.specs())
        if self.projection is not None:
            await self.projection.open()
        await self.tap.start()
        if self.cancels is not None:
            await self.cancels.start()
        if "orchestrator" in self._roles:
            self._spawn(run_processor(self.log, self.orchestrator, self._stop))
        if "model" in self._roles:
            model = WorkerLoop(
                self.log, self.topics, self.topics.work_model, self.topics.group(MODEL_GROUP),
                ModelExecutor(self._registry, content_flush_s=self._flush_s, cancels=self.cancels),
            )  # fmt: skip
            self._spawn(model.run(self._stop))
        if "tool" in self._roles:
            tools = WorkerLoop(
                self.log, self.topics, self.topics.work_tools, self.topics.group(TOOL_GROUP),
                ToolTopicHandler(
                    ToolExecutor(self._registry, timeout_s=self._tool_timeout_s),
                    StepExecutor(self.workflows, timeout_s=self._tool_timeout_s),
                ),
            )  # fmt: skip
            self._spawn(tools.run(self._stop))
        if "projection" in self._roles and self.projection is not None:
            self._spawn(self.projection.run(self._stop))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(coro))

    async def stop(self) -> None:
        """Stop the processors (in-flight work finishes or is redelivered later) and close the log.

        Each of the two steps gets `STOP_GRACE_S`: processors still running then are cancelled, and a log
        that has not closed is left (the process is about to exit).
        """
        self._stop.set()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=STOP_GRACE_S)
            if pending:
                _log.warning(
                    "%d processor(s) did not stop within %.0f s (the broker unreachable?): cancelled",
                    len(pending),
                    STOP_GRACE_S,
                )
            for task in pending:
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await close_models(self._registry.values())
        await self.tap.stop()
        if self.cancels is not None:
            await self.cancels.stop()
        if self.projection is not None:
            await self.projection.close()
        try:
            await asyncio.wait_for(self.log.close(), STOP_GRACE_S)
        except TimeoutError:
            _log.warning(
                "the log did not close within %.0f s (the broker unreachable?); its clients are dropped", STOP_GRACE_S
            )

    async def start_run(
        self,
        agent_id: str,
        message: str,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        run_id: str | None = None,
    ) -> tuple[StartRun, Subscription]:
        """Submit a StartRun and return it with a subscription to the run's events (subscribed first).

        `session_id` and `run_id` default to fresh uuid4 strings (agno's behaviour for a missing session_id).
        """
        command = StartRun(
            run_id=run_id or str(uuid.uuid4()),
            session_id=session_id or str(uuid.uuid4()),
            created_at=int(time.time()),
            agent_id=agent_id,
            message=message,
            user_id=user_id,
        )
        subscription = self.tap.subscribe(command.run_id)
        await self.log.send(command_record(self.topics.commands, command))
        return command, subscription

    async def start_workflow(
        self,
        workflow_id: str,
        message: str,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        additional_data: dict[str, Any] | None = None,
        run_id: str | None = None,
        session_state: dict[str, Any] | None = None,
    ) -> tuple[StartWorkflow, Subscription]:
        """Submit a StartWorkflow and return it with a subscription to the workflow run's events.

        The subscription also gets the events of the run's step agent and team runs (and the team runs'
        member runs); `session_id` and `run_id` default to fresh uuid4 strings. `session_state` is agno's
        run argument: deep-merged over the session's stored state for this run.
        """
        command = StartWorkflow(
            run_id=run_id or str(uuid.uuid4()),
            session_id=session_id or str(uuid.uuid4()),
            created_at=int(time.time()),
            workflow_id=workflow_id,
            message=message,
            user_id=user_id,
            additional_data=additional_data,
            session_state=session_state,
        )
        subscription = self.tap.subscribe(command.run_id)
        await self.log.send(command_record(self.topics.commands, command))
        return command, subscription

    async def start_team_run(
        self,
        team_id: str,
        message: str,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        run_id: str | None = None,
    ) -> tuple[StartTeamRun, Subscription]:
        """Submit a StartTeamRun; return it with a subscription to the team run's events and its member runs'.

        `session_id` and `run_id` default to fresh uuid4 strings.
        """
        command = StartTeamRun(
            run_id=run_id or str(uuid.uuid4()),
            session_id=session_id or str(uuid.uuid4()),
            created_at=int(time.time()),
            team_id=team_id,
            message=message,
            user_id=user_id,
        )
        subscription = self.tap.subscribe(command.run_id, members=True)
        await self.submit(command)
        return command, subscription

    async def cancel_run(self, run_id: str, session_id: str, reason: str | None = None) -> None:
        """Submit a CancelRun (ignored by the orchestrator if the run already ended)."""
        command = CancelRun(run_id=run_id, session_id=session_id, created_at=int(time.time()), reason=reason)
        await self.submit(command)

    async def submit(self, command: Command) -> None:
        """Append a command (StartRun, ContinueRun, CancelRun) to the commands topic."""
        await self.log.send(command_record(self.topics.commands, command))

    async def watch_run(
        self, session_id: str, run_id: str, *, members: bool = False
    ) -> tuple[Subscription, list[dict[str, Any]]]:
        """Subscribe to a run's future events and read its recorded ones, with nothing missed or seen twice.

        Works on any replica at any time after the run started: the run's state is its events in the log.
        With `members` (a team run), the events of its member runs are included, in log order. Close the
        subscription if it is not iterated to its end.
        """
        subscription = self.tap.subscribe(run_id, members=members)
        past, end = await self.tap.read_run(session_id, run_id, members=members)
        subscription.from_offset = end
        return subscription, past
