"""Batch output: one JSON record per input line, ok or error, in the shape clients read.

::

    {"key": "…", "line": 3, "status": "ok", "summary": {…ThreadSummary…}}
    {"key": "…", "line": 4, "status": "error",
     "error": {"type": "FormatError", "status": 422, "detail": "…one line…"}}

The error object is :func:`service.errors.describe` of the exception, so a batch record names an
error exactly as an HTTP problem does; anything unexpected is an ``InternalError`` (500).
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import describe
from ..models import ThreadSummary

__all__ = ["error_record", "ok_record"]


def _dumps(record: dict[str, Any]) -> str:
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: ASCII escapes keep the record writable
        return json.dumps(record, separators=(",", ":"), allow_nan=False)
    return text


def ok_record(key: str, line: int, summary: ThreadSummary) -> str:
    """The output record of a summarised line."""
    doc = {"key": key, "line": line, "status": "ok", "summary": summary.model_dump(mode="json")}
    return _dumps(doc)


def error_record(key: str, line: int, error: BaseException) -> str:
    """The output record of a line that failed with ``error``."""
    info = describe(error)
    err = {"type": info.name, "status": info.status, "detail": info.detail}
    return _dumps({"key": key, "line": line, "status": "error", "error": err})
