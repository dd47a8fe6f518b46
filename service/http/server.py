"""Running the app under uvicorn: :func:`serve`, and :func:`app_factory` for worker processes.

The listening socket is bound first (:func:`service.serving.listen`), so an address in use is one
:class:`~service.errors.ServeError` before anything starts; uvicorn is handed the socket, and
worker processes inherit it. :func:`server_config` is the one uvicorn configuration: graceful
shutdown within ``THREADSUM_SHUTDOWN_TIMEOUT``, forwarding headers trusted only from
``THREADSUM_FORWARDED_ALLOW_IPS``, and problems for requests h11 refuses.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from uvicorn.supervisors import Multiprocess

from ..logs import configure as configure_logging
from ..metrics import MULTIPROC_ENV
from ..serving import listen
from ..settings import Settings
from .app import create_app
from .protocol import ProblemH11Protocol

__all__ = ["app_factory", "serve", "server_config"]

WORKER_SETTINGS: Final = "THREADSUM_SERVE_SETTINGS_JSON"
"""How :func:`serve` hands its exact settings to worker processes (not a ``Settings`` field)."""


def app_factory() -> FastAPI:
    """The app for ``uvicorn --factory`` and worker processes.

    Settings come from :func:`serve` when it started the workers, else from the environment.
    """
    handed = os.environ.get(WORKER_SETTINGS)
    settings = Settings.model_validate(json.loads(handed)) if handed else Settings()
    configure_logging(settings, default_level="info")  # a worker process logs as serve does
    return create_app(settings)


def _settings_json(settings: Settings) -> str:
    """``settings`` as JSON, secrets included (for the environment of child processes only)."""

    def plain(value: object) -> object:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"cannot hand a {type(value).__name__} setting to workers")

    return json.dumps(settings.model_dump(), default=plain)


WORKER_HEALTHCHECK_S: Final = 30
"""Seconds a worker process has to start, and then to answer each of uvicorn's liveness pings,
before the supervisor kills and replaces it. uvicorn's default of 5 s kills workers that are
only slow: still importing on a loaded machine, or holding the GIL through a long summary so
the ping thread waits; their connections are then reset mid-request."""


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    *,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Run the service with uvicorn until interrupted (log level info).

    Raises :class:`~service.errors.ServeError` when ``host:port`` cannot be bound, before any
    output. ``announce`` is called with the base URL once the socket listens (port 0 picks a
    free port). With ``workers > 1`` each worker process builds its app with
    :func:`app_factory`; the settings reach them, exactly, through the environment
    (:data:`WORKER_SETTINGS`). A batch job is run by the worker that took it (the runner's
    lease keeps it to one), and a job whose worker died is resumed by another. The workers'
    metrics are added up in a fresh folder (:data:`~service.metrics.MULTIPROC_ENV`), removed
    when the server stops.
    """
    sock = listen(host, port)
    with sock:
        if announce is not None:
            announce(f"http://{host}:{sock.getsockname()[1]}")
        if workers > 1:
            os.environ[WORKER_SETTINGS] = _settings_json(settings)
            target = f"{app_factory.__module__}:{app_factory.__name__}"
            config = server_config(
                settings,
                target,
                factory=True,
                workers=workers,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
            )
            with tempfile.TemporaryDirectory(prefix="threadsum-metrics-") as folder:
                os.environ[MULTIPROC_ENV] = folder
                try:
                    Multiprocess(config, sockets=[sock]).run()
                finally:
                    os.environ.pop(MULTIPROC_ENV, None)
        else:
            uvicorn.Server(server_config(settings, create_app(settings))).run(sockets=[sock])


def server_config(settings: Settings, app: FastAPI | str, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration :func:`serve` runs ``app`` with (``options`` added).

    - Requests in flight get ``shutdown_timeout`` seconds after SIGTERM, then are cancelled.
    - ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from the proxies in
      ``forwarded_allow_ips``; by default from nobody (uvicorn's own default trusts loopback,
      so a client on the same host could pick its address and so its rate-limit bucket).
    - A request h11 cannot parse is answered 400 as a problem (:class:`ProblemH11Protocol`).
    - uvicorn's own log records (startup, access lines) go to the handler
      :func:`service.logs.configure` installed, at ``log_level`` (default info), in the same
      text or JSON format as threadsum's.
    """
    proxies = [p.strip() for p in settings.forwarded_allow_ips.split(",") if p.strip()]
    common: dict[str, Any] = {
        "log_level": settings.log_level or "info",
        "log_config": None,
        "timeout_graceful_shutdown": settings.shutdown_timeout,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
        "http": ProblemH11Protocol,
    }
    return uvicorn.Config(app, **{**common, **options})
