"""Retrying, written once for both outbound clients (live fetching, the model).

:func:`call_with_retries` is the one tenacity loop: an attempt that raises
:class:`~service.errors.Transient` is tried again as a :class:`RetryPolicy` says, and exhausted
retries become the caller's own project error. Here too: reading ``Retry-After`` and the wait that
honours it. Policies are always passed in; tests pass ``RetryPolicy(wait=tenacity.wait_none())``.
"""

from __future__ import annotations

import email.utils
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import tenacity
from tenacity.wait import WaitBaseT

from . import events
from .errors import Transient
from .progress import report_retry

T = TypeVar("T")


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds asked for by ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return max(0.0, value)
    text = (headers.get("retry-after") or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, value) if math.isfinite(value) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RetryAfterWait(tenacity.wait.wait_base):
    """A tenacity wait: the server's ``Retry-After``, at most ``cap`` seconds; else ``fallback``."""

    def __init__(self, fallback: WaitBaseT, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        """Seconds to wait before the next attempt."""
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, Transient) and exc.retry_after is not None:
            return max(0.0, min(exc.retry_after, self.cap))
        return min(float(self.fallback(retry_state)), self.cap)


def default_wait(max_wait: float) -> RetryAfterWait:
    """``Retry-After`` up to ``max_wait``, else jittered exponential backoff up to it."""
    return RetryAfterWait(tenacity.wait_random_exponential(multiplier=0.5, max=max_wait), max_wait)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is retried.

    ``wait`` replaces the whole wait strategy when given; ``None`` means :func:`default_wait`
    (``Retry-After`` honoured up to ``max_wait``, else jittered exponential backoff). Tests pass
    ``RetryPolicy(wait=tenacity.wait_none())`` so nothing sleeps.
    """

    attempts: int = 5
    """Total tries per HTTP call, the first included."""
    max_wait: float = 20.0
    """Longest single wait in seconds, a server's ``Retry-After`` included."""
    wait: WaitBaseT | None = None

    def wait_strategy(self) -> WaitBaseT:
        """The tenacity wait strategy this policy uses."""
        return self.wait if self.wait is not None else default_wait(self.max_wait)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    target: str,
    log: logging.Logger,
    on_exhausted: Callable[[Transient, int], Exception],
    client: str = "fetch",
) -> T:
    """Await ``attempt()`` until it returns, trying again while it raises ``Transient``.

    Tries at most ``policy.attempts`` times, waiting ``policy.wait_strategy()`` in between and
    logging each retry at info on ``log`` as "retrying ``target`` …" and reporting it to
    :func:`service.events.retry` as a retry of ``client`` (``fetch`` or ``model``). Any other
    exception passes through at once. When the tries run out, raises ``on_exhausted(last,
    tries)`` (the last ``Transient`` and how many tries were made) in place of the
    ``Transient``.
    """

    def log_retry(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        report_retry()
        log.info(
            "retrying %s in %.1fs after attempt %d: %s",
            target,
            state.upcoming_sleep,
            state.attempt_number,
            exc,
        )
        events.retry(client, target)

    retrying = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(max(1, policy.attempts)),
        wait=policy.wait_strategy(),
        retry=tenacity.retry_if_exception_type(Transient),
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        async for try_ in retrying:
            with try_:
                return await attempt()
    except Transient as exc:
        tries = retrying.statistics.get("attempt_number", 1)
        raise on_exhausted(exc, tries) from None
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover
