"""Reading one line of a pasted page: what kind it is, its indentation, an HN header."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ...models import CommentStatus

NESTING_BULLETS = "•◦▪‣"
"""Characters that mark a nested reply. ``-`` and ``*`` are Markdown list items, never nesting."""

TAB_WIDTH = 2
"""Columns per tab in indentation: one tab is one nesting step, like the two spaces of a bullet."""

_BULLET = re.compile(rf"[{NESTING_BULLETS}]\s+(?=\S)")
_UNITS = r"(?:second|minute|hour|day|week|month|year)s?"
_AGE = re.compile(rf"(?:\d+|an?|one) {_UNITS} ago|just now", re.IGNORECASE)
_BACK = re.compile(r"(?:(?:←|<-)\s*)?back to (?:context|thread|story|parent|top)", re.IGNORECASE)
_BY = re.compile(r"Comment by (\S+)")
_REPLIES = re.compile(
    r"(?:view |load )?(\d{1,6}) (?:more )?repl(?:y|ies)(?:\s*(?:→|->|›|»))?", re.IGNORECASE
)
_TOGGLE = re.compile(r"\[(?:–|-|\+|\d{1,6} more)\]")
_HN_HEAD = re.compile(
    r"(?:\d+ points? by )?(?P<user>[\w-]{1,40}) +"
    rf"(?:\d+ {_UNITS} ago|on [A-Z][a-z]+ \d{{1,2}}, \d{{4}})(?P<rest>.*)"
)
_HN_FLAGS = re.compile(r"\[(?:flagged|dead|dupe|delayed)\]")
_HN_NAV = frozenset(
    {
        *("parent", "root", "context", "prev", "next", "link", "hide", "past", "edit", "delete"),
        *("flag", "unflag", "favorite", "un-favorite", "vouch", "unvouch", "unvote", "undown"),
    }
)
_HN_CHROME_LINES = frozenset(
    {
        *("reply", "add comment", "More", "Search:", "parent", "root", "context", "prev"),
        *("next", "link", "flag", "favorite", "hide", "past", "vouch", "edit", "delete"),
    }
)
_PAGE_CHROME = re.compile(
    r"Hacker News\s+new \| past \| comments \| ask \| show \| jobs \| submit.*"
    r"|Guidelines \| FAQ \| .*"
    r"|\d+ points? by \S+ .*\| *(?:\d+\s+comments?|discuss)"
)
PLACEHOLDERS: dict[str, CommentStatus] = {
    "[deleted]": "deleted",
    "[dead]": "dead",
    "[flagged]": "dead",
    "[removed]": "removed",
}
_LIST_SHOWN = 3

LineKind = Literal["blank", "meta", "by", "hn", "replies", "content"]
NodeKind = Literal["focus", "plain", "bullet", "header", "preamble"]


@dataclass(frozen=True)
class Header:
    """What an HN comment header says about where the comment sits."""

    user: str
    hint: int  # 1: top level; 2: reply to a top-level comment; 3: deeper ("root" link)
    prev: bool  # an earlier sibling exists


@dataclass(frozen=True)
class Line:
    kind: LineKind
    text: str = ""  # the stripped line; the author for "by"
    indent: int = 0  # column of the first visible character
    col: int = 0  # column of the text after a nesting bullet; ``indent`` without one
    bullet: bool = False
    body: str = ""  # the text less its nesting bullet
    count: int = 0  # replies announced by a "N replies →" line
    header: Header | None = None


def width(prefix: str) -> int:
    return len(prefix.expandtabs(TAB_WIDTH))


def hn_header(s: str) -> Header | None:
    """Read an HN comment header line, or return None when ``s`` is not one."""
    m = _HN_HEAD.fullmatch(s)
    if m is None:
        return None
    rest = m.group("rest")
    on = rest.find("| on: ")  # /threads pages end the header with the story title
    if on >= 0:
        rest = rest[:on]
    rest, toggles = _TOGGLE.subn("", _HN_FLAGS.sub("", rest))
    rest = rest.strip()
    if not rest:
        return Header(m.group("user"), 1, False) if toggles else None
    if not rest.startswith("|"):
        return None
    links = [part.strip() for part in rest[1:].split("|")]
    if not all(link in _HN_NAV for link in links):
        return None
    hint = 3 if "root" in links else 2 if "parent" in links else 1
    return Header(m.group("user"), hint, "prev" in links)


def classify(raw: str, hn_page: bool) -> Line:
    s = raw.strip()
    if not s:
        return Line("blank")
    leading = raw[: len(raw) - len(raw.lstrip())]
    indent = width(leading)
    if m := _BY.fullmatch(s):
        return Line("by", m.group(1), indent)
    if hn_page and (header := hn_header(s)) is not None:
        return Line("hn", s, indent, header=header)
    if m := _REPLIES.fullmatch(s):
        return Line("replies", s, indent, count=int(m.group(1)))
    if (
        _AGE.fullmatch(s)
        or _BACK.fullmatch(s)
        or _TOGGLE.fullmatch(s)
        or _PAGE_CHROME.fullmatch(s)
        or (hn_page and s in _HN_CHROME_LINES)
    ):
        return Line("meta", s, indent)
    if not hn_page and (b := _BULLET.match(s)):
        col = width(leading + s[: b.end()])
        return Line("content", s, indent, col, True, s[b.end() :])
    return Line("content", s, indent, indent, False, s)


def listing(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_SHOWN])
    more = len(items) - _LIST_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")
