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
from dataclasses import dataclass
from typing import Any

from ..errors import describe
from ..models import ThreadSummary

__all__ = ["Usage", "error_record", "ok_record", "usage_of"]


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


@dataclass(frozen=True, slots=True)
class Usage:
    """What one summarised line spent: model calls, tokens, cache hits, and the cost when the
    model's price is known."""

    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    cost_usd: float | None = None


def usage_of(record: str) -> Usage:
    """The usage in an ok record's ``summary.stats`` (nothing for an error record)."""
    try:
        doc = json.loads(record)
    except ValueError:
        return Usage()
    stats = doc.get("summary", {}).get("stats", {}) if isinstance(doc, dict) else {}
    if not isinstance(stats, dict):
        return Usage()

    def count(name: str) -> int:
        value = stats.get(name, 0)
        return value if isinstance(value, int) and value > 0 else 0

    cost = stats.get("cost_usd")
    return Usage(
        llm_calls=count("llm_calls"),
        prompt_tokens=count("prompt_tokens"),
        completion_tokens=count("completion_tokens"),
        cache_hits=count("cache_hits"),
        cost_usd=float(cost) if isinstance(cost, int | float) and cost >= 0 else None,
    )
