"""``/v1/batches``: start a batch job, read its status and results, retry its failures, cancel it.

The job's options are taken from the request once (:meth:`JobOptions.from_settings`) and stored
with the job; the runner applies them when it runs or resumes the job. A body may hold at most
``max_batch_urls`` URL lines: each is a live fetch, and one request costs one rate-limit token.
The body is parsed on the app's CPU threads, within the request deadline. The links a new job
is answered with are built from ``THREADSUM_PUBLIC_URL``, or are relative: never from the
request's ``Host`` header.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from ...jobs.lines import BatchItem
from ...jobs.runner import JobOptions, JobStatus, parse_body
from ..bounds import deadline, until_disconnected
from ..events import EVENT_STREAM, KEEPALIVE_S, NO_BUFFERING, encode
from ..inputs import RunSettings, is_json, is_jsonl, link, media_type, read_body
from ..problems import URN, ApiProblem, error_responses
from ..supervisor import Service, service_of

__all__ = ["BatchCreated", "BatchRetried", "router"]

router = APIRouter(tags=["batches"])

FINAL_STATES: Final = frozenset({"done", "cancelled", "failed"})
"""Job states after which its event stream ends."""
BATCH_POLL_S: Final = 0.25
"""Seconds between looks at a job's status for its event stream."""


class BatchCreated(BaseModel):
    """A batch job was accepted."""

    id: str
    status: str = Field(description="The job's status when accepted (queued).")
    total: int = Field(description="Threads in the batch.")
    status_url: str
    results_url: str


_BATCH_BODY: Final[dict[str, Any]] = {
    "required": True,
    "description": 'Threads: a JSON array, or JSONL, one per element or line: {"id"?, '
    '"thread": <JSON thread>, "format"?}, {"id"?, "text": "<pasted page>"}, {"id"?, '
    '"url": "<HN or Reddit URL>"}, or a bare JSON thread.',
    "content": {
        "application/json": {"schema": {"type": "array", "items": {}}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}


@router.post(
    "/v1/batches",
    status_code=202,
    response_model=BatchCreated,
    responses=error_responses(400, 401, 413, 415, 422, 429, 500, 503, 504),
    openapi_extra={"requestBody": _BATCH_BODY},
)
async def create_batch(request: Request, response: Response, run: RunSettings) -> BatchCreated:
    """Start a batch job; poll its ``status_url``, read its ``results_url``."""
    media = media_type(request)
    if media and not (is_json(media) or is_jsonl(media)):
        raise ApiProblem(
            415,
            f"cannot read a body of type {media!r}: send a JSON array "
            "(application/json) or JSON lines (application/x-ndjson)",
        )
    service = service_of(request)
    options = JobOptions.from_settings(run)  # a bad engine choice fails before the body is read
    async with deadline(run.request_timeout):
        body = await read_body(request)
        parsed = _parse(service, body, run.max_batch_items, run.max_batch_urls)
        items = await until_disconnected(request, parsed)  # no job for a client that left
    if not items:
        raise ApiProblem(422, "the batch holds no threads", kind=URN + "empty-batch")
    job_id = await asyncio.to_thread(service.jobs.create_job, items, options)
    await service.register(job_id)  # before the answer: any replica can name this one at once
    service.launch(job_id)
    status_url = link(request, run, "get_batch", job_id=job_id)
    response.headers["Location"] = status_url
    return BatchCreated(
        id=job_id,
        status="queued",
        total=len(items),
        status_url=status_url,
        results_url=link(request, run, "get_batch_results", job_id=job_id),
    )


async def _parse(service: Service, body: bytes, max_items: int, max_urls: int) -> list[BatchItem]:
    with service.cpu.admit(len(body)) as ticket:
        return await ticket.run(parse_body, body, max_items=max_items, max_urls=max_urls)


@router.get(
    "/v1/batches",
    name="list_batches",
    response_model=list[JobStatus],
    responses=error_responses(401, 429, 500),
)
async def list_batches(request: Request) -> list[JobStatus]:
    """Every batch job this service's store holds, oldest first, with its status and counts."""
    return await asyncio.to_thread(service_of(request).jobs.list_jobs)


@router.get(
    "/v1/batches/{job_id}/events",
    name="get_batch_events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The job's status as server-sent events: `event: status` with the "
            "status JSON each time it changes, the first at once; the stream ends after the "
            "first final status (done, cancelled, failed).",
            "content": {
                EVENT_STREAM: {
                    "schema": {"type": "string"},
                    "example": 'event: status\ndata: {"id": "…", "status": "running", '
                    '"total": 50, "done": 12, "failed": 0, "progress": 0.24, …}\n\n',
                }
            },
        },
        **error_responses(401, 404, 422, 429, 500),
    },
)
async def get_batch_events(request: Request, job_id: str) -> StreamingResponse:
    """A batch job's progress as a stream of status events, until it has finished."""
    store = service_of(request).jobs
    first = await asyncio.to_thread(store.get, job_id)  # 404 before the stream starts

    async def events() -> AsyncIterator[bytes]:
        status, last, quiet = first, "", 0.0
        while True:
            shown = status.model_dump_json()
            if shown != last:
                yield encode("status", shown)
                last, quiet = shown, 0.0
            if status.status in FINAL_STATES:
                return
            if quiet >= KEEPALIVE_S:
                yield b": keep-alive\n\n"
                quiet = 0.0
            await asyncio.sleep(BATCH_POLL_S)
            quiet += BATCH_POLL_S
            status = await asyncio.to_thread(store.get, job_id)

    return StreamingResponse(events(), media_type=EVENT_STREAM, headers=NO_BUFFERING)


@router.get(
    "/v1/batches/{job_id}",
    name="get_batch",
    response_model=JobStatus,
    responses=error_responses(401, 404, 422, 429, 500),
)
async def get_batch(request: Request, job_id: str) -> JobStatus:
    """A batch job's status: counts (done includes failed), progress 0..1."""
    return await asyncio.to_thread(service_of(request).jobs.get, job_id)


@router.get(
    "/v1/batches/{job_id}/results",
    name="get_batch_results",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One JSON record per finished thread, in input order: "
            '{"key","line","status":"ok","summary"} or {"key","line","status":"error",'
            '"error":{"type","status","detail"}}. While the job runs, the records so far.',
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        },
        **error_responses(401, 404, 422, 429, 500),
    },
)
async def get_batch_results(request: Request, job_id: str) -> StreamingResponse:
    """The finished records of a batch job as JSON lines, streamed."""
    store = service_of(request).jobs
    status = await asyncio.to_thread(store.get, job_id)

    def lines() -> Iterator[str]:
        for record in store.results(job_id):
            yield record + "\n"

    return StreamingResponse(
        lines(), media_type="application/x-ndjson", headers={"X-Batch-Status": status.status}
    )


class BatchRetried(JobStatus):
    """A batch job's failed threads were put back to run again."""

    retried: int = Field(description="Error records put back (0: there were none).")


def _relaunch(service: Service, job_id: str) -> None:
    """Run the job again here, after the task that may still be ending its last run."""
    task = service.tasks.get(job_id)
    if task is None:
        service.launch(job_id)
    else:  # it has released the lease and is ending: launch once it is gone from the tasks
        task.add_done_callback(lambda _: service.launch(job_id))


@router.post(
    "/v1/batches/{job_id}/retry",
    status_code=202,
    response_model=BatchRetried,
    responses=error_responses(401, 404, 409, 422, 429, 500),
)
async def retry_batch(request: Request, job_id: str) -> BatchRetried:
    """Run a batch job's error records again (a give-up included); 409 while it runs.

    The failed threads go back to pending, their results are dropped, and the job is queued
    again; poll its status as after creating it. A cancelled job is not retried.
    """
    service = service_of(request)
    retried = await asyncio.to_thread(service.jobs.retry_failed, job_id)
    status = await asyncio.to_thread(service.jobs.get, job_id)
    if status.status in ("queued", "running"):
        _relaunch(service, job_id)
    return BatchRetried(**status.model_dump(), retried=retried)


@router.delete(
    "/v1/batches/{job_id}",
    response_model=JobStatus,
    responses=error_responses(401, 404, 422, 429, 500),
)
async def cancel_batch(request: Request, job_id: str) -> JobStatus:
    """Cancel a batch job: no more threads start; finished records stay readable."""
    return await service_of(request).cancel(job_id)
