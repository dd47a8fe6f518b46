"""What one request may cost the HTTP service (service.http.cpu, service.http.bounds): CPU work on
bounded lanes that report saturation, a deadline, and no work once the client has gone.

Work is held with events, never timed: a held job or model call ends only when the test lets it.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread
import httpx
import pytest
from fastapi import FastAPI

from service.devtools.fake import FakeModel
from service.devtools.synthetic import synthetic_thread
from service.errors import ServiceBusyError
from service.http import create_app
from service.http.cpu import SMALL_BYTES, CpuPool
from service.http.supervisor import Service
from service.model.protocol import ChatModel
from service.settings import Settings

from .conftest import EXAMPLE_PAGE, ROOT
from .http_live import serving
from .test_api import assert_problem

T = TypeVar("T")
PAGE = EXAMPLE_PAGE.read_bytes()
TEXT = {"Content-Type": "text/plain"}
JSON = {"Content-Type": "application/json"}
GUARD_S = 60.0
"""How long a test waits for something that must happen (a hang guard, not a bound)."""


def _settings(**kwargs: Any) -> Settings:
    kwargs.setdefault("engine", "extractive")
    return Settings(**kwargs)


def call_app(
    settings: Settings,
    scenario: Callable[[httpx.AsyncClient, Service], Awaitable[T]],
    *,
    model: ChatModel | None = None,
) -> T:
    """Run ``scenario`` against the app in process, with its shared state."""

    async def go() -> T:
        app: FastAPI = create_app(settings, model=model)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await scenario(c, app.state.threadsum)

    return asyncio.run(go())


def _large_body() -> bytes:
    """A thread over the small lane's size: it is admitted to the large lane."""
    body = httpx.Request("POST", "/", json=synthetic_thread(1200, seed=3)).content
    assert len(body) > SMALL_BYTES
    return body


@dataclass
class HeldModel(FakeModel):
    """A fake model whose calls wait until they are cancelled; ``held`` is set when one waits,
    ``cancelled`` when one was cancelled (threading events: the server may run in a thread)."""

    held: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> Any:
        self.calls.append(messages)
        self.held.set()
        try:
            await asyncio.Event().wait()  # never set: only a cancel ends it
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        raise AssertionError("a held call ended without being cancelled")


# --- the pool itself -------------------------------------------------------------------------


def test_a_cached_summary_is_answered_while_the_frameworks_thread_pool_is_full() -> None:
    # FastAPI runs plain-function dependencies on anyio's worker threads, a thread hop per
    # request; the request path of a cached summary takes none, so it is answered even while
    # every one of those threads is taken.
    async def scenario(c: httpx.AsyncClient, service: Service) -> tuple[int, int]:
        first = await c.post("/v1/summaries", content=PAGE, headers=TEXT)
        limiter = anyio.to_thread.current_default_thread_limiter()
        holders = [object() for _ in range(int(limiter.total_tokens))]
        for holder in holders:
            await limiter.acquire_on_behalf_of(holder)
        try:
            again = await asyncio.wait_for(
                c.post("/v1/summaries", content=PAGE, headers=TEXT), GUARD_S
            )
        finally:
            for holder in holders:
                limiter.release_on_behalf_of(holder)
        assert again.json()["claims"] == first.json()["claims"]
        return first.status_code, again.status_code

    assert call_app(_settings(), scenario) == (200, 200)


def test_a_lane_admits_workers_plus_queue_then_refuses_with_retry_after() -> None:
    pool = CpuPool(1, 1)
    try:
        first, second = pool.admit(SMALL_BYTES + 1), pool.admit(SMALL_BYTES + 1)
        with pytest.raises(ServiceBusyError, match="busy") as refused:
            pool.admit(SMALL_BYTES + 1)
        assert refused.value.retry_after is not None and refused.value.status == 503
        assert pool.saturation() is not None and "large" in str(pool.saturation())
        small = pool.admit(100)  # the small lane has its own places
        for ticket in (first, second, small):
            ticket.close()
        assert pool.saturation() is None
        pool.admit(SMALL_BYTES + 1).close()
    finally:
        pool.shutdown()


def test_a_cancelled_request_keeps_its_place_until_its_running_job_ends() -> None:
    pool = CpuPool(1, 0)
    release = threading.Event()
    try:
        ticket = pool.admit(SMALL_BYTES + 1)
        running = ticket.submit(release.wait, GUARD_S)
        ticket.close()  # the request is gone (deadline, disconnect) but its thread still works
        with pytest.raises(ServiceBusyError):
            pool.admit(SMALL_BYTES + 1)
        release.set()
        assert running.result(GUARD_S) is True
        pool.admit(SMALL_BYTES + 1).close()  # the place came back with the job's end
    finally:
        release.set()
        pool.shutdown()


def test_a_job_still_waiting_for_a_thread_is_dropped_with_its_request() -> None:
    pool = CpuPool(1, 1)
    release = threading.Event()
    ran: list[str] = []
    try:
        holder = pool.admit(SMALL_BYTES + 1)
        holder.submit(release.wait, GUARD_S)
        waiter = pool.admit(SMALL_BYTES + 1)
        queued = waiter.submit(ran.append, "queued job")
        assert queued.cancel()  # what awaiting it does when its request is cancelled
        waiter.close()
        pool.admit(SMALL_BYTES + 1).close()  # its place is free at once
        release.set()
        holder.close()
        holder_done = pool.admit(SMALL_BYTES + 1)
        assert holder_done.submit(lambda: "after").result(GUARD_S) == "after"
        holder_done.close()
        assert ran == []
    finally:
        release.set()
        pool.shutdown()


def test_running_cpu_work_does_not_keep_a_stopped_process_alive() -> None:
    script = (
        "import threading\n"
        "from service.http.cpu import CpuPool\n"
        "started, never = threading.Event(), threading.Event()\n"
        "pool = CpuPool(1, 0)\n"
        "pool.admit(10**9).submit(lambda: started.set() or never.wait())\n"  # it never ends
        "assert started.wait(60)\n"
        "pool.shutdown()\n"
        "print('stopped')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=GUARD_S
    )
    assert done.returncode == 0 and done.stdout == "stopped\n", done.stderr


# --- the app ---------------------------------------------------------------------------------


def test_a_full_lane_is_503_busy_and_readyz_says_so_while_others_are_answered() -> None:
    settings = _settings(cpu_workers=1, cpu_queue=1)
    model = FakeModel()
    large = _large_body()

    async def scenario(c: httpx.AsyncClient, service: Service) -> None:
        release = threading.Event()
        holder, waiter = service.cpu.admit(len(large)), service.cpu.admit(len(large))
        job = holder.submit(release.wait, GUARD_S)  # the large lane's thread is taken
        try:
            busy = await c.post("/v1/summaries", content=large, headers=JSON)
            doc = assert_problem(busy, 503, "busy")
            assert doc["error"] == "ServiceBusyError" and int(busy.headers["retry-after"]) >= 1
            assert_problem(await c.get("/readyz"), 503, "busy")
            # A small request has a thread of its own; status and health need none.
            small = await asyncio.wait_for(
                c.post("/v1/summaries", content=PAGE, headers=TEXT), GUARD_S
            )
            assert small.status_code == 200, small.text
            assert (await c.get("/v1/batches/nope")).status_code == 404
            assert (await c.get("/healthz")).status_code == 200
        finally:
            release.set()
            await asyncio.wrap_future(job)
            holder.close()
            waiter.close()
        assert (await c.get("/readyz")).status_code == 200
        assert (await c.post("/v1/summaries", content=large, headers=JSON)).status_code == 200

    call_app(settings, scenario, model=model)


def test_a_batch_body_is_parsed_in_the_lanes_too() -> None:
    settings = _settings(cpu_workers=1, cpu_queue=0)
    large = httpx.Request("POST", "/", json=[synthetic_thread(1200, seed=4)]).content

    async def scenario(c: httpx.AsyncClient, service: Service) -> httpx.Response:
        with service.cpu.admit(len(large)):
            return await c.post("/v1/batches", content=large, headers=JSON)

    assert_problem(call_app(settings, scenario), 503, "busy")


def test_a_request_past_its_deadline_is_504_and_its_model_call_is_stopped() -> None:
    model = HeldModel()
    settings = _settings(engine="llm", model="fake-model", cache="off", request_timeout=0.2)

    async def scenario(c: httpx.AsyncClient, service: Service) -> httpx.Response:
        return await asyncio.wait_for(c.post("/v1/summaries", content=PAGE, headers=TEXT), GUARD_S)

    r = call_app(settings, scenario, model=model)
    doc = assert_problem(r, 504, "deadline of 0.2 s", "THREADSUM_REQUEST_TIMEOUT")
    assert doc["error"] == "DeadlineError"
    assert model.held.is_set() and model.cancelled.is_set()


def test_a_client_that_disconnects_stops_its_work() -> None:
    model = HeldModel()
    settings = _settings(engine="llm", model="fake-model", cache="off", shutdown_timeout=1)
    with serving(settings, model=model) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=GUARD_S) as sock:
            sock.sendall(
                b"POST /v1/summaries HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                + b"Content-Length: %d\r\n\r\n" % len(PAGE)
                + PAGE
            )
            assert model.held.wait(GUARD_S), "the model was never called"
        # The socket is closed and nobody will read the answer: the model call is cancelled.
        assert model.cancelled.wait(GUARD_S), "the work went on after the client left"
        assert httpx.get(base + "/healthz").status_code == 200
