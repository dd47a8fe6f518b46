"""The argument map as Markdown (CommonMark/GFM) that renders every untrusted string literally.

Every character that could start markup (``*``, ``_``, backticks, ``[``, ``<``, ``#``, ``|``, …,
and ``-``/``+``/``=``/``1.`` at the start of a line) is backslash-escaped, so summary text renders
as literal text in any CommonMark/GFM renderer; quotes keep each of their lines in the
blockquote. Only http(s) URLs become links (:func:`~service.render.common.link_target`).

Claims are shown by topic (``## T1 · title``, its claims as ``###``, their rebuttals as
``####``); a summary without topics shows its claims flat (``##`` and ``###``). Claims left out
past the limit and repeated comments are counted in the text itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..models import Citation, Claim, Counter, DuplicateGroup, Rebuttal, ThreadSummary, Topic
from ..text.wording import one_line
from .common import (
    change_lines,
    counted,
    link_target,
    meta_parts,
    page_title,
    prevalence_label,
    stats_parts,
    who,
)

# Escaped wherever they appear: emphasis, code, links, images, raw HTML and autolinks, headings,
# tables, strikethrough, entities, math, attribute lists (kramdown) and the escape itself; and
# "(" right after "]", so that no "](" ever appears.
_MD_ESCAPE = re.compile(r"([\\`*_{}\[\]<>#|~&$]|(?<=\])\()")
# Escaped only at the start of a line: bullets, setext underlines, ordered-list markers.
_MD_LINE_START = re.compile(r"^(?:(?=[-+=])|([0-9]+)(?=[.)]))")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]+")
#: Groups of repeated comments listed (largest first); the JSON output has them all.
DUPLICATES_SHOWN = 20


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
    return _md_line(one_line(text))


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
    out = _md_link(who(citation), citation.url)
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


def _controversy_label(claim: Claim) -> str:
    c = claim.controversy
    if not c.against_authors:
        return ""
    return (
        f" · split: {counted(c.for_authors, 'author')} for, {c.against_authors:,} against"
        f" (controversy {c.score:g})"
    )


def _md_claim_label(claim: Claim, new: bool) -> str:
    split = _controversy_label(claim) + (" · new since the earlier summary" if new else "")
    return f"**{prevalence_label(claim)}**" + (f" {_md(split)}" if split else "")


def _md_claim(claim: Claim, level: int = 2, new: frozenset[str] = frozenset()) -> list[str]:
    head = "#" * level
    out = [
        f"{head} {_md(claim.id)} · {_md(claim.statement)}",
        "",
        _md_claim_label(claim, claim.id in new),
        "",
    ]
    out += _md_evidence(claim.evidence)
    if claim.supporters:
        out += ["**Supporters**", ""]
        for s in claim.supporters:
            out += [f"- {_md_attribution(s)}", *_md_blockquote(s.quote, "  ")]
        out.append("")
    for rebuttal in claim.rebuttals:
        out += _md_rebuttal(rebuttal, level + 1)
    return out


def _md_rebuttal(rebuttal: Rebuttal, level: int = 3) -> list[str]:
    out = [
        f"{'#' * level} {_md(rebuttal.id)} · {_md(rebuttal.statement)}",
        "",
        *_md_evidence(rebuttal.evidence),
    ]
    for counter in rebuttal.counters:
        out += _md_counter(counter)
    return out


def _md_topic(topic: Topic, claims: list[Claim], new: frozenset[str]) -> list[str]:
    p = topic.prevalence
    out = [
        f"## {_md(topic.id)} · {_md(topic.title)}",
        "",
        _md(
            f"{counted(len(claims), 'claim')} · {counted(p.comments, 'comment')} · "
            f"{counted(p.authors, 'author')}"
        ),
        "",
    ]
    for claim in claims:
        out += _md_claim(claim, 3, new)
    return out


def _md_claims(summary: ThreadSummary) -> list[str]:
    """The claims, by topic when the summary has topics; new ones marked so."""
    new = frozenset(summary.changes.new_claims if summary.changes else ())
    if not summary.topics:
        return [line for claim in summary.claims for line in _md_claim(claim, 2, new)]
    by_id = {c.id: c for c in summary.claims}
    out: list[str] = []
    placed: set[str] = set()
    for topic in summary.topics:
        claims = [by_id[k] for k in topic.claim_ids if k in by_id and k not in placed]
        placed.update(c.id for c in claims)
        out += _md_topic(topic, claims, new)
    rest = [c for c in summary.claims if c.id not in placed]
    if rest:
        out += ["## Other claims", ""]
        out += [line for claim in rest for line in _md_claim(claim, 3, new)]
    return out


def _md_duplicates(groups: list[DuplicateGroup]) -> list[str]:
    out = ["## Repeated comments", ""]
    out += [
        "Identical or near-identical comments; each group counts once in prevalence.",
        "",
    ]
    for g in groups[:DUPLICATES_SHOWN]:
        out.append(
            f"- {_md(f'{g.count:,} copies by ' + counted(g.authors, 'author'))}: "
            f"“{_md(g.excerpt)}” ({_md(', '.join(g.comment_ids[:5]))}"
            + (f" and {g.count - 5:,} more)" if g.count > 5 else ")")
        )
    if len(groups) > DUPLICATES_SHOWN:
        out.append(
            f"- … and {len(groups) - DUPLICATES_SHOWN:,} more groups (all in the JSON output)"
        )
    return [*out, ""]


def _md_counter(counter: Counter) -> list[str]:
    out = [f"- ↳ counter: {_md(counter.statement)}", ""]
    return out + _md_evidence(counter.evidence, "  ")


def render_markdown(summary: ThreadSummary) -> str:
    """The argument map as Markdown (CommonMark/GFM): claims, evidence, rebuttals, counters.

    Everything taken from the summary renders as literal text; only http(s) URLs are linked.
    """
    url = summary.thread.url
    meta = meta_parts(summary)
    if url and url.strip() and link_target(url) is None:
        meta.append(url)
    out = [f"# {_md_link(page_title(summary), url, url_as_text=False)}", ""]
    out += [_md(" · ".join(meta)), ""]
    if summary.overview.strip():
        out += [_md(summary.overview), ""]
    if summary.changes is not None:
        out += [
            "## What changed",
            "",
            *(f"- {_md(line)}" for line in change_lines(summary.changes)),
        ]
        out.append("")
    if not summary.claims:
        out += ["*No claims were found.*", ""]
    else:
        shown = counted(len(summary.claims), "claim")
        if summary.topics:
            shown += f" in {counted(len(summary.topics), 'topic')}"
        if summary.claims_omitted:
            shown += (
                f"; {summary.claims_omitted:,} further claim(s) with less engagement are "
                "not shown (raise THREADSUM_MAX_CLAIMS or --max-claims, 0 shows all)"
            )
        out += [f"*{_md(shown + '.')}*", ""]
    out += _md_claims(summary)
    if summary.duplicates:
        out += _md_duplicates(summary.duplicates)
    if summary.warnings:
        out += ["## Warnings", "", *(f"- {_md(w)}" for w in summary.warnings), ""]
    out += ["---", "", _md(" · ".join(stats_parts(summary)))]
    return "\n".join(out) + "\n"
