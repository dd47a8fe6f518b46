"""A real ``threadsum serve`` on loopback: requests, errors, workers, a port in use, a kill -9
mid-batch, and SIGTERM with CPU work in flight."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread
from service.ingest import read_thread
from service.settings import Settings
from service.summarizer import summarize

from .conftest import EXAMPLE_PAGE, ROOT

pytestmark = pytest.mark.slow


STOP_S = 15
"""Seconds a server has to stop, workers included, after SIGTERM."""


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "service", "serve", *args]


@contextmanager
def serve(env: dict[str, str], *args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``threadsum serve`` on a free port; yields its URL once it answers ``/healthz``.

    The server prints its URL once its socket listens, so the first request waits in the
    socket's backlog until the app has started: nothing polls. On the way out it gets SIGTERM
    and must stop within :data:`STOP_S`, workers included; if it does not, its whole process
    group is killed (no worker is left behind holding the log pipe) and the test fails.
    """
    proc = subprocess.Popen(
        _command("--port", "0", *args),
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the workers can be killed with it
    )
    stuck = False
    stderr = proc.stderr
    assert stderr is not None
    # Once the URL is read, the rest of stderr is read as it comes: the server never blocks on a
    # full pipe.
    drain = threading.Thread(target=stderr.read, daemon=True)
    try:
        first = stderr.readline()
        found = re.match(r"threadsum serve on (http://\S+) ", first)
        if found is None:
            raise RuntimeError(f"threadsum serve did not start: {first}{stderr.read()}")
        drain.start()
        url = found.group(1)
        assert httpx.get(url + "/healthz", timeout=60).status_code == 200
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                stuck = True
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if drain.ident is not None:
            drain.join(timeout=STOP_S)  # the pipe ends when the server and its workers exit
            if drain.is_alive():  # a worker outlived its supervisor
                stuck = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                drain.join()
        stderr.close()
    if stuck:
        raise AssertionError(f"threadsum serve {' '.join(args)} did not stop within {STOP_S} s")


def test_real_server_summarizes_and_refuses_with_problems(tmp_path: Path) -> None:
    env = {
        "THREADSUM_STATE_DIR": str(tmp_path / "state"),
        "THREADSUM_API_KEYS": "k1",
        "THREADSUM_MAX_BYTES": "200000",
    }
    with serve(env) as (url, _):
        page = EXAMPLE_PAGE.read_bytes()
        r = httpx.post(
            url + "/v1/summaries",
            content=page,
            headers={"content-type": "text/plain", "authorization": "Bearer k1"},
        )
        assert r.status_code == 200 and r.json()["engine"]["kind"] == "extractive"
        r = httpx.post(url + "/v1/summaries", content=page, headers={"content-type": "text/plain"})
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")

        def body() -> Iterator[bytes]:
            for _ in range(1000):
                yield b"x" * 65536  # 64 MB in all, streamed without a length

        r = httpx.post(
            url + "/v1/summaries",
            content=body(),
            timeout=30,
            headers={"content-type": "text/plain", "x-api-key": "k1"},
        )
        assert r.status_code == 413 and "200000" in r.json()["detail"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_one_error_line_and_exit_1(tmp_path: Path, workers: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = subprocess.run(
            _command("--port", port, "--workers", workers),
            cwd=ROOT,
            env={**os.environ, "THREADSUM_STATE_DIR": str(tmp_path / "state")},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0]
    assert result.stdout == ""


def test_worker_processes_share_the_socket_and_the_settings(tmp_path: Path) -> None:
    env = {"THREADSUM_STATE_DIR": str(tmp_path / "state"), "THREADSUM_CACHE": "off"}
    with running(MockConfig()) as model_url:
        # The model flags reach the workers only through the settings serve hands them.
        args = ("--workers", "2", "--engine", "llm", "--base-url", model_url)
        with serve(env, *args, "--model", "threadsum-mock") as (url, _):
            pages = [
                httpx.post(
                    url + "/v1/summaries",
                    content=EXAMPLE_PAGE.read_bytes(),
                    headers={"content-type": "text/plain"},
                    timeout=60,
                )
                for _ in range(2)
            ]
        stats = httpx.get(model_url.removesuffix("/v1") + "/mock/stats").json()
    for r in pages:
        assert r.status_code == 200, r.text
        assert r.json()["engine"]["model"] == "threadsum-mock"
    assert stats["requests"] >= 2


def _done_in_db(state: Path) -> int:
    with sqlite3.connect(state / "jobs.sqlite") as db:
        row = db.execute("SELECT count(*) FROM items WHERE status != 'pending'").fetchone()
    return int(row[0])


def test_kill_9_mid_batch_loses_nothing_and_repeats_no_model_call(tmp_path: Path) -> None:
    state = tmp_path / "state"
    threads = [synthetic_thread(6, seed=n, thread_id=f"t{n}") for n in range(16)]
    body = "\n".join(json.dumps(t) for t in threads)
    with running(MockConfig(latency_ms=250)) as model_url:
        stats_url = model_url.removesuffix("/v1") + "/mock/stats"
        env = {
            "THREADSUM_STATE_DIR": str(state),
            "THREADSUM_CACHE": "off",
            "THREADSUM_BATCH_CONCURRENCY": "2",
            # A fixed mode: the restarted server would add a one-token probe of it.
            "THREADSUM_OUTPUT_MODE": "json_schema",
        }
        args = ("--engine", "llm", "--base-url", model_url, "--model", "threadsum-mock")
        with serve(env, *args) as (url, proc):
            r = httpx.post(
                url + "/v1/batches", content=body, headers={"content-type": "application/x-ndjson"}
            )
            assert r.status_code == 202
            job = r.json()["id"]
            deadline = time.monotonic() + 60
            while httpx.get(f"{url}/v1/batches/{job}").json()["done"] < 4:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        done_at_kill = _done_in_db(state)
        assert 4 <= done_at_kill < len(threads)
        httpx.post(model_url.removesuffix("/v1") + "/mock/reset")

        with serve(env, *args) as (url, _):
            deadline = time.monotonic() + 60
            while (status := httpx.get(f"{url}/v1/batches/{job}").json())["status"] != "done":
                assert time.monotonic() < deadline, status
                time.sleep(0.1)
            lines = httpx.get(f"{url}/v1/batches/{job}/results").text.splitlines()
        records = [json.loads(line) for line in lines]
        assert sorted(r["line"] for r in records) == list(range(1, len(threads) + 1))
        assert all(r["status"] == "ok" for r in records)
        # threads finished before the kill were not asked for again: one call per remaining one
        assert httpx.get(stats_url).json()["requests"] == len(threads) - done_at_kill


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_sigterm_stops_the_server_within_its_shutdown_timeout_with_cpu_work_in_flight(
    tmp_path: Path,
) -> None:
    body = json.dumps(synthetic_thread(20_000, seed=1)).encode()
    # The CPU one of these requests needs, measured here: the server must not spend the four's.
    started = time.process_time()
    summary = asyncio.run(summarize(read_thread(body), Settings(engine="extractive")))
    needed = time.process_time() - started
    assert summary.claims
    env = {
        "THREADSUM_STATE_DIR": str(tmp_path / "state"),
        "THREADSUM_SHUTDOWN_TIMEOUT": "1",
        "THREADSUM_CPU_WORKERS": "1",
        "THREADSUM_CPU_QUEUE": "3",
        "THREADSUM_RATE_LIMIT": "0",
    }
    before = _children_cpu_s()
    answers: list[httpx.Response] = []
    with serve(env, "--engine", "extractive") as (url, proc):

        def post() -> None:
            answers.append(
                httpx.post(
                    url + "/v1/summaries",
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=120,
                )
            )

        clients = [threading.Thread(target=post) for _ in range(4)]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 120
        while httpx.get(url + "/readyz").status_code == 200:  # until all four are admitted
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        for client in clients:
            client.join()
    # The server stopped after its 1 s of grace without finishing, or waiting for, the work in
    # flight: all its life it spent less CPU than one of the four requests needs.
    spent = _children_cpu_s() - before
    assert spent < needed, (spent, needed)
    assert [r.status_code for r in answers] == [503] * 4
    for r in answers:
        assert r.headers["content-type"] == "application/problem+json"
        assert "shutting down" in r.json()["detail"] and r.headers["retry-after"]


def test_workers_get_time_to_start_and_to_answer_the_supervisor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # uvicorn's 5 s would kill a worker still importing on a loaded machine, or one holding the
    # GIL through a long summary, and reset its connections.
    from service.http import server

    seen: list[Any] = []

    class Supervisor:
        def __init__(self, config: Any, sockets: list[Any]) -> None:
            seen.append(config)

        def run(self) -> None:
            return None

    monkeypatch.setattr(server, "Multiprocess", Supervisor)
    monkeypatch.setenv(server.WORKER_SETTINGS, "{}")  # serve sets it: restored after the test
    server.serve(Settings(), port=0, workers=2)
    assert seen and seen[0].timeout_worker_healthcheck == server.WORKER_HEALTHCHECK_S >= 30
    assert seen[0].workers == 2
