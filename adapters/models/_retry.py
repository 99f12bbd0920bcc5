"""Bounded retries of a provider request, decided by the error's `retriable` class attribute.

Policy (modelled on openai-python's `_base_client._calculate_retry_timeout`, providers.md §1.6 [O13]):
a retriable error that carries `retry_after` (from the `Retry-After` header) waits that long, capped at
`max_retry_after`; any other retriable error waits `base_delay * 2**n` (n = retries so far) capped at
`max_delay`, times a jitter factor in (0.75, 1]. Non-retriable errors and errors that are not
`EngineError`s propagate at once. All delays are seconds.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from engine import EngineError

__all__ = ["DEFAULT_BASE_DELAY", "DEFAULT_MAX_DELAY", "DEFAULT_MAX_RETRY_AFTER", "retry_async", "retry_delay"]

T = TypeVar("T")

DEFAULT_BASE_DELAY = 0.5
"""Seconds before the first backoff retry (openai-python's INITIAL_RETRY_DELAY)."""
DEFAULT_MAX_DELAY = 8.0
"""Upper bound in seconds of one backoff wait (openai-python's MAX_RETRY_DELAY)."""
DEFAULT_MAX_RETRY_AFTER = 30.0
"""Upper bound in seconds of one wait taken from a provider's Retry-After."""


def retry_delay(
    error: BaseException,
    retries_so_far: int,
    *,
    base_delay: float = DEFAULT_BASE_DELAY,
    max_delay: float = DEFAULT_MAX_DELAY,
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
    jitter: float = 0.0,
) -> float:
    """Return the seconds to wait before retrying after `error`.

    Args:
        error: the failed attempt's error; its `retry_after` attribute (seconds or None) is honoured.
        retries_so_far: retries already made (0 before the first retry).
        base_delay: first backoff wait in seconds.
        max_delay: cap of one backoff wait in seconds.
        max_retry_after: cap of one Retry-After wait in seconds.
        jitter: a number in [0, 1); the backoff wait is multiplied by `1 - 0.25 * jitter`.

    Returns:
        The wait in seconds, >= 0.
    """
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int | float) and retry_after >= 0:
        return min(float(retry_after), max_retry_after)
    backoff = min(base_delay * 2.0**retries_so_far, max_delay)
    return backoff * (1.0 - 0.25 * jitter)


async def retry_async(
    attempt: Callable[[], Awaitable[T]],
    *,
    max_retries: int,
    base_delay: float = DEFAULT_BASE_DELAY,
    max_delay: float = DEFAULT_MAX_DELAY,
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    jitter: Callable[[], float] = random.random,
) -> T:
    """Await `attempt()` until it succeeds, fails with a non-retriable error or retries run out.

    Args:
        attempt: makes a fresh attempt each call (a coroutine factory, not one coroutine).
        max_retries: retries after the first attempt (0 = try once); at most `max_retries + 1` attempts.
        base_delay: first backoff wait in seconds.
        max_delay: cap of one backoff wait in seconds.
        max_retry_after: cap of one Retry-After wait in seconds.
        sleep: awaited with each wait in seconds (tests pass a recorder instead of really sleeping).
        jitter: returns a number in [0, 1) per backoff wait.

    Returns:
        The value of the first successful attempt.

    Raises:
        EngineError: the last attempt's error, when it is not `retriable` or no retries are left; a note
            saying how many retries were made is added when there were any.
    """
    retries = 0
    while True:
        try:
            return await attempt()
        except EngineError as exc:
            if not type(exc).retriable or retries >= max_retries:
                if retries:
                    exc.add_note(f"gave up after {retries} retr{'y' if retries == 1 else 'ies'}")
                raise
            delay = retry_delay(
                exc,
                retries,
                base_delay=base_delay,
                max_delay=max_delay,
                max_retry_after=max_retry_after,
                jitter=jitter(),
            )
            retries += 1
            await sleep(delay)
