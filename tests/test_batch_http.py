"""HTTP batches (service.http.routes.batches): the fetch budget.

The app runs in process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from service.devtools.synthetic import synthetic_thread
from service.http import create_app
from service.http.supervisor import Service
from service.settings import Settings

T = TypeVar("T")
PROBLEM = "application/problem+json"
Scenario = Callable[[httpx.AsyncClient, Service], Awaitable[T]]


def call(settings: Settings, scenario: Scenario[T]) -> T:
    """Run ``scenario`` against the app in process, its lifespan entered."""

    async def go() -> T:
        app: FastAPI = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await scenario(c, app.state.threadsum)

    return asyncio.run(go())


def _body(n: int) -> list[dict[str, Any]]:
    return [{"id": f"t{i}", "thread": synthetic_thread(5, i, thread_id=f"t{i}")} for i in range(n)]


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
