"""Two real ``threadsum serve`` replicas on loopback sharing one real Redis, against the mock
model server: one answer cache, one model call per chunk under concurrent identical requests,
one rate limit, and what each replica answers for the other's batch jobs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread

from .redis_live import flush, redis_server
from .test_serve import serve

pytestmark = pytest.mark.slow

TIMEOUT = 60.0
"""Seconds a request may take: a loaded machine answers status slowly while a batch runs."""


@pytest.fixture(scope="module")
def redis_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_url(redis_root: str) -> str:
    flush(redis_root)
    return redis_root


class Mock:
    def __init__(self, url: str) -> None:
        self.url = url
        self._root = url.removesuffix("/v1")

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(self._root + "/mock/stats", timeout=TIMEOUT).json())

    def reset(self) -> None:
        httpx.post(self._root + "/mock/reset", timeout=TIMEOUT)


def replicas(
    stack: ExitStack, redis_url: str, model_url: str, states: list[Path], **extra: str
) -> list[str]:
    """Start one ``threadsum serve`` per state dir, all on one Redis and one model server."""
    urls = []
    for n, state in enumerate(states, start=1):
        env = {
            "THREADSUM_CACHE_URL": redis_url,
            "THREADSUM_STATE_DIR": str(state),
            "THREADSUM_REPLICA": f"api-{n}",
            "THREADSUM_CHUNK_TOKENS": "1000",
            "THREADSUM_CONCURRENCY": "8",
            # A fixed mode: each fresh replica would otherwise add a one-token probe of it.
            "THREADSUM_OUTPUT_MODE": "json_schema",
            **extra,
        }
        args = ("--engine", "llm", "--base-url", model_url, "--model", "threadsum-mock")
        url, _ = stack.enter_context(serve(env, *args))
        urls.append(url)
    return urls


def _summarize(url: str, thread: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(url + "/v1/summaries", json=thread, timeout=TIMEOUT * 2)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_the_second_replica_makes_no_model_call_for_a_thread_the_first_summarized(
    tmp_path: Path, redis_url: str
) -> None:
    thread = synthetic_thread(40, seed=3, thread_id="shared")
    with running(MockConfig()) as model_url, ExitStack() as stack:
        mock = Mock(model_url)
        a, b = replicas(stack, redis_url, model_url, [tmp_path / "a", tmp_path / "b"])
        first = _summarize(a, thread)
        asked = mock.stats()["requests"]
        assert first["stats"]["chunks"] >= 2 and asked >= first["stats"]["chunks"]
        mock.reset()
        second = _summarize(b, thread)
        assert mock.stats()["requests"] == 0
        assert second["claims"] == first["claims"] and second["overview"] == first["overview"]
        assert second["stats"]["cache_hits"] == asked


def test_twenty_concurrent_identical_requests_across_replicas_ask_once_per_chunk(
    tmp_path: Path, redis_url: str
) -> None:
    thread = synthetic_thread(40, seed=5, thread_id="rush")
    with running(MockConfig(latency_ms=300)) as model_url, ExitStack() as stack:
        mock = Mock(model_url)
        states = [tmp_path / "a", tmp_path / "b"]
        a, b = replicas(stack, redis_url, model_url, states, THREADSUM_CPU_QUEUE="20")
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda i: _summarize((a, b)[i % 2], thread), range(20)))
        rush = mock.stats()
        # What one request alone costs, asked again with nothing cached:
        flush(redis_url)
        mock.reset()
        alone = _summarize(a, thread)
        once = mock.stats()
    chunks = alone["stats"]["chunks"]
    assert chunks >= 2 and rush["by_kind"]["map"] == chunks == once["by_kind"]["map"]
    assert rush["requests"] == once["requests"]
    assert all(x["claims"] == alone["claims"] for x in answers)


def test_the_rate_limit_holds_across_both_replicas(tmp_path: Path, redis_url: str) -> None:
    with running(MockConfig()) as model_url, ExitStack() as stack:
        a, b = replicas(
            stack,
            redis_url,
            model_url,
            [tmp_path / "a", tmp_path / "b"],
            THREADSUM_RATE_LIMIT="6",
        )
        urls = [f"{(a, b)[i % 2]}/v1/batches/none" for i in range(10)]
        codes = [httpx.get(url, timeout=TIMEOUT).status_code for url in urls]
        limited = httpx.get(f"{b}/v1/batches/none", timeout=TIMEOUT)
    assert codes == [404] * 6 + [429] * 4  # each replica alone would have let 10 through
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert "6 requests per minute" in limited.json()["detail"]


def _batch(url: str, threads: list[dict[str, Any]]) -> str:
    body = "\n".join(json.dumps(t) for t in threads)
    r = httpx.post(
        url + "/v1/batches",
        content=body,
        headers={"content-type": "application/x-ndjson"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _get(url: str) -> dict[str, Any]:
    return dict(httpx.get(url, timeout=TIMEOUT).json())


def _wait_done(url: str, job: str) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while (status := _get(f"{url}/v1/batches/{job}"))["status"] != "done":
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    return dict(status)


def test_replicas_sharing_a_state_dir_answer_for_each_others_batches(
    tmp_path: Path, redis_url: str
) -> None:
    threads = [synthetic_thread(8, seed=n, thread_id=f"t{n}") for n in range(4)]
    shared = tmp_path / "state"
    with running(MockConfig()) as model_url, ExitStack() as stack:
        a, b = replicas(stack, redis_url, model_url, [shared, shared])
        job = _batch(a, threads)
        status = _wait_done(b, job)
        from_a = httpx.get(f"{a}/v1/batches/{job}/results", timeout=TIMEOUT).text.splitlines()
        from_b = httpx.get(f"{b}/v1/batches/{job}/results", timeout=TIMEOUT).text.splitlines()
    assert status["done"] == len(threads) and status["failed"] == 0
    assert from_a == from_b and len(from_b) == len(threads)
    assert {json.loads(line)["status"] for line in from_b} == {"ok"}


def test_a_replica_with_its_own_state_dir_names_the_replica_holding_a_batch(
    tmp_path: Path, redis_url: str
) -> None:
    threads = [synthetic_thread(8, seed=n, thread_id=f"t{n}") for n in range(2)]
    with running(MockConfig()) as model_url, ExitStack() as stack:
        a, b = replicas(stack, redis_url, model_url, [tmp_path / "a", tmp_path / "b"])
        job = _batch(a, threads)
        elsewhere = [
            httpx.get(f"{b}/v1/batches/{job}", timeout=TIMEOUT),
            httpx.get(f"{b}/v1/batches/{job}/results", timeout=TIMEOUT),
            httpx.delete(f"{b}/v1/batches/{job}", timeout=TIMEOUT),
        ]
        unknown = httpx.get(f"{b}/v1/batches/no-such-job", timeout=TIMEOUT)
        status = _wait_done(a, job)
    for r in elsewhere:
        assert r.status_code == 404 and r.headers["content-type"].startswith(
            "application/problem+json"
        )
        doc = r.json()
        assert doc["type"].endswith("job-elsewhere-error") and doc["replica"] == "api-1"
        assert "api-1" in doc["detail"]
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("job-not-found-error")
    assert status["done"] == len(threads)  # the cancel asked of api-2 did not reach the job
