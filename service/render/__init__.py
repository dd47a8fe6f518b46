"""Render a :class:`~service.models.ThreadSummary` as JSON, Markdown or a self-contained HTML page.

Pure functions: no I/O, stdlib only. Everything in a summary (statements, quotes, authors, URLs,
warnings, even ids) may come from untrusted comment text or from a model, so:

- Markdown escapes every character that could start markup (``*``, ``_``, backticks, ``[``,
  ``<``, ``#``, ``|``, …, and ``-``/``+``/``=``/``1.`` at the start of a line): it renders as
  literal text in any CommonMark/GFM renderer; quotes keep each of their lines in the blockquote.
- HTML escapes everything with :func:`html.escape` (``quote=True``) and ships a Content Security
  Policy that forbids scripts and every external resource.
- Only ``http(s)`` URLs become links (:func:`link_target`); anything else is shown as text.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Final, Literal, get_args
from urllib.parse import quote as _percent_encode

from ..models import Citation, Claim, Counter, Rebuttal, ThreadSummary

Format = Literal["json", "markdown", "html"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)
MEDIA_TYPES: Final[dict[Format, str]] = {
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}

_SOURCES: Final = {"hn": "Hacker News", "reddit": "Reddit", "native": "Native", "text": "Text"}


def render(summary: ThreadSummary, fmt: Format) -> str:
    """Render ``summary`` in the format ``fmt`` (one of :data:`FORMATS`)."""
    renderers: dict[str, Callable[[ThreadSummary], str]] = {
        "json": render_json,
        "markdown": render_markdown,
        "html": render_html,
    }
    try:
        renderer = renderers[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}") from None
    return renderer(summary)


# --- JSON -----------------------------------------------------------------------------------


def render_json(summary: ThreadSummary) -> str:
    """The summary as indented JSON in model field order, ending in a newline.

    Equal summaries give byte-identical output, and the output validates back into an equal
    :class:`ThreadSummary`. A non-finite float (which JSON cannot hold) raises ``ValueError``.
    """
    data = summary.model_dump(mode="json")
    return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


# --- Shared helpers ------------------------------------------------------------------------

_HTTP_URL = re.compile(r"https?://[^/?#\s\\]", re.IGNORECASE)
# Characters that end or confuse a Markdown link destination or an HTML attribute.
_URL_UNSAFE: Final = frozenset(" ()<>\"'`\\")


def link_target(url: str | None) -> str | None:
    """``url`` made safe to put in a link, or ``None`` when it must not be linked.

    Only absolute ``http``/``https`` URLs with a host qualify (``javascript:``, ``data:``,
    relative and scheme-relative URLs do not). Spaces, parentheses, quotes, angle brackets,
    backslashes, backticks and invisible or control characters are percent-encoded; existing
    percent-escapes are left alone. The result still needs HTML escaping inside an attribute.
    """
    if url is None:
        return None
    url = url.strip()
    if not _HTTP_URL.match(url):
        return None
    return "".join(
        _percent_encode(ch, safe="")
        if ch in _URL_UNSAFE or unicodedata.category(ch)[0] in "CZ"
        else ch
        for ch in url
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _prevalence(claim: Claim) -> str:
    p = claim.prevalence
    return f"{_count(p.comments, 'comment')} · {_count(p.authors, 'author')}"


def _title(summary: ThreadSummary) -> str:
    return _one_line(summary.thread.title or "") or f"Thread {_one_line(summary.thread.id)}"


def _meta(summary: ThreadSummary) -> list[str]:
    t = summary.thread
    return [
        _SOURCES.get(t.source, t.source),
        _count(t.comments, "comment"),
        _count(t.authors, "author"),
        f"max depth {t.max_depth}",
        _engine(summary),
    ]


def _engine(summary: ThreadSummary) -> str:
    e = summary.engine
    return f"{e.kind} engine" + (f" ({e.model})" if e.model else "")


def _stats(summary: ThreadSummary) -> list[str]:
    s, e = summary.stats, summary.engine
    parts = [
        _count(s.chunks, "chunk"),
        _count(s.llm_calls, "LLM call"),
        f"{s.prompt_tokens:,} prompt + {s.completion_tokens:,} completion tokens",
        _count(s.cache_hits, "cache hit"),
        _count(s.reasks, "re-ask"),
        _count(s.dropped_citations, "dropped citation"),
        f"{s.elapsed_s:.1f} s",
    ]
    if e.output_mode:
        parts.append(f"output mode {e.output_mode}")
    if e.version:
        parts.append(f"engine version {e.version}")
    if e.prompt_digest:
        parts.append(f"prompt {e.prompt_digest[:12]}")
    parts.append(f"schema v{summary.schema_version}")
    return parts


def _who(citation: Citation) -> str:
    return _one_line(citation.author or "") or f"comment {_one_line(citation.comment_id)}"


# --- Markdown ------------------------------------------------------------------------------

# Escaped wherever they appear: emphasis, code, links, images, raw HTML and autolinks, headings,
# tables, strikethrough, entities, math, attribute lists (kramdown) and the escape itself; and
# "(" right after "]", so that no "](" ever appears.
_MD_ESCAPE = re.compile(r"([\\`*_{}\[\]<>#|~&$]|(?<=\])\()")
# Escaped only at the start of a line: bullets, setext underlines, ordered-list markers.
_MD_LINE_START = re.compile(r"^(?:(?=[-+=])|([0-9]+)(?=[.)]))")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]+")


def _md_line(line: str) -> str:
    """One line of text as Markdown that renders to exactly that text, without its outer
    whitespace (which could make a code block or a hard break)."""
    escaped = _MD_ESCAPE.sub(r"\\\1", line.strip())
    return _MD_LINE_START.sub(lambda m: (m.group(1) or "") + "\\", escaped)


def escape_markdown(text: str) -> str:
    """Untrusted ``text`` as one line of Markdown that renders to exactly that text.

    Newlines and runs of whitespace become single spaces; every character that could start
    Markdown or HTML markup is backslash-escaped.
    """
    return _md_line(_one_line(text))


_md = escape_markdown


def _md_link(text: str, url: str | None, *, url_as_text: bool = True) -> str:
    """A link for http(s) URLs; otherwise the text, followed by the URL as plain text."""
    target = link_target(url)
    if target is not None:
        return f"[{_md(text)}]({target})"
    if url_as_text and url and url.strip():
        return f"{_md(text)} ({_md(url)})"
    return _md(text)


def _md_attribution(citation: Citation) -> str:
    out = _md_link(_who(citation), citation.url)
    ids = " ".join(f"`{i}`" if _SAFE_ID.fullmatch(i) else _md(i) for i in citation.sentence_ids)
    return f"{out} · {ids}" if ids else out


def _md_blockquote(text: str, indent: str = "") -> list[str]:
    """Every line of ``text`` inside one blockquote; blank lines separate paragraphs."""
    paragraphs: list[list[str]] = [[]]
    for raw in text.splitlines():
        line = _md_line(raw)
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    out: list[str] = []
    for lines in (p for p in paragraphs if p):
        if out:
            out.append(f"{indent}>")
        out += [f"{indent}> {line}  " for line in lines[:-1]]  # two spaces: a hard line break
        out.append(f"{indent}> {lines[-1]}")
    return out


def _md_evidence(citations: Iterable[Citation], indent: str = "") -> list[str]:
    """Each citation as a blockquote ending in ``— [author](url) · `c1.2` ``."""
    out: list[str] = []
    for citation in citations:
        quote = _md_blockquote(citation.quote, indent)
        if quote:
            out += [*quote, f"{indent}>"]
        out += [f"{indent}> — {_md_attribution(citation)}", ""]
    return out


def _md_claim(claim: Claim) -> list[str]:
    out = [f"## {_md(claim.id)} · {_md(claim.statement)}", "", f"**{_prevalence(claim)}**", ""]
    out += _md_evidence(claim.evidence)
    if claim.supporters:
        out += ["**Supporters**", ""]
        for s in claim.supporters:
            out += [f"- {_md_attribution(s)}", *_md_blockquote(s.quote, "  ")]
        out.append("")
    for rebuttal in claim.rebuttals:
        out += _md_rebuttal(rebuttal)
    return out


def _md_rebuttal(rebuttal: Rebuttal) -> list[str]:
    out = [
        f"### {_md(rebuttal.id)} · {_md(rebuttal.statement)}",
        "",
        *_md_evidence(rebuttal.evidence),
    ]
    for counter in rebuttal.counters:
        out += _md_counter(counter)
    return out


def _md_counter(counter: Counter) -> list[str]:
    out = [f"- ↳ counter: {_md(counter.statement)}", ""]
    return out + _md_evidence(counter.evidence, "  ")


def render_markdown(summary: ThreadSummary) -> str:
    """The argument map as Markdown (CommonMark/GFM): claims, evidence, rebuttals, counters.

    Everything taken from the summary renders as literal text; only http(s) URLs are linked.
    """
    url = summary.thread.url
    meta = _meta(summary)
    if url and url.strip() and link_target(url) is None:
        meta.append(url)
    out = [f"# {_md_link(_title(summary), url, url_as_text=False)}", ""]
    out += [_md(" · ".join(meta)), ""]
    if summary.overview.strip():
        out += [_md(summary.overview), ""]
    if not summary.claims:
        out += ["*No claims were found.*", ""]
    for claim in summary.claims:
        out += _md_claim(claim)
    if summary.warnings:
        out += ["## Warnings", "", *(f"- {_md(w)}" for w in summary.warnings), ""]
    out += ["---", "", _md(" · ".join(_stats(summary)))]
    return "\n".join(out) + "\n"


# --- HTML ----------------------------------------------------------------------------------

_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'"

_CSS: Final = """
:root {
  color-scheme: light dark;
  --bg: #f7f5f0; --fg: #1d2125; --muted: #5d646d; --card: #ffffff; --line: #e2ded4;
  --link: #1a5bb5; --quote-bg: #f4f1ea; --quote-bar: #c8c1b1;
  --badge-bg: #e6edf9; --badge-fg: #1c4d96; --id-bg: #1d2125; --id-fg: #ffffff;
  --rebut: #b4441a; --rebut-bg: #fcf1eb; --counter: #2a7447; --counter-bg: #edf6f0;
  --warn-bg: #fff5d6; --warn-line: #d9ae2c;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #131518; --fg: #e4e1da; --muted: #9ba1a9; --card: #1c1f23; --line: #30343a;
    --link: #8cb8f7; --quote-bg: #23262b; --quote-bar: #4d535c;
    --badge-bg: #22314b; --badge-fg: #b3cdf7; --id-bg: #e4e1da; --id-fg: #131518;
    --rebut: #f2a27e; --rebut-bg: #2b201b; --counter: #8fd0a6; --counter-bg: #19271f;
    --warn-bg: #2d2712; --warn-line: #8d7525;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 17px/1.6 Charter, "Bitstream Charter", "Sitka Text", Cambria, Georgia, serif;
  -webkit-text-size-adjust: 100%;
}
.page { max-width: 48rem; margin: 0 auto; padding: 2.5rem 1.25rem 3rem; }
h1, h2, h3, h4, summary, .meta, .badge, .cid, .rid, cite, .ids, .stats, .label, .counter > p {
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
}
a { color: var(--link); text-decoration-thickness: 1px; text-underline-offset: 2px; }
h1 { font-size: 1.9rem; line-height: 1.25; margin: 0 0 .5rem; overflow-wrap: anywhere; }
h1 a { color: inherit; text-decoration: none; }
h1 a:hover { text-decoration: underline; }
h2 { font-size: .8rem; letter-spacing: .08em; text-transform: uppercase; color: var(--muted);
  margin: 2.5rem 0 .75rem; }
.meta { color: var(--muted); font-size: .9rem; margin: 0; overflow-wrap: anywhere; }
.meta span + span::before, .stats span + span::before { content: " · "; }
.overview { font-size: 1.1rem; margin: 0; }
.claim { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 1.25rem 1.4rem 1.1rem; margin: 0 0 1.25rem; }
.claim-head { display: grid; grid-template-columns: auto 1fr; gap: .2rem .75rem;
  align-items: baseline; }
.cid, .rid { font-size: .78rem; font-weight: 700; border-radius: 6px; padding: .1rem .45rem;
  max-width: 9rem; overflow-wrap: anywhere; }
.cid { background: var(--id-bg); color: var(--id-fg); }
.claim h3 { font-size: 1.2rem; line-height: 1.35; margin: 0; overflow-wrap: anywhere; }
.badge { grid-column: 2; justify-self: start; font-size: .78rem; font-weight: 600;
  background: var(--badge-bg); color: var(--badge-fg); border-radius: 999px;
  padding: .05rem .6rem; }
blockquote { margin: .9rem 0; padding: .6rem .9rem; background: var(--quote-bg);
  border-left: 3px solid var(--quote-bar); border-radius: 0 8px 8px 0; }
blockquote p { margin: 0; white-space: pre-line; overflow-wrap: anywhere; }
blockquote footer { margin-top: .35rem; font-size: .85rem; color: var(--muted); }
cite { font-style: normal; font-weight: 600; }
.ids code { font: .75rem/1 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  color: var(--muted); margin-left: .35rem; }
.label { font-size: .8rem; font-weight: 600; color: var(--muted); margin: 1rem 0 .25rem; }
details > summary { cursor: pointer; }
.supporters { margin: .75rem 0; }
.supporters > summary { font-size: .88rem; color: var(--muted); }
.supporters blockquote { font-size: .95rem; }
.rebuttal { border-left: 3px solid var(--rebut); background: var(--rebut-bg);
  border-radius: 0 10px 10px 0; padding: .6rem .9rem; margin: .9rem 0 0; }
.rebuttal > summary { font-weight: 600; line-height: 1.4; overflow-wrap: anywhere; }
.rebuttal > summary h4 { display: inline; font-size: 1rem; margin: 0; }
.rid { color: var(--rebut); border: 1px solid var(--rebut); margin-right: .4rem; }
.rebuttal blockquote { background: var(--card); }
.counter { border-left: 3px solid var(--counter); background: var(--counter-bg);
  border-radius: 0 8px 8px 0; padding: .5rem .8rem; margin: .75rem 0 .25rem 1rem; }
.counter > p { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.counter .arrow { color: var(--counter); margin-right: .3rem; }
.empty { color: var(--muted); font-style: italic; }
.warnings { background: var(--warn-bg); border-left: 3px solid var(--warn-line);
  border-radius: 0 8px 8px 0; margin: 0; padding: .75rem 1rem .75rem 2rem; }
.warnings li { overflow-wrap: anywhere; }
.stats { margin-top: 2.5rem; padding-top: 1rem; border-top: 1px solid var(--line);
  color: var(--muted); font-size: .8rem; }
@media (max-width: 560px) {
  body { font-size: 16px; }
  h1 { font-size: 1.5rem; }
  .claim { padding: 1rem; }
  .counter { margin-left: .4rem; }
}
"""


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
        f"<footer>— <cite>{_h_link(_who(citation), citation.url)}</cite>"
        + (f'<span class="ids">{ids}</span>' if ids else "")
        + "</footer></blockquote>"
    )


def _h_counter(counter: Counter) -> str:
    return (
        '<div class="counter">'
        f'<p><span class="arrow" aria-hidden="true">↳</span>{_h(_one_line(counter.statement))}</p>'
        + "".join(_h_citation(c) for c in counter.evidence)
        + "</div>"
    )


def _h_rebuttal(rebuttal: Rebuttal) -> str:
    return (
        '<details class="rebuttal" open>'
        f'<summary><span class="rid">{_h(rebuttal.id)}</span>'
        f"<h4>{_h(_one_line(rebuttal.statement))}</h4></summary>"
        + "".join(_h_citation(c) for c in rebuttal.evidence)
        + "".join(_h_counter(c) for c in rebuttal.counters)
        + "</details>"
    )


def _h_claim(claim: Claim) -> str:
    parts = [
        '<article class="claim">',
        '<header class="claim-head">',
        f'<span class="cid">{_h(claim.id)}</span>',
        f"<h3>{_h(_one_line(claim.statement))}</h3>",
        f'<span class="badge">{_h(_prevalence(claim))}</span>',
        "</header>",
        *(_h_citation(c) for c in claim.evidence),
    ]
    if claim.supporters:
        names = list(dict.fromkeys(_who(s) for s in claim.supporters))
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        parts += [
            '<details class="supporters">',
            f"<summary>Supported by {_h(shown)}</summary>",
            *(_h_citation(s) for s in claim.supporters),
            "</details>",
        ]
    if claim.rebuttals:
        parts += [
            f'<p class="label">{_h(_count(len(claim.rebuttals), "rebuttal"))}</p>',
            *(_h_rebuttal(r) for r in claim.rebuttals),
        ]
    return "\n".join([*parts, "</article>"])


def render_html(summary: ThreadSummary) -> str:
    """The argument map as one self-contained, script-free HTML page (inline CSS, light/dark)."""
    title = _title(summary)
    meta = "".join(f"<span>{_h(part)}</span>" for part in _meta(summary))
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
    body.append(f"<h2>{_h(_count(len(summary.claims), 'claim'))}</h2>")
    if not summary.claims:
        body.append('<p class="empty">No claims were found.</p>')
    body += [_h_claim(c) for c in summary.claims]
    if summary.warnings:
        items = "".join(f"<li>{_h(w)}</li>" for w in summary.warnings)
        body += ["<h2>Warnings</h2>", f'<ul class="warnings">{items}</ul>']
    body.append("</main>")
    stats = "".join(f"<span>{_h(part)}</span>" for part in _stats(summary))
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
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        '<div class="page">',
    ]
    return "\n".join([*head, *body, "</div>", "</body>", "</html>"]) + "\n"
