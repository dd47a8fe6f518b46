"""Typed reading of decoded JSON for the format parsers.

Every accessor either returns a value of the promised type or raises :class:`FormatError` with a
one-line message that names the format, the object and the problem, e.g.
``hn-algolia: item 123 has no 'id'``. Parsers never let ``KeyError``/``TypeError`` escape.

Every string read here is valid Unicode: a lone surrogate (what a JSON ``"\\ud800"`` escape
decodes to, and what no UTF-8 text can hold) is a :class:`FormatError` naming the field, so no
later step (rendering, prompts, cache keys) meets text it cannot encode.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from ..errors import FormatError

JSONObject = dict[str, object]

_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_SURROGATE = re.compile("[\ud800-\udfff]")


def unicode_problem(text: str) -> str | None:
    """Why ``text`` is not valid Unicode (its first lone surrogate and where), or None."""
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
    if found is None:
        return None
    code = ord(found.group())
    return f"it holds a lone surrogate (\\u{code:04x}) at character {found.start()}"


def printable(text: str) -> str:
    """``text`` with any lone surrogate written as an escape, for messages that quote input."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def kind(value: object) -> str:
    """The JSON name of ``value``'s type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def clean_text(text: str) -> str:
    """Normalise plain text: CRLF and CR become LF, surrounding whitespace is dropped."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


@dataclass(frozen=True)
class Fields:
    """Accessors for one format; ``what`` in each call names the object for messages."""

    fmt: str

    def fail(self, problem: str) -> NoReturn:
        """Raise the :class:`FormatError` for ``problem``."""
        raise FormatError(f"{self.fmt}: {printable(problem)}")

    def obj(self, value: object, what: str) -> JSONObject:
        """``value`` as a JSON object (itself when its keys are strings, as decoded JSON's are)."""
        if not isinstance(value, dict):
            self.fail(f"{what} should be a JSON object, got {kind(value)}")
        if all(type(k) is str for k in value):
            return value
        return {str(k): v for k, v in value.items()}

    def array(self, value: object, what: str) -> list[object]:
        """``value`` as a JSON array."""
        if not isinstance(value, list):
            self.fail(f"{what} should be a JSON array, got {kind(value)}")
        return list(value)

    def ident(self, obj: JSONObject, key: str, what: str) -> str:
        """A required id (a string or an integer), as a string."""
        value = self.opt_ident(obj, key, what)
        if value is None:
            self.fail(f"{what} has no '{key}'")
        return value

    def opt_ident(self, obj: JSONObject, key: str, what: str) -> str | None:
        """An optional id (a string or an integer), as a string; null or missing is None."""
        value = obj.get(key)
        if type(value) is str:  # the usual case, without building the name of the field
            text = value.strip()
            if text and text.isascii():
                return text
        return self.to_ident(value, f"'{key}' of {what}")

    def to_ident(self, value: object, what: str) -> str | None:
        """An id value (a string or an integer) as a string; None stays None."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.fail(f"{what} should be a string or an integer id, got {kind(value)}")
        text = str(value).strip()
        if not text:
            self.fail(f"{what} is an empty id")
        self.check_unicode(text, what)
        return text

    def opt_str(self, obj: JSONObject, key: str, what: str) -> str | None:
        """An optional string; null or missing is None."""
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(f"'{key}' of {what} should be a string, got {kind(value)}")
        if not value.isascii():  # the field's name is built only when it may be needed
            self.check_unicode(value, f"'{key}' of {what}")
        return value

    def check_unicode(self, text: str, what: str) -> None:
        """Fail when ``text`` (named ``what``) is not valid Unicode."""
        problem = unicode_problem(text)
        if problem is not None:
            self.fail(f"{what} is not valid Unicode: {problem}")

    def opt_int(self, obj: JSONObject, key: str, what: str) -> int | None:
        """An optional integer (an integral float is accepted); null or missing is None."""
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"'{key}' of {what} should be an integer, got {kind(value)}")
        return value

    def flag(self, obj: JSONObject, key: str, what: str) -> bool:
        """An optional boolean flag; null or missing is False."""
        value = obj.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(f"'{key}' of {what} should be true or false, got {kind(value)}")
        return value

    def opt_list(self, obj: JSONObject, key: str, what: str) -> list[object]:
        """An optional array; null or missing is empty."""
        value = obj.get(key)
        if value is None:
            return []
        return self.array(value, f"'{key}' of {what}")

    def opt_time(self, obj: JSONObject, key: str, what: str) -> datetime | None:
        """An optional time: an ISO-8601 string or unix seconds, as an aware UTC datetime."""
        value = obj.get(key)
        if value is None or value == "":
            return None
        where = f"'{key}' of {what}"
        if isinstance(value, str):
            self.check_unicode(value, where)
        if isinstance(value, str) and _NUMBER.match(value.strip()):
            value = float(value)
        if isinstance(value, bool):
            self.fail(f"{where} should be a time, got {kind(value)}")
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                self.fail(f"{where} is not a finite number")
            try:
                return datetime.fromtimestamp(value, tz=UTC)
            except (OverflowError, OSError, ValueError):
                self.fail(f"{where} is out of range: {value}")
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                self.fail(f"{where} is not an ISO-8601 time: {value[:40]!r}")
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            try:
                return parsed.astimezone(UTC)
            except OverflowError:
                self.fail(f"{where} is out of range: {value[:40]!r}")
        self.fail(f"{where} should be an ISO-8601 string or unix seconds, got {kind(value)}")
