"""Who may call ``/v1``, and how often: API keys and the per-client rate limit.

- **API keys** (``settings.api_keys``; none set: no auth) as ``Authorization: Bearer KEY`` or
  ``X-API-Key: KEY``, compared in constant time; otherwise 401 with ``WWW-Authenticate:
  Bearer``. Keys are never logged or echoed.
- **Rate limit**: a token bucket per API key (per client address when auth is off, and for
  requests with a wrong key) holding ``rate_limit`` requests and refilling at ``rate_limit``
  per minute; 429 with ``Retry-After``. Buckets live in the process (per worker), unless
  ``rate_limit_url`` (or ``cache_url``) names a Redis: then every replica and worker spends
  from one allowance per client, counted there (:mod:`service.http.limits_redis`: at most
  ``rate_limit`` requests in any minute), and a Redis that does not answer is a 503.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Final, Protocol

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ..settings import Settings
from .problems import URN, ApiProblem

__all__ = ["Guard", "Limiter", "RateLimiter", "build_limiter"]

MAX_BUCKETS: Final = 10_000
"""Rate-limit buckets kept before the full ones are dropped."""

_bearer = HTTPBearer(auto_error=False, description="An API key, when the server requires one.")
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key, when the server requires one."
)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class Limiter(Protocol):
    """A rate limiter the :class:`Guard` spends from."""

    per_minute: int

    async def acquire(self, who: str) -> float | None:
        """Spend one request of ``who``; ``None`` if allowed, else the seconds until one is back."""
        ...

    async def problem(self) -> str | None:
        """``None`` when the limiter can count, else why not (for readiness)."""
        ...

    async def aclose(self) -> None:
        """Release what the limiter holds."""
        ...


def build_limiter(settings: Settings) -> Limiter:
    """The limiter ``settings`` describe: in Redis when a shared URL is set, else in memory."""
    url = settings.shared_rate_limit_url
    if url is None or settings.rate_limit <= 0:
        return RateLimiter(settings.rate_limit)
    from .limits_redis import SharedRateLimiter

    return SharedRateLimiter(url, settings.rate_limit, settings.cache_prefix)


@dataclass
class RateLimiter:
    """Token buckets in memory: ``per_minute`` requests at once, refilled at that rate."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, who: str) -> float | None:
        """Spend a token of ``who``; ``None`` if allowed, else the seconds until one is back."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        rate = self.per_minute / 60.0
        bucket = self._buckets.get(who)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._prune(now, rate)
            bucket = self._buckets[who] = _Bucket(float(self.per_minute), now)
        bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / rate

    async def acquire(self, who: str) -> float | None:
        """:meth:`take`, as :class:`Limiter` spells it."""
        return self.take(who)

    async def problem(self) -> str | None:
        """Memory always counts."""
        return None

    async def aclose(self) -> None:
        """Nothing to release."""

    def _prune(self, now: float, rate: float) -> None:
        """Forget buckets that have refilled: a new bucket starts full, so nothing changes."""
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * rate >= self.per_minute
        ]
        for k in full:
            del self._buckets[k]


class Guard:
    """The dependency of every ``/v1`` route: authenticate (when keys are set), rate-limit."""

    def __init__(self, keys: frozenset[str], limiter: Limiter) -> None:
        self.keys = keys
        self.limiter = limiter

    async def __call__(
        self,
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        api_key: Annotated[str | None, Depends(_api_key_header)],
    ) -> None:
        """Let the request through, or raise a 401 or 429 :class:`ApiProblem`."""
        if not self.keys:
            await self._limit(_address(request))
            return
        given = bearer.credentials if bearer is not None else api_key
        valid = False
        for key in self.keys:  # every key is compared, so timing does not tell which one matched
            if given is not None and hmac.compare_digest(given.encode(), key.encode()):
                valid = True
        if not valid:
            await self._limit(_address(request))  # guessing keys costs tokens too
            detail = "an API key is required" if given is None else "the API key is not valid"
            raise ApiProblem(
                401,
                f"{detail}: send Authorization: Bearer <key> or X-API-Key: <key>",
                kind=URN + "unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="threadsum"'},
            )
        await self._limit(_key_id(given or ""))

    async def _limit(self, who: str) -> None:
        wait = await self.limiter.acquire(who)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise ApiProblem(
                429,
                f"rate limit of {self.limiter.per_minute} requests per minute reached; "
                f"retry in {seconds} s",
                kind=URN + "rate-limited",
                headers={"Retry-After": str(seconds)},
            )


def _key_id(key: str) -> str:
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _address(request: Request) -> str:
    return "ip:" + (request.client.host if request.client else "unknown")
