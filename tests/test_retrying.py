"""The one retry loop (service.retrying.call_with_retries), without any client around it.

No test sleeps: every policy here waits ``wait_none()``.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
import tenacity

from service.errors import FetchError, Transient, UsageError
from service.retrying import RetryPolicy, call_with_retries

log = logging.getLogger("threadsum.tests.retrying")
NO_WAIT = RetryPolicy(attempts=3, wait=tenacity.wait_none())


class Script:
    """An attempt that raises the scripted failures in turn, then returns ``"ok"``."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def _exhausted(last: Transient, tries: int) -> FetchError:
    return FetchError(f"gave up after {tries}: {last.problem}")


def _run(attempt: Script, policy: RetryPolicy = NO_WAIT) -> str:
    return asyncio.run(
        call_with_retries(
            attempt, policy, target="the test server", log=log, on_exhausted=_exhausted
        )
    )


def test_transient_failures_are_tried_again_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=log.name)
    attempt = Script(Transient("HTTP 503"), Transient("timed out"))

    assert _run(attempt) == "ok"

    assert attempt.calls == 3
    messages = [r.getMessage() for r in caplog.records if r.name == log.name]
    assert len(messages) == 2
    assert messages[0].startswith("retrying the test server in 0.0s after attempt 1: HTTP 503")


def test_exhausted_retries_become_the_callers_error() -> None:
    attempt = Script(*(Transient(f"HTTP 50{i}") for i in range(5)))

    with pytest.raises(FetchError, match=r"^gave up after 3: HTTP 502$") as info:
        _run(attempt)

    assert attempt.calls == 3
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_one_attempt_reports_one_try() -> None:
    attempt = Script(Transient("HTTP 429"))

    with pytest.raises(FetchError, match="after 1: HTTP 429"):
        _run(attempt, RetryPolicy(attempts=0, wait=tenacity.wait_none()))

    assert attempt.calls == 1


def test_other_errors_are_not_retried() -> None:
    attempt = Script(UsageError("bad request"))

    with pytest.raises(UsageError, match="bad request"):
        _run(attempt)

    assert attempt.calls == 1


def test_the_policy_wait_sees_each_failure() -> None:
    seen: list[float | None] = []

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        seen.append(exc.retry_after if isinstance(exc, Transient) else None)
        return 0.0

    _run(Script(Transient("HTTP 429", 2.0), Transient("HTTP 503")), RetryPolicy(wait=wait))

    assert seen == [2.0, None]
