"""Errors raised by agnostream.

Every error the project raises derives from `EngineError`, so a caller can catch one base::

    EngineError                                  engine/errors.py
    ├── CommandRejectedError                     decide() refused a command: an invariant would break
    │   ├── UnknownAgentError                    StartRun named an agent that is not registered
    │   └── RunNotActiveError                    the command targets a run that is not running
    ├── EventSequenceError                       evolve() got an event that does not fit the state
    ├── NondeterminismError                      a replay check re-decided differently
    ├── SchemaError(EngineError, ValueError)     unknown event type or undecodable payload
    └── ConfigurationError                       developer or config mistake; says which setting and how to fix it
    StreamError(EngineError)                     streams/errors.py
    ProjectionError(EngineError)                 projections/errors.py
    AdapterError(EngineError)                    adapters/errors.py

Whether an error may be retried is the class attribute `retriable`; runners decide on it.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "CommandRejectedError",
    "ConfigurationError",
    "EngineError",
    "EventSequenceError",
    "NondeterminismError",
    "RunNotActiveError",
    "SchemaError",
    "UnknownAgentError",
]


class EngineError(Exception):
    """Base of every error agnostream raises."""

    retriable: ClassVar[bool] = False


class CommandRejectedError(EngineError):
    """`decide` refused a command because applying it would break an invariant."""


class UnknownAgentError(CommandRejectedError):
    """A StartRun named an agent id that is not registered.

    Attributes:
        agent_id: the id that was asked for.
        known: the registered agent ids, sorted.
    """

    def __init__(self, agent_id: str, known: list[str]) -> None:
        super().__init__(f"unknown agent_id {agent_id!r}; registered agents: {', '.join(known) or '(none)'}")
        self.agent_id = agent_id
        self.known = known


class RunNotActiveError(CommandRejectedError):
    """A command targets a run that does not exist or already reached a terminal state."""


class EventSequenceError(EngineError):
    """`evolve` received an event that cannot follow the current state (wrong run, unknown step)."""


class NondeterminismError(EngineError):
    """A replay check re-decided a recorded input and got different outputs.

    Attributes:
        run_id: the run whose decision diverged.
        seq: the sequence number of the first diverging decision event.
        expected: the recorded event (as a dict), or None if the engine now decides an extra event.
        got: the re-decided event (as a dict), or None if the engine no longer decides it.
    """

    def __init__(self, run_id: str, seq: int, expected: dict[str, Any] | None, got: dict[str, Any] | None) -> None:
        super().__init__(f"run {run_id} diverged at seq {seq}: expected {expected!r}, got {got!r}")
        self.run_id = run_id
        self.seq = seq
        self.expected = expected
        self.got = got


class SchemaError(EngineError, ValueError):
    """A record could not be decoded: unknown event type, missing field or wrong type.

    The message names the event type and field so the dead-letter reason is actionable.
    """


class ConfigurationError(EngineError):
    """A developer or configuration mistake; the message says which setting and how to fix it."""
