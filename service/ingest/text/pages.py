"""The two page shapes: bullet-indented pages and pages copied from news.ycombinator.com."""

from __future__ import annotations

from .builder import Builder, Node
from .lines import Header, Line


class BulletBuilder(Builder):
    """Bullet pages: nesting by bullets and indentation, outer-level comments guessed."""

    def __init__(self, base: int) -> None:
        super().__init__()
        self.base = base  # indentation shared by every content line, ignored
        self.stack: list[Node] = []  # the open comments, outermost first

    def by(self, line: Line) -> None:
        header = f"Comment by {line.text}"
        self.stack = [self.new("focus", None, author=line.text, header=header)]

    def content(self, line: Line) -> None:
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


class HnBuilder(Builder):
    """Header pages: a header line starts each comment; its links or indentation place it.

    Headers are HN's (``user 3 hours ago | parent | next [–]``) or shorter ones without links
    (``bob 2 hours ago``, ``[–] bob 5 points 3 hours ago``, ``bob · 3h``), which start a comment
    too; without indentation such a comment goes to the top level, with a warning.
    """

    def __init__(self, *, indented: bool) -> None:
        super().__init__()
        self.indented = indented
        self.current: Node | None = None  # takes every content line until the next header
        self.chain: list[Node] = []  # the path from a top-level comment to the latest header
        self.open: list[tuple[int, Node]] = []  # (indentation, comment) when indented

    def content(self, line: Line) -> None:
        if self.current is None:
            self.current = self.new("preamble", None)
        elif self.current.closed and self.current.kind != "preamble":
            # Text after a comment's last line ("reply") and before the next header: a comment
            # whose header the page lost. It is put beside the comment above, with no author.
            self.counts["after_end"] += 1
            node = self.new("after_end", self.current.parent)
            if self.chain and self.chain[-1] is self.current:
                self.chain[-1] = node
            if self.open and self.open[-1][1] is self.current:
                self.open[-1] = (self.open[-1][0], node)
            self.current = node
        self.put(self.current, line.indent, line.text)

    def by(self, line: Line) -> None:
        node = self.new("focus", None, author=line.text, header=f"Comment by {line.text}")
        self.current = node
        self.chain = [node]
        self.open = []

    def hn(self, line: Line, header: Header) -> None:
        node = self.new("header", None, author=header.user, header=line.text)
        if header.hint == 0:
            self.soft.append(line.text)
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

    def place(self, h: Header) -> int:
        """Index in ``chain`` of the parent of a comment with header ``h`` (-1: top level)."""
        chain = self.chain
        if h.hint == 0:  # a header without links: its place is not shown
            self.counts["soft_flat"] += 1
            return -1
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
