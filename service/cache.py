"""The answer cache: the only module that imports diskcache.

Keys are SHA-256 over everything that shapes an answer: the server (its normalised base URL
without credentials or query, or a namespace naming equivalent servers; see
:func:`service.model.identity.cache_scope`), model, output mode, prompt digest, schema digest, the
rendered messages, temperature, seed and max tokens. Never the API key. Values are JSON text (the
completion and its usage), not pickles.

Modes: ``use`` (read, and write misses), ``refresh`` (always ask, then write), ``off`` (neither),
``replay`` (read only; a miss raises :class:`CacheMissError` and nothing is sent).

Two backends satisfy :class:`Cache`: :class:`AnswerCache` here (a local folder, the default) and
:class:`~service.cache_redis.RedisAnswerCache` (Redis or Valkey, shared by replicas), chosen by
:class:`~service.runtime.Runtime` from the settings. Both share one model call per key within a
process through :class:`SingleFlight`.

Concurrent requests for one key share one model call: within a process through a shared
future, across processes through an atomic ``add`` of a lock entry, which the others poll until
the answer appears. Every lock is written with an expiry of :data:`LOCK_TTL`. A lock entry that
cannot hold, or no longer holds, a live claim is broken at once instead of waited for: one whose
holder process died (same host), one that is unreadable (a planted pickle) or not an owner
token, and one written without an expiry or with one further off than :data:`LOCK_TTL`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, Protocol

import diskcache

from .errors import CacheError, CacheMissError
from .leases import holder_died, is_owner_token, new_owner_token
from .settings import CacheMode

LOCK_TTL = 600.0
"""Seconds a cross-process lock lives; a holder that takes longer is presumed gone."""
POLL_S = 0.05
"""Seconds between looks at a lock another process holds."""
_CLOCK_SLACK: Final = 60.0
"""How much further off than :data:`LOCK_TTL` a lock's expiry may be (clock skew) and count."""

Value = dict[str, Any]


class Cache(Protocol):
    """What the engines need of an answer cache; both backends satisfy it."""

    mode: CacheMode

    async def get(self, key: str) -> Value | None:
        """The stored value of ``key`` (``None``: a miss, or the mode reads nothing)."""
        ...

    async def set(self, key: str, value: Value) -> None:
        """Store ``value`` (JSON-able) under ``key`` (nothing in ``off`` or ``replay`` mode)."""
        ...

    async def get_or_call(
        self, key: str, call: Callable[[], Awaitable[Value]]
    ) -> tuple[Value, bool]:
        """The answer for ``key`` (asking ``call`` at most once at a time across every user of
        the store) and whether it came from the cache."""
        ...

    async def aclose(self) -> None:
        """Release the store."""
        ...


class SingleFlight:
    """One call per key at a time within a process: later callers await the first one's result.

    A caller that is cancelled cancels only itself; when the caller that was asking is
    cancelled, a waiter asks in its place.
    """

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[Value]] = {}

    async def run(
        self, key: str, produce: Callable[[], Awaitable[tuple[Value, bool]]]
    ) -> tuple[Value, bool]:
        """``produce()``'s answer for ``key``, shared with concurrent callers (for them a hit)."""
        pending = self._inflight.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending), True
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this caller was cancelled
                # The caller that was asking was cancelled, not this one: ask in its place.
                return await self.run(key, produce)
        future: asyncio.Future[Value] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value, cached = await produce()
            future.set_result(value)
            return value, cached
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[key]


def cache_key(
    *,
    server: str,
    model: str,
    output_mode: str,
    prompt_digest: str,
    schema_digest: str,
    messages: list[dict[str, str]],
    temperature: float,
    seed: int | None,
    max_tokens: int,
) -> str:
    """The key of one model call; ``server`` is the answer's scope (which server, or namespace)."""
    doc = {
        "server": server,
        "model": model,
        "output_mode": output_mode,
        "prompt": prompt_digest,
        "schema": schema_digest,
        "messages": messages,
        "temperature": temperature,
        "seed": seed,
        "max_tokens": max_tokens,
    }
    raw = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def digest_json(value: Any) -> str:
    """A short digest of a JSON-able value (schemas)."""
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class _TextOnlyDisk(diskcache.Disk):  # type: ignore[misc]
    """diskcache storage that never unpickles: a planted pickle in the folder is a miss."""

    def get(self, key: Any, raw: bool) -> Any:
        return super().get(key, raw) if raw else None

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode == diskcache.core.MODE_PICKLE:
            raise _Refused("a pickled cache entry")
        return super().fetch(mode, filename, value, read)


class _Refused(ValueError):
    pass


class AnswerCache:
    """Model answers on local disk, shared safely by concurrent tasks and processes."""

    def __init__(
        self,
        directory: Path,
        mode: CacheMode = "use",
        *,
        pause: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Open the cache folder; ``pause`` waits between looks at a held lock (tests inject)."""
        self.mode = mode
        self._pause = pause or (lambda: asyncio.sleep(POLL_S))
        self._cache: diskcache.Cache | None = None
        if mode != "off":
            try:
                if mode != "replay":
                    directory.mkdir(parents=True, exist_ok=True)
                elif not directory.is_dir():
                    raise CacheMissError(
                        f"replay: the cache folder {directory} does not exist; run once with "
                        "--cache use to record answers"
                    )
                self._cache = diskcache.Cache(str(directory), disk=_TextOnlyDisk)
            except (OSError, sqlite3.DatabaseError) as e:
                raise CacheError(f"the cache folder {directory} is unusable: {e}") from None
        self._flight = SingleFlight()

    def close(self) -> None:
        """Close the underlying store."""
        if self._cache is not None:
            self._cache.close()

    async def aclose(self) -> None:
        """Close the underlying store (:class:`Cache`'s spelling of :meth:`close`)."""
        self.close()

    def export(self) -> dict[str, Value]:
        """Every stored answer by key (for recorded fixtures)."""
        if self._cache is None:
            return {}
        out: dict[str, Value] = {}
        keys = (k for k in self._cache.iterkeys() if isinstance(k, str))
        for key in sorted(k for k in keys if not k.startswith("lock:")):
            value = self._read(key)
            if value is not None:
                out[key] = value
        return out

    def load(self, entries: dict[str, Value]) -> None:
        """Store recorded answers."""
        for key, value in entries.items():
            self._write(key, value)

    async def get(self, key: str) -> Value | None:
        """The value stored under ``key``, read off the event loop; ``None`` when there is none
        or the mode reads nothing (``off``, ``refresh``)."""
        if self._cache is None or self.mode not in ("use", "replay"):
            return None
        return await asyncio.to_thread(self._read, key)

    async def set(self, key: str, value: Value) -> None:
        """Store ``value`` under ``key``, written off the event loop (not in ``off`` or
        ``replay`` mode)."""
        if self._cache is not None and self.mode in ("use", "refresh"):
            await asyncio.to_thread(self._write, key, value)

    def _read(self, key: str) -> Value | None:
        if self._cache is None:
            return None
        try:
            raw = self._cache.get(key)
        except (ValueError, OSError, sqlite3.DatabaseError):  # _Refused is a ValueError
            return None  # unreadable or not ours: a miss, asked again and overwritten
        if not isinstance(raw, str):
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    def _write(self, key: str, value: Value) -> None:
        if self._cache is None:
            return
        try:
            self._cache.set(key, json.dumps(value, ensure_ascii=False, sort_keys=True))
        except (OSError, sqlite3.DatabaseError) as e:
            raise CacheError(f"cannot write to the answer cache: {e}") from None

    async def get_or_call(
        self, key: str, call: Callable[[], Awaitable[Value]]
    ) -> tuple[Value, bool]:
        """The answer for ``key`` and whether it came from the cache."""
        if self.mode == "replay":
            hit = await self.get(key)
            if hit is not None:
                return hit, True
            raise CacheMissError(
                "replay: no cached answer for this request (key "
                f"{key[:12]}); run once with --cache use to record it"
            )
        return await self._flight.run(key, lambda: self._call_locked(key, call))

    async def _call_locked(
        self, key: str, call: Callable[[], Awaitable[Value]]
    ) -> tuple[Value, bool]:
        if self._cache is None:
            return await call(), False
        lock = f"lock:{key}"
        token = new_owner_token()
        waited = False
        # Every SQLite step runs on a thread (a write waiting for another's lock would stall the
        # event loop, and every request on it), and each hop does all it can: take the lock and
        # look for the answer; store the answer and hand the lock back.
        while True:
            taken, found = await asyncio.to_thread(self._claim, key, lock, token, waited)
            if taken:
                break
            if found is not None:
                return found, True
            waited = True
            await self._pause()
        released = False
        try:
            if found is not None:
                # Another process answered while we waited (in refresh mode too: that answer
                # is as fresh as ours would be).
                return found, True
            value = await call()
            # Shielded: a cancelled caller still stores what it paid for and hands the lock back.
            store = asyncio.to_thread(self._store_and_release, key, value, lock, token)
            await asyncio.shield(store)
            released = True
            return value, False
        finally:
            if not released:
                await asyncio.shield(asyncio.to_thread(self._release, lock, token))

    def _claim(self, key: str, lock: str, token: str, waited: bool) -> tuple[bool, Value | None]:
        """The stored answer, or the lock to ask for it: whether the lock was taken, and the
        answer where this mode and turn look for one.

        ``use`` looks first (a hit takes no lock) and again once it holds the lock (another
        process may have answered in between); ``refresh`` looks only once it holds the lock
        after waiting for another holder.
        """
        if self.mode == "use":
            found = self._read(key)
            if found is not None:
                return False, found
        taken = self._take(lock, token)
        if taken and (self.mode == "use" or waited):
            return True, self._read(key)
        return taken, None

    def _store_and_release(self, key: str, value: Value, lock: str, token: str) -> None:
        try:
            self._write(key, value)
        finally:
            self._release(lock, token)

    def _take(self, lock: str, token: str) -> bool:
        """Add the lock entry for ``token``, breaking a stale one; ``False`` while it is held."""
        assert self._cache is not None
        while not self._cache.add(lock, token, expire=LOCK_TTL):
            if not self._break_if_stale(lock):
                return False
        return True

    def _release(self, lock: str, token: str) -> None:
        """Delete the lock entry if ``token`` still holds it."""
        assert self._cache is not None
        with self._cache.transact():
            entry = self._lock_entry(lock)
            if entry is not None and entry[0] == token:
                self._cache.delete(lock)

    def _lock_entry(self, lock: str) -> tuple[object, bool] | None:
        """A lock entry's value and whether it is a live claim; ``None`` when there is none.

        A live claim is an owner token with an expiry no further off than :data:`LOCK_TTL`
        whose holder is not known to be dead. Anything unreadable is no claim.
        """
        assert self._cache is not None
        try:
            found = self._cache.get(lock, default=_ABSENT, expire_time=True)
        except (ValueError, OSError, sqlite3.DatabaseError):  # _Refused is a ValueError
            return _UNREADABLE, False
        value, expires = found
        if value is _ABSENT:
            # diskcache reads a value whose file is missing as absent: the row is still there
            return (_UNREADABLE, False) if lock in self._cache else None
        live = (
            is_owner_token(value)
            and isinstance(expires, float | int)
            and expires <= time.time() + LOCK_TTL + _CLOCK_SLACK
            and not holder_died(value)
        )
        return value, live

    def _break_if_stale(self, lock: str) -> bool:
        """Delete the lock entry if it is no live claim; ``True`` when it is gone now."""
        assert self._cache is not None
        with self._cache.transact():
            entry = self._lock_entry(lock)
            if entry is not None and entry[1]:
                return False
            if entry is not None:
                self._cache.delete(lock)
            return True


_ABSENT: Final = object()
_UNREADABLE: Final = object()
