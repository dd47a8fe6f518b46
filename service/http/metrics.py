"""``GET /metrics`` (Prometheus' text format) and the middleware that counts every request.

Requests are counted by method, route template (``/v1/batches/{job_id}``, never the id itself,
so the label stays small) and status code; a path no route matches is ``unmatched``. The
duration runs from the request's arrival to the last byte of its response, so a streamed
result counts whole. The batch gauges are read from the job store at each scrape (one query),
so every worker reports the same, durable numbers. The rest comes from :mod:`service.metrics`.

``/metrics`` is left out of the OpenAPI document (it is for scrapers, not API clients) and is
open like ``/healthz``: it holds counts, route names and model names, never a
thread, a key or a client address. Put it behind the proxy's access rules where that matters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from typing import Final, get_args

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..jobs.status import JobState, JobStatus
from ..metrics import HTTP_LATENCY, HTTP_REQUESTS, exposition
from .supervisor import service_of

__all__ = ["MetricsMiddleware", "router"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus' text exposition format."""
UNMATCHED: Final = "unmatched"

router = APIRouter(tags=["health"])


class MetricsMiddleware:
    """Count each HTTP request and time it, by method, route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app and count the request when its response has ended (or failed)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            labels = (str(scope.get("method", "")), template, str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_LATENCY.labels(*labels).observe(time.perf_counter() - started)


class _BatchCollector(Collector):
    """The batch gauges, from one reading of the job store."""

    def __init__(self, jobs: Sequence[JobStatus]) -> None:
        self.jobs = jobs

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """``threadsum_batch_jobs`` by state and ``threadsum_batch_queue_items``."""
        by_state = GaugeMetricFamily(
            "threadsum_batch_jobs", "Batch jobs in the job store, by state.", labels=["state"]
        )
        for state in get_args(JobState):
            by_state.add_metric([state], sum(1 for job in self.jobs if job.status == state))
        yield by_state
        waiting = sum(
            job.total - job.done for job in self.jobs if job.status in ("queued", "running")
        )
        yield GaugeMetricFamily(
            "threadsum_batch_queue_items",
            "Threads of queued and running batch jobs not summarized yet.",
            value=waiting,
        )


def _render(jobs: Sequence[JobStatus]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_BatchCollector(jobs))
    return exposition(registry)


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The service's metrics in Prometheus' text format: requests and their latency, model
    requests, tokens, retries, answers from the cache, summaries, and the batch queue."""
    store = service_of(request).store
    jobs = await asyncio.to_thread(store.list_jobs) if store is not None else []
    body = await asyncio.to_thread(_render, jobs)
    return Response(body, media_type=CONTENT_TYPE)
