"""Parse the ``text`` format: a thread copied from a web page as plain text.

Two page shapes are read. Which one a page is decides how comments are delimited:

* **Bullet pages** (``fixtures/threads/hn-comment-page.txt``): nesting is shown by indentation
  and the bullets ``•``, ``◦``, ``▪``, ``‣``. A bullet at indentation *i* starts a comment whose
  text column is where its text begins (normally *i + 2*); un-bulleted lines at that column
  continue it. The bullet replies to the nearest open comment whose text column is at most *i*.
  Un-bulleted comments at the outer level have no visible boundaries, so they are guessed:
  ``Comment by X`` starts a focused comment that is its first paragraph only (the outer-level
  paragraphs after it are its replies); after that, outer-level paragraphs are grouped into one
  comment until a reply block or a ``N replies →`` marker has followed it.
* **Hacker News pages** (copied from news.ycombinator.com): each comment starts with a header
  ``user 3 hours ago | parent | next [–]`` and owns every line up to the next header; bullets
  there are text. Depth comes from the headers' indentation when it varies. Copies usually have
  none, so it comes from HN's links instead: no ``parent`` is top level; no ``prev`` means the
  first reply to the comment just above; ``prev`` means a later sibling of a comment on the path
  above (exact for replies to top-level comments; deeper ones go under the nearest ancestor that
  is certain).

Metadata lines (``Comment by X``, ``2 days ago``, ``3 replies →``, HN links and page chrome) are
used and dropped. Every other non-blank line ends up in exactly one comment: stripped, less its
nesting bullet, with any indentation deeper than its comment's text column kept. Every guess is
reported in :attr:`RawThread.warnings`, one line per kind of guess.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from ..models import CommentStatus, RawComment, RawThread

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
_PLACEHOLDERS: dict[str, CommentStatus] = {
    "[deleted]": "deleted",
    "[dead]": "dead",
    "[flagged]": "dead",
    "[removed]": "removed",
}
_LIST_SHOWN = 3

_LineKind = Literal["blank", "meta", "by", "hn", "replies", "content"]
_NodeKind = Literal["focus", "plain", "bullet", "header", "preamble"]


@dataclass(frozen=True)
class _Header:
    """What an HN comment header says about where the comment sits."""

    user: str
    hint: int  # 1: top level; 2: reply to a top-level comment; 3: deeper ("root" link)
    prev: bool  # an earlier sibling exists


@dataclass(frozen=True)
class _Line:
    kind: _LineKind
    text: str = ""  # the stripped line; the author for "by"
    indent: int = 0  # column of the first visible character
    col: int = 0  # column of the text after a nesting bullet; ``indent`` without one
    bullet: bool = False
    body: str = ""  # the text less its nesting bullet
    count: int = 0  # replies announced by a "N replies →" line
    header: _Header | None = None


@dataclass(eq=False)
class _Node:
    kind: _NodeKind
    parent: _Node | None
    author: str | None = None
    col: int = 0  # text column
    header: str | None = None  # the line that announced it, for warnings
    paras: list[list[tuple[int, str]]] = field(default_factory=list)  # (indent, text) lines
    closed: bool = False  # a reply block or a replies marker followed it
    split: bool = False  # began at a guessed boundary


def parse(text: str) -> RawThread:
    """Read a thread copied from a web page as plain text (format ``text``).

    Pure and total: any string gives a :class:`RawThread` (one with no comments when the text
    has no content lines; :func:`~service.ingest.tree.build_thread` rejects that). Comment ids
    are ``t1, t2, …`` in order of appearance; the thread id is ``text-`` and 12 hex digits of
    the SHA-256 of ``text``.
    """
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    hn_page = any(_hn_header(line.strip()) is not None for line in raw_lines)
    lines = [_classify(line, hn_page) for line in raw_lines]
    builder: _Builder
    if hn_page:
        indents = {line.indent for line in lines if line.kind == "hn"}
        builder = _HnBuilder(indented=len(indents) > 1)
    else:
        base = min((line.indent for line in lines if line.kind == "content"), default=0)
        builder = _BulletBuilder(base)
    for line in lines:
        builder.feed(line)
    comments, warnings = builder.finish()
    # The id hashes the normalised text, so the same page pasted with CRLF keeps its id.
    normalised = "\n".join(
        line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ).strip()
    digest = hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return RawThread(
        id=f"text-{digest}",
        source="text",
        format="text",
        comments=comments,
        warnings=warnings,
        unloaded=builder.unloaded,
    )


def _width(prefix: str) -> int:
    return len(prefix.expandtabs(TAB_WIDTH))


def _hn_header(s: str) -> _Header | None:
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
        return _Header(m.group("user"), 1, False) if toggles else None
    if not rest.startswith("|"):
        return None
    links = [part.strip() for part in rest[1:].split("|")]
    if not all(link in _HN_NAV for link in links):
        return None
    hint = 3 if "root" in links else 2 if "parent" in links else 1
    return _Header(m.group("user"), hint, "prev" in links)


def _classify(raw: str, hn_page: bool) -> _Line:
    s = raw.strip()
    if not s:
        return _Line("blank")
    leading = raw[: len(raw) - len(raw.lstrip())]
    indent = _width(leading)
    if m := _BY.fullmatch(s):
        return _Line("by", m.group(1), indent)
    if hn_page and (header := _hn_header(s)) is not None:
        return _Line("hn", s, indent, header=header)
    if m := _REPLIES.fullmatch(s):
        return _Line("replies", s, indent, count=int(m.group(1)))
    if (
        _AGE.fullmatch(s)
        or _BACK.fullmatch(s)
        or _TOGGLE.fullmatch(s)
        or _PAGE_CHROME.fullmatch(s)
        or (hn_page and s in _HN_CHROME_LINES)
    ):
        return _Line("meta", s, indent)
    if not hn_page and (b := _BULLET.match(s)):
        col = _width(leading + s[: b.end()])
        return _Line("content", s, indent, col, True, s[b.end() :])
    return _Line("content", s, indent, indent, False, s)


def _some(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_SHOWN])
    more = len(items) - _LIST_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


class _Builder:
    """What both page shapes share: paragraphs, replies markers, and the final comments."""

    def __init__(self) -> None:
        self.nodes: list[_Node] = []
        self.last: _Node | None = None  # the comment that took the previous content line
        self.gap = True  # a blank or metadata line since the previous content line
        self.unloaded = 0
        self.counts: Counter[str] = Counter()

    def feed(self, line: _Line) -> None:
        if line.kind == "content":
            self.content(line)
            return
        self.gap = True
        if line.kind == "replies":
            self.unloaded += line.count
            if self.last is not None:
                self.last.closed = True
        elif line.kind == "by":
            self.by(line)
        elif line.kind == "hn" and line.header is not None:
            self.hn(line, line.header)

    def content(self, line: _Line) -> None:
        raise NotImplementedError

    def by(self, line: _Line) -> None:
        raise NotImplementedError

    def hn(self, line: _Line, header: _Header) -> None:
        raise NotImplementedError

    def new(
        self,
        kind: _NodeKind,
        parent: _Node | None,
        *,
        author: str | None = None,
        col: int = 0,
        header: str | None = None,
        split: bool = False,
    ) -> _Node:
        node = _Node(kind, parent, author=author, col=col, header=header, split=split)
        self.nodes.append(node)
        return node

    def put(self, node: _Node, indent: int, text: str) -> None:
        """Add a line to ``node``: to its last paragraph when nothing came between, else anew."""
        if node.paras and not self.gap and self.last is node:
            node.paras[-1].append((indent, text))
        else:
            node.paras.append([(indent, text)])
        self.last = node
        self.gap = False

    def finish(self) -> tuple[list[RawComment], list[str]]:
        kept = [n for n in self.nodes if n.paras]
        ids = {id(n): f"t{k}" for k, n in enumerate(kept, start=1)}
        comments: list[RawComment] = []
        for node in kept:
            parent = node.parent
            while parent is not None and not parent.paras:  # a dropped header: skip it
                parent = parent.parent
            margin = min(indent for para in node.paras for indent, _ in para)
            body = "\n\n".join(
                "\n".join(" " * (indent - margin) + line for indent, line in para)
                for para in node.paras
            )
            comments.append(
                RawComment(
                    id=ids[id(node)],
                    parent_id=None if parent is None else ids[id(parent)],
                    author=node.author,
                    text=body,
                    status=_PLACEHOLDERS.get(body, "ok"),
                )
            )
        return comments, self.warnings()

    def warnings(self) -> list[str]:
        out: list[str] = []
        c = self.counts
        grouped = sum(1 for n in self.nodes if n.kind == "plain" and (len(n.paras) > 1 or n.split))
        if grouped:
            out.append(
                f"text: guessed where {grouped} outer-level comment(s) begin and end (no bullets "
                "or headers mark them); paragraphs were grouped until a reply block or a "
                "replies marker followed"
            )
        under_focus = [n for n in self.nodes if n.kind == "plain" and n.parent is not None]
        if under_focus:
            names = sorted({f"'Comment by {n.parent.author}'" for n in under_focus if n.parent})
            out.append(
                f"text: took only the first paragraph under {_some(names)} as that comment; "
                f"the {len(under_focus)} outer-level comment(s) after it were read as its replies"
            )
        if c["jump"]:
            out.append(
                f"text: {c['jump']} bullet(s) were indented deeper than the comment above them; "
                "each was attached to the nearest shallower comment"
            )
        if c["after_replies"]:
            out.append(
                f"text: {c['after_replies']} un-bulleted paragraph(s) came after the replies of "
                "the comment at their indentation; they were kept with that comment"
            )
        if c["deeper"]:
            out.append(
                f"text: {c['deeper']} un-bulleted line(s) were indented deeper than their "
                "comment; they were kept in it with the extra indentation"
            )
        if c["hn_guess"]:
            out.append(
                f"text: the page shows no indentation, so the parents of {c['hn_guess']} "
                "comment(s) were guessed from HN's 'parent', 'root' and 'prev' links; they may "
                "sit higher in the tree than on the page"
            )
        preamble = sum(len(p) for n in self.nodes if n.kind == "preamble" for p in n.paras)
        if preamble:
            out.append(
                f"text: {preamble} line(s) before the first comment header (a story title or "
                "text) were kept as a top-level comment"
            )
        dropped = [n.header or "" for n in self.nodes if not n.paras]
        if dropped:
            out.append(
                f"text: dropped {len(dropped)} header(s) with no comment text after them: "
                + _some([repr(h) for h in dropped])
            )
        return out


class _BulletBuilder(_Builder):
    """Bullet pages: nesting by bullets and indentation, outer-level comments guessed."""

    def __init__(self, base: int) -> None:
        super().__init__()
        self.base = base  # indentation shared by every content line, ignored
        self.stack: list[_Node] = []  # the open comments, outermost first

    def by(self, line: _Line) -> None:
        header = f"Comment by {line.text}"
        self.stack = [self.new("focus", None, author=line.text, header=header)]

    def content(self, line: _Line) -> None:
        indent, col = line.indent - self.base, line.col - self.base
        if self.stack and not self.stack[-1].paras:  # "Comment by X": this is X's text
            self.stack[-1].col = col
            self.put(self.stack[-1], col, line.body)
        elif line.bullet:
            self.bullet(indent, col, line.body)
        else:
            self.plain(indent, line.body)

    def bullet(self, indent: int, col: int, text: str) -> None:
        while self.stack and self.stack[-1].col > indent:
            self.stack.pop()
        parent = self.stack[-1] if self.stack else None
        if parent is not None:
            step = (0,) if parent.kind == "bullet" else (0, 2)
            if indent - parent.col not in step:
                self.counts["jump"] += 1
            parent.closed = True
        node = self.new("bullet", parent, col=col)
        self.stack.append(node)
        self.put(node, col, text)

    def plain(self, indent: int, text: str) -> None:
        while self.stack and self.stack[-1].col > indent:
            self.stack.pop()
        if not self.stack:
            node = self.new("plain", None, col=indent)
            self.stack.append(node)
        else:
            node = self.stack[-1]
            same_paragraph = not self.gap and self.last is node
            if indent > node.col:
                self.counts["deeper"] += 1
            elif same_paragraph:
                pass
            elif node.kind == "focus":  # rule (a): the focused comment is one paragraph
                node = self.new("plain", node, col=indent)
                self.stack.append(node)
            elif node.kind == "plain" and node.closed:  # rule (b): a reply block ended it
                self.stack.pop()
                node = self.new("plain", node.parent, col=indent, split=True)
                self.stack.append(node)
            elif node.closed:
                self.counts["after_replies"] += 1
        self.put(node, indent, text)


class _HnBuilder(_Builder):
    """Hacker News pages: a header line starts each comment; its links or indentation place it."""

    def __init__(self, *, indented: bool) -> None:
        super().__init__()
        self.indented = indented
        self.current: _Node | None = None  # takes every content line until the next header
        self.chain: list[_Node] = []  # the path from a top-level comment to the latest header
        self.open: list[tuple[int, _Node]] = []  # (indentation, comment) when indented

    def content(self, line: _Line) -> None:
        if self.current is None:
            self.current = self.new("preamble", None)
        self.put(self.current, line.indent, line.text)

    def by(self, line: _Line) -> None:
        node = self.new("focus", None, author=line.text, header=f"Comment by {line.text}")
        self.current = node
        self.chain = [node]
        self.open = []

    def hn(self, line: _Line, header: _Header) -> None:
        node = self.new("header", None, author=header.user, header=line.text)
        if self.indented:
            while self.open and self.open[-1][0] >= line.indent:
                self.open.pop()
            node.parent = self.open[-1][1] if self.open else None
            self.open.append((line.indent, node))
        else:
            k = self.place(header)
            node.parent = self.chain[k] if k >= 0 else None
            self.chain = [*self.chain[: k + 1], node]
        self.current = node

    def place(self, h: _Header) -> int:
        """Index in ``chain`` of the parent of a comment with header ``h`` (-1: top level)."""
        chain = self.chain
        if h.hint == 1:
            return -1
        if not chain:
            self.counts["hn_guess"] += 1
            return -1
        if not h.prev:  # a first reply directly follows its parent
            if h.hint == 2 and len(chain) != 1:
                self.counts["hn_guess"] += 1
                return 0
            if h.hint == 3 and len(chain) < 2:
                self.counts["hn_guess"] += 1
            return len(chain) - 1
        if h.hint == 2:  # a later reply to the top-level comment on the path
            return 0
        # A later reply deeper down: its earlier sibling is one of the path's comments at depth
        # three or more. Only one candidate is certain; with more, take the shallowest, whose
        # parent is an ancestor of the comment whichever candidate is right.
        candidates = len(chain) - 2
        if candidates != 1:
            self.counts["hn_guess"] += 1
        return 1 if candidates >= 1 else len(chain) - 1
