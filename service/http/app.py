"""The HTTP face: ``create_app(settings) -> FastAPI``, thin over the one core.

Routes (OpenAPI at ``/docs`` and ``/openapi.json``)::

    POST   /v1/summaries               a thread (JSON in any input format, or text/plain), or
                                       {"url": …} → summary; Accept: text/event-stream: progress
    POST   /v1/batches                 a JSON array or JSONL of threads → 202, a job id
    GET    /v1/batches/{id}            the job's status and counts
    GET    /v1/batches/{id}/results    its finished records as JSONL, streamed
    POST   /v1/batches/{id}/retry      run its error records again → 202
    DELETE /v1/batches/{id}            cancel it
    GET    /v1/batches                 every batch job's status
    GET    /v1/batches/{id}/events     the job's status as server-sent events, until it ends
    GET    /healthz                    the process is up
    GET    /readyz                     ready to serve (CPU lanes not full; the model server and
                                       Redis, when configured, answer)
    GET    /metrics                    Prometheus metrics (requests, model calls, tokens, batches)
    GET    /  POST /                   the web page: paste or link a thread, watch it run, read
    GET    /docs  /redoc               the API docs, from local files (no CDN)

Every step is the core's (``read_thread``, ``summarize``, ``render``) or the batch runner's
(``service.jobs``); the app adds only what an HTTP service needs, each in its module:

- ``routes/``: one router per resource; ``inputs``: run options and request bodies;
- ``middleware``: the body limit (413 from ``Content-Length`` or while the body streams) and
  the last-resort 500; a thread over ``max_comments`` or ``max_depth`` is 422, not 413;
- ``security``: API keys and the rate limit on ``/v1`` (health and docs are open);
- ``problems``: every error as ``application/problem+json``;
- ``metrics``: ``/metrics`` and the middleware that counts requests (:mod:`service.metrics`
  counts the rest while the app runs);
- ``supervisor``: the shared state (one :class:`~service.runtime.Runtime`, the CPU threads, the
  job store, batch tasks, readiness), opened in the lifespan and closed at shutdown;
- ``cpu`` and ``bounds``: what a request may cost: CPU-heavy steps on the app's bounded
  threads (503 when full), a deadline (504), and no work once its client has gone;
- ``server``: running it under uvicorn (graceful shutdown, trusted proxies, and HTTP errors
  before the app as problems too, from ``protocol``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI

from .. import events
from ..metrics import LISTENER
from ..model.protocol import ChatModel
from ..runtime import Runtime
from ..settings import Settings
from .bounds import ClientGone, client_gone_response
from .cpu import CpuPool
from .metrics import MetricsMiddleware
from .metrics import router as metrics_router
from .middleware import BodyLimitMiddleware, CatchAllMiddleware
from .problems import PROBLEM, install_error_handlers
from .replicas import install_replica_handler
from .routes import batches, health, summaries, web
from .security import Guard, build_limiter
from .supervisor import Service

__all__ = ["create_app"]


class _App(FastAPI):
    """FastAPI, with error responses documented as ``application/problem+json``."""

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document, built (and fixed up) once."""
        fresh = self.openapi_schema is None
        schema = super().openapi()
        if fresh:
            _problem_media_types(schema)
        return schema


def create_app(settings: Settings | None = None, *, model: ChatModel | None = None) -> FastAPI:
    """The threadsum HTTP service as a FastAPI app.

    ``model`` replaces the model client the app would create (tests, embedding). The app's
    lifespan opens the shared runtime and job store and resumes unfinished batches; an ASGI
    server runs it (``serve``), and in-process callers enter ``app.router.lifespan_context``.
    """
    settings = settings or Settings()
    limiter = build_limiter(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cpu = CpuPool(settings.cpu_workers, settings.cpu_queue)
        runtime = Runtime(settings, model=model, executor=cpu.batch)
        service = Service(settings, runtime, cpu, injected_model=model is not None, limiter=limiter)
        app.state.threadsum = service
        with events.listening(LISTENER):
            try:
                await service.start()
                yield
            finally:
                await service.stop()

    app = _App(
        title="threadsum",
        version="1",
        summary="Turn discussion threads into argument maps.",
        lifespan=lifespan,
        docs_url=None,  # served from local files by routes/web.py, never from a CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    install_replica_handler(app)
    app.add_exception_handler(ClientGone, client_gone_response)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_bytes)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(MetricsMiddleware)  # outermost: counts the 413s and 500s too
    guard = Guard(settings.api_key_set, limiter)
    guarded = [Depends(guard)]
    app.include_router(summaries.router, dependencies=guarded)
    app.include_router(batches.router, dependencies=guarded)
    app.include_router(health.router)
    app.include_router(metrics_router)
    app.include_router(web.web_router(guard))
    return app


def _problem_media_types(schema: dict[str, Any]) -> None:
    """Error responses are ``application/problem+json``, not ``application/json``."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if code[:1] in "45" and "application/json" in content:
                    content[PROBLEM] = content.pop("application/json")
