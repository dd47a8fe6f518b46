"""Convert Hacker News comment HTML (and Reddit ``body_html``) to clean plain text.

The output conventions are a contract shared with the other parsers and their tests:

- paragraphs (``<p>``, often unclosed on HN; ``</p>``, ``<div>``, headings) are separated by
  exactly one blank line; ``<br>`` is a line break;
- a link is ``TEXT (URL)``, or just ``URL`` when the text is the URL or a truncated display of
  it (HN shows long URLs as a prefix ending in ``...``);
- ``<i>``/``<em>`` → ``*x*``, ``<b>``/``<strong>`` → ``**x**``, ``<s>``/``<del>`` → ``~~x~~``,
  inline ``<code>`` → a backtick-quoted span (its spaces kept as they are);
- ``<pre>`` (with or without ``<code>``) is its own paragraph, a fenced block: three backticks,
  a newline, the code verbatim (entities decoded; trailing spaces of lines and blank lines
  around it dropped), a newline, three backticks;
- ``<ul>``/``<ol>`` items are lines ``- item`` / ``1. item`` (nested lists indented under their
  item); ``<blockquote>`` lines are prefixed ``> ``; table rows are lines of cells joined by
  `` | ``;
- every entity is decoded; lines are right-stripped, runs of whitespace in prose collapse to one
  space (HTML semantics: a newline in the source is a space, so plain text without tags loses
  its line breaks), ``&nbsp;`` is a space, zero-width spaces are dropped, and there are no
  leading or trailing blank lines.

Garbage never raises: unknown tags are transparent, unclosed tags end with the input, stray end
tags are ignored, and text outside any tag passes through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["html_to_text"]

# Elements that never have content.
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip
# Elements that start a new paragraph (or are structure around paragraphs).
_BLOCK = frozenset(
    {"address", "article", "aside", "blockquote", "caption", "dd", "details", "div", "dl", "dt",
     "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
     "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot",
     "th", "thead", "tr", "ul"}
)  # fmt: skip
# Elements whose content is not text a reader sees.
_HIDDEN = frozenset({"head", "script", "style", "template", "title"})
# Deeper nesting than this is garbage; further tags are ignored (their text is kept).
_MAX_NESTING = 100

# Spaces and tabs inside inline code are protected from whitespace collapsing by these
# private-use stand-ins (removed from the input first), restored at the very end.
_SPACE = "\ue000"
_TAB = "\ue001"
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_LINE_SPACE = re.compile(r"[ \t\u00a0]+")
_EDGES = re.compile(r"(\s*)(.*?)(\s*)", re.DOTALL)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def html_to_text(html: str) -> str:
    """Return the clean text of an HN comment's (or a Reddit ``body_html``'s) HTML.

    Never raises on malformed HTML; see the module docstring for the conventions.
    """
    builder = _TreeBuilder()
    builder.feed(html.replace(_SPACE, "").replace(_TAB, ""))
    builder.close()
    text = "\n\n".join(_blocks(builder.root.children))
    return text.replace(_SPACE, " ").replace(_TAB, "\t")


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[_Element | str] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    """A forgiving tree builder.

    It keeps one invariant that makes rendering simple: inline elements never contain blocks
    (a block start tag first closes any open inline elements), so the open-element stack is
    always some blocks followed by some inlines.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("#root")
        self._stack: list[_Element] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs, self_closing=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs, self_closing=True)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._stack) - 1, 0, -1):
            if self._stack[i].tag == tag:
                del self._stack[i:]
                return
        if tag in ("p", "br"):  # a stray </p> or </br> still breaks the text, as browsers do
            self._stack[-1].children.append(_Element(tag))

    def handle_data(self, data: str) -> None:
        children = self._stack[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += data
        else:
            children.append(data)

    def parse_html_declaration(self, i: int) -> int:
        """Parse ``<!…>``; a malformed ``<![`` section is kept as text instead of raising."""
        try:
            return super().parse_html_declaration(i)
        except AssertionError:  # _markupbase asserts on names it cannot scan, e.g. "<![<"
            self.handle_data("<!")
            return i + 2

    def _open(self, tag: str, attrs: list[tuple[str, str | None]], *, self_closing: bool) -> None:
        if tag in _BLOCK:
            self._close_inline()
            if self._stack[-1].tag == "p":
                self._stack.pop()
            if tag == "li":
                self._close_to("li", within=("ul", "ol"))
            elif tag in ("td", "th"):
                self._close_to("td", "th", within=("tr", "table"))
            elif tag == "tr":
                self._close_to("tr", within=("table",))
        element = _Element(tag)
        for name, value in attrs:
            element.attrs.setdefault(name, value or "")
        self._stack[-1].children.append(element)
        if not self_closing and tag not in _VOID and len(self._stack) < _MAX_NESTING:
            self._stack.append(element)

    def _close_inline(self) -> None:
        while len(self._stack) > 1 and self._stack[-1].tag not in _BLOCK:
            self._stack.pop()

    def _close_to(self, *tags: str, within: tuple[str, ...]) -> None:
        for i in range(len(self._stack) - 1, 0, -1):
            current = self._stack[i].tag
            if current in within:
                return
            if current in tags:
                del self._stack[i:]
                return


def _blocks(nodes: list[_Element | str]) -> list[str]:
    """Render a run of nodes as finished, non-empty paragraphs (or other blocks)."""
    out: list[str] = []
    inline: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            inline.append(_HTML_SPACE.sub(" ", node))
        elif node.tag in _BLOCK:
            out.extend(_prose("".join(inline)))
            inline.clear()
            out.extend(_block(node))
        else:
            inline.append(_inline(node))
    out.extend(_prose("".join(inline)))
    return out


def _prose(text: str) -> list[str]:
    """Split inline text into paragraphs at blank lines; tidy spaces in each line."""
    paragraphs: list[str] = []
    lines: list[str] = []
    for raw in text.replace("\u200b", "").split("\n"):
        line = _LINE_SPACE.sub(" ", raw).strip()
        if line:
            lines.append(line)
        elif lines:
            paragraphs.append("\n".join(lines))
            lines = []
    if lines:
        paragraphs.append("\n".join(lines))
    return paragraphs


def _block(element: _Element) -> list[str]:
    tag = element.tag
    if tag == "pre":
        return _fence(_raw_text(element))
    if tag in ("ul", "ol"):
        return _list(element)
    if tag == "blockquote":
        inner = "\n\n".join(_blocks(element.children))
        if not inner:
            return []
        return ["\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))]
    if tag == "table":
        return _table(element)
    if tag == "hr":
        return []
    return _blocks(element.children)


def _fence(code: str) -> list[str]:
    lines = [line.rstrip() for line in code.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return []
    return ["```\n" + "\n".join(lines) + "\n```"]


def _list(element: _Element) -> list[str]:
    ordered = element.tag == "ol"
    number = 1
    if ordered:
        try:
            number = int(element.attrs.get("start", "1"))
        except ValueError:
            number = 1
    lines: list[str] = []
    for child in element.children:
        if isinstance(child, str) or child.tag != "li":
            lines.extend(line for block in _blocks([child]) for line in block.split("\n"))
            continue
        marker = f"{number}." if ordered else "-"
        number += 1
        body = "\n".join(_blocks(child.children))
        if not body:
            continue
        pad = " " * (len(marker) + 1)
        first, *rest = body.split("\n")
        lines.append(f"{marker} {first}")
        lines.extend(pad + line if line else "" for line in rest)
    return ["\n".join(lines)] if lines else []


def _table(element: _Element) -> list[str]:
    lines: list[str] = []
    for child in element.children:
        if isinstance(child, str):
            lines.extend(_prose(_HTML_SPACE.sub(" ", child)))
        elif child.tag in ("thead", "tbody", "tfoot"):
            lines.extend(_table(child))
        elif child.tag == "tr":
            cells = [
                " ".join(" ".join(_blocks(cell.children)).split())
                for cell in child.children
                if isinstance(cell, _Element) and cell.tag in ("td", "th")
            ]
            row = " | ".join(cells).strip()
            if row:
                lines.append(row)
        else:
            lines.extend(_blocks([child]))
    return ["\n".join(lines)] if lines else []


def _inline(element: _Element) -> str:
    tag = element.tag
    if tag in _HIDDEN:
        return ""
    if tag == "br":
        return "\n"
    if tag == "img":
        return element.attrs.get("alt", "")
    if tag in ("i", "em"):
        return _wrap(_inlines(element.children), "*")
    if tag in ("b", "strong"):
        return _wrap(_inlines(element.children), "**")
    if tag in ("s", "del", "strike"):
        return _wrap(_inlines(element.children), "~~")
    if tag == "code":
        code = _raw_text(element).replace("\r", " ").replace("\n", " ")
        if not code.strip():
            return _HTML_SPACE.sub(" ", code)
        return "`" + code.replace(" ", _SPACE).replace("\t", _TAB) + "`"
    if tag == "a":
        return _link(element)
    return _inlines(element.children)


def _inlines(nodes: list[_Element | str]) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            parts.append(_HTML_SPACE.sub(" ", node))
        elif node.tag in _BLOCK:  # only past the nesting limit; keep it a paragraph break
            parts.append("\n\n" + "\n\n".join(_blocks([node])) + "\n\n")
        else:
            parts.append(_inline(node))
    return "".join(parts)


def _wrap(inner: str, mark: str) -> str:
    """Wrap ``inner`` in ``mark`` with surrounding whitespace moved outside the marks."""
    lead, core, trail = _split_edges(inner)
    return f"{lead}{mark}{core}{mark}{trail}" if core else inner


def _split_edges(text: str) -> tuple[str, str, str]:
    match = _EDGES.fullmatch(text)
    if match is None:  # cannot happen: the pattern matches any string
        return "", text, ""
    return match.group(1), match.group(2), match.group(3)


def _link(element: _Element) -> str:
    href = element.attrs.get("href", "").strip()
    lead, core, trail = _split_edges(_inlines(element.children))
    if not href:
        return f"{lead}{core}{trail}"
    label = " ".join(core.replace(_SPACE, " ").replace(_TAB, " ").split())
    body = href if not label or _shows_url(label, href) else f"{core} ({href})"
    return f"{lead}{body}{trail}"


def _shows_url(label: str, url: str) -> bool:
    """Whether a link's text is just its URL: equal, without the scheme, or truncated."""
    bare = _SCHEME.sub("", url)
    if label in (url, bare) or label.rstrip("/") in (url.rstrip("/"), bare.rstrip("/")):
        return True
    for ellipsis in ("...", "…"):
        if label.endswith(ellipsis):
            prefix = label[: -len(ellipsis)]
            return bool(prefix) and (url.startswith(prefix) or bare.startswith(prefix))
    return False


def _raw_text(element: _Element) -> str:
    """All text under ``element`` verbatim (``<br>`` as a newline), for code."""
    parts: list[str] = []
    for node in element.children:
        if isinstance(node, str):
            parts.append(node)
        elif node.tag == "br":
            parts.append("\n")
        elif node.tag not in _HIDDEN:
            parts.append(_raw_text(node))
    return "".join(parts)
