"""HTTP batches (service.http.routes.batches): retrying failed threads and the fetch budget.

The app runs in process; a test waits for a batch by awaiting the app's own task for it (no
polling, no sleeps).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from service.devtools.fake import FakeCompletion, FakeModel
from service.devtools.synthetic import synthetic_thread
from service.errors import ModelUnavailableError
from service.http import create_app
from service.http.supervisor import Service
from service.model.protocol import ChatModel
from service.settings import Settings

T = TypeVar("T")
PROBLEM = "application/problem+json"
Scenario = Callable[[httpx.AsyncClient, Service], Awaitable[T]]


def _llm(**kwargs: Any) -> Settings:
    return Settings(engine="llm", model="fake-model", cache="off", batch_concurrency=1, **kwargs)


def call(settings: Settings, scenario: Scenario[T], *, model: ChatModel | None = None) -> T:
    """Run ``scenario`` against the app in process, its lifespan entered."""

    async def go() -> T:
        app: FastAPI = create_app(settings, model=model)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await scenario(c, app.state.threadsum)

    return asyncio.run(go())


async def _ended(service: Service, job_id: str) -> None:
    """Wait for the app's runs of the job to end, a relaunched run included.

    A task's done callbacks run in the order they were added, so by the time awaiting it
    returns, the app has dropped it and launched any run that was waiting for it to end.
    """
    while (task := service.tasks.get(job_id)) is not None:
        await asyncio.gather(task, return_exceptions=True)


def _body(n: int) -> list[dict[str, Any]]:
    return [{"id": f"t{i}", "thread": synthetic_thread(5, i, thread_id=f"t{i}")} for i in range(n)]


async def _records(c: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    text = (await c.get(f"/v1/batches/{job_id}/results")).text
    return [json.loads(line) for line in text.splitlines()]


def test_retry_reruns_the_failed_threads() -> None:
    down = ModelUnavailableError("the model server is unavailable")
    model = FakeModel(script=[down])  # the first thread's one call fails; the rest answer

    async def scenario(c: httpx.AsyncClient, service: Service) -> Any:
        job_id = (await c.post("/v1/batches", json=_body(3))).json()["id"]
        await _ended(service, job_id)
        before = await _records(c, job_id)
        retried = await c.post(f"/v1/batches/{job_id}/retry")
        await _ended(service, job_id)
        status = (await c.get(f"/v1/batches/{job_id}")).json()
        return before, retried, status, await _records(c, job_id)

    before, retried, status, after = call(_llm(), scenario, model=model)
    assert [r["status"] for r in before] == ["error", "ok", "ok"]
    assert before[0]["error"]["status"] == 503
    assert retried.status_code == 202, retried.text
    doc = retried.json()
    assert doc["retried"] == 1 and doc["status"] == "queued"
    assert (doc["done"], doc["failed"], doc["total"]) == (2, 0, 3)
    assert (status["status"], status["done"], status["failed"]) == ("done", 3, 0)
    assert [(r["key"], r["status"]) for r in after] == [("t0", "ok"), ("t1", "ok"), ("t2", "ok")]
    assert after[1:] == before[1:]  # the threads that were done are not run again
    assert len(model.calls) == 4


@dataclass
class HeldModel(FakeModel):
    """Holds every call until it is cancelled; ``held`` is set once one is held."""

    held: asyncio.Event = field(default_factory=asyncio.Event)

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> FakeCompletion:
        self.held.set()
        await asyncio.Event().wait()  # only a cancel ends it
        raise AssertionError("a held call ended without being cancelled")


def test_retry_is_refused_while_running_after_a_cancel_and_for_no_job() -> None:
    model = HeldModel()

    async def scenario(c: httpx.AsyncClient, service: Service) -> list[httpx.Response]:
        job_id = (await c.post("/v1/batches", json=_body(2))).json()["id"]
        await model.held.wait()
        running = await c.post(f"/v1/batches/{job_id}/retry")
        await c.delete(f"/v1/batches/{job_id}")
        cancelled = await c.post(f"/v1/batches/{job_id}/retry")
        return [running, cancelled, await c.post("/v1/batches/nope/retry")]

    running, cancelled, unknown = call(_llm(), scenario, model=model)
    for r, status, words in (
        (running, 409, "is running; retry its failed threads once it has ended"),
        (cancelled, 409, "was cancelled"),
        (unknown, 404, "no batch job nope"),
    ):
        assert r.status_code == status and r.headers["content-type"] == PROBLEM, r.text
        assert words in r.json()["detail"]


def test_a_batch_over_the_url_budget_is_refused_before_any_fetch() -> None:
    url = {"url": "https://news.ycombinator.com/item?id=8863"}
    elsewhere = {"url": "https://example.com/not-a-thread"}  # counted, though it is never fetched

    async def scenario(c: httpx.AsyncClient, service: Service) -> list[Any]:
        over = await c.post("/v1/batches", json=[url, elsewhere, url, *_body(3)])
        jobs = await asyncio.to_thread(service.jobs.list_jobs)
        within = await c.post("/v1/batches", json=[elsewhere, elsewhere, *_body(20)])
        return [over, jobs, within]

    over, jobs, within = call(Settings(engine="extractive", max_batch_urls=2), scenario)
    assert over.status_code == 422 and over.headers["content-type"] == PROBLEM
    assert "3 URL lines, over the limit of 2 per batch" in over.json()["detail"]
    assert jobs == []  # refused whole: no job, so nothing was or will be fetched
    assert within.status_code == 202, within.text  # threads do not count, however many


@dataclass
class _Recording(Service):
    launched: list[str] = field(default_factory=list)

    def launch(self, job_id: str) -> None:
        self.launched.append(job_id)


def test_a_retry_while_the_last_run_is_ending_launches_after_it() -> None:
    from service.http.cpu import CpuPool
    from service.http.routes.batches import _relaunch
    from service.runtime import Runtime

    async def go() -> list[list[str]]:
        service = _Recording(Settings(), Runtime(), CpuPool(1, 0))
        ending: asyncio.Task[Any] = asyncio.create_task(asyncio.Event().wait())
        service.tasks["j"] = ending  # released its lease, not yet gone from the tasks
        _relaunch(service, "j")
        seen = [list(service.launched)]
        ending.cancel()
        await asyncio.gather(ending, return_exceptions=True)
        seen.append(list(service.launched))
        del service.tasks["j"]
        _relaunch(service, "j")
        return [*seen, service.launched]

    assert asyncio.run(go()) == [[], ["j"], ["j", "j"]]
