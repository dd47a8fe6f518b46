"""What both page shapes share: comment nodes, paragraphs, replies markers, the final comments."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ...models import RawComment
from .lines import PLACEHOLDERS, Header, Line, NodeKind, listing
from .signals import RUN_ON_BREAKS, header_inside, unmarked_breaks


@dataclass(eq=False)
class Node:
    kind: NodeKind
    parent: Node | None
    author: str | None = None
    col: int = 0  # text column
    header: str | None = None  # the line that announced it, for warnings
    paras: list[list[tuple[int, str]]] = field(default_factory=list)  # (indent, text) lines
    closed: bool = False  # a reply block, a replies marker or its action links followed it
    split: bool = False  # began at a guessed boundary


class Builder:
    """What both page shapes share: paragraphs, replies markers, and the final comments."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.last: Node | None = None  # the comment that took the previous content line
        self.gap = True  # a blank or metadata line since the previous content line
        self.unloaded = 0
        self.counts: Counter[str] = Counter()
        self.soft: list[str] = []  # header lines without HN's links, as they were

    def feed(self, line: Line) -> None:
        if line.kind == "content":
            self.content(line)
            return
        self.gap = True
        if line.kind in ("replies", "end"):
            self.unloaded += line.count
            if self.last is not None:
                self.last.closed = True
        elif line.kind == "by":
            self.by(line)
        elif line.kind == "hn" and line.header is not None:
            self.hn(line, line.header)

    def content(self, line: Line) -> None:
        raise NotImplementedError

    def by(self, line: Line) -> None:
        raise NotImplementedError

    def hn(self, line: Line, header: Header) -> None:
        raise NotImplementedError

    def new(
        self,
        kind: NodeKind,
        parent: Node | None,
        *,
        author: str | None = None,
        col: int = 0,
        header: str | None = None,
        split: bool = False,
    ) -> Node:
        node = Node(kind, parent, author=author, col=col, header=header, split=split)
        self.nodes.append(node)
        return node

    def put(self, node: Node, indent: int, text: str) -> None:
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
        run_on: list[str] = []
        inside: list[tuple[str, str]] = []
        for node in kept:
            if unmarked_breaks(node.paras) >= RUN_ON_BREAKS:
                run_on.append(ids[id(node)])
            if (found := header_inside(node.paras)) is not None:
                inside.append((ids[id(node)], found))
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
                    status=PLACEHOLDERS.get(body, "ok"),
                )
            )
        out = self.warnings()
        if run_on:
            sizes = {c.id: len(c.text) for c in comments}
            shown = listing([f"{cid} ({sizes[cid]:,} characters)" for cid in run_on])
            out.append(
                f"text: {len(run_on)} comment(s) run three or more sentence-lines on with no "
                f"blank line, bullet or header between them: {shown}; if one holds several "
                "comments, the page does not show where they split"
            )
        if inside:
            shown = listing([f"{cid} ({found!r})" for cid, found in inside])
            out.append(
                f"text: {len(inside)} comment(s) hold text that looks like a comment header: "
                f"{shown}; several comments may have run together there"
            )
        return comments, out

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
                f"text: took only the first paragraph under {listing(names)} as that comment; "
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
        if self.soft:
            where = (
                "and put at the top level, as the page does not show where they sit"
                if c["soft_flat"]
                else "and placed by their indentation"
            )
            out.append(
                f"text: {len(self.soft)} line(s) looked like comment headers without HN's links "
                f"(e.g. {self.soft[0]!r}); a comment was started at each, {where}"
            )
        if c["after_end"]:
            out.append(
                f"text: {c['after_end']} comment(s) began after a comment's last line ('reply', "
                "'permalink …') with no header of their own; each was put beside the comment "
                "above, with no author"
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
                + listing([repr(h) for h in dropped])
            )
        return out
