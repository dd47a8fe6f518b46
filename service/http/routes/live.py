"""``POST /v1/summaries`` for a URL (``{"url": …}``) or as server-sent events.

:func:`answer` takes over from the route once the body is read, when the body names a URL or
the client sent ``Accept: text/event-stream``. The thread is read (or fetched) first, so a
thread that cannot be had is an ordinary problem response; then either the summary is answered
as usual, or its progress streams (:mod:`service.http.events`) and the last event holds the
summary rendered as ``?output=`` asks.
"""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from ...models import Thread, ThreadSummary
from ...progress import ProgressCallback
from ...render import MEDIA_TYPES, Format, render
from ...render.html import render_map
from ...settings import Settings
from ...summarizer import EngineChoice
from ...summary_cache import SummaryCache
from ..bounds import deadline, until_disconnected
from ..events import EVENT_STREAM, NO_BUFFERING, progress_stream
from ..inputs import not_json_thread
from ..running import Prepared, UrlRequest, prepare, run_prepared
from ..supervisor import service_of

__all__ = ["answer", "map_event", "stream"]


async def answer(
    request: Request,
    run: Settings,
    engine: EngineChoice,
    output: Format,
    *,
    body: bytes,
    input_format: str,
    json_only: bool,
    url: UrlRequest | None,
    events: bool,
    since: ThreadSummary | None = None,
    summaries: SummaryCache | None = None,
) -> Response:
    """The response to a summary request for ``url`` (or the thread in ``body``, ``since`` an
    earlier summary). A summary of a URL is kept in ``summaries`` under an id of its own
    (``Summary-Id``); a streamed one is not."""
    service = service_of(request)
    if url is not None:
        work = prepare(service, run, engine, url=url.url, since=url.since)
    else:
        work = prepare(service, run, engine, body=body, fmt=input_format, since=since)
    prepared = await until_disconnected(request, work)
    if json_only and url is None and prepared.thread.format == "text":
        prepared.close()
        raise not_json_thread()
    if not events:
        summary = await until_disconnected(request, run_prepared(service, prepared, run, engine))
        kept = await summaries.keep(summary) if summaries is not None else None
        return Response(
            render(summary, output, thread=prepared.thread),
            media_type=MEDIA_TYPES[output],
            headers={"Summary-Id": kept} if kept else None,
        )
    return stream(request, prepared, run, engine, "summary", output)


def stream(
    request: Request,
    prepared: Prepared,
    run: Settings,
    engine: EngineChoice,
    last: str,
    output: Format = "json",
) -> StreamingResponse:
    """The run of ``prepared`` as events; the last is ``last`` (``summary``, or ``map``: the
    page's fragment) or a ``problem``."""
    service = service_of(request)
    instance = request.url.path

    async def work(progress: ProgressCallback) -> ThreadSummary:
        async with deadline(run.request_timeout):
            return await run_prepared(service, prepared, run, engine, progress)

    def finish(summary: ThreadSummary) -> list[tuple[str, str]]:
        if last == "map":
            return [("map", map_event(summary, prepared.thread))]
        if output == "json":
            return [("summary", summary.model_dump_json())]
        return [("summary", render(summary, output, thread=prepared.thread))]

    return StreamingResponse(
        progress_stream(work, finish, instance),
        media_type=EVENT_STREAM,
        headers=NO_BUFFERING,
        background=BackgroundTask(prepared.close),  # also when the stream never started
    )


def map_event(summary: ThreadSummary, thread: Thread) -> str:
    """The data of the page's last event: the map fragment, and the page's title."""
    fragment = render_map(summary, thread)
    title = summary.thread.title or f"Thread {summary.thread.id}"
    return json.dumps({"title": title, "html": fragment}, ensure_ascii=False)
