"""The answer cache in Redis or Valkey, shared by replicas: the only module that imports ``redis``.

Several ``threadsum serve`` replicas (and batch workers) given one ``THREADSUM_CACHE_URL`` share
their answers, and never ask the model twice at the same time for one key: within a process
through :class:`~service.cache.SingleFlight`, across processes through a lock key written with
``SET NX PX`` (an owner token from :mod:`service.leases`, expiring after
:data:`~service.cache.LOCK_TTL`), which the others poll until the answer appears or the lock is
gone. The holder deletes its lock when it is done (compare-and-delete, so never another's); a
holder that died on this host has its lock broken at once, one elsewhere lets it expire.

Keys, all under the settings' ``cache_prefix``::

    {prefix}answer:{key}   an answer as JSON text (never a pickle), expiring after cache_ttl
    {prefix}lock:{key}     the owner token of the one process asking the model for key
    {prefix}job:{id}       the replica that holds batch job id (see service.http.replicas)

A Redis that does not answer is :class:`~service.errors.SharedStoreError` (503) naming the URL
without its password: never a silent fallback to another cache. One :class:`RedisLink` (one
``redis.asyncio`` client) is used from one event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .cache import LOCK_TTL, POLL_S, SingleFlight, Value
from .errors import CacheMissError, SharedStoreError
from .leases import holder_died, is_owner_token, new_owner_token
from .settings import CacheMode

__all__ = [
    "RedisAnswerCache",
    "RedisJobOwners",
    "RedisLink",
    "check_link",
    "connection_pool",
    "redact",
]

CONNECT_TIMEOUT_S: Final = 10.0
"""Seconds to wait for a connection to Redis."""
COMMAND_TIMEOUT_S: Final = 10.0
"""Seconds to wait for one Redis command."""
PING_TIMEOUT_S: Final = 3.0
"""Seconds the readiness probe waits for Redis."""
RETRIES: Final = 2
"""Tries again of a command whose connection failed or timed out (a loaded host, a restart)."""

# Delete the lock only while it is still ours.
_RELEASE: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""

T = TypeVar("T")


def redact(url: str) -> str:
    """``url`` without its user name and password (for messages and logs)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _client_url(url: str) -> str:
    """The URL as redis-py reads it: Valkey speaks Redis's protocol."""
    for valkey, plain in (("valkeys://", "rediss://"), ("valkey://", "redis://")):
        if url.startswith(valkey):
            return plain + url.removeprefix(valkey)
    return url


def _retry() -> Retry:
    return Retry(ExponentialBackoff(cap=1.0, base=0.05), RETRIES)


_ON_ERROR: Final = [RedisConnectionError, RedisTimeoutError]


def connection_pool(url: str) -> aioredis.ConnectionPool:
    """A connection pool to the Redis at ``url`` with this module's timeouts and retries (for a
    library that takes one, such as ``limits``); its user closes it with ``aclose()``."""
    return aioredis.ConnectionPool.from_url(
        _client_url(url),
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=COMMAND_TIMEOUT_S,
        retry=_retry(),
        retry_on_error=_ON_ERROR,
    )


def check_link(url: str, what: str = "shared cache") -> None:
    """Raise :class:`SharedStoreError` unless the Redis at ``url`` answers ``PING`` now."""
    client = redis.Redis.from_url(
        _client_url(url), socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=PING_TIMEOUT_S
    )
    try:
        client.ping()
    except (RedisError, OSError) as e:
        raise SharedStoreError(_down(what, url, e)) from None
    finally:
        client.close()


def _down(what: str, url: str, error: BaseException) -> str:
    return f"the {what} at {redact(url)} does not answer: {type(error).__name__}: {error}"


class RedisLink:
    """One client of one Redis, its keys under ``prefix``; every error a SharedStoreError."""

    def __init__(self, url: str, prefix: str, *, what: str = "shared cache") -> None:
        self.url = redact(url)
        self.prefix = prefix
        self._what = what
        self._raw_url = url
        self.client = aioredis.Redis.from_url(
            _client_url(url),
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=COMMAND_TIMEOUT_S,
            retry=_retry(),
            retry_on_error=_ON_ERROR,
            decode_responses=True,
        )
        self._release = self.client.register_script(_RELEASE)

    async def run(self, command: Awaitable[T]) -> T:
        """Await a command of :attr:`client`, its failure a :class:`SharedStoreError`."""
        try:
            return await command
        except (RedisError, OSError) as e:
            raise SharedStoreError(_down(self._what, self._raw_url, e)) from None

    async def release(self, key: str, token: str) -> None:
        """Delete ``key`` if it still holds ``token``."""
        await self.run(self._release(keys=[key], args=[token]))

    async def ping(self) -> str | None:
        """``None`` when Redis answers ``PING`` within :data:`PING_TIMEOUT_S`, else why not."""
        try:
            await asyncio.wait_for(self.client.ping(), PING_TIMEOUT_S)
        except (RedisError, OSError, TimeoutError) as e:
            return _down(self._what, self._raw_url, e)
        return None

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()


class RedisAnswerCache:
    """Model answers in Redis, shared by every process that uses the same URL and prefix.

    ``ttl``: seconds an answer lives (0: until Redis evicts it). ``pause`` waits between looks
    at a lock another process holds (tests inject).
    """

    def __init__(
        self,
        link: RedisLink,
        mode: CacheMode = "use",
        *,
        ttl: float = 0.0,
        pause: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.mode: CacheMode = mode
        self.link = link
        self._ttl_ms = round(ttl * 1000) if ttl > 0 else None
        self._pause = pause or (lambda: asyncio.sleep(POLL_S))
        self._flight = SingleFlight()

    def _answer(self, key: str) -> str:
        return f"{self.link.prefix}answer:{key}"

    async def _read(self, key: str) -> Value | None:
        raw = await self.link.run(self.link.client.get(self._answer(key)))
        if not isinstance(raw, str):
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return None  # not ours: a miss, asked again and overwritten
        return value if isinstance(value, dict) else None

    async def _write(self, key: str, value: Value) -> None:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        await self.link.run(self.link.client.set(self._answer(key), text, px=self._ttl_ms))

    async def get(self, key: str) -> Value | None:
        """The stored value of ``key``; ``None`` on a miss and in ``off`` or ``refresh`` mode."""
        return await self._read(key) if self.mode in ("use", "replay") else None

    async def set(self, key: str, value: Value) -> None:
        """Store ``value`` under ``key`` (not in ``off`` or ``replay`` mode)."""
        if self.mode in ("use", "refresh"):
            await self._write(key, value)

    async def get_or_call(
        self, key: str, call: Callable[[], Awaitable[Value]]
    ) -> tuple[Value, bool]:
        """The answer for ``key`` and whether it came from the cache (or another's call)."""
        if self.mode == "off":
            return await call(), False
        if self.mode in ("use", "replay"):
            hit = await self._read(key)
            if hit is not None:
                return hit, True
            if self.mode == "replay":
                raise CacheMissError(
                    "replay: no cached answer for this request (key "
                    f"{key[:12]}) in {self.link.url}; run once with --cache use to record it"
                )
        return await self._flight.run(key, lambda: self._call_locked(key, call))

    async def _call_locked(
        self, key: str, call: Callable[[], Awaitable[Value]]
    ) -> tuple[Value, bool]:
        lock = f"{self.link.prefix}lock:{key}"
        token = new_owner_token()
        client = self.link.client
        waited = False
        while not await self.link.run(client.set(lock, token, nx=True, px=round(LOCK_TTL * 1000))):
            if await self._break_if_dead(lock, token):
                continue
            waited = True
            await self._pause()
            if self.mode == "use":
                found = await self._read(key)
                if found is not None:
                    return found, True
        try:
            if self.mode == "use" or waited:
                # Another process answered while we waited (in refresh mode too: that answer
                # is as fresh as ours would be).
                found = await self._read(key)
                if found is not None:
                    return found, True
            value = await call()
            await self._write(key, value)
            return value, False
        finally:
            await self.link.release(lock, token)

    async def _break_if_dead(self, lock: str, token: str) -> bool:
        """Delete the lock if its holder died on this host; ``True`` when it is gone now (or is
        ``token``'s: a retried ``SET`` whose first try went through)."""
        holder = await self.link.run(self.link.client.get(lock))
        if holder == token:
            await self.link.release(lock, token)
            return True
        if holder is None:
            return True
        if is_owner_token(holder) and holder_died(holder):
            await self.link.release(lock, str(holder))
            return True
        return False

    async def aclose(self) -> None:
        """Nothing of its own to close: the :class:`RedisLink` belongs to whoever built it."""


class RedisJobOwners:
    """Which replica holds each batch job, for replicas that do not share a state dir."""

    def __init__(self, link: RedisLink, *, ttl: float = 0.0) -> None:
        self.link = link
        self._ttl_ms = round(ttl * 1000) if ttl > 0 else None

    def _key(self, job_id: str) -> str:
        return f"{self.link.prefix}job:{job_id}"

    async def record(self, job_id: str, replica: str) -> None:
        """Note that ``replica`` holds ``job_id``."""
        await self.link.run(self.link.client.set(self._key(job_id), replica, px=self._ttl_ms))

    async def owner(self, job_id: str) -> str | None:
        """The replica that holds ``job_id``, if one said so."""
        found = await self.link.run(self.link.client.get(self._key(job_id)))
        return found if isinstance(found, str) else None
