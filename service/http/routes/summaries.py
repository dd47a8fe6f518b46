"""``POST /v1/summaries``: one thread in any input format → its argument map.

A body summarized before with the same settings is answered from the summary cache
(:mod:`service.summary_cache`) without being parsed. Otherwise parsing and the extractive engine
run on the app's CPU threads (503 when the request's lane is full); the whole request has a
deadline (504), and its work stops when the client leaves.

Every summary the server keeps (summary cache on) is answered with a ``Summary-Id`` header;
``GET /v1/summaries/{id}`` gives it back, and ``?since=ID`` (or ``"since": "ID"`` in a
``{"url": …}`` body) summarizes any body since it, so the answer carries ``changes``. An id
that names nothing kept is a 404; a kept summary of another thread is a 400.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from ... import events as core_events
from ...ingest import read_thread
from ...models import ThreadSummary
from ...render import MEDIA_TYPES, Format, render
from ...settings import Settings
from ...summarizer import EngineChoice, resolve_engine, summarize
from ...summary_cache import CachedSummary, SummaryCache, summary_id
from ...text.wording import one_line
from ..bounds import deadline, until_disconnected
from ..events import EVENT_STREAM, accepts_events
from ..inputs import (
    InputFormat,
    RunSettings,
    is_json,
    is_text,
    json_thread_start,
    media_type,
    not_json_thread,
    read_body,
)
from ..problems import ApiProblem, error_responses
from ..running import url_of_body
from ..supervisor import Service, service_of
from . import live

__all__ = ["router"]

router = APIRouter(tags=["summaries"])

_NATIVE_EXAMPLE: Final[dict[str, Any]] = {
    "id": "demo",
    "title": "Should cities ban cars from downtown?",
    "source": "native",
    "comments": [
        {
            "id": "1",
            "parent_id": None,
            "author": "ana",
            "text": "Banning cars downtown helps shops: people on foot stop and buy more.",
        },
        {
            "id": "2",
            "parent_id": "1",
            "author": "bo",
            "text": "I disagree. Deliveries and disabled visitors still need access by car.",
        },
    ],
}

_THREAD_BODY: Final[dict[str, Any]] = {
    "required": True,
    "description": "One thread: JSON in any input format (detected, or named by ?format=), a "
    'page of one pasted as text/plain, or {"url": "<HN item or Reddit thread URL, or HN '
    'item id>"} to fetch it live (HN and Reddit API hosts only), optionally with '
    '"since": an earlier JSON summary of that thread or the Summary-Id of one the server kept, '
    'so the answer carries "changes" (?since=ID does the same for any body). With '
    "Accept: text/event-stream the answer is a stream of progress events ending in the summary.",
    "content": {
        "application/json": {
            "schema": {"description": 'A thread in any JSON input format, or {"url": …}.'},
            "examples": {
                "native": {"summary": "A native thread", "value": _NATIVE_EXAMPLE},
                "url": {
                    "summary": "An HN thread by URL",
                    "value": {"url": "https://news.ycombinator.com/item?id=8863"},
                },
            },
        },
        "text/plain": {
            "schema": {"type": "string"},
            "example": "ana 3 hours ago | next [–]\n\nBanning cars downtown helps shops.\n",
        },
    },
}

SUMMARY_ID_HEADER: Final = "Summary-Id"
_ID_HEADER_DOC: Final = {
    SUMMARY_ID_HEADER: {
        "description": "The id of the summary as the server kept it (summary cache on): "
        "GET /v1/summaries/{id} gives it back, ?since=ID summarizes a grown thread since it.",
        "schema": {"type": "string"},
    }
}

_EVENTS_EXAMPLE: Final = (
    'event: progress\ndata: {"kind": "chunk_done", "stage": "mapping", "chunks_total": 3, '
    '"chunks_done": 1, "calls": 1, "cache_hits": 0, "prompt_tokens": 2100, '
    '"completion_tokens": 180, "retries": 0, "reasks": 0}\n\n'
    'event: summary\ndata: {"schema_version": "1", …}\n\n'
)


@router.post(
    "/v1/summaries",
    response_model=None,
    responses={
        200: {
            "model": ThreadSummary,
            "description": "The argument map, as JSON (default), Markdown or HTML.",
            "headers": _ID_HEADER_DOC,
            "content": {
                MEDIA_TYPES["markdown"]: {"schema": {"type": "string"}},
                MEDIA_TYPES["html"]: {"schema": {"type": "string"}},
                EVENT_STREAM: {
                    "schema": {"type": "string"},
                    "example": _EVENTS_EXAMPLE,
                    "description": "With Accept: text/event-stream: progress events, then the "
                    "summary (or a problem) as the last event.",
                },
            },
        },
        **error_responses(400, 401, 404, 409, 413, 415, 422, 429, 500, 502, 503, 504),
    },
    openapi_extra={"requestBody": _THREAD_BODY},
)
async def create_summary(
    request: Request,
    run: RunSettings,
    fmt: Annotated[
        InputFormat | None,
        Query(
            alias="format",
            description="Input format; default: detect (JSON) or text (text/plain).",
        ),
    ] = None,
    output: Annotated[Format, Query(description="Output format.")] = "json",
    since_id: Annotated[
        str | None,
        Query(
            alias="since",
            description="The Summary-Id of an earlier summary of this thread that the server "
            'kept: the answer carries "changes", what is new since.',
        ),
    ] = None,
) -> Response:
    """Summarize one thread into an argument map (since an earlier one, with ``since``)."""
    media = media_type(request)
    if is_text(media):
        input_format = fmt or "text"
    elif not media or is_json(media):
        input_format = fmt or "auto"
    else:
        raise ApiProblem(
            415,
            f"cannot read a body of type {media!r}: send application/json (a thread "
            "in any JSON input format) or text/plain (a pasted page)",
        )
    engine = resolve_engine(run)  # a bad engine choice fails before the body is read
    json_only = input_format == "auto" and is_json(media)
    events = accepts_events(request.headers.get("accept", ""))
    async with deadline(run.request_timeout):
        body = await read_body(request)
        url = url_of_body(body) if not media or is_json(media) else None
        service = service_of(request)
        summaries = service.runtime.summaries(run)
        if url is not None and (url.since is not None or url.since_id is not None):
            if since_id is not None:
                raise ApiProblem(
                    400, 'name the earlier summary once: by "since" in the body or by ?since='
                )
            since_id = url.since_id
        since = (await _kept(summaries, since_id))[1] if since_id is not None else None
        if url is not None and since is not None:
            url = replace(url, since=since, since_id=None)
        if url is not None or events:
            return await live.answer(
                request,
                run,
                engine,
                output,
                body=body,
                input_format=input_format,
                json_only=json_only,
                url=url,
                events=events,
                since=since,
                summaries=summaries,
            )
        if json_only:
            json_thread_start(body)
        key = None
        if summaries.enabled:
            reader = f"{input_format}, JSON only" if json_only else input_format
            if since_id is not None:
                reader += f", since {since_id}"
            key = await summaries.key(body, reader, engine.kind)
        hit = await summaries.get(key) if key is not None else None
        if hit is not None:
            core_events.summary_cached(engine.kind)
        headers = {SUMMARY_ID_HEADER: summary_id(key)} if hit is not None and key else {}
        if hit is not None and output == "json":
            return Response(hit.json, media_type=MEDIA_TYPES[output], headers=headers)
        summary = hit.summary() if hit is not None else None
        if summary is None:
            work = _summarize(service, body, input_format, run, engine, json_only, since)
            summary = await until_disconnected(request, work)
            if key is not None:
                kept = await summaries.put(key, summary)
                headers = {SUMMARY_ID_HEADER: kept} if kept else {}
    return Response(render(summary, output), media_type=MEDIA_TYPES[output], headers=headers)


@router.get(
    "/v1/summaries/{summary_id}",
    response_model=None,
    responses={
        200: {
            "model": ThreadSummary,
            "description": "A summary the server kept, as JSON (default), Markdown or HTML.",
            "headers": _ID_HEADER_DOC,
            "content": {
                MEDIA_TYPES["markdown"]: {"schema": {"type": "string"}},
                MEDIA_TYPES["html"]: {"schema": {"type": "string"}},
            },
        },
        **error_responses(401, 404, 422, 429, 500),
    },
)
async def get_summary(
    request: Request,
    ident: Annotated[
        str, Path(alias="summary_id", description="A Summary-Id the server answered with.")
    ],
    output: Annotated[Format, Query(description="Output format.")] = "json",
) -> Response:
    """A summary the server kept, by the id it answered with."""
    service = service_of(request)
    found, summary = await _kept(service.runtime.summaries(service.settings), ident)
    headers = {SUMMARY_ID_HEADER: ident}
    if output == "json":
        return Response(found.json, media_type=MEDIA_TYPES[output], headers=headers)
    return Response(render(summary, output), media_type=MEDIA_TYPES[output], headers=headers)


async def _kept(summaries: SummaryCache, ident: str) -> tuple[CachedSummary, ThreadSummary]:
    """The kept summary of id ``ident``; a 404 problem when none is kept."""
    found = await summaries.by_id(ident)
    summary = found.summary() if found is not None else None
    if found is None or summary is None:
        why = "" if summaries.enabled else " (this server keeps no summaries: its cache is off)"
        raise ApiProblem(404, f"no summary of id {one_line(ident, 80)!r} is kept here{why}")
    return found, summary


async def _summarize(
    service: Service,
    body: bytes,
    input_format: str,
    run: Settings,
    engine: EngineChoice,
    json_only: bool,
    since: ThreadSummary | None = None,
) -> ThreadSummary:
    """Parse (and, for the extractive engine, summarize) on the app's CPU threads; the LLM
    engine's model calls run after the request has left its CPU lane."""
    with service.cpu.admit(len(body)) as ticket:
        thread = await ticket.run(read_thread, body, input_format, run)
        if json_only and thread.format == "text":
            raise not_json_thread()
        if engine.kind == "extractive":
            runtime = service.runtime.using(ticket)
            return await summarize(thread, run, engine=engine, runtime=runtime, since=since)
    return await summarize(thread, run, engine=engine, runtime=service.runtime, since=since)
