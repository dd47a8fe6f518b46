"""The compact answer format the map, reduce and overview prompts ask the model for, and its
codec.

The model's answers are the most expensive tokens of a summary (it decodes every one), so they
are written compactly; this shape is the model's only and is converted to the internal replies
(:class:`~service.validation.MapReply`, :class:`~service.validation.ReduceReply`) as they are
validated. The public ``ThreadSummary`` never sees it.

Map answer::

    {"k": [{"t": "c1.1-3 c4.2 statement", "p": "c6.1",
            "r": [{"t": "c2.1 rebuttal", "c": ["c3.2-3 counter"]}]}]}

``k`` claims, ``p`` supporters, ``r`` rebuttals, ``c`` counters. An item (``t``, or a counter)
is the sentence ids that make the point, then its statement: ids (``c3.2``) and ranges of one
comment's sentences (``c3.1-4``), separated by spaces, as in ``p``. ``p``, ``r`` and ``c`` are
left out when empty.

Reduce answer::

    {"k": [{"m": "m1-3 m7", "s": "statement"}], "g": ["topic title: m1-3 m7 m9"]}

``m`` lists the input claims a claim merges (ranges allowed); ``s`` is left out to keep the
statement of the first one listed. An input claim listed nowhere stays a claim of its own.
``g`` names the topics, each a title, a colon and the input claims on it (ranges allowed, as in
``m``); it may be left out, and an input claim in no topic is given one after the reduce (see
:func:`service.validation.check_reduce`).

Overview answer (asked beside the last reduce call, over the same claims)::

    {"o": "overview"}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

__all__ = [
    "MAP_SHAPE",
    "OVERVIEW_SHAPE",
    "REDUCE_SHAPE",
    "IdError",
    "WireMap",
    "WireOverview",
    "WireReduce",
    "answer_schema",
    "format_ids",
    "parse_ids",
    "split_item",
    "split_topic",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WireRebuttal(_Strict):
    """A rebuttal as the model writes it: ``t`` its item, ``c`` its counters' items."""

    t: str
    c: list[str] = []


class WireClaim(_Strict):
    """A map claim as the model writes it: ``t`` its item, ``p`` supporters, ``r`` rebuttals."""

    t: str
    p: str = ""
    r: list[WireRebuttal] = []


class WireMap(_Strict):
    """A map answer as the model writes it."""

    k: list[WireClaim]


class WireMerge(_Strict):
    """A reduce claim as the model writes it."""

    m: str
    s: str = ""


class WireReduce(_Strict):
    """A reduce answer as the model writes it (``g``: topics, ``"title: m1 m3-4"``)."""

    k: list[WireMerge] = []
    g: list[str] = []


class WireOverview(_Strict):
    """An overview answer as the model writes it."""

    o: str


MAP_SHAPE: Final = "{k: [{t, p?, r?: [{t, c?: [t]}]}]}"
"""The map answer's shape as the prompt shows it (``?``: may be left out)."""
REDUCE_SHAPE: Final = '{k: [{m, s?}], g: ["title: IDs"]}'
"""The reduce answer's shape as the prompt shows it."""
OVERVIEW_SHAPE: Final = "{o}"
"""The overview answer's shape as the prompt shows it."""


def answer_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of ``model`` for structured output: objects closed, no titles.

    Fields with a default (``p``, ``r``, ``c``, ``s`` of a merge) stay optional, so the model
    need not write empty ones; the request is then not flagged ``strict`` (see
    :func:`~service.model.modes.is_strict`), which requires every field.
    """
    schema = model.model_json_schema()

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("title", "description", "default"):
                if not isinstance(node.get(key), dict):
                    node.pop(key, None)
            if node.get("type") == "object":
                node["additionalProperties"] = False
                node.setdefault("required", [])
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(schema)
    return schema


class IdError(ValueError):
    """One item of an id list that cannot be read (the message says why)."""


_START = re.compile(r"^([a-z]+)(\d+)(?:\.(\d+))?$")
_LOOKS_LIKE_ID = re.compile(r"^[A-Za-z]\d+\.\d+(?:-(?:[A-Za-z]\d+\.)?\d+)?$")
#: Longest range read: past this it is garbage, not a citation (a comment has fewer sentences).
MAX_RANGE = 10_000


def parse_ids(text: str, sentences: bool = True) -> tuple[list[str], list[str]]:
    """The ids an id string names, in order, each once; and why items could not be read.

    ``sentences``: items are sentence ids (``c3.2``, ranges ``c3.1-4`` or ``c3.1-c3.4``); else
    plain ids (``m2``, ranges ``m1-3`` or ``m1-m3``). Items are separated by spaces or commas.
    """
    ids: list[str] = []
    bad: list[str] = []
    for item in re.split(r"[\s,;]+", text.strip()):
        if not item:
            continue
        try:
            ids.extend(_expand(item.lower(), sentences))
        except IdError as e:
            bad.append(str(e))
    return list(dict.fromkeys(ids)), bad


def _expand(item: str, sentences: bool) -> list[str]:
    first, dash, rest = item.partition("-")
    m = _START.match(first)
    if m is None or sentences != (m.group(3) is not None):
        kind = "a sentence id (c3.2) or range (c3.1-4)" if sentences else "a claim id or range"
        raise IdError(f"{item!r} is not {kind}")
    prefix, number, sentence = m.groups()
    head = f"{prefix}{number}." if sentences else prefix
    start = int(sentence if sentences else number)
    if not dash:
        return [f"{head}{start}"]
    if sentences:
        end = re.fullmatch(rf"(?:{prefix}{number}\.)?(\d+)", rest)
    else:
        end = re.fullmatch(rf"(?:{prefix})?(\d+)", rest)
    if end is None:
        raise IdError(f"{item!r}: a range stays within one comment and ends in a number")
    last = int(end.group(1))
    if last < start:
        raise IdError(f"{item!r}: the range runs backwards")
    if last - start > MAX_RANGE:
        raise IdError(f"{item!r}: the range is too long")
    return [f"{head}{k}" for k in range(start, last + 1)]


def split_item(text: str) -> tuple[str, str]:
    """An item (``"c3.1-2 c5.1 statement"``) as its id string and its statement.

    The ids are the leading words that look like ids or ranges; a ``:`` or ``|`` after them
    is dropped.
    """
    words = text.split()
    n = 0
    while n < len(words) and _LOOKS_LIKE_ID.match(words[n].rstrip(":|,")):
        n += 1
        if words[n - 1][-1] in ":|":
            break
    rest = words[n:]
    if rest and rest[0] in (":", "|", "-", "—"):
        rest = rest[1:]
    return " ".join(w.rstrip(":|,") for w in words[:n]), " ".join(rest)


def split_topic(text: str) -> tuple[str, str] | None:
    """A topic (``"topic title: m1-3 m7"``) as its title and its id string; None without the
    colon. The title is what comes before the last colon, so a title may hold one."""
    title, colon, ids = text.rpartition(":")
    return (title.strip(), ids.strip()) if colon else None


def format_ids(ids: Iterable[str]) -> str:
    """``ids`` as an id string, runs of consecutive ids as ranges; its inverse is
    :func:`parse_ids` (for a list with no repeats)."""
    out: list[str] = []
    run: tuple[str, int, int] | None = None  # head ("c3." or "m"), first, last

    def flush() -> None:
        if run is not None:
            head, first, last = run
            out.append(f"{head}{first}" + (f"-{last}" if last > first else ""))

    for sid in ids:
        head, number = _split(sid)
        if run is not None and head == run[0] and number == run[2] + 1:
            run = (head, run[1], number)
            continue
        flush()
        run = (head, number, number)
    flush()
    return " ".join(out)


def _split(sid: str) -> tuple[str, int]:
    """``"c3.2"`` → (``"c3."``, 2); ``"m7"`` → (``"m"``, 7)."""
    m = re.match(r"^(.*?)(\d+)$", sid)
    if m is None:
        raise ValueError(f"not an id: {sid!r}")
    return m.group(1), int(m.group(2))
