"""Exactness checks the JSON format parsers share.

A parser reads the fields its format defines and ignores the rest. That is safe only while the
rest holds nothing a reader would miss: an item whose replies sit under a key the parser does not
read, or whose text sits in a field it does not know, is another format, and reading it anyway
gives a thread of empty comments with its replies gone. These checks find such items so the
parser can refuse them with a message naming what was found.
"""

from __future__ import annotations

from collections.abc import Collection

from ._fields import JSONObject

_SHOWN = 6


def unread(item: JSONObject, known: Collection[str]) -> list[str]:
    """The keys of ``item`` outside ``known``, sorted."""
    return sorted(key for key in item if key not in known)


def nested(item: JSONObject, known: Collection[str]) -> str | None:
    """The first key outside ``known`` whose value holds JSON objects (nested items), if any."""
    for key in unread(item, known):
        value = item[key]
        if isinstance(value, dict) or (
            isinstance(value, list) and any(isinstance(v, dict) for v in value)
        ):
            return key
    return None


def names(keys: list[str]) -> str:
    """``keys`` for a message, the first few of them."""
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else "")
