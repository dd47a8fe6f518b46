"""Logging for the faces: one handler on stderr, text or JSON lines, secrets scrubbed.

:func:`configure` is called once by a face (the CLI's ``main``, a server worker) with the run's
settings; nothing else in the package configures logging: modules only log to their
``threadsum.*`` logger. The level and format come from ``--log-level`` / ``THREADSUM_LOG_LEVEL``
and ``--log-format`` / ``THREADSUM_LOG_FORMAT``. At ``info`` a run shows its retries (the retry
loop logs each one) and the output-mode negotiation (the model client logs each refused mode
and the one settled on).

Every record goes through :class:`SecretFilter` before it is written: the model API key and the
service's API keys are replaced by ``***`` in the message and its arguments, in the traceback
text and in any extra field. The modules already never log a key; the filter is there so a key
echoed in a server's error body or an exception's text cannot reach a log either.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from .settings import Settings

__all__ = ["JsonFormatter", "SecretFilter", "configure", "configured", "secrets_of"]

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED: Final = "***"
MIN_SECRET_CHARS: Final = 4
"""Shorter "secrets" are not scrubbed: replacing every ``a`` in a log would hide, not protect."""

# What a LogRecord carries by itself; anything else on it was passed as ``extra``
# (uvicorn's ``color_message`` is its message again, with terminal colours).
_STANDARD: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}
)
_HANDLER_NAME: Final = "threadsum"


def secrets_of(settings: Settings) -> list[str]:
    """The secrets ``settings`` hold: the model API key and the service's API keys."""
    found = []
    if settings.api_key is not None:
        found.append(settings.api_key.get_secret_value())
    found.extend(settings.api_key_set)
    return [s for s in found if len(s) >= MIN_SECRET_CHARS]


class SecretFilter(logging.Filter):
    """Replace each secret by ``***`` wherever a record could carry it to a log."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """``text`` without any secret."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record in place (it is always kept)."""
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = self.scrub(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, scrubbed; formatters reuse exc_text when it is set.
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, self.scrub(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message``, then any extras.

    Extras are the fields passed with ``extra={...}``; a traceback is in ``exc``. Values that
    JSON cannot hold are written as their ``str``.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_") and name not in doc:
                doc[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes to whatever ``sys.stderr`` is when a record comes."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure(
    settings: Settings, stream: TextIO | None = None, *, default_level: str = "warning"
) -> logging.Handler:
    """Send log records at ``settings.log_level`` and above to ``stream`` (default: stderr).

    ``default_level`` applies when no level is set (``serve`` passes ``info``, so its access
    log shows by default).

    The handler sits on the root logger, so uvicorn's loggers and threadsum's share it; a
    handler this function installed before is replaced, so calling it again (tests, a second
    ``main``) does not double lines. Returns the handler.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(SecretFilter(secrets_of(settings)))
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    level = getattr(logging, (settings.log_level or default_level).upper())
    root.setLevel(level)
    # Loggers that set their own level would ignore the root's: make them follow it.
    for name in ("threadsum", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    return handler


@contextlib.contextmanager
def configured(settings: Settings, *, default_level: str = "warning") -> Iterator[None]:
    """:func:`configure` for the ``with`` block, then the root logger as it was (so a CLI run
    inside a test or an embedding program leaves no handler or level behind)."""
    root = logging.getLogger()
    level = root.level
    handler = configure(settings, default_level=default_level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(level)
