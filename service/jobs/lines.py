"""Batch input: lines and request bodies into :class:`BatchItem` records, and what a line asks for.

One thread per line (or, for the HTTP API, a JSON array whose elements are the lines). A line is
a wrapper ``{"id"?, "thread": <JSON thread>, "format"?}``, ``{"id"?, "text": "<pasted page>"}``
or ``{"id"?, "url": "https://news.ycombinator.com/item?id=N"}``, or a bare thread in any JSON
input format. Its key is the wrapper's ``id``, else the thread's own top-level ``id``, else
``line-<n>``; keys are always strings and need not be unique (records are identified by line).
Blank lines are skipped but still counted.

Keys are read when a batch is split into items; each line is checked only when it runs, so a
bad line becomes one error record and never sinks the batch. Parsing does no I/O. A line that
asks for a URL is a live fetch when it runs: items say so (``url``), and an HTTP body may hold
at most ``max_urls`` of them (:func:`parse_body`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..errors import FormatError, LimitError, ThreadsumError
from ..ingest.detect import decode, detect_json, load_json

__all__ = [
    "BatchItem",
    "LineSource",
    "parse_body",
    "parse_json_array",
    "parse_jsonl",
    "read_line",
]

_SOURCE_KEYS: Final = ("thread", "text", "url")
_WRAPPER_KEYS: Final = frozenset({"id", "format", *_SOURCE_KEYS})


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One input line: its 1-based number, its key, its text (bytes when not UTF-8), and
    whether it asks for a URL (a live fetch when it runs)."""

    line: int
    key: str
    input: str | bytes
    url: bool = False


@dataclass(frozen=True, slots=True)
class LineSource:
    """What one line asks for: a thread (JSON text), a pasted page or a URL, its format and key."""

    kind: Literal["thread", "text", "url"]
    content: str
    fmt: str
    key: str | None


def _id_key(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None


def _json_type(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _wrapper(data: dict[str, Any]) -> LineSource:
    present = [k for k in _SOURCE_KEYS if k in data]
    if len(present) != 1:
        raise FormatError(
            f"a wrapper line takes exactly one of thread, text, url (got {', '.join(present)})"
        )
    kind = present[0]
    raw_id = data.get("id")
    if raw_id is not None and _id_key(raw_id) is None and raw_id != "":
        raise FormatError(f"the line's id must be a string or an integer, not {_json_type(raw_id)}")
    fmt = data.get("format", "text" if kind == "text" else "auto")
    if not isinstance(fmt, str):
        raise FormatError(f"the line's format must be a string, not {_json_type(fmt)}")
    value = data[kind]
    key = _id_key(raw_id)
    if kind == "thread":
        if isinstance(value, str):
            content = value
        elif isinstance(value, dict | list):
            # ASCII escapes keep lone surrogates encodable; ingest reads them back the same.
            content = json.dumps(value)
            if key is None and isinstance(value, dict):
                key = _id_key(value.get("id"))
        else:
            raise FormatError(f"thread must be a JSON thread, not {_json_type(value)}")
        return LineSource("thread", content, fmt, key)
    if not isinstance(value, str):
        raise FormatError(f"{kind} must be a string, not {_json_type(value)}")
    return LineSource(kind, value, fmt, key)


def _source(data: Any, raw: str | None) -> LineSource:
    """What one line (parsed as ``data``; ``raw`` its text when it came as text) asks for."""
    if isinstance(data, dict):
        keys = data.keys()
        if keys <= _WRAPPER_KEYS and any(k in data for k in _SOURCE_KEYS):
            return _wrapper(data)
        if "thread" in data:
            extra = ", ".join(sorted(str(k) for k in keys - _WRAPPER_KEYS))
            raise FormatError(f"a wrapper line takes id, format and thread; unknown key(s) {extra}")
    if isinstance(data, dict | list):
        content = raw if raw is not None else json.dumps(data)
        key = _id_key(data.get("id")) if isinstance(data, dict) else None
        return LineSource("thread", content, "auto", key)
    raise FormatError(f"a batch line must be a JSON object or array, not {_json_type(data)}")


def read_line(content: str | bytes) -> LineSource:
    """What a stored line asks for; :class:`FormatError` when it is not UTF-8 or not a line."""
    text = decode(content)
    return _source(load_json(text, "batch line"), text)


def _item(
    line: int, stored: str | bytes, source: Callable[..., LineSource], *args: Any
) -> BatchItem:
    """The item of line ``line``: its key and kind read by ``source(*args)``, if it can."""
    try:
        found: LineSource | None = source(*args)
    except (ThreadsumError, ValueError):
        found = None
    key = (found.key if found is not None else None) or f"line-{line}"
    return BatchItem(line, key, stored, url=found is not None and found.kind == "url")


def _storable(text: str) -> str | bytes:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: keep the bytes, the item reports it
        return text.encode("utf-8", "surrogatepass")
    return text


def _check_count(n: int, max_items: int | None) -> None:
    if max_items is not None and n > max_items:
        raise LimitError(f"the batch holds over {max_items} threads, the limit")


def _check_urls(items: Sequence[BatchItem], max_urls: int | None) -> list[BatchItem]:
    urls = sum(item.url for item in items)
    if max_urls is not None and urls > max_urls:
        raise LimitError(
            f"the batch holds {urls} URL lines, over the limit of {max_urls} per batch "
            "(each is a live fetch): send the threads themselves rather than their URLs"
        )
    return list(items)


def _line_text(raw: str | bytes) -> str | bytes:
    if isinstance(raw, str):
        return raw.removesuffix("\r")
    raw = raw.removesuffix(b"\r")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw  # stored as is; the item reports it


def parse_jsonl(
    content: bytes | str, *, max_items: int | None = None, max_line_bytes: int | None = None
) -> list[BatchItem]:
    """Split JSONL input into items. Keys are read here; lines are checked when they run.

    A line that is not UTF-8, not JSON or not a thread still becomes an item (its record will
    be an error). Raises :class:`LimitError` for more than ``max_items`` non-blank lines.
    """
    lines: Sequence[str | bytes] = (
        content.split(b"\n") if isinstance(content, bytes) else content.split("\n")
    )
    items: list[BatchItem] = []
    for n, raw in enumerate(lines, start=1):
        line = _line_text(raw)
        if n == 1 and isinstance(line, str):
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        _check_count(len(items) + 1, max_items)
        stored = _storable(line) if isinstance(line, str) else line
        if max_line_bytes is not None and len(line) > max_line_bytes:
            items.append(BatchItem(n, f"line-{n}", stored))  # not parsed; the item reports it
        else:
            items.append(_item(n, stored, read_line, line))
    return items


def parse_json_array(values: Sequence[Any], *, max_items: int | None = None) -> list[BatchItem]:
    """Items from a JSON array body: element ``i`` is line ``i + 1``."""
    _check_count(len(values), max_items)
    return [_item(n, json.dumps(value), _source, value, None) for n, value in enumerate(values, 1)]


def parse_body(
    content: bytes | str, *, max_items: int | None = None, max_urls: int | None = None
) -> list[BatchItem]:
    """Items from an HTTP body: a JSON array of lines, or JSONL.

    A body that is one JSON array is an array of lines, unless the array is itself a thread
    (a Reddit or HN Firebase document), which is then a one-line JSONL body. Raises
    :class:`LimitError` for more than ``max_items`` lines or more than ``max_urls`` URL lines
    (the fetches one request may cause).
    """
    head = content.lstrip()[:1]
    if head in ("[", b"["):
        try:
            data = json.loads(content)
            if isinstance(data, list):
                try:
                    detect_json(data)
                except ThreadsumError:
                    return _check_urls(parse_json_array(data, max_items=max_items), max_urls)
        except RecursionError:  # loading it, or writing back an element nested to the limit
            raise FormatError("the batch body is JSON nested too deeply to read") from None
        except ValueError:
            pass  # not one JSON document: read as JSONL, each bad line its own error record
    return _check_urls(parse_jsonl(content, max_items=max_items), max_urls)
