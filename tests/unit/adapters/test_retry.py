"""retry_async / retry_delay: retriable errors are retried with bounded waits; others propagate at once."""

from __future__ import annotations

import pytest

from adapters.errors import (
    InvalidRequestError,
    ModelAuthError,
    ModelConnectionError,
    ModelRateLimitedError,
    ModelServerError,
)
from adapters.models._retry import retry_async, retry_delay


class Attempts:
    """An attempt factory that fails with the given errors, in order, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def server_error() -> ModelServerError:
    return ModelServerError("boom", status_code=500)


def rate_limited(retry_after: float | None) -> ModelRateLimitedError:
    return ModelRateLimitedError("slow down", status_code=429, retry_after=retry_after)


async def test_success_on_first_attempt_does_not_sleep() -> None:
    attempt, sleep = Attempts(), SleepRecorder()
    assert await retry_async(attempt, max_retries=2, sleep=sleep) == "ok"
    assert (attempt.calls, sleep.waits) == (1, [])


async def test_retriable_errors_are_retried_with_exponential_backoff() -> None:
    attempt, sleep = Attempts(server_error(), ModelConnectionError("down")), SleepRecorder()
    result = await retry_async(attempt, max_retries=2, base_delay=0.5, sleep=sleep, jitter=lambda: 0.0)
    assert result == "ok"
    assert attempt.calls == 3
    assert sleep.waits == [0.5, 1.0]


async def test_gives_up_after_max_retries_with_the_last_error() -> None:
    last = server_error()
    attempt, sleep = Attempts(server_error(), server_error(), last), SleepRecorder()
    with pytest.raises(ModelServerError) as info:
        await retry_async(attempt, max_retries=2, sleep=sleep, jitter=lambda: 0.0)
    assert info.value is last
    assert attempt.calls == 3
    assert len(sleep.waits) == 2
    assert "gave up after 2 retries" in (info.value.__notes__ or [])


@pytest.mark.parametrize(
    "error",
    [ModelAuthError("bad key"), InvalidRequestError("bad", status_code=400)],
    ids=["auth", "invalid"],
)
async def test_non_retriable_errors_are_raised_at_once(error: Exception) -> None:
    attempt, sleep = Attempts(error), SleepRecorder()
    with pytest.raises(type(error)):
        await retry_async(attempt, max_retries=5, sleep=sleep)
    assert (attempt.calls, sleep.waits) == (1, [])


async def test_non_project_errors_propagate_untouched() -> None:
    attempt, sleep = Attempts(RuntimeError("bug")), SleepRecorder()
    with pytest.raises(RuntimeError):
        await retry_async(attempt, max_retries=5, sleep=sleep)
    assert attempt.calls == 1


async def test_retry_after_is_honoured_and_capped() -> None:
    attempt, sleep = Attempts(rate_limited(2.0), rate_limited(3600.0)), SleepRecorder()
    assert await retry_async(attempt, max_retries=2, max_retry_after=30.0, sleep=sleep) == "ok"
    assert sleep.waits == [2.0, 30.0]


async def test_zero_max_retries_tries_once() -> None:
    attempt, sleep = Attempts(server_error()), SleepRecorder()
    with pytest.raises(ModelServerError):
        await retry_async(attempt, max_retries=0, sleep=sleep)
    assert (attempt.calls, sleep.waits) == (1, [])


def test_backoff_is_capped_and_jitter_shortens_it_by_at_most_a_quarter() -> None:
    error = server_error()
    assert retry_delay(error, 10, base_delay=0.5, max_delay=8.0) == 8.0
    assert retry_delay(error, 0, base_delay=0.5, jitter=0.999) == pytest.approx(0.5 * (1 - 0.25 * 0.999))
    assert retry_delay(error, 2, base_delay=0.5, jitter=0.0) == 2.0


def test_error_without_retry_after_uses_backoff() -> None:
    assert retry_delay(rate_limited(None), 1, base_delay=0.5, jitter=0.0) == 1.0
