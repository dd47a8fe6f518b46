"""What the Markdown and HTML renderers share: which URLs may be linked, and the labels both show.

The labels (title, meta line, prevalence, stats line, who a citation is by) are plain text;
each renderer escapes them for its own format.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final
from urllib.parse import quote as _percent_encode

from ..models import Changes, Citation, Claim, ThreadSummary
from ..text.wording import count, one_line

_SOURCES: Final = {"hn": "Hacker News", "reddit": "Reddit", "native": "Native", "text": "Text"}

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


def counted(n: int, noun: str) -> str:
    """:func:`~service.text.wording.count` with digits grouped by thousands: "1,316 comments"."""
    return f"{n:,}" + count(n, noun)[len(str(n)) :]


def prevalence_label(claim: Claim) -> str:
    p = claim.prevalence
    return f"{counted(p.comments, 'comment')} · {counted(p.authors, 'author')}"


def page_title(summary: ThreadSummary) -> str:
    return one_line(summary.thread.title or "") or f"Thread {one_line(summary.thread.id)}"


def meta_parts(summary: ThreadSummary) -> list[str]:
    """The parts of the line under the title: source, size, depth and engine."""
    t, e = summary.thread, summary.engine
    return [
        _SOURCES.get(t.source, t.source),
        counted(t.comments, "comment"),
        counted(t.authors, "author"),
        f"max depth {t.max_depth}",
        f"{e.kind} engine" + (f" ({e.model})" if e.model else ""),
    ]


def stats_parts(summary: ThreadSummary) -> list[str]:
    """The parts of the closing line: what the run cost and what produced it."""
    s, e = summary.stats, summary.engine
    parts = [
        counted(s.chunks, "chunk"),
        counted(s.llm_calls, "LLM call"),
        f"{s.prompt_tokens:,} prompt + {s.completion_tokens:,} completion tokens",
        counted(s.cache_hits, "cache hit"),
        counted(s.reasks, "re-ask"),
        counted(s.dropped_citations, "dropped citation"),
        f"{s.elapsed_s:.1f} s",
    ]
    if s.cost_usd is not None:
        parts.append(f"${s.cost_usd:.4f}")
    elif e.kind == "llm":
        parts.append("cost unknown (no price known for the model)")
    if e.output_mode:
        parts.append(f"output mode {e.output_mode}")
    if e.version:
        parts.append(f"engine version {e.version}")
    if e.prompt_digest:
        parts.append(f"prompt {e.prompt_digest[:12]}")
    parts.append(f"schema v{summary.schema_version}")
    return parts


def who(citation: Citation) -> str:
    """The author of a cited comment, or the comment's id when the source names no author."""
    return one_line(citation.author or "") or f"comment {one_line(citation.comment_id)}"


def _signed(n: int, noun: str) -> str:
    return f"{'+' if n > 0 else '−'}{count(abs(n), noun)}"


def change_lines(changes: Changes) -> list[str]:
    """What changed, one plain-text line per item (every face escapes them its own way)."""
    lines = [
        f"{counted(changes.new_comments, 'new comment')} since the earlier summary "
        f"({counted(changes.since_comments, 'comment')} then)."
    ]
    for claim_id in changes.new_claims:
        lines.append(f"New claim {claim_id}.")
    for change in changes.updated:
        parts = []
        delta = change.prevalence_delta
        if delta.comments:
            parts.append(_signed(delta.comments, "comment"))
        if delta.authors:
            parts.append(_signed(delta.authors, "author"))
        if change.new_rebuttals:
            parts.append(
                f"{counted(len(change.new_rebuttals), 'new rebuttal')} "
                f"({', '.join(change.new_rebuttals)})"
            )
        if change.new_counters:
            parts.append(counted(len(change.new_counters), "new counter"))
        if change.new_supporters:
            parts.append(counted(len(change.new_supporters), "new supporter"))
        if change.new_evidence:
            parts.append(counted(len(change.new_evidence), "new quote"))
        lines.append(f"{change.claim_id}: {'; '.join(parts)}.")
    for gone in changes.gone:
        where = f", merged into {gone.merged_into}" if gone.merged_into else ""
        lines.append(f"{gone.claim_id} is no longer in the map{where}: {one_line(gone.statement)}")
    for old, new in changes.renamed.items():
        lines.append(f"{old} is now {new} (its first quote changed).")
    if changes.empty:
        lines.append("Nothing else changed.")
    return lines
