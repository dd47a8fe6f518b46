"""Running the app under uvicorn: :func:`serve`, and :func:`app_factory` for worker processes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from ..settings import Settings
from .app import create_app

__all__ = ["app_factory", "serve"]

WORKER_SETTINGS: Final = "THREADSUM_SERVE_SETTINGS_JSON"
"""How :func:`serve` hands its exact settings to worker processes (not a ``Settings`` field)."""


def app_factory() -> FastAPI:
    """The app for ``uvicorn --factory`` and worker processes.

    Settings come from :func:`serve` when it started the workers, else from the environment.
    """
    handed = os.environ.get(WORKER_SETTINGS)
    if handed:
        return create_app(Settings.model_validate(json.loads(handed)))
    return create_app(Settings())


def _settings_json(settings: Settings) -> str:
    """``settings`` as JSON, secrets included (for the environment of child processes only)."""

    def plain(value: object) -> object:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"cannot hand a {type(value).__name__} setting to workers")

    return json.dumps(settings.model_dump(), default=plain)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080, workers: int = 1) -> None:
    """Run the service with uvicorn until interrupted (log level info).

    With ``workers > 1`` each worker process builds its app with :func:`app_factory`; the
    settings reach them, exactly, through the environment (:data:`WORKER_SETTINGS`). A batch
    job is run by the worker that took it (the runner's lease keeps it to one), and a job whose
    worker died is resumed by another.
    """
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "timeout_graceful_shutdown": 10,
    }
    if workers > 1:
        os.environ[WORKER_SETTINGS] = _settings_json(settings)
        target = f"{app_factory.__module__}:{app_factory.__name__}"
        uvicorn.run(target, factory=True, workers=workers, **common)
    else:
        uvicorn.run(create_app(settings), **common)
