"""uvicorn's h11 protocol, answering a request it cannot parse with a problem, not plain text.

h11 refuses some malformed requests before the app sees them (``Content-Length: abc``, a
header line without a colon, a broken request line), and uvicorn then answers its own
``text/plain`` 400. :class:`ProblemH11Protocol` answers the same 400 as
``application/problem+json``, naming what h11 found wrong, so every error the service gives is
a problem. (Malformed values h11 lets through, such as an empty ``Content-Length`` on another
server, reach :class:`~service.http.middleware.BodyLimitMiddleware`, which answers the same way.)
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

import h11
from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from .problems import PROBLEM, URN

__all__ = ["ProblemH11Protocol"]

BAD_REQUEST_KIND: Final = URN + "bad-request"
"""The ``type`` of the problem for a request that is not valid HTTP/1.1."""


class _Connection(h11.Connection):
    """An h11 connection that remembers why it last refused the peer's bytes."""

    refused: str = ""

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as e:
            self.refused = str(e)
            raise


class ProblemH11Protocol(H11Protocol):
    """:class:`H11Protocol` whose 400 for an unparsable request is a problem document."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # The connection uvicorn builds, able to say why it refused a request.
        size = config.h11_max_incomplete_event_size
        self.conn = _Connection(
            h11.SERVER, DEFAULT_MAX_INCOMPLETE_EVENT_SIZE if size is None else size
        )

    def send_400_response(self, msg: str) -> None:
        """Answer 400 as ``application/problem+json`` and close the connection."""
        refused = self.conn.refused if isinstance(self.conn, _Connection) else ""
        detail = f"the request is not valid HTTP/1.1: {refused or msg}"
        body = json.dumps(
            {
                "type": BAD_REQUEST_KIND,
                "title": "Bad Request",
                "status": 400,
                "detail": detail,
                "instance": "/",
            }
        ).encode()
        headers = [
            (b"content-type", PROBLEM.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self.transport.write(
            self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request"))
            or b""
        )
        self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
        self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        self.transport.close()
