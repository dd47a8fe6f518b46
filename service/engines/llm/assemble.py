"""Assembly: the summary's claims built from the map and reduce results, with their citations.

Each thread claim gathers the evidence, supporters and rebuttals of the chunk claims it merges;
prevalence counts the comments and authors that make or back it. Claims are ranked by authors,
then rebuttals, then where they first appear; quotes are sliced from the thread by
:func:`~service.grounding.cite`, and no list of them repeats a quote. Repeated comments
(:mod:`~service.engines.duplicates`) count once in prevalence and controversy. A one-call
summary gets a template overview.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...grounding import cite, distinct_quotes
from ...models import Citation, Claim, Controversy, Counter, Prevalence, Rebuttal, Thread
from ...text.wording import count, one_line
from ..controversy import author_keys, measure
from ..duplicates import Duplicates
from .map import ChunkClaim, ChunkRebuttal


@dataclass
class ClaimGroup:
    """A thread claim: its statement and the chunk claims it is made of."""

    statement: str
    found: list[ChunkClaim]
    topic: str = ""  # the title of the topic the reduce put it in, "" for none


@dataclass
class _Draft:
    """A claim before ranking, with thread-global sentence ids."""

    statement: str
    evidence: list[str]
    supporters: list[str]
    rebuttals: list[ChunkRebuttal]
    comments: int
    authors: int
    first: int  # number of the first comment citing it, for a stable order
    controversy: Controversy
    topic: str


def build_claims(
    thread: Thread,
    groups: list[ClaimGroup],
    limit: int | None = None,
    duplicates: Duplicates | None = None,
) -> list[Claim]:
    """The ranked claims of ``groups``, at most ``limit`` (None: all), numbered ``K1…``."""
    return [claim for claim, _ in ranked_claims(thread, groups, limit, duplicates)]


def ranked_claims(
    thread: Thread,
    groups: list[ClaimGroup],
    limit: int | None = None,
    duplicates: Duplicates | None = None,
) -> list[tuple[Claim, str]]:
    """:func:`build_claims`, each claim with its group's topic title (``""`` for none)."""
    drafts = [_draft(thread, g, duplicates) for g in groups]
    drafts.sort(key=lambda d: (-d.authors, -len(d.rebuttals), d.first))
    return [(_claim(thread, d, n), d.topic) for n, d in enumerate(drafts[:limit], start=1)]


def _draft(thread: Thread, group: ClaimGroup, duplicates: Duplicates | None = None) -> _Draft:
    found = group.found
    evidence = list(dict.fromkeys(s for f in found for s in f.evidence))
    supporters = [
        s for s in dict.fromkeys(s for f in found for s in f.supporters) if s not in evidence
    ]
    keys = {s.partition(".")[0] for s in evidence + supporters}
    comments = [thread.by_key[k] for k in keys]
    first = duplicates.canonical if duplicates is not None else str
    rebuttals = [r for f in found for r in f.rebuttals]
    against = {s.partition(".")[0] for r in rebuttals for s in r.evidence}
    counters = {s.partition(".")[0] for r in rebuttals for c in r.counters for s in c.evidence}
    backing = comments + [thread.by_key[k] for k in counters]
    return _Draft(
        statement=group.statement,
        evidence=evidence,
        supporters=supporters,
        rebuttals=rebuttals,
        comments=len({first(c.id) for c in comments}),
        authors=len(author_keys(comments, duplicates, thread)),
        first=min((int(k[1:]) for k in keys), default=0),
        controversy=measure(
            author_keys(backing, duplicates, thread),
            author_keys((thread.by_key[k] for k in against), duplicates, thread),
        ),
        topic=group.topic,
    )


def _claim(thread: Thread, d: _Draft, n: int) -> Claim:
    return Claim(
        id=f"K{n}",
        statement=one_line(d.statement),
        prevalence=Prevalence(comments=d.comments, authors=d.authors),
        evidence=_cite(thread, d.evidence),
        supporters=_cite(thread, d.supporters),
        rebuttals=[
            Rebuttal(
                id=f"K{n}.R{m}",
                statement=one_line(r.statement),
                evidence=_cite(thread, r.evidence),
                counters=[
                    Counter(statement=one_line(c.statement), evidence=_cite(thread, c.evidence))
                    for c in r.counters
                ],
            )
            for m, r in enumerate(d.rebuttals, start=1)
        ],
        controversy=d.controversy,
    )


def _cite(thread: Thread, ids: list[str]) -> list[Citation]:
    """Citations of ``ids`` in thread order, each sentence once and each quote once."""

    def position(sid: str) -> tuple[int, int]:
        key, _, k = sid.partition(".")
        return int(key[1:]), int(k)  # keys are numbered in thread order

    return distinct_quotes(cite(thread, sorted(dict.fromkeys(ids), key=position)))


def template_overview(thread: Thread, claims: list[Claim]) -> str:
    """The overview of a one-call summary (the map prompt writes none)."""
    unnamed = any(c.status == "ok" and not c.author for c in thread.comments)
    authors = thread.authors
    who = f" by {count(authors, 'author')}" if authors and not unnamed else ""
    head = f"{count(len(thread.comments), 'comment')}{who}."
    if not claims:
        return head + " No claims were found."
    listed = "; ".join(f"“{c.statement.rstrip('.')}”" for c in claims[:3])
    return f"{head} Main claims: {listed}."
