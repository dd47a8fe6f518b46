"""The shared state in a real Redis, in process: the answer cache and its single-flight lock,
the rate limiter counted across limiters, readiness, and the backend choice. The same against
two real ``threadsum serve`` processes is ``test_redis_replicas.py``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis

from service.cache import AnswerCache, Value
from service.cache_redis import RedisAnswerCache, RedisLink, redact
from service.errors import CacheMissError, SharedStoreError, UsageError
from service.http import create_app
from service.http.limits_redis import SharedRateLimiter
from service.http.security import RateLimiter, build_limiter
from service.leases import HOST
from service.runtime import Runtime
from service.settings import Settings

from .redis_live import dead_url, flush, redis_server

T = TypeVar("T")


@pytest.fixture(scope="module")
def redis_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_url(redis_root: str) -> str:
    flush(redis_root)
    return redis_root


def raw(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


async def _with_links(
    url: str, count: int, body: Callable[[list[RedisLink]], Awaitable[T]], prefix: str = "t:"
) -> T:
    links = [RedisLink(url, prefix) for _ in range(count)]
    try:
        return await body(links)
    finally:
        for link in links:
            await link.aclose()


# --- the answer cache -------------------------------------------------------------------------


def test_two_caches_on_one_redis_make_one_call_for_twenty_concurrent_askers(
    redis_url: str,
) -> None:
    calls = 0

    async def ask() -> Value:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)  # long enough that every asker arrives while it is asked
        return {"content": "answer", "n": calls}

    async def body(links: list[RedisLink]) -> list[tuple[Value, bool]]:
        caches = [RedisAnswerCache(link, "use") for link in links]  # as two processes
        return await asyncio.gather(*(caches[i % 2].get_or_call("k1", ask) for i in range(20)))

    results = asyncio.run(_with_links(redis_url, 2, body))
    assert calls == 1
    assert all(value == {"content": "answer", "n": 1} for value, _ in results)
    assert sorted(hit for _, hit in results) == [False] + [True] * 19
    assert raw(redis_url).keys("t:lock:*") == []  # the holder released its lock


def test_answers_are_json_under_the_prefix_with_the_ttl(redis_url: str) -> None:
    async def body(links: list[RedisLink]) -> Value | None:
        cache = RedisAnswerCache(links[0], "use", ttl=3600)
        await cache.get_or_call("k2", _const({"content": "é", "usage": 3}))
        await cache.set("whole:1", {"summary": True})
        return await cache.get("whole:1")

    assert asyncio.run(_with_links(redis_url, 1, body, prefix="ns1:")) == {"summary": True}
    r = raw(redis_url)
    assert sorted(r.keys("*")) == ["ns1:answer:k2", "ns1:answer:whole:1"]
    assert json.loads(r.get("ns1:answer:k2") or "") == {"content": "é", "usage": 3}
    assert 0 < r.pttl("ns1:answer:k2") <= 3_600_000


def test_modes_refresh_replay_and_off(redis_url: str) -> None:
    async def body(links: list[RedisLink]) -> tuple[Any, ...]:
        use = RedisAnswerCache(links[0], "use")
        await use.set("k", {"v": 1})
        refreshed = await RedisAnswerCache(links[0], "refresh").get_or_call("k", _const({"v": 2}))
        replayed = await RedisAnswerCache(links[0], "replay").get_or_call("k", _never)
        with pytest.raises(CacheMissError, match="no cached answer"):
            await RedisAnswerCache(links[0], "replay").get_or_call("other", _never)
        off = RedisAnswerCache(links[0], "off")
        await off.set("k3", {"v": 3})
        return refreshed, replayed, await off.get("k"), await use.get("k3")

    refreshed, replayed, off_read, off_written = asyncio.run(_with_links(redis_url, 1, body))
    assert refreshed == ({"v": 2}, False) and replayed == ({"v": 2}, True)
    assert off_read is None and off_written is None


def test_a_lock_whose_holder_died_here_is_broken_at_once(redis_url: str) -> None:
    child = _dead_pid()
    raw(redis_url).set("t:lock:k", f"{HOST}:{child}:{'a' * 12}", px=600_000)

    async def no_wait() -> None:
        raise AssertionError("waited for a dead holder's lock")

    async def body(links: list[RedisLink]) -> tuple[Value, bool]:
        cache = RedisAnswerCache(links[0], "use", pause=no_wait)
        return await cache.get_or_call("k", _const({"v": 1}))

    assert asyncio.run(_with_links(redis_url, 1, body)) == ({"v": 1}, False)


def test_a_live_holder_elsewhere_is_waited_for_and_its_answer_used(redis_url: str) -> None:
    r = raw(redis_url)
    r.set("t:lock:k", f"other-host:1:{'b' * 12}", px=600_000)
    pauses = 0

    async def pause() -> None:  # the other host answers after our second look
        nonlocal pauses
        pauses += 1
        if pauses == 2:
            r.set("t:answer:k", json.dumps({"v": "theirs"}))
            r.delete("t:lock:k")

    async def body(links: list[RedisLink]) -> tuple[Value, bool]:
        return await RedisAnswerCache(links[0], "use", pause=pause).get_or_call("k", _never)

    assert asyncio.run(_with_links(redis_url, 1, body)) == ({"v": "theirs"}, True)
    assert pauses == 2


def test_a_failed_call_releases_the_lock_and_stores_nothing(redis_url: str) -> None:
    async def fails() -> Value:
        raise RuntimeError("model down")

    async def body(links: list[RedisLink]) -> tuple[Value, bool]:
        cache = RedisAnswerCache(links[0], "use")
        with pytest.raises(RuntimeError, match="model down"):
            await cache.get_or_call("k", fails)
        return await cache.get_or_call("k", _const({"v": "second try"}))

    assert asyncio.run(_with_links(redis_url, 1, body)) == ({"v": "second try"}, False)
    assert raw(redis_url).keys("t:lock:*") == []


def test_a_dead_redis_is_a_clear_error_without_the_password() -> None:
    url = dead_url()

    async def body(links: list[RedisLink]) -> None:
        await RedisAnswerCache(links[0], "use").get_or_call("k", _never)

    with pytest.raises(SharedStoreError) as caught:
        asyncio.run(_with_links(url, 1, body))
    message = str(caught.value)
    assert "does not answer" in message and redact(url) in message
    assert "s3cret-pw" not in message and caught.value.status == 503
    with pytest.raises(SharedStoreError, match="does not answer"):
        Runtime(Settings(cache_url=url)).check_cache()


# --- the backend choice ------------------------------------------------------------------------


def test_the_runtime_uses_redis_only_when_a_cache_url_is_set(
    tmp_path: Path, redis_url: str
) -> None:
    async def go() -> tuple[object, object, object]:
        async with Runtime(Settings(cache_url=redis_url, cache_prefix="rt:")) as shared:
            redis_cache = shared.cache()
            await redis_cache.set("x", {"v": 1})
            off = shared.cache(shared.settings.override({"cache": "off"}))
            return redis_cache, off, Runtime(Settings(cache_dir=tmp_path)).cache()

    redis_cache, off, local = asyncio.run(go())
    assert isinstance(redis_cache, RedisAnswerCache)
    assert isinstance(off, AnswerCache) and isinstance(local, AnswerCache)
    assert raw(redis_url).keys("*") == ["rt:answer:x"]


def test_a_cache_url_must_name_redis_or_valkey() -> None:
    for good in ("redis://h:6379/0", "rediss://h", "valkey://h:6379", "unix:///run/redis.sock"):
        assert Settings(cache_url=good).shared_cache_url == good
    assert Settings(cache_url="").shared_cache_url is None
    with pytest.raises(UsageError, match="Redis or Valkey URL"):
        Settings().override({"cache_url": "http://h:6379"})
    s = Settings(cache_url="redis://:pw@h:1/0")
    assert "pw" not in repr(s) and s.shared_rate_limit_url == "redis://:pw@h:1/0"
    assert Settings(rate_limit_url="redis://r").shared_rate_limit_url == "redis://r"


# --- rate limits across replicas ---------------------------------------------------------------


def test_the_rate_limit_is_counted_across_limiters(redis_url: str) -> None:
    async def go() -> tuple[list[float | None], list[float | None]]:
        limiters = [SharedRateLimiter(redis_url, 5, "rl:") for _ in range(2)]  # two replicas
        try:
            first = [await limiters[i % 2].acquire("ip:10.0.0.1") for i in range(7)]
            other = [await limiters[1].acquire("ip:10.0.0.2")]
            return first, other
        finally:
            for limiter in limiters:
                await limiter.aclose()

    first, other = asyncio.run(go())
    assert first[:5] == [None] * 5
    assert all(w is not None and 0 < w <= 60 for w in first[5:])
    assert other == [None]  # another client has its own allowance
    assert raw(redis_url).keys("rl:*") != []


def test_the_limiter_is_shared_only_when_a_redis_is_named(redis_url: str) -> None:
    assert isinstance(build_limiter(Settings()), RateLimiter)
    assert isinstance(build_limiter(Settings(cache_url=redis_url, rate_limit=0)), RateLimiter)
    assert isinstance(build_limiter(Settings(cache_url=redis_url)), SharedRateLimiter)
    assert isinstance(build_limiter(Settings(rate_limit_url=redis_url)), SharedRateLimiter)


def test_a_dead_rate_limit_store_refuses_requests_and_readiness_says_so(redis_url: str) -> None:
    url = dead_url()
    settings = Settings(engine="extractive", rate_limit_url=url)

    async def go() -> tuple[httpx.Response, httpx.Response]:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                return await c.get("/v1/batches/x"), await c.get("/readyz")

    refused, ready = asyncio.run(go())
    for r in (refused, ready):
        assert r.status_code == 503, r.text
        assert "rate-limit store" in r.json()["detail"] and "s3cret" not in r.text
    assert redact(url) in ready.json()["detail"]


def test_readiness_reports_the_redis_of_the_cache(redis_url: str) -> None:
    async def ready(settings: Settings) -> httpx.Response:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                return await c.get("/readyz")

    up = asyncio.run(ready(Settings(engine="extractive", cache_url=redis_url)))
    assert up.status_code == 200 and up.json() == {"status": "ready"}
    down = asyncio.run(ready(Settings(engine="extractive", cache_url=dead_url(), rate_limit=0)))
    assert down.status_code == 503 and "shared cache" in down.json()["detail"]


# --- helpers ----------------------------------------------------------------------------------


def _const(value: Value) -> Callable[[], Awaitable[Value]]:
    async def call() -> Value:
        return value

    return call


async def _never() -> Value:
    raise AssertionError("the model was asked")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_redis_gone_while_serving_is_a_503_problem_and_not_ready(tmp_path: Path) -> None:
    from service.devtools.fake import FakeModel

    from .conftest import EXAMPLE_PAGE

    page = {"content": EXAMPLE_PAGE.read_bytes(), "headers": {"content-type": "text/plain"}}
    stack = ExitStack()
    url = stack.enter_context(redis_server(tmp_path))
    settings = Settings(engine="llm", model="m", cache_url=url, rate_limit=0)

    async def go() -> list[httpx.Response]:
        app = create_app(settings, model=FakeModel())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                served = await c.post("/v1/summaries", **page)
                stack.close()  # Redis stops
                return [served, await c.post("/v1/summaries", **page), await c.get("/readyz")]

    try:
        served, refused, ready = asyncio.run(go())
    finally:
        stack.close()
    assert served.status_code == 200, served.text
    assert refused.status_code == 503 and refused.json()["error"] == "SharedStoreError"
    assert "shared cache" in refused.json()["detail"]
    assert ready.status_code == 503 and "shared cache" in ready.json()["detail"]
