"""Tell which input format a document is in, from its content alone."""

from __future__ import annotations

import json
from typing import Any

from ..errors import EmptyThreadError, FormatError
from ._fields import kind, printable, unicode_problem
from ._shape import names

FORMATS = ("native", "hn-algolia", "hn-firebase", "reddit", "text")
_EXPECTED = (
    "native, hn-algolia (nested 'children'), hn-firebase (items with 'by', 'kids', 'parent') "
    "and reddit (the two-Listing array)"
)


def decode(content: bytes | str) -> str:
    """Decode input bytes as UTF-8 text (a BOM is dropped); binary input is a FormatError.

    Text given as ``str`` must be valid Unicode: a lone surrogate is a FormatError, as an
    invalid byte is in ``bytes``.
    """
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise FormatError(
                f"input is not UTF-8 text (invalid byte at offset {e.start})"
            ) from None
    else:
        text = content.removeprefix("\ufeff")
        problem = unicode_problem(text)
        if problem is not None:
            raise FormatError(f"input is not valid Unicode: {problem}")
    if "\x00" in text:
        raise FormatError("input looks binary (contains NUL bytes), not a thread")
    return text


def load_json(text: str, fmt: str) -> Any:
    """Parse JSON with a one-line error naming the position of the problem."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(
            f"{fmt}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except (RecursionError, ValueError) as e:
        raise FormatError(
            f"{fmt}: JSON too deeply nested or with an oversized number ({e})"
        ) from None


def _is_firebase_item(x: object) -> bool:
    return isinstance(x, dict) and "id" in x and bool({"by", "kids", "parent", "type"} & x.keys())


def _described(value: object) -> str:
    """One JSON value for a message: its type, and an object's keys."""
    if not isinstance(value, dict):
        return kind(value)
    keys = sorted(map(str, value.keys()))
    return f"an object with keys {names(keys)}" if keys else "an empty object"


def detect_json(data: Any) -> str:
    """Name the JSON format of ``data``, or raise a FormatError saying what it looks like."""
    if isinstance(data, dict):
        if "comments" in data:
            from .native import mismatch

            problem = mismatch(data)
            if problem is None:
                return "native"
            raise FormatError(
                f"unknown format: a JSON object with 'comments' that is not native: {problem}; "
                f"threadsum reads {_EXPECTED}"
            )
        if "children" in data and ("author" in data or "story_id" in data or "type" in data):
            return "hn-algolia"
        if data.get("kind") == "Listing":
            raise FormatError(
                "reddit: got one Listing; expected the two-Listing array of /comments/ID.json"
            )
        values = [v for v in data.values() if v is not None]
        if values and all(_is_firebase_item(v) for v in values):
            return "hn-firebase"
        if _is_firebase_item(data):
            return "hn-firebase"
        keys = printable(", ".join(sorted(map(str, data.keys()))[:8])) or "none"
        raise FormatError(
            f"unknown format: a JSON object with keys {keys} is none of "
            "native, hn-algolia, hn-firebase, reddit"
        )
    if isinstance(data, list):
        if not data:
            raise EmptyThreadError("empty thread: the JSON array is empty")
        first = data[0]
        if isinstance(first, dict) and first.get("kind") == "Listing":
            return "reddit"
        # Firebase answers null for missing items; a crawl saved as a list may hold some.
        items = [x for x in data if x is not None]
        if not items:
            raise EmptyThreadError("empty thread: the JSON array holds only nulls")
        odd = next((x for x in items if not _is_firebase_item(x)), None)
        if odd is None:
            return "hn-firebase"
        raise FormatError(
            f"unknown format: a JSON array holding {_described(odd)}, which is neither Reddit "
            f"Listings nor HN Firebase items; threadsum reads {_EXPECTED}"
        )
    raise FormatError(f"unknown format: JSON {type(data).__name__} is not a thread")


def detect(text: str) -> tuple[str, Any]:
    """Return ``(format, parsed JSON or None)`` for decoded input ``text``."""
    stripped = text.lstrip()
    if not stripped:
        raise EmptyThreadError("empty input: nothing to read")
    if stripped[0] in "{[":
        try:
            data = json.loads(stripped)
        except (RecursionError, ValueError) as e:
            if not isinstance(e, json.JSONDecodeError):
                raise FormatError(
                    f"input JSON is too deeply nested or has an oversized number ({e})"
                ) from None
            if stripped[0] == "{" or stripped[:2] in ("[{", "[\n", "[ ") or stripped[1:2] == '"':
                raise FormatError(
                    f"input looks like JSON but is not valid: {e.msg} at line {e.lineno} "
                    f"column {e.colno}"
                ) from None
            return "text", None
        return detect_json(data), data
    return "text", None
