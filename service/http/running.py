"""One summary for the web page and for the event-stream API: read or fetch the thread, run it.

Reading runs before any event is sent, so a thread that cannot be read or fetched is an
ordinary problem response with its own status (400, 404, 413, 422, 502, …); only the run itself
streams. As in ``POST /v1/summaries``, parsing and the extractive engine run on the app's CPU
threads (503 when the lane is full) and the LLM engine's calls run after the request has left
its lane.

A URL is fetched only when :func:`~service.ingest.fetch.parse_target` recognises it as an HN
item or Reddit thread (HN and Reddit hosts, http or https); the fetch itself talks only to the
allow-listed API hosts, checking every redirect (:mod:`service.ingest.fetch.hosts`). Anything
else (loopback, private addresses, ``file:``, other hosts, a path) is refused before any I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from ..errors import UsageError
from ..ingest import load_thread_async, read_thread
from ..models import SCHEMA_VERSION, Thread, ThreadSummary
from ..progress import ProgressCallback
from ..settings import Settings
from ..summarizer import EngineChoice, summarize
from ..text.wording import one_line
from .cpu import Ticket
from .supervisor import Service

__all__ = [
    "URL_BODY_BYTES",
    "Prepared",
    "UrlRequest",
    "fetch_url",
    "prepare",
    "run_prepared",
    "url_of_body",
]

URL_BODY_BYTES: Final = 8192
"""A ``{"url": …}`` body is at most this long; a longer JSON body is read as a thread, unless
it starts with its ``"url"`` member and carries an earlier summary (``"since"``)."""
_URL_START: Final = re.compile(rb'\A\s*\{\s*"url"\s*:')


@dataclass(frozen=True)
class UrlRequest:
    """A ``{"url": …, "since"?: …}`` body: the thread to fetch, and an earlier summary of it
    (given whole, or by the id of a summary the server kept)."""

    url: str
    since: ThreadSummary | None = None
    since_id: str | None = None


@dataclass
class Prepared:
    """A thread ready to summarize, and the CPU-lane admission its run may still need."""

    thread: Thread
    ticket: Ticket | None  # held for the extractive engine; closed by run_prepared
    since: ThreadSummary | None = None  # an earlier summary: the result says what changed

    def close(self) -> None:
        """Give back the admission (idempotent)."""
        if self.ticket is not None:
            self.ticket.close()


def url_of_body(body: bytes) -> UrlRequest | None:
    """The request of a ``{"url": "…"}`` body, or of ``{"url": "…", "since": SUMMARY}`` (an
    earlier JSON summary of the same thread, or the id of one the server kept, so the answer
    carries ``changes``); else ``None``.

    A native thread has ``comments``, so no thread is ever taken for a URL request.
    """
    if b'"url"' not in body:
        return None
    if len(body) > URL_BODY_BYTES and not _URL_START.match(body):
        return None
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or "url" not in data or not set(data) <= {"url", "since"}:
        return None
    url = data["url"]
    if not isinstance(url, str):
        raise UsageError('"url" must be a string: an HN or Reddit thread URL, or an HN item id')
    since = data.get("since")
    if since is None:
        return UrlRequest(url)
    if isinstance(since, str):
        return UrlRequest(url, since_id=since)
    if isinstance(since, dict) and since.get("schema_version") == "1":
        since = {**since, "schema_version": SCHEMA_VERSION}  # 1.1 only added fields
    try:
        return UrlRequest(url, ThreadSummary.model_validate(since))
    except ValueError:
        raise UsageError(
            '"since" must be an earlier threadsum JSON summary of the same thread, or the id '
            "of one this server kept"
        ) from None


async def fetch_url(service: Service, url: str, run: Settings) -> Thread:
    """The thread at ``url`` (an HN item or Reddit thread URL, or an HN item id), fetched live.

    Raises :class:`UsageError` (400) for anything else, before any request is made.
    """
    from ..ingest.fetch import parse_target

    target = parse_target(url)
    if target is None:  # never a file path: the URL comes from an untrusted request
        raise UsageError(
            f"not a thread URL: {one_line(url, 200)} (send an https://news.ycombinator.com/"
            "item?id=N or a reddit comments URL, or an HN item id)"
        )
    return await load_thread_async(target.url, "auto", run, retry=service.runtime.fetch_retry)


async def prepare(
    service: Service,
    run: Settings,
    engine: EngineChoice,
    *,
    body: bytes | None = None,
    fmt: str = "auto",
    url: str | None = None,
    since: ThreadSummary | None = None,
) -> Prepared:
    """Read ``body`` (in format ``fmt``) or fetch ``url`` into a thread.

    For the extractive engine the CPU-lane admission stays open for the run.
    """
    if url is not None:
        thread = await fetch_url(service, url, run)
        size = sum(len(c.text) for c in thread.comments)
        ticket = service.cpu.admit(size) if engine.kind == "extractive" else None
        return Prepared(thread, ticket, since)
    content = body or b""
    ticket = service.cpu.admit(len(content))
    try:
        thread = await ticket.run(read_thread, content, fmt, run)
    except BaseException:
        ticket.close()
        raise
    if engine.kind != "extractive":
        ticket.close()
        return Prepared(thread, None, since)
    return Prepared(thread, ticket, since)


async def run_prepared(
    service: Service,
    prepared: Prepared,
    run: Settings,
    engine: EngineChoice,
    progress: ProgressCallback | None = None,
) -> ThreadSummary:
    """Summarize a prepared thread through the one core; its admission is closed after."""
    try:
        runtime = service.runtime
        if prepared.ticket is not None:
            runtime = runtime.using(prepared.ticket)
        return await summarize(
            prepared.thread,
            run,
            engine=engine,
            runtime=runtime,
            progress=progress,
            since=prepared.since,
        )
    finally:
        prepared.close()
