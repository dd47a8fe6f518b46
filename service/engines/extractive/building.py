"""Building the extractive summary's parts: claims with their citations, and the overview.

Statements are verbatim sentences; citations come from :func:`~service.grounding.cite`, so every
quote is sliced from the thread, and no list of them repeats a quote. Rebuttals are ranked by what
backs and answers them and cut at :data:`MAX_REBUTTALS`, with a warning for what is not shown.
Prevalence and controversy count a repeated comment (:mod:`~service.engines.duplicates`) once.
"""

from __future__ import annotations

from ...grounding import cite, distinct_quotes
from ...models import (
    Citation,
    Claim,
    Comment,
    Controversy,
    Counter,
    Prevalence,
    Rebuttal,
    Thread,
)
from ...text.wording import count, one_line
from ..controversy import author_keys, measure, split_sentence
from ..duplicates import Duplicates
from .merging import merge_rebuttals
from .placing import ClaimDraft, RebuttalDraft
from .reading import statement

MAX_REBUTTALS = 8
MAX_COUNTERS = 5
MAX_SUPPORTERS = 10
#: Longest claim statement the overview quotes in full.
OVERVIEW_QUOTE = 120


def build_claim(
    thread: Thread,
    draft: ClaimDraft,
    number: int,
    warnings: list[str],
    duplicates: Duplicates | None = None,
) -> Claim:
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
        prevalence=_prevalence(thread, draft, duplicates),
        evidence=_citations(thread, draft.evidence),
        supporters=_citations(thread, draft.supporters, MAX_SUPPORTERS),
        rebuttals=built,
        controversy=_controversy(thread, draft, rebuttals, duplicates),
    )


def _citations(thread: Thread, sids: list[str], limit: int | None = None) -> list[Citation]:
    """Citations for ``sids`` in order; adjacent sentences of one comment share a citation, and
    a quote already cited (a copy of a comment, a repeated quote) is not cited again."""
    unique = list(dict.fromkeys(sids))
    return distinct_quotes(cite(thread, unique))[:limit]


def _comment_of(thread: Thread, sid: str) -> Comment:
    return thread.by_key[sid.partition(".")[0]]


def _prevalence(thread: Thread, draft: ClaimDraft, duplicates: Duplicates | None) -> Prevalence:
    comments = [thread.by_id[c] for c in draft.comments]
    comments += [_comment_of(thread, sid) for sid in draft.supporters]
    first = duplicates.canonical if duplicates is not None else str
    unique = {first(c.id) for c in comments}
    return Prevalence(comments=len(unique), authors=len(author_keys(comments, duplicates, thread)))


def _controversy(
    thread: Thread,
    draft: ClaimDraft,
    rebuttals: list[RebuttalDraft],
    duplicates: Duplicates | None,
) -> Controversy:
    """Authors for the claim (makers, supporters, counters) and against it (rebuttals)."""
    backing = [thread.by_id[c] for c in draft.comments]
    backing += [_comment_of(thread, sid) for sid in draft.supporters]
    backing += [_comment_of(thread, s) for r in rebuttals for co in r.counters for s in co.evidence]
    against = [r.comment for r in rebuttals]
    against += [_comment_of(thread, s) for r in rebuttals for s in r.evidence]
    return measure(
        author_keys(backing, duplicates, thread), author_keys(against, duplicates, thread)
    )


def overview(thread: Thread, claims: list[Claim], prompts: list[Comment]) -> str:
    """What the thread is, what it answers, its most-engaged claims and where people split most
    (:func:`~service.engines.controversy.split_sentence`)."""
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
    parts.append(split_sentence(claims))
    return " ".join(parts)


def _short(text: str, limit: int = OVERVIEW_QUOTE) -> str:
    # Not wording.one_line: a cut here drops the space before the ellipsis ("word…", not
    # "word …"), and the overview text is pinned.
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
