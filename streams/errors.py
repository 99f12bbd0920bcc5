"""Errors of the streams layer (transports, codec, processors).

::

    StreamError(EngineError)
    ├── BrokerUnavailableError        retriable = True   the log/broker cannot be reached
    ├── StreamTimeoutError(StreamError, TimeoutError)     an operation did not finish in time
    ├── CommitFailedError             retriable = False  offsets could not be committed (group rebalanced)
    ├── TopicMismatchError            retriable = False  a topic exists with an incompatible partition count
    └── LogClosedError                retriable = False  the log was closed while in use
"""

from __future__ import annotations

from typing import ClassVar

from engine import EngineError

__all__ = [
    "BrokerUnavailableError",
    "CommitFailedError",
    "LogClosedError",
    "StreamError",
    "StreamTimeoutError",
    "TopicMismatchError",
]


class StreamError(EngineError):
    """Base of streams-layer errors."""


class BrokerUnavailableError(StreamError):
    """The log or broker cannot be reached; retry later."""

    retriable: ClassVar[bool] = True


class StreamTimeoutError(StreamError, TimeoutError):
    """A stream operation did not finish within its timeout."""

    retriable: ClassVar[bool] = True


class CommitFailedError(StreamError):
    """Offsets could not be committed, e.g. because the consumer lost its partitions in a rebalance."""


class TopicMismatchError(StreamError):
    """A topic exists with a partition count different from the configured one."""


class LogClosedError(StreamError):
    """The log was closed while a producer or consumer still used it."""
