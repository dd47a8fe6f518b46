"""Building the extractive summary's parts: claims with their citations, and the overview.

Statements are verbatim sentences; citations come from :func:`~service.grounding.cite`, so every
quote is sliced from the thread. Rebuttals are ranked by what backs and answers them and cut at
:data:`MAX_REBUTTALS`, with a warning for what is not shown.
"""

from __future__ import annotations

from ...grounding import cite
from ...models import Citation, Claim, Comment, Counter, Prevalence, Rebuttal, Thread
from ...text.wording import count, one_line
from .merging import merge_rebuttals
from .placing import ClaimDraft
from .reading import statement

MAX_REBUTTALS = 8
MAX_COUNTERS = 5
MAX_SUPPORTERS = 10
#: Longest claim statement the overview quotes in full.
OVERVIEW_QUOTE = 120


def build_claim(thread: Thread, draft: ClaimDraft, number: int, warnings: list[str]) -> Claim:
    """Claim ``K<number>`` of ``draft``; what is cut is noted in ``warnings``."""
    claim_id = f"K{number}"
    order = {c.id: i for i, c in enumerate(thread.comments)}
    rebuttals = sorted(
        merge_rebuttals(thread, draft.rebuttals),
        key=lambda r: (-(1 + len(r.evidence) + 2 * len(r.counters)), order[r.comment.id]),
    )
    dropped = max(0, len(rebuttals) - MAX_REBUTTALS)
    if dropped:
        warnings.append(f"{claim_id}: {dropped} further rebuttal(s) not shown")
    built: list[Rebuttal] = []
    for n, r in enumerate(rebuttals[:MAX_REBUTTALS], start=1):
        counters = [
            Counter(
                statement=statement(thread, co.evidence[0]),
                evidence=_citations(thread, co.evidence),
            )
            for co in r.counters[:MAX_COUNTERS]
        ]
        built.append(
            Rebuttal(
                id=f"{claim_id}.R{n}",
                statement=statement(thread, r.statement),
                evidence=_citations(thread, r.evidence),
                counters=counters,
            )
        )
    return Claim(
        id=claim_id,
        statement=statement(thread, draft.statement_sid),
        prevalence=_prevalence(thread, draft),
        evidence=_citations(thread, draft.evidence),
        supporters=_citations(thread, draft.supporters, MAX_SUPPORTERS),
        rebuttals=built,
    )


def _citations(thread: Thread, sids: list[str], limit: int | None = None) -> list[Citation]:
    """Citations for ``sids`` in order; adjacent sentences of one comment share a citation."""
    unique = list(dict.fromkeys(sids))
    return cite(thread, unique)[:limit]


def _prevalence(thread: Thread, draft: ClaimDraft) -> Prevalence:
    comments = [thread.by_id[c] for c in draft.comments]
    for sid in draft.supporters:
        comments.append(thread.by_key[sid.partition(".")[0]])
    unique = {c.id: c for c in comments}
    named = {c.author for c in unique.values() if c.author}
    anonymous = sum(1 for c in unique.values() if not c.author)
    return Prevalence(comments=len(unique), authors=len(named) + anonymous)


def overview(thread: Thread, claims: list[Claim], prompts: list[Comment]) -> str:
    """What the thread is, what it answers, its most-engaged claims and where it splits most."""
    n, authors = len(thread.comments), thread.authors
    unnamed = sum(1 for c in thread.comments if c.status == "ok" and not c.author)
    who = f" by {count(authors, 'author')}" if authors and not unnamed else ""
    title = f"“{thread.title}”" if thread.title else "This thread"
    depth = count(thread.max_depth, "level")
    parts = [f"{title}: {count(n, 'comment')}{who}, {depth} of replies deep."]
    if unnamed:
        parts.append(f"The source does not name the authors of {unnamed} of them.")
    if prompts:
        q = prompts[0].sentences[-1].text
        parts.append(f"It answers the question “{one_line(q)}”")
    if not claims:
        parts.append("No claims could be drawn from it.")
        return " ".join(parts)
    top = claims[:3]
    listed = "; ".join(
        f"“{_short(c.statement)}” ({count(c.prevalence.authors, 'author')}, "
        f"{count(len(c.rebuttals), 'rebuttal')})"
        for c in top
    )
    parts.append(f"The most-engaged claims: {listed}.")
    contested = max(claims, key=lambda c: (len(c.rebuttals), -int(c.id[1:])))
    if contested.rebuttals:
        counters = sum(len(r.counters) for r in contested.rebuttals)
        parts.append(
            f"It splits most over {contested.id}, which drew "
            f"{count(len(contested.rebuttals), 'rebuttal')}"
            + (f" answered by {count(counters, 'counter')}." if counters else ".")
        )
    else:
        parts.append("No claim drew clear pushback.")
    return " ".join(parts)


def _short(text: str, limit: int = OVERVIEW_QUOTE) -> str:
    # Not wording.one_line: a cut here drops the space before the ellipsis ("word…", not
    # "word …"), and the overview text is pinned.
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
