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
# A header without HN's links: "bob 2 hours ago", "[–] bob 5 points 3 hours ago", "bob · 3h",
# "u/bob OP · 3 hr. ago". The user and the age fill the whole line.
_SOFT_AGE = (
    rf"(?:(?:\d+|an?|one) {_UNITS} ago|\d+ ?(?:yr|hr|min|mo|wk|sec)s?\.? ago"
    r"|on [A-Z][a-z]+ \d{1,2}, \d{4}|just now|yesterday)"
)
_SOFT_HEAD = re.compile(
    r"(?:\[[–+-]\] ?)?(?:\d+ points? by )?(?:u/)?(?P<user>[\w-]{1,40})"
    r"(?: (?:OP|MOD|\(OP\)))?(?: (?:-?\d+|one) points?)?"
    rf"(?: ?[·•] ?(?:{_SOFT_AGE}|\d{{1,3}}(?:mo|[smhdwy]))| {_SOFT_AGE})"
    r"(?: ?\((?:last )?edited[^)]{0,40}\)| ?\*| ?\(\d+ child(?:ren)?\)| ?\[[–+-]\])*"
)
#: Words that start "<word> 3 hours ago" lines that are not headers ("Posted 3 hours ago").
_NOT_USERS = frozenset(
    """
    posted edited updated submitted created changed modified commented replied written wrote
    asked answered joined seen active last about around roughly nearly almost only just over
    since like was is and or but from until till that this it me him her them us you i we
    they he she
    """.split()
)
# A comment's own action links, the last line of a comment on HN and Reddit copies.
_CHROME_WORD = (
    r"(?:permalink|embed|save|unsave|parent|report|give award|award|reply|share|edit|delete"
    r"|source|context|vote|upvote|downvote|follow)"
)
_END_CHROME = re.compile(rf"(?:{_CHROME_WORD}[ \t|·•]*)+", re.IGNORECASE)
_LEVEL = re.compile(r"level \d{1,3}", re.IGNORECASE)
# Header-like text inside a line, for the warning on comments that hold several.
_INLINE_HEAD = re.compile(
    rf"[\w-]{{1,40}} (?:\d+|an?) {_UNITS} ago ?(?:\| ?(?:parent|next|prev|root)\b|\[[–+-]\])"
    rf"|[\w-]{{1,40}} -?\d+ points? (?:[·•] )?(?:\d+|an?) {_UNITS} ago\b"
)
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

LineKind = Literal["blank", "meta", "by", "hn", "replies", "end", "content"]
NodeKind = Literal["focus", "plain", "bullet", "header", "preamble", "after_end"]


@dataclass(frozen=True)
class Header:
    """What an HN comment header says about where the comment sits."""

    user: str
    hint: int  # 0: not shown; 1: top level; 2: reply to a top-level comment; 3: deeper ("root")
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


def soft_header(s: str) -> Header | None:
    """Read a line shaped like a comment header without HN's links, or return None.

    "bob 2 hours ago", "[–] bob 5 points 3 hours ago", "bob · 3h": a user and an age filling the
    line, so a sentence ("someone 2 days ago said so") never is one. Where the comment sits is
    not shown (``hint`` 0).
    """
    if hn_header(s) is not None:
        return None
    m = _SOFT_HEAD.fullmatch(s)
    if m is None:
        return None
    user = m.group("user")
    if user.lower() in _NOT_USERS or not any(ch.isalpha() for ch in user):
        return None
    return Header(user, 0, False)


def is_nesting_bullet(s: str) -> bool:
    """Whether the stripped line ``s`` starts with a nesting bullet and text."""
    return _BULLET.match(s) is not None


def is_end_chrome(s: str) -> bool:
    """Whether ``s`` is a comment's action links ("reply", "permalink embed save report reply")."""
    if not _END_CHROME.fullmatch(s):
        return False
    lowered = s.lower()
    return "reply" in lowered or "permalink" in lowered


def inline_header(text: str) -> str | None:
    """The first header-like run inside ``text`` ("bob 2 hours ago | parent"), if any."""
    m = _INLINE_HEAD.search(text)
    return None if m is None else m.group(0)


def classify(raw: str, headed: bool) -> Line:
    """Read one raw line; ``headed`` says the page delimits comments by header lines."""
    s = raw.strip()
    if not s:
        return Line("blank")
    leading = raw[: len(raw) - len(raw.lstrip())]
    indent = width(leading)
    if m := _BY.fullmatch(s):
        return Line("by", m.group(1), indent)
    if headed and (header := hn_header(s) or soft_header(s)) is not None:
        return Line("hn", s, indent, header=header)
    if m := _REPLIES.fullmatch(s):
        return Line("replies", s, indent, count=int(m.group(1)))
    if is_end_chrome(s):
        return Line("end", s, indent)
    if (
        _AGE.fullmatch(s)
        or _BACK.fullmatch(s)
        or _TOGGLE.fullmatch(s)
        or _PAGE_CHROME.fullmatch(s)
        or (headed and (s in _HN_CHROME_LINES or _LEVEL.fullmatch(s) is not None))
    ):
        return Line("meta", s, indent)
    if not headed and (b := _BULLET.match(s)):
        col = width(leading + s[: b.end()])
        return Line("content", s, indent, col, True, s[b.end() :])
    return Line("content", s, indent, indent, False, s)


def listing(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_SHOWN])
    more = len(items) - _LIST_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")
