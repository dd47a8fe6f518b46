from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

from service.cache import AnswerCache, cache_key
from service.errors import CacheMissError
from service.model.identity import cache_scope, server_identity

from .conftest import EXAMPLE_PAGE


def key(n: int = 0) -> str:
    return cache_key(
        server="server:http://model.test/v1",
        model="m",
        output_mode="auto",
        prompt_digest="p",
        schema_digest="s",
        messages=[{"role": "user", "content": f"hi {n}"}],
        temperature=0.0,
        seed=0,
        max_tokens=10,
    )


def test_cache_key_covers_what_shapes_the_answer() -> None:
    assert key(0) != key(1)
    base = dict(
        server="server:http://model.test/v1",
        model="m",
        output_mode="auto",
        prompt_digest="p",
        schema_digest="s",
        messages=[],
        temperature=0.0,
        seed=0,
        max_tokens=10,
    )
    variants = [
        {"server": "server:http://other.test/v1"},
        {"server": "namespace:replicas"},
        {"model": "n"},
        {"output_mode": "text"},
        {"prompt_digest": "q"},
        {"schema_digest": "t"},
        {"temperature": 0.5},
        {"seed": 1},
        {"max_tokens": 11},
    ]
    keys = {cache_key(**{**base, **v}) for v in variants}  # type: ignore[arg-type]
    assert len(keys) == len(variants)


@pytest.mark.parametrize(
    "spelling",
    [
        "http://model.test:8000/v1",
        "HTTP://Model.TEST:8000/v1/",
        "http://user:sk-secret@model.test:8000/v1",
        "http://model.test:8000/v1?token=t0ken#frag",
        " http://model.test:8000/v1// ",
    ],
)
def test_a_server_has_one_identity_whatever_its_spelling(spelling: str) -> None:
    assert server_identity(spelling) == "http://model.test:8000/v1"


def test_server_identities_tell_servers_apart() -> None:
    servers = [
        None,  # the SDK default: OpenAI
        "http://model.test:8000/v1",
        "http://model.test:8001/v1",
        "https://model.test:8000/v1",
        "http://other.test:8000/v1",
        "http://model.test:8000/openai/v1",
        "http://[::1]:8000/v1",
    ]
    assert len({server_identity(s) for s in servers}) == len(servers)
    assert server_identity(None) == server_identity("https://api.openai.com:443/v1")
    assert server_identity("http://[::1]:8000/v1") == "http://[::1]:8000/v1"
    assert server_identity("http://model.test:port/v1/") == "http://model.test:port/v1"


def test_the_cache_scope_is_the_server_unless_a_namespace_names_equivalent_ones() -> None:
    a, b = "http://gpu-a:8000/v1", "http://gpu-b:8000/v1"
    assert cache_scope(a, None) != cache_scope(b, None)
    assert cache_scope(a, None) == cache_scope("http://key@GPU-A:8000/v1/", None)
    assert cache_scope(a, "vllm-qwen") == cache_scope(b, "vllm-qwen")
    assert cache_scope(a, "vllm-qwen") != cache_scope(a, "other")
    assert cache_scope(a, "") == cache_scope(a, None)


def test_cache_modes(tmp_path: Path) -> None:
    calls = 0

    async def call() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {"content": f"answer {calls}"}

    async def go(mode: str) -> tuple[dict[str, Any], bool]:
        cache = AnswerCache(tmp_path, mode)  # type: ignore[arg-type]
        try:
            return await cache.get_or_call(key(), call)
        finally:
            cache.close()

    with pytest.raises(CacheMissError):
        asyncio.run(go("replay"))
    assert calls == 0
    assert asyncio.run(go("use")) == ({"content": "answer 1"}, False)
    assert asyncio.run(go("use")) == ({"content": "answer 1"}, True)
    assert asyncio.run(go("replay")) == ({"content": "answer 1"}, True)
    assert asyncio.run(go("refresh")) == ({"content": "answer 2"}, False)
    assert asyncio.run(go("off")) == ({"content": "answer 3"}, False)
    assert asyncio.run(go("use")) == ({"content": "answer 2"}, True)
    # values are JSON text on disk, not pickles
    import diskcache

    with diskcache.Cache(str(tmp_path)) as raw:
        assert isinstance(raw.get(key()), str)


def test_concurrent_identical_calls_share_one_answer(tmp_path: Path) -> None:
    calls = 0

    async def call() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return {"content": "x"}

    async def go() -> list[tuple[dict[str, Any], bool]]:
        a, b = AnswerCache(tmp_path, "use"), AnswerCache(tmp_path, "use")
        try:
            return await asyncio.gather(*(c.get_or_call(key(), call) for c in (a, b, a)))
        finally:
            a.close()
            b.close()

    results = asyncio.run(go())
    assert calls == 1 and sorted(hit for _, hit in results) == [False, True, True]


def test_a_lock_left_by_a_dead_process_is_broken(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    import diskcache

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with diskcache.Cache(str(tmp_path)) as raw:
        raw.add(f"lock:{key()}", f"{socket.gethostname()}:{dead.stdout.strip()}:x", expire=600)

    async def call() -> dict[str, Any]:
        return {"content": "fresh"}

    async def go() -> tuple[dict[str, Any], bool]:
        cache = AnswerCache(tmp_path, "use")
        try:
            return await asyncio.wait_for(cache.get_or_call(key(), call), timeout=5)
        finally:
            cache.close()

    assert asyncio.run(go()) == ({"content": "fresh"}, False)


class _Evil:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (print, ("unpickled!",))


def test_a_planted_pickle_is_a_miss_not_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import diskcache

    with diskcache.Cache(str(tmp_path)) as raw:
        raw.set(key(), _Evil())
        raw.set(("tuple", "key"), "x")  # a pickled key, seen only when exporting

    async def call() -> dict[str, Any]:
        return {"content": "asked"}

    async def go() -> tuple[dict[str, Any], bool]:
        cache = AnswerCache(tmp_path, "use")
        try:
            result = await cache.get_or_call(key(), call)
            assert list(cache.export()) == [key()]
            return result
        finally:
            cache.close()

    assert asyncio.run(go()) == ({"content": "asked"}, False)
    assert "unpickled!" not in capsys.readouterr().out


def test_an_unusable_cache_folder_is_a_clear_error(tmp_path: Path) -> None:
    from service.errors import CacheError

    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(CacheError, match="is unusable"):
        AnswerCache(not_a_dir, "use")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "cache.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CacheError, match="is unusable"):
        AnswerCache(broken, "use")
    with pytest.raises(CacheMissError, match="does not exist"):
        AnswerCache(tmp_path / "missing", "replay")
    assert not (tmp_path / "missing").exists()


async def _no_wait() -> None:
    raise AssertionError("waited for a lock entry that holds no live claim")


def _live_token() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}:{'a' * 12}"


@pytest.mark.parametrize(
    ("planted", "expire"),
    [
        (_Evil(), 600.0),  # a pickle: unreadable, never unpickled
        (b"\x80\x04K\x01.", 600.0),  # bytes
        (42, 600.0),
        ("not a token", 600.0),
        ("host:pid:nonce", 600.0),
        (None, None),  # a live holder's token with no expiry (filled in below)
        (None, 10.0**9),  # … or with one far beyond the lock lifetime
    ],
    ids=["pickle", "bytes", "int", "garbage", "malformed-token", "no-expiry", "far-expiry"],
)
def test_a_lock_that_is_no_live_claim_is_broken_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], planted: Any, expire: float | None
) -> None:
    import diskcache

    with diskcache.Cache(str(tmp_path)) as raw:
        raw.set(f"lock:{key()}", _live_token() if planted is None else planted, expire=expire)

    async def call() -> dict[str, Any]:
        return {"content": "fresh"}

    async def go() -> tuple[dict[str, Any], bool]:
        cache = AnswerCache(tmp_path, "use", pause=_no_wait)
        try:
            return await cache.get_or_call(key(), call)
        finally:
            cache.close()

    assert asyncio.run(go()) == ({"content": "fresh"}, False)
    assert "unpickled!" not in capsys.readouterr().out
    with diskcache.Cache(str(tmp_path)) as raw:
        assert f"lock:{key()}" not in raw  # released after the call


def test_a_live_lock_is_waited_for_and_its_answer_taken(tmp_path: Path) -> None:
    import diskcache

    with diskcache.Cache(str(tmp_path)) as raw:
        raw.add(f"lock:{key()}", _live_token(), expire=600)
    pauses = 0

    async def other_process_answers() -> None:
        nonlocal pauses
        pauses += 1
        other = AnswerCache(tmp_path, "use")
        other.load({key(): {"content": "theirs"}})
        other.close()

    async def call() -> dict[str, Any]:
        raise AssertionError("asked while another process held the lock")

    async def go() -> tuple[dict[str, Any], bool]:
        cache = AnswerCache(tmp_path, "use", pause=other_process_answers)
        try:
            return await cache.get_or_call(key(), call)
        finally:
            cache.close()

    assert asyncio.run(go()) == ({"content": "theirs"}, True)
    assert pauses == 1


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run(
        [sys.executable, "-m", "service", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "0"],
        ["serve", "--port", "0", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"],
        [
            "summarize",
            str(EXAMPLE_PAGE),
            "--engine",
            "llm",
            "--model",
            "m",
            "--base-url",
            "http://127.0.0.1:9/v1",
        ],
    ],
    ids=["serve", "serve-with-model", "summarize"],
)
def test_replay_with_a_missing_cache_folder_is_one_error_line(
    tmp_path: Path, argv: list[str]
) -> None:
    missing = tmp_path / "nonexistent"
    result = _cli(*argv, "--cache", "replay", "--cache-dir", str(missing))
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"error: replay: the cache folder {missing} does not exist; run once with --cache use "
        "to record answers"
    ]
    assert result.stdout == "" and not missing.exists()


def test_a_waiter_asks_in_place_of_a_cancelled_caller(tmp_path: Path) -> None:
    started = asyncio.Event()
    calls: list[str] = []

    async def held() -> dict[str, Any]:
        calls.append("held")
        started.set()
        await asyncio.Event().wait()  # never answers: its caller is cancelled
        raise AssertionError("unreachable")

    async def answers() -> dict[str, Any]:
        calls.append("answers")
        return {"content": "x"}

    async def go() -> tuple[dict[str, Any], bool]:
        cache = AnswerCache(tmp_path, "use")
        try:
            first = asyncio.create_task(cache.get_or_call(key(), held))
            await started.wait()
            second = asyncio.create_task(cache.get_or_call(key(), answers))
            await asyncio.sleep(0)  # let the second caller start waiting on the first
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            return await second
        finally:
            cache.close()

    value, cached = asyncio.run(go())
    assert value == {"content": "x"} and cached is False
    assert calls == ["held", "answers"]
