"""Pure ASGI middleware: the request body limit, and the last-resort 500 (or 503 for a request
the stopping server cancelled).

Both sit outside FastAPI's exception handlers, so they answer with
:func:`~service.http.problems.problem_response` themselves.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import BodyTooLargeError, describe
from .problems import URN, error_problem, problem_response

__all__ = ["BodyLimitMiddleware", "CatchAllMiddleware"]

log = logging.getLogger("threadsum.api")

SHUTDOWN_RETRY_AFTER_S: Final = 5
"""The ``Retry-After`` of a request the stopping server cancelled."""


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
        path = str(scope.get("path", ""))
        declared = [v for k, v in scope["headers"] if k == b"content-length"]
        if declared:
            text = declared[0].decode("latin-1").strip()
            if not text.isdigit():
                response = problem_response(
                    400, "invalid Content-Length header", path, headers={"Connection": "close"}
                )
                await response(scope, receive, send)
                return
            if int(text) > limit:
                error = BodyTooLargeError(
                    f"the request body is {int(text)} bytes, over the limit of {limit} bytes"
                )
                await error_problem(error, path)(scope, receive, send)
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
    """Turn an unexpected exception into a logged, generic 500 problem (no traceback leaks), and
    a request cancelled by the stopping server into a 503 problem (then let the cancel go on).

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
        except asyncio.CancelledError:
            # Only the server cancels a request task: it is stopping, past its graceful wait.
            if not started:
                response = problem_response(
                    503,
                    "the server is shutting down and stopped this request; retry it",
                    str(scope.get("path", "")),
                    kind=URN + "shutting-down",
                    headers={"Retry-After": str(SHUTDOWN_RETRY_AFTER_S), "Connection": "close"},
                )
                await response(scope, receive, send)
            raise
        except Exception as e:  # the app's fault boundary: log it, answer a generic 500
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            info = describe(e)  # its name only: the detail may hold internals
            response = problem_response(
                info.status,
                "internal error; it has been logged",
                str(scope.get("path", "")),
                kind=URN + info.slug,
                extra={"error": info.name},
            )
            await response(scope, receive, send)
