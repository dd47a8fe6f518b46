"""The HTTP face: ``create_app(settings) -> FastAPI``, thin over the one core.

Routes (OpenAPI at ``/docs`` and ``/openapi.json``)::

    POST   /v1/summaries               a thread (JSON in any input format, or text/plain) → summary
    POST   /v1/batches                 a JSON array or JSONL of threads → 202, a job id
    GET    /v1/batches/{id}            the job's status and counts
    GET    /v1/batches/{id}/results    its finished records as JSONL, streamed
    DELETE /v1/batches/{id}            cancel it
    GET    /healthz                    the process is up
    GET    /readyz                     ready to serve (the model server answers, if one is set)

Every step is the core's (``read_thread``, ``summarize``, ``render``) or the batch runner's
(``service.batch``); this module adds only what an HTTP service needs:

- **Limits.** The body is counted while it streams (:class:`BodyLimitMiddleware`): a declared
  ``Content-Length`` over ``max_bytes`` is refused before a byte is read, and a chunked body is cut
  off at the first byte over; both are 413 and the connection is closed. A thread over
  ``max_comments`` or ``max_depth`` (or a batch over ``max_batch_items``) is 422: the request was
  read and understood, the thread is unusable.
- **API keys** (``settings.api_keys``; none set: no auth) as ``Authorization: Bearer KEY`` or
  ``X-API-Key: KEY``, compared in constant time; otherwise 401 with ``WWW-Authenticate: Bearer``.
  Keys are never logged or echoed. ``/healthz``, ``/readyz`` and the docs are open.
- **Rate limit**: a token bucket per API key (per client address when auth is off, and for
  requests with a wrong key) holding ``rate_limit`` requests and refilling at ``rate_limit`` per
  minute; 429 with ``Retry-After``. Buckets live in the process (per worker).
- **No SSRF**: clients may pick the engine, output mode and chunk budget, never the model server
  (``base_url``) or model name: only the operator's configured server is ever called.
- **Errors** are ``application/problem+json`` (RFC 9457: ``type``, ``title``, ``status``,
  ``detail``, ``instance``). A :class:`~service.errors.ThreadsumError` gets its ``status``
  (503 with ``Retry-After`` when the model server said when to come back); anything unexpected is
  logged and becomes a generic 500, never a traceback.

One :class:`~service.cache.AnswerCache` and one :class:`~service.llm.ModelClient` per output
mode are shared by every request and batch of the app; they open in the lifespan and close at
shutdown. Batches run as asyncio tasks in this process, with their state in
``state_dir/jobs.sqlite``; unfinished jobs are resumed at startup (and picked up every
:data:`RESUME_EVERY_S` seconds from processes that died), so they survive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import http
import json
import logging
import math
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import uvicorn
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import BodyTooLargeError, ModelUnavailableError, ThreadsumError, UsageError
from ..ingest import read_thread
from ..jobs.runner import JobBusyError, JobOptions, JobStatus, JobStore, parse_body, run_job
from ..model.protocol import ChatModel
from ..models import ThreadSummary
from ..render import MEDIA_TYPES, Format, render
from ..runtime import Runtime
from ..settings import EngineName, OutputModeName, Settings
from ..summarizer import resolve_engine, summarize

__all__ = [
    "BodyLimitMiddleware",
    "CatchAllMiddleware",
    "Problem",
    "RateLimiter",
    "app_factory",
    "create_app",
    "error_status",
    "problem_response",
    "serve",
]

log = logging.getLogger("threadsum.api")

InputFormat = Literal["auto", "native", "hn-algolia", "hn-firebase", "reddit", "text"]
"""``?format=``: the input formats of ``service.ingest.FORMATS``, or ``auto`` (detect)."""

MAX_CHUNK_TOKENS: Final = 100_000
"""The largest chunk budget a client may ask for."""
READY_CACHE_S: Final = 5.0
"""Seconds a readiness answer is reused."""
READY_TIMEOUT_S: Final = 3.0
"""Seconds the readiness probe waits for the model server."""
RESUME_EVERY_S: Final = 30.0
"""How often unfinished batch jobs with no live runner are looked for and resumed."""
MAX_BUCKETS: Final = 10_000
"""Rate-limit buckets kept before the full ones are dropped."""

_JSON_TYPES: Final = frozenset({"application/json"})
_JSONL_TYPES: Final = frozenset(
    {"application/x-ndjson", "application/jsonl", "application/x-jsonlines"}
)
_TEXT_TYPES: Final = frozenset({"text/plain"})
_PROBLEM: Final = "application/problem+json"
_TOO_LARGE: Final = "urn:threadsum:error:body-too-large-error"


# --- problems --------------------------------------------------------------------------------


class Problem(BaseModel):
    """An error, as RFC 9457 ``application/problem+json``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        "about:blank", description="A URI naming the kind of problem.", examples=["about:blank"]
    )
    title: str = Field(description="The HTTP status phrase.", examples=["Unprocessable Content"])
    status: int = Field(description="The HTTP status code.", examples=[422])
    detail: str = Field(description="What went wrong, for a person to read.")
    instance: str = Field(description="The path of the request that failed.")


class ApiProblem(Exception):
    """An HTTP-level problem this module raises (auth, rate limit, content type, …)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str = "about:blank",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem_response(
    status: int,
    detail: str,
    instance: str,
    *,
    kind: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """An ``application/problem+json`` response."""
    body = Problem(
        type=kind,
        title=http.HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        **(extra or {}),
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status, headers=headers, media_type=_PROBLEM
    )


def error_status(error: ThreadsumError) -> int:
    """The HTTP status of ``error``: its own, except a thread over a count limit is 422.

    ``LimitError`` is 413 in ``errors.py`` for every limit; over HTTP only a body over
    ``max_bytes`` is "content too large" (413). Too many comments, too deep a tree or too many
    batch items are a body that was read and is unusable (422).
    """
    return error.status


def _problem_for(request: Request, exc: Exception) -> JSONResponse:
    """The problem response of an exception the app's handlers see."""
    path = request.url.path
    if isinstance(exc, ApiProblem):
        return problem_response(exc.status, exc.detail, path, kind=exc.kind, headers=exc.headers)
    if isinstance(exc, RequestValidationError):
        errors = [
            {"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg")), "type": e["type"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
        kind = "urn:threadsum:error:validation-error"
        return problem_response(
            422, detail or "invalid request", path, kind=kind, extra={"errors": errors}
        )
    if isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        phrase = exc.detail if isinstance(exc.detail, str) and exc.detail else None
        return problem_response(
            status, phrase or http.HTTPStatus(status).phrase, path, headers=exc.headers
        )
    assert isinstance(exc, ThreadsumError)
    status = error_status(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, ModelUnavailableError) and exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if status == 413:
        headers["Connection"] = "close"  # the rest of the body is never read
    if status >= 500:
        log.warning("%s %s: %s (%d)", request.method, path, type(exc).__name__, status)
    kind = f"urn:threadsum:error:{_kebab(type(exc).__name__)}"
    return problem_response(
        status, str(exc) or type(exc).__name__, path, kind=kind, headers=headers
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def handler(request: Request, exc: Exception) -> Response:
        return _problem_for(request, exc)

    for kind in (ThreadsumError, RequestValidationError, StarletteHTTPException, ApiProblem):
        app.add_exception_handler(kind, handler)


# --- pure ASGI middleware ------------------------------------------------------------------


async def _send_problem(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str, kind: str = "about:blank"
) -> None:
    path = str(scope.get("path", ""))
    response = problem_response(status, detail, path, kind=kind, headers={"Connection": "close"})
    await response(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` without reading them into memory.

    A ``Content-Length`` over the limit is answered 413 at once, the body unread. Otherwise the
    bytes are counted as the app reads them, and the read that crosses the limit raises
    :class:`BodyTooLargeError` (413) in the app, so at most ``max_bytes`` plus one network chunk
    is ever held. Either way the response says ``Connection: close``.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the body as it streams."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = [v for k, v in scope["headers"] if k == b"content-length"]
        if declared:
            text = declared[0].decode("latin-1").strip()
            if not text.isdigit():
                await _send_problem(scope, receive, send, 400, "invalid Content-Length header")
                return
            if int(text) > limit:
                await _send_problem(
                    scope,
                    receive,
                    send,
                    413,
                    f"the request body is {int(text)} bytes, over the limit of {limit} bytes",
                    _TOO_LARGE,
                )
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLargeError(f"the request body is over the limit of {limit} bytes")
            return message

        await self.app(scope, counted, send)


class CatchAllMiddleware:
    """Turn an unexpected exception into a logged, generic 500 problem (no traceback leaks).

    Starlette's own catch-all re-raises after answering, which logs twice and breaks in-process
    clients; this answers once. After a response has started nothing can be sent, so the
    exception goes on to the server, which closes the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; answer 500 if it fails before responding."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = problem_response(
                500,
                "internal error; it has been logged",
                str(scope.get("path", "")),
                kind="urn:threadsum:error:internal-error",
            )
            await response(scope, receive, send)


# --- rate limit ------------------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    """Token buckets in memory: ``per_minute`` requests at once, refilled at that rate."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, who: str) -> float | None:
        """Spend a token of ``who``; ``None`` if allowed, else the seconds until one is back."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        rate = self.per_minute / 60.0
        bucket = self._buckets.get(who)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._prune(now, rate)
            bucket = self._buckets[who] = _Bucket(float(self.per_minute), now)
        bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / rate

    def _prune(self, now: float, rate: float) -> None:
        """Forget buckets that have refilled: a new bucket starts full, so nothing changes."""
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * rate >= self.per_minute
        ]
        for k in full:
            del self._buckets[k]


# --- the service state -----------------------------------------------------------------------


class Health(BaseModel):
    """``/healthz`` and ``/readyz``."""

    status: Literal["ok", "ready"]


class BatchCreated(BaseModel):
    """A batch job was accepted."""

    id: str
    status: str = Field(description="The job's status when accepted (queued).")
    total: int = Field(description="Threads in the batch.")
    status_url: str
    results_url: str


@dataclass
class _Ready:
    at: float = -math.inf
    problem: str | None = None


@dataclass
class Service:
    """What one app shares across requests: its runtime, the job store, the limiter."""

    settings: Settings
    runtime: Runtime
    store: JobStore | None = None
    tasks: dict[str, asyncio.Task[JobStatus]] = field(default_factory=dict)
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0))
    ready: _Ready = field(default_factory=_Ready)
    ready_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    injected_model: bool = False

    # -- lifespan --

    async def start(self) -> None:
        """Open the job store; resume unfinished jobs."""
        self.store = await asyncio.to_thread(JobStore, self.settings.state_dir / "jobs.sqlite")
        await self.resume()

    async def stop(self) -> None:
        """Stop the batch tasks (their jobs stay resumable), then close what was opened."""
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.runtime.aclose()
        if self.store is not None:
            self.store.close()

    async def readiness(self) -> str | None:
        """``None`` when ready, else why not.

        With the LLM engine as the default, the model server must answer (probed at most every
        :data:`READY_CACHE_S` seconds); a model setting that cannot run is never ready.
        """
        try:
            engine = resolve_engine(self.settings).kind
        except UsageError as e:
            return str(e)
        if engine != "llm" or self.injected_model:
            return None
        async with self.ready_lock:
            now = time.monotonic()
            if now - self.ready.at < READY_CACHE_S:
                return self.ready.problem
            problem = await self.runtime.client(self.settings).ping(READY_TIMEOUT_S)
            self.ready = _Ready(time.monotonic(), problem)
            return problem

    # -- batches --

    @property
    def jobs(self) -> JobStore:
        """The job store (open between startup and shutdown)."""
        if self.store is None:
            raise RuntimeError("the app has not started (its lifespan did not run)")
        return self.store

    def launch(self, job_id: str, options: JobOptions) -> None:
        """Run a job as a background task of this process, unless one already runs it."""
        if job_id in self.tasks:
            return
        task = asyncio.create_task(
            run_job(
                self.jobs,
                job_id,
                self.settings,
                concurrency=self.settings.batch_concurrency,
                runtime=self.runtime,
            ),
            name=f"threadsum-batch-{job_id}",
        )
        self.tasks[job_id] = task
        task.add_done_callback(lambda t: self._finished(job_id, t))

    def _finished(self, job_id: str, task: asyncio.Task[Any]) -> None:
        self.tasks.pop(job_id, None)
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, JobBusyError):
            log.debug("batch %s: %s", job_id, error)
        elif isinstance(error, ThreadsumError):
            log.warning("batch %s failed: %s", job_id, error)
        elif error is not None:
            log.error("batch %s failed", job_id, exc_info=error)

    async def resume(self) -> None:
        """Start every unfinished job no task of this process runs (the runner's lease keeps
        two processes off one job)."""
        for job_id in await asyncio.to_thread(self.jobs.unfinished_jobs):
            if job_id not in self.tasks:
                options = await asyncio.to_thread(self.jobs.options, job_id)
                log.info("resuming batch %s", job_id)
                self.launch(job_id, options)

    async def resume_forever(self) -> None:
        """Every :data:`RESUME_EVERY_S`, resume jobs whose runner died (another worker, say)."""
        while True:
            await asyncio.sleep(RESUME_EVERY_S)
            try:
                await self.resume()
            except ThreadsumError as e:
                log.warning("resuming batches: %s", e)


# --- request helpers -------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="An API key, when the server requires one.")
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key, when the server requires one."
)


def _service(request: Request) -> Service:
    service: Service = request.app.state.threadsum
    return service


def _key_id(key: str) -> str:
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


async def _guard(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> None:
    """Authenticate (when keys are set) and rate-limit one ``/v1`` request."""
    service = _service(request)
    keys = service.settings.api_key_set
    if keys:
        given = bearer.credentials if bearer is not None else api_key
        valid = False
        for key in keys:  # every key is compared, so timing does not tell which one matched
            if given is not None and hmac.compare_digest(given.encode(), key.encode()):
                valid = True
        if not valid:
            _limit(service, _address(request))  # guessing keys costs tokens too
            detail = "an API key is required" if given is None else "the API key is not valid"
            raise ApiProblem(
                401,
                f"{detail}: send Authorization: Bearer <key> or X-API-Key: <key>",
                kind="urn:threadsum:error:unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="threadsum"'},
            )
        _limit(service, _key_id(given or ""))
    else:
        _limit(service, _address(request))


def _address(request: Request) -> str:
    return "ip:" + (request.client.host if request.client else "unknown")


def _limit(service: Service, who: str) -> None:
    wait = service.limiter.take(who)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise ApiProblem(
            429,
            f"rate limit of {service.settings.rate_limit} requests per minute reached; "
            f"retry in {seconds} s",
            kind="urn:threadsum:error:rate-limited",
            headers={"Retry-After": str(seconds)},
        )


def _run_options(
    engine: Annotated[
        EngineName | None, Query(description="Engine; default: the server's setting.")
    ] = None,
    output_mode: Annotated[
        OutputModeName | None,
        Query(description="Structured output mode of the LLM engine; default: the server's."),
    ] = None,
    chunk_tokens: Annotated[
        int | None,
        Query(
            ge=1000,
            le=MAX_CHUNK_TOKENS,
            description="Token budget of one chunk; default: the server's.",
        ),
    ] = None,
) -> dict[str, Any]:
    """The per-request overrides a client may choose (never the server or the model)."""
    given = {"engine": engine, "output_mode": output_mode, "chunk_tokens": chunk_tokens}
    return {k: v for k, v in given.items() if v is not None}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type in _JSON_TYPES or media_type.endswith("+json")


async def _read_body(request: Request) -> bytes:
    """The request body (:class:`BodyLimitMiddleware` caps it as it streams)."""
    parts = [chunk async for chunk in request.stream()]
    return b"".join(parts)


_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": Problem, "description": "A bad option or combination of options."},
    401: {"model": Problem, "description": "An API key is required and was missing or wrong."},
    404: {"model": Problem, "description": "No batch job has this id."},
    409: {"model": Problem, "description": "Cache mode replay and no recorded answer."},
    413: {"model": Problem, "description": "The request body is over the byte limit."},
    415: {"model": Problem, "description": "The Content-Type is not one this route reads."},
    422: {
        "model": Problem,
        "description": "The thread is unusable (malformed, empty, cyclic, over the comment or "
        "depth limit) or a parameter is invalid.",
    },
    429: {"model": Problem, "description": "Rate limit reached; see Retry-After."},
    500: {"model": Problem, "description": "An internal error (logged)."},
    502: {"model": Problem, "description": "The model server failed or refused the request."},
    503: {
        "model": Problem,
        "description": "The model server is unavailable or overloaded; see Retry-After.",
    },
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: _ERRORS[code] for code in codes}


_THREAD_BODY: Final = {
    "required": True,
    "description": "One thread: JSON in any input format (detected, or named by ?format=), or "
    "a page of one pasted as text/plain.",
    "content": {
        "application/json": {"schema": {"description": "A thread in any JSON input format."}},
        "text/plain": {"schema": {"type": "string"}},
    },
}
_BATCH_BODY: Final = {
    "required": True,
    "description": 'Threads: a JSON array, or JSONL, one per element or line: {"id"?, '
    '"thread": <JSON thread>, "format"?}, {"id"?, "text": "<pasted page>"}, {"id"?, '
    '"url": "<HN or Reddit URL>"}, or a bare JSON thread.',
    "content": {
        "application/json": {"schema": {"type": "array", "items": {}}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}


# --- the app ---------------------------------------------------------------------------------


def create_app(settings: Settings | None = None, *, model: ChatModel | None = None) -> FastAPI:
    """The threadsum HTTP service as a FastAPI app.

    ``model`` replaces the model client the app would create (tests, embedding). The app's
    lifespan opens the shared cache and job store and resumes unfinished batches; an ASGI
    server runs it (``serve``), and in-process callers enter ``app.router.lifespan_context``.
    """
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = Service(
            settings,
            Runtime(settings, model=model),
            limiter=RateLimiter(settings.rate_limit),
            injected_model=model is not None,
        )
        app.state.threadsum = service
        await service.start()
        sweeper = asyncio.create_task(service.resume_forever(), name="threadsum-batch-resume")
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await service.stop()

    app = FastAPI(
        title="threadsum",
        version="1",
        summary="Turn discussion threads into argument maps.",
        lifespan=lifespan,
    )
    _install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_bytes)
    app.add_middleware(CatchAllMiddleware)
    guarded = [Depends(_guard)]

    @app.post(
        "/v1/summaries",
        dependencies=guarded,
        response_model=None,
        responses={
            200: {
                "model": ThreadSummary,
                "description": "The argument map, as JSON (default), Markdown or HTML.",
                "content": {
                    MEDIA_TYPES["markdown"]: {"schema": {"type": "string"}},
                    MEDIA_TYPES["html"]: {"schema": {"type": "string"}},
                },
            },
            **_errors(400, 401, 409, 413, 415, 422, 429, 500, 502, 503),
        },
        openapi_extra={"requestBody": _THREAD_BODY},
        tags=["summaries"],
    )
    async def create_summary(
        request: Request,
        options: Annotated[dict[str, Any], Depends(_run_options)],
        fmt: Annotated[
            InputFormat | None,
            Query(
                alias="format",
                description="Input format; default: detect (JSON) or text (text/plain).",
            ),
        ] = None,
        output: Annotated[Format, Query(description="Output format.")] = "json",
    ) -> Response:
        """Summarize one thread into an argument map."""
        media_type = _media_type(request)
        if media_type in _TEXT_TYPES:
            input_format = fmt or "text"
        elif not media_type or _is_json(media_type):
            input_format = fmt or "auto"
        else:
            raise ApiProblem(
                415,
                f"cannot read a body of type {media_type!r}: send application/json (a thread "
                "in any JSON input format) or text/plain (a pasted page)",
            )
        service = _service(request)
        run = settings.override(options)
        engine = resolve_engine(run)  # a bad engine choice fails before the body is read
        body = await _read_body(request)
        thread = await asyncio.to_thread(read_thread, body, input_format, run)
        summary = await summarize(thread, run, engine=engine, runtime=service.runtime)
        return Response(render(summary, output), media_type=MEDIA_TYPES[output])

    @app.post(
        "/v1/batches",
        dependencies=guarded,
        status_code=202,
        response_model=BatchCreated,
        responses=_errors(400, 401, 413, 415, 422, 429, 500),
        openapi_extra={"requestBody": _BATCH_BODY},
        tags=["batches"],
    )
    async def create_batch(
        request: Request,
        response: Response,
        options: Annotated[dict[str, Any], Depends(_run_options)],
    ) -> BatchCreated:
        """Start a batch job; poll its ``status_url``, read its ``results_url``."""
        media_type = _media_type(request)
        if media_type and not (_is_json(media_type) or media_type in _JSONL_TYPES):
            raise ApiProblem(
                415,
                f"cannot read a body of type {media_type!r}: send a JSON array "
                "(application/json) or JSON lines (application/x-ndjson)",
            )
        service = _service(request)
        run = settings.override(options)
        job_options = JobOptions.from_settings(run)
        body = await _read_body(request)
        items = await asyncio.to_thread(parse_body, body, max_items=settings.max_batch_items)
        if not items:
            raise ApiProblem(
                422, "the batch holds no threads", kind="urn:threadsum:error:empty-batch"
            )
        job_id = await asyncio.to_thread(service.jobs.create_job, items, job_options)
        service.launch(job_id, job_options)
        status_url = str(request.url_for("get_batch", job_id=job_id))
        response.headers["Location"] = status_url
        return BatchCreated(
            id=job_id,
            status="queued",
            total=len(items),
            status_url=status_url,
            results_url=str(request.url_for("get_batch_results", job_id=job_id)),
        )

    @app.get(
        "/v1/batches/{job_id}",
        name="get_batch",
        dependencies=guarded,
        response_model=JobStatus,
        responses=_errors(401, 404, 422, 429, 500),
        tags=["batches"],
    )
    async def get_batch(request: Request, job_id: str) -> JobStatus:
        """A batch job's status: counts (done includes failed), progress 0..1."""
        return await asyncio.to_thread(_service(request).jobs.get, job_id)

    @app.get(
        "/v1/batches/{job_id}/results",
        name="get_batch_results",
        dependencies=guarded,
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "One JSON record per finished thread, in input order: "
                '{"key","line","status":"ok","summary"} or {"key","line","status":"error",'
                '"error":{"type","status","detail"}}. While the job runs, the records so far.',
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            },
            **_errors(401, 404, 422, 429, 500),
        },
        tags=["batches"],
    )
    async def get_batch_results(request: Request, job_id: str) -> StreamingResponse:
        """The finished records of a batch job as JSON lines, streamed."""
        store = _service(request).jobs
        status = await asyncio.to_thread(store.get, job_id)

        def lines() -> Iterator[str]:
            for record in store.results(job_id):
                yield record + "\n"

        return StreamingResponse(
            lines(),
            media_type="application/x-ndjson",
            headers={"X-Batch-Status": status.status},
        )

    @app.delete(
        "/v1/batches/{job_id}",
        dependencies=guarded,
        response_model=JobStatus,
        responses=_errors(401, 404, 422, 429, 500),
        tags=["batches"],
    )
    async def cancel_batch(request: Request, job_id: str) -> JobStatus:
        """Cancel a batch job: no more threads start; finished records stay readable."""
        service = _service(request)
        await asyncio.to_thread(service.jobs.cancel, job_id)
        task = service.tasks.get(job_id)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return await asyncio.to_thread(service.jobs.get, job_id)

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Health,
        responses={503: {"model": Problem, "description": "The model server does not answer."}},
        tags=["health"],
    )
    async def readyz(request: Request) -> Health:
        """Ready to serve: the model server (when one is configured) answers ``GET /models``."""
        problem = await _service(request).readiness()
        if problem is not None:
            raise ApiProblem(503, problem, kind="urn:threadsum:error:not-ready")
        return Health(status="ready")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            _problem_media_types(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _problem_media_types(schema: dict[str, Any]) -> None:
    """Error responses are ``application/problem+json``, not ``application/json``."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if code[:1] in "45" and "application/json" in content:
                    content[_PROBLEM] = content.pop("application/json")


# --- running it ------------------------------------------------------------------------------


_WORKER_SETTINGS: Final = "THREADSUM_SERVE_SETTINGS_JSON"
"""How :func:`serve` hands its exact settings to worker processes (not a ``Settings`` field)."""


def app_factory() -> FastAPI:
    """The app for ``uvicorn --factory`` and worker processes.

    Settings come from :func:`serve` when it started the workers, else from the environment.
    """
    handed = os.environ.get(_WORKER_SETTINGS)
    if handed:
        return create_app(Settings.model_validate(json.loads(handed)))
    return create_app(Settings())


def _settings_json(settings: Settings) -> str:
    """``settings`` as JSON, secrets included (for the environment of child processes only)."""

    def plain(value: object) -> object:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"cannot hand a {type(value).__name__} setting to workers")

    return json.dumps(settings.model_dump(), default=plain)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080, workers: int = 1) -> None:
    """Run the service with uvicorn until interrupted (log level info).

    With ``workers > 1`` each worker process builds its app with :func:`app_factory`; the
    settings reach them, exactly, through the environment (:data:`_WORKER_SETTINGS`). A batch
    job is run by the worker that took it (the runner's lease keeps it to one), and a job whose
    worker died is resumed by another.
    """
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "timeout_graceful_shutdown": 10,
    }
    if workers > 1:
        os.environ[_WORKER_SETTINGS] = _settings_json(settings)
        uvicorn.run("service.api:app_factory", factory=True, workers=workers, **common)
    else:
        uvicorn.run(create_app(settings), **common)
