"""The argument map as HTML, from Jinja2 templates (``service/web/templates``) with autoescaping.

One renderer for two pages:

- :func:`render_html`: the saved page of ``--output html`` (and ``?output=html``), one
  self-contained, script-free file: CSS inlined, and a Content Security Policy that forbids
  scripts and every external resource. It stays navigable for a large thread: a table of
  contents, an anchor per claim and rebuttal, quotes beyond the first few and claims beyond the
  first ten behind "show N more" (``<details>``), counts everywhere, and, when the thread is
  given, every quoted comment in its reply context with the cited sentences marked.
- :func:`render_page`: the page ``threadsum serve`` answers at ``/`` (the form, and the same map
  fragment, :func:`render_map`), which loads its CSS and script from the server itself.

Every value from the summary is escaped by the environment (``autoescape=True``); the view
(:mod:`.view`) decides what becomes a link, and only http(s) URLs do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

import jinja2

from ..models import Thread, ThreadSummary
from .markdown import render_markdown
from .view import MapView, map_view

__all__ = ["SAVED_CSP", "FormValues", "render_html", "render_map", "render_page", "stylesheet"]

SAVED_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'"
"""The policy of a saved page: no script, nothing loaded from anywhere."""


@dataclass(frozen=True, slots=True)
class FormValues:
    """What the page's form shows: the values last submitted."""

    url: str = ""
    text: str = ""
    engine: str = "auto"


@cache
def stylesheet() -> str:
    """The pages' CSS, read once from the package."""
    return resources.files("service.render").joinpath("style.css").read_text(encoding="utf-8")


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("service.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _view(summary: ThreadSummary, thread: Thread | None) -> MapView:
    return map_view(summary, thread, render_markdown(summary))


def render_html(summary: ThreadSummary, thread: Thread | None = None) -> str:
    """The argument map as one self-contained, script-free HTML page.

    ``thread``, when given, is the summarized thread: quoted comments are then shown in their
    reply context, linked from each quote.
    """
    template = _environment().get_template("saved.html")
    return template.render(v=_view(summary, thread), css=stylesheet(), csp=SAVED_CSP)


def render_map(summary: ThreadSummary, thread: Thread | None = None) -> str:
    """The map fragment alone (what the page inserts when a summary arrives by events)."""
    return _environment().get_template("_map.html").render(v=_view(summary, thread))


def render_page(
    *,
    summary: ThreadSummary | None = None,
    thread: Thread | None = None,
    form: FormValues | None = None,
    error: str | None = None,
    engines: Sequence[tuple[str, str]] = (("auto", "auto"),),
    key_required: bool = False,
    root: str = "",
) -> str:
    """The page of ``threadsum serve``: the form, any error, and the map when there is one.

    ``root`` is the path the service is mounted under (its links start with it).
    """
    template = _environment().get_template("page.html")
    return template.render(
        v=_view(summary, thread) if summary is not None else None,
        form=form or FormValues(),
        error=error,
        engines=list(engines),
        key_required=key_required,
        root=root,
    )
