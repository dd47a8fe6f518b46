"""Render a :class:`~service.models.ThreadSummary` as JSON, Markdown or a self-contained HTML page.

Pure functions: no I/O beyond reading the package's stylesheet and templates. Everything in a
summary (statements, quotes, authors, URLs, warnings, even ids) may come from untrusted comment
text or from a model, so:

- Markdown escapes every character that could start markup (``*``, ``_``, backticks, ``[``,
  ``<``, ``#``, ``|``, …, and ``-``/``+``/``=``/``1.`` at the start of a line): it renders as
  literal text in any CommonMark/GFM renderer; quotes keep each of their lines in the blockquote.
- HTML comes from Jinja2 templates with autoescaping (``service/web/templates``); the saved page
  ships a Content Security Policy that forbids scripts and every external resource.
- Only ``http(s)`` URLs become links (:func:`link_target`); anything else is shown as text.

Modules: :mod:`.jsonout`, :mod:`.markdown`, :mod:`.html` (CSS in ``style.css``), :mod:`.view`
(what the HTML templates show), and :mod:`.common` for what Markdown and HTML share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal, get_args

from ..models import Thread, ThreadSummary
from .common import link_target
from .html import render_html
from .jsonout import render_json
from .markdown import escape_markdown, render_markdown

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "Format",
    "escape_markdown",
    "link_target",
    "render",
    "render_html",
    "render_json",
    "render_markdown",
]

Format = Literal["json", "markdown", "html"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)
MEDIA_TYPES: Final[dict[Format, str]] = {
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}

_RENDERERS: Final[dict[str, Callable[[ThreadSummary], str]]] = {
    "json": render_json,
    "markdown": render_markdown,
    "html": render_html,
}


def render(summary: ThreadSummary, fmt: Format, *, thread: Thread | None = None) -> str:
    """Render ``summary`` in the format ``fmt`` (one of :data:`FORMATS`).

    ``thread``, the summarized thread, lets the HTML page show quoted comments in context.
    """
    if fmt == "html":
        return render_html(summary, thread)
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}") from None
    return renderer(summary)
