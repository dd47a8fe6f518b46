"""How long a request's work may run: its deadline, and no longer than its client waits.

- :func:`deadline`: the block is cancelled after ``THREADSUM_REQUEST_TIMEOUT`` seconds and the
  request answered 504 (:class:`~service.errors.DeadlineError`);
- :func:`until_disconnected`: once the body is read, the connection's next ASGI message is
  ``http.disconnect``; when it comes before the work is done, the work is cancelled (its model
  calls with it) and :class:`ClientGone` answers nobody.

Cancelling stops the async work at once. CPU work already running on a thread cannot be
stopped; it ends on its own, still holding its place in the CPU lane (see
:mod:`service.http.cpu`), and work still waiting for a thread never starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response

from ..errors import DeadlineError

__all__ = ["ClientGone", "client_gone_response", "deadline", "until_disconnected"]

log = logging.getLogger("threadsum.api")

T = TypeVar("T")

CLIENT_CLOSED: int = 499
"""The status logged for a request whose client left (no one reads it; nginx's convention)."""


class ClientGone(Exception):
    """The client closed the connection before its answer; its work was cancelled (internal)."""


@contextlib.asynccontextmanager
async def deadline(seconds: float) -> AsyncIterator[None]:
    """Cancel the block after ``seconds`` (0: never) and raise :class:`DeadlineError`."""
    if seconds <= 0:
        yield
        return
    try:
        async with asyncio.timeout(seconds) as scope:
            yield
    except TimeoutError:
        if not scope.expired():
            raise  # a timeout of the work's own, not the deadline
        raise DeadlineError(
            f"the request did not finish within the deadline of {seconds:g} s "
            "(THREADSUM_REQUEST_TIMEOUT)"
        ) from None


async def until_disconnected(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """The result of ``work``, unless the client disconnects first: then ``work`` is cancelled
    and :class:`ClientGone` raised.

    Call it only once the request body has been read: it reads the connection's next message.
    """
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when this request is cancelled (its deadline, a server shutdown)
        for pending in (task, watcher):
            pending.cancel()
        await asyncio.gather(task, watcher, return_exceptions=True)
    if task in done:
        return task.result()
    watcher.result()  # a failure of the watcher itself is not a departed client
    raise ClientGone(request.url.path)


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass  # a late body part (none is expected once the body is read)


async def client_gone_response(request: Request, exc: Exception) -> Response:
    """The handler of :class:`ClientGone`: log it; the answer goes nowhere."""
    log.info(
        "%s %s: the client closed the connection; its work was stopped",
        request.method,
        request.url.path,
    )
    return Response(status_code=CLIENT_CLOSED)
