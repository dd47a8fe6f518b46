"""A real server for the HTTP tests: the app under uvicorn, configured as ``threadsum serve``
configures it (:func:`service.http.server.server_config`), on loopback in a background thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from service.http import create_app
from service.http.server import server_config
from service.model.protocol import ChatModel
from service.serving import listen
from service.settings import Settings


@contextlib.contextmanager
def serving(settings: Settings, *, model: ChatModel | None = None, **options: Any) -> Iterator[str]:
    """Yield the base URL of the app served with ``serve``'s configuration (``options`` added).

    The socket listens before the server starts, so requests wait in its backlog until the app
    has started: nothing polls for readiness. Requests still running at the end are cancelled
    after the settings' ``shutdown_timeout``.
    """
    sock = listen("127.0.0.1", 0)
    config = server_config(
        settings,
        create_app(settings, model=model),
        **{"log_level": "warning", "access_log": False, "lifespan": "on", "ws": "none", **options},
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="threadsum-http-test", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
