"""The argument map as one self-contained, script-free HTML page (inline CSS, light and dark).

Every string from the summary is escaped with :func:`html.escape` (``quote=True``); the page
ships a Content Security Policy that forbids scripts and every external resource, and only
http(s) URLs become links (:func:`~service.render.common.link_target`). The stylesheet is package
data (``style.css``), inlined into each page.
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from typing import Final

from ..models import Citation, Claim, Counter, Rebuttal, ThreadSummary
from ..text.wording import one_line
from .common import counted, link_target, meta_parts, page_title, prevalence_label, stats_parts, who

_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'"


@cache
def stylesheet() -> str:
    """The page's CSS, read once from the package."""
    return resources.files("service.render").joinpath("style.css").read_text(encoding="utf-8")


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _h_link(text: str, url: str | None, *, url_as_text: bool = True) -> str:
    """A link for http(s) URLs; otherwise the text, followed by the URL as plain text."""
    target = link_target(url)
    if target is not None:
        return f'<a href="{_h(target)}" rel="nofollow noopener">{_h(text)}</a>'
    if url_as_text and url and url.strip():
        return f'{_h(text)} <span class="url">({_h(url.strip())})</span>'
    return _h(text)


def _h_citation(citation: Citation) -> str:
    ids = "".join(f"<code>{_h(i)}</code>" for i in citation.sentence_ids)
    return (
        f"<blockquote><p>{_h(citation.quote.strip())}</p>"
        f"<footer>— <cite>{_h_link(who(citation), citation.url)}</cite>"
        + (f'<span class="ids">{ids}</span>' if ids else "")
        + "</footer></blockquote>"
    )


def _h_counter(counter: Counter) -> str:
    return (
        '<div class="counter">'
        f'<p><span class="arrow" aria-hidden="true">↳</span>{_h(one_line(counter.statement))}</p>'
        + "".join(_h_citation(c) for c in counter.evidence)
        + "</div>"
    )


def _h_rebuttal(rebuttal: Rebuttal) -> str:
    return (
        '<details class="rebuttal" open>'
        f'<summary><span class="rid">{_h(rebuttal.id)}</span>'
        f"<h4>{_h(one_line(rebuttal.statement))}</h4></summary>"
        + "".join(_h_citation(c) for c in rebuttal.evidence)
        + "".join(_h_counter(c) for c in rebuttal.counters)
        + "</details>"
    )


def _h_claim(claim: Claim) -> str:
    parts = [
        '<article class="claim">',
        '<header class="claim-head">',
        f'<span class="cid">{_h(claim.id)}</span>',
        f"<h3>{_h(one_line(claim.statement))}</h3>",
        f'<span class="badge">{_h(prevalence_label(claim))}</span>',
        "</header>",
        *(_h_citation(c) for c in claim.evidence),
    ]
    if claim.supporters:
        names = list(dict.fromkeys(who(s) for s in claim.supporters))
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        parts += [
            '<details class="supporters">',
            f"<summary>Supported by {_h(shown)}</summary>",
            *(_h_citation(s) for s in claim.supporters),
            "</details>",
        ]
    if claim.rebuttals:
        parts += [
            f'<p class="label">{_h(counted(len(claim.rebuttals), "rebuttal"))}</p>',
            *(_h_rebuttal(r) for r in claim.rebuttals),
        ]
    return "\n".join([*parts, "</article>"])


def render_html(summary: ThreadSummary) -> str:
    """The argument map as one self-contained, script-free HTML page (inline CSS, light/dark)."""
    title = page_title(summary)
    meta = "".join(f"<span>{_h(part)}</span>" for part in meta_parts(summary))
    url = summary.thread.url
    if url and url.strip() and link_target(url) is None:
        meta += f'<span class="url">{_h(url.strip())}</span>'
    body = [
        "<header>",
        f"<h1>{_h_link(title, url, url_as_text=False)}</h1>",
        f'<p class="meta">{meta}</p>',
        "</header>",
        "<main>",
    ]
    if summary.overview.strip():
        body += ["<h2>Overview</h2>", f'<p class="overview">{_h(summary.overview.strip())}</p>']
    body.append(f"<h2>{_h(counted(len(summary.claims), 'claim'))}</h2>")
    if not summary.claims:
        body.append('<p class="empty">No claims were found.</p>')
    body += [_h_claim(c) for c in summary.claims]
    if summary.warnings:
        items = "".join(f"<li>{_h(w)}</li>" for w in summary.warnings)
        body += ["<h2>Warnings</h2>", f'<ul class="warnings">{items}</ul>']
    body.append("</main>")
    stats = "".join(f"<span>{_h(part)}</span>" for part in stats_parts(summary))
    body.append(f'<footer class="stats">{stats}</footer>')
    head = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_h(_CSP)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="generator" content="threadsum">',
        f"<title>{_h(title)}</title>",
        f"<style>\n{stylesheet()}</style>",
        "</head>",
        "<body>",
        '<div class="page">',
    ]
    return "\n".join([*head, *body, "</div>", "</body>", "</html>"]) + "\n"
