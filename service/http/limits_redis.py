"""Rate limits counted in Redis or Valkey, so every replica spends from one allowance.

The ``limits`` library's moving window over its Redis storage (its Lua scripts make each hit
atomic): at most ``per_minute`` requests of one client in any 60 seconds, across every process
that uses the same URL and prefix. Keys are ``{prefix}rate/…``, named by the client's identity
(a digest of its API key, or its address), never a key itself. A Redis that does not answer is
:class:`~service.errors.SharedStoreError` (503): requests are refused, not let through uncounted.
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from ..cache_redis import connection_pool, redact
from ..errors import SharedStoreError

__all__ = ["SharedRateLimiter"]


class SharedRateLimiter:
    """``per_minute`` requests per client in any minute, counted in the Redis at ``url``."""

    def __init__(self, url: str, per_minute: int, prefix: str) -> None:
        self.per_minute = per_minute
        self.url = redact(url)
        self._pool = connection_pool(url)
        # The URL only tells limits which client to use; the pool is what it connects with.
        self._storage = RedisStorage(
            "async+redis://",
            wrap_exceptions=True,
            implementation="redispy",
            key_prefix=prefix + "rate",
            connection_pool=self._pool,  # type: ignore[arg-type]
        )
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._item = RateLimitItemPerMinute(per_minute)
        base = self._storage.base_exceptions
        self._errors: tuple[type[BaseException], ...] = (
            StorageError,
            OSError,
            *(base if isinstance(base, tuple) else (base,)),
        )

    async def acquire(self, who: str) -> float | None:
        """Spend one request of ``who``; ``None`` if allowed, else the seconds until one is back."""
        if self.per_minute <= 0:
            return None
        try:
            if await self._limiter.hit(self._item, who):
                return None
            stats = await self._limiter.get_window_stats(self._item, who)
        except self._errors as e:
            raise SharedStoreError(self._down(e)) from None
        return max(0.0, stats.reset_time - time.time())

    async def problem(self) -> str | None:
        """``None`` when the Redis answers, else why not (for readiness)."""
        try:
            if await self._storage.check():
                return None
        except self._errors as e:
            return self._down(e)
        return self._down(ConnectionError("PING failed"))

    async def aclose(self) -> None:
        """Close the connections to Redis."""
        await self._pool.aclose()

    def _down(self, error: BaseException) -> str:
        cause = error.__cause__ if isinstance(error, StorageError) and error.__cause__ else error
        return (
            f"the shared rate-limit store at {self.url} does not answer: "
            f"{type(cause).__name__}: {cause}"
        )
