"""Group memberships that end when the log fails them, and join again after a backoff (as after a crash)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from .errors import LogClosedError, StreamError, TopicMismatchError

__all__ = ["REJOIN_BACKOFF_S", "rejoining"]

_log = logging.getLogger("agnostream.rejoin")

REJOIN_BACKOFF_S = (0.5, 10.0)
"""First and longest wait, seconds, before a member the log failed joins again (doubling in between; back to
the first after a membership longer than the longest)."""


async def rejoining(membership: Callable[[], Awaitable[None]], stop: asyncio.Event, group_id: str) -> None:
    """Run `membership()` until it returns or `stop` is set, joining again after each `StreamError`.

    After a `StreamError` out of `membership()`, wait `REJOIN_BACKOFF_S` and run it again (a new member of
    `group_id`).

    Raises:
        LogClosedError, TopicMismatchError: raised by `membership()` (a closed log or a misconfigured topic
            does not mend with time).
    """
    first, longest = REJOIN_BACKOFF_S
    delay = first
    while not stop.is_set():
        joined = time.monotonic()
        try:
            await membership()
            return
        except (LogClosedError, TopicMismatchError):
            raise
        except StreamError as exc:
            delay = first if time.monotonic() - joined > longest else delay
            _log.warning("%s: %s; joining again in %.1f s", group_id, exc, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, longest)
