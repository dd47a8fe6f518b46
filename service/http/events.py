"""Server-sent events (``text/event-stream``): the progress of a summary or a batch as it runs.

A summary's stream (``POST /v1/summaries`` and ``POST /`` with ``Accept: text/event-stream``)::

    event: progress      data: {"kind","stage","chunks_total","chunks_done","calls",
                                "cache_hits","prompt_tokens","completion_tokens","retries",
                                "reasks"}   (as often as something moves; bursts coalesce)
    event: summary       data: the summary, rendered as ?output= asks   (the API; last event)
    event: map           data: {"title","html"}                         (the page; last event)
    event: problem       data: an RFC 9457 problem                      (instead of the last)

A batch's stream (``GET /v1/batches/{id}/events``): ``event: status`` with the job's status
each time it changes, ending after the one whose status is final (done, cancelled, failed).

Comment lines (``: keep-alive``) are sent while nothing moves, so proxies keep the
connection open. Work stops when the client leaves (the response is cancelled).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Final, TypeVar

from ..errors import ThreadsumError, describe
from ..progress import Progress, ProgressCallback
from .problems import URN

__all__ = ["EVENT_STREAM", "KEEPALIVE_S", "accepts_events", "encode", "progress_stream"]

log = logging.getLogger("threadsum.api")

EVENT_STREAM: Final = "text/event-stream"
KEEPALIVE_S: Final = 15.0
"""Seconds without an event before a keep-alive comment is sent."""
NO_BUFFERING: Final = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Headers of every event stream: no cache, no proxy buffering."""

T = TypeVar("T")


def accepts_events(accept: str) -> bool:
    """Whether an ``Accept`` header asks for ``text/event-stream``."""
    return any(part.split(";")[0].strip().lower() == EVENT_STREAM for part in accept.split(","))


def encode(event: str, data: str) -> bytes:
    """One event; each line of ``data`` is a ``data:`` line, as the format requires."""
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n".encode()


def problem_data(error: BaseException, instance: str) -> str:
    """The problem document of an error that ended a stream, as one line of JSON."""
    if isinstance(error, ThreadsumError):
        info = describe(error)
        doc: dict[str, Any] = {
            "type": URN + info.slug,
            "status": info.status,
            "detail": info.detail,
            "error": info.name,
        }
    else:
        log.exception("event stream %s failed", instance, exc_info=error)
        doc = {"type": "about:blank", "status": 500, "detail": "internal error (logged)"}
    doc["instance"] = instance
    return json.dumps(doc, ensure_ascii=False)


async def progress_stream(
    work: Callable[[ProgressCallback], Awaitable[T]],
    finish: Callable[[T], Iterable[tuple[str, str]]],
    instance: str,
) -> AsyncIterator[bytes]:
    """Run ``work(progress)``, streaming its progress events, then ``finish(result)``'s events
    (or a ``problem`` event when the work fails). The work is cancelled if the stream is."""
    queue: asyncio.Queue[Progress | None] = asyncio.Queue()
    task = asyncio.ensure_future(work(queue.put_nowait))
    task.add_done_callback(lambda _: queue.put_nowait(None))
    try:
        ended = False
        while not ended:
            try:
                item = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            ended = item is None
            latest = item
            while not queue.empty():  # a burst: send only its last event
                following = queue.get_nowait()
                if following is None:
                    ended = True
                else:
                    latest = following
            if latest is not None:
                yield encode("progress", json.dumps(latest.as_dict()))
        await asyncio.wait((task,))
        try:
            result = task.result()
        except Exception as e:  # noqa: BLE001 - the stream's fault boundary: a problem event
            yield encode("problem", problem_data(e, instance))
            return
        for event, data in finish(result):
            yield encode(event, data)
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(BaseException):
            await task
