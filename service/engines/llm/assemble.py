"""Assembly: the summary's claims built from the map and reduce results, with their citations.

Each thread claim gathers the evidence, supporters and rebuttals of the chunk claims it merges;
prevalence counts the comments and authors that make or back it. Claims are ranked by authors,
then rebuttals, then where they first appear; quotes are sliced from the thread by
:func:`~service.grounding.cite`. A one-call summary gets a template overview.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...grounding import cite
from ...models import Citation, Claim, Counter, Prevalence, Rebuttal, Thread
from ...text.wording import count, one_line
from .map import ChunkClaim, ChunkRebuttal

MAX_CLAIMS = 20


@dataclass
class ClaimGroup:
    """A thread claim: its statement and the chunk claims it is made of."""

    statement: str
    found: list[ChunkClaim]


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


def build_claims(thread: Thread, groups: list[ClaimGroup]) -> list[Claim]:
    """The ranked claims of ``groups``, at most :data:`MAX_CLAIMS`, numbered ``K1…``."""
    drafts = [_draft(thread, g) for g in groups]
    drafts.sort(key=lambda d: (-d.authors, -len(d.rebuttals), d.first))
    return [_claim(thread, d, n) for n, d in enumerate(drafts[:MAX_CLAIMS], start=1)]


def _draft(thread: Thread, group: ClaimGroup) -> _Draft:
    found = group.found
    evidence = list(dict.fromkeys(s for f in found for s in f.evidence))
    supporters = [
        s for s in dict.fromkeys(s for f in found for s in f.supporters) if s not in evidence
    ]
    keys = {s.partition(".")[0] for s in evidence + supporters}
    comments = [thread.by_key[k] for k in keys]
    authors = {c.author for c in comments if c.author} | {
        f"#{c.id}" for c in comments if not c.author
    }
    return _Draft(
        statement=group.statement,
        evidence=evidence,
        supporters=supporters,
        rebuttals=[r for f in found for r in f.rebuttals],
        comments=len(keys),
        authors=len(authors),
        first=min((int(k[1:]) for k in keys), default=0),
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
    )


def _cite(thread: Thread, ids: list[str]) -> list[Citation]:
    """Citations of ``ids`` in thread order, each sentence once."""

    def position(sid: str) -> tuple[int, int]:
        key, _, k = sid.partition(".")
        return int(key[1:]), int(k)  # keys are numbered in thread order

    return cite(thread, sorted(dict.fromkeys(ids), key=position))


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
