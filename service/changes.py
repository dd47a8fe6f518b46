"""What changed between two summaries of one thread: new claims, what claims gained, what fell out.

Claims are matched by id first (ids are stable, :mod:`service.claim_ids`), then, for claims whose
id is new, by their evidence: a claim now citing the sentence an earlier claim was anchored in is
that claim under a new id (its anchor moved), and the match is reported in ``renamed``.
Citations are compared by comment source id and quote, never by sentence id: sentence ids number
comments by position, which shifts as a thread grows.

An earlier claim with no match is ``gone``; when its evidence is now cited by another claim, it
was merged into that claim and says so.
"""

from __future__ import annotations

from .models import (
    Changes,
    Citation,
    Claim,
    ClaimChange,
    GoneClaim,
    NewCounter,
    PrevalenceDelta,
    ThreadSummary,
)

__all__ = ["compare", "matched"]

CitationKey = tuple[str, str]


def _key(c: Citation) -> CitationKey:
    return (c.comment_id, c.quote)


def _keys(citations: list[Citation]) -> set[CitationKey]:
    return {_key(c) for c in citations}


def _everything(claim: Claim) -> set[CitationKey]:
    out = _keys(claim.evidence) | _keys(claim.supporters)
    for r in claim.rebuttals:
        out |= _keys(r.evidence)
        for co in r.counters:
            out |= _keys(co.evidence)
    return out


def _cites(claim: Claim, cited: CitationKey) -> bool:
    comment, quote = cited
    return any(c.comment_id == comment and quote in c.quote for c in claim.evidence)


def matched(earlier: ThreadSummary, now: ThreadSummary) -> dict[str, str]:
    """Earlier claim id → the id of the same claim now, for every claim found in both."""
    current = {c.id for c in now.claims}
    pairs = {c.id: c.id for c in earlier.claims if c.id in current}
    before = {c.id for c in earlier.claims}
    candidates = [c for c in now.claims if c.id not in before]
    for old in earlier.claims:
        if old.id in pairs or not old.evidence:
            continue
        anchor = _key(old.evidence[0])
        found = next((c for c in candidates if _cites(c, anchor)), None)
        if found is not None:
            pairs[old.id] = found.id
            candidates.remove(found)
    return pairs


def _claim_change(old: Claim, new: Claim) -> ClaimChange | None:
    evidence = [c for c in new.evidence if _key(c) not in _keys(old.evidence)]
    supporters = [c for c in new.supporters if _key(c) not in _keys(old.supporters)]
    before = {r.id: r for r in old.rebuttals}
    before_rebuttals = {k for r in old.rebuttals for k in _keys(r.evidence)}
    rebuttals: list[str] = []
    counters: list[NewCounter] = []
    for r in new.rebuttals:
        prior = before.get(r.id)
        if prior is None and not (_keys(r.evidence) & before_rebuttals):
            rebuttals.append(r.id)
            continue
        seen = {k for co in prior.counters for k in _keys(co.evidence)} if prior else set()
        if prior is None:  # the same rebuttal under a new id: compare with all earlier counters
            seen = {k for rr in old.rebuttals for co in rr.counters for k in _keys(co.evidence)}
        for co in r.counters:
            if not (_keys(co.evidence) <= seen):
                counters.append(
                    NewCounter(rebuttal_id=r.id, statement=co.statement, evidence=co.evidence)
                )
    delta = PrevalenceDelta(
        comments=new.prevalence.comments - old.prevalence.comments,
        authors=new.prevalence.authors - old.prevalence.authors,
    )
    if not (evidence or supporters or rebuttals or counters or delta.comments or delta.authors):
        return None
    return ClaimChange(
        claim_id=new.id,
        statement=new.statement,
        new_evidence=evidence,
        new_supporters=supporters,
        new_rebuttals=rebuttals,
        new_counters=counters,
        prevalence_delta=delta,
    )


def compare(earlier: ThreadSummary, now: ThreadSummary) -> Changes:
    """What ``now`` shows that ``earlier`` did not, and what ``earlier`` showed that is gone."""
    pairs = matched(earlier, now)
    current = {c.id: c for c in now.claims}
    known = set(pairs.values())
    updated = [
        change
        for old in earlier.claims
        if old.id in pairs and (change := _claim_change(old, current[pairs[old.id]])) is not None
    ]
    gone: list[GoneClaim] = []
    for old in earlier.claims:
        if old.id in pairs:
            continue
        cited = _keys(old.evidence)
        into = next(
            (c.id for c in now.claims if cited and cited & (_keys(c.evidence) | _everything(c))),
            None,
        )
        gone.append(GoneClaim(claim_id=old.id, statement=old.statement, merged_into=into))
    return Changes(
        since_comments=earlier.thread.comments,
        new_comments=max(0, now.thread.comments - earlier.thread.comments),
        new_claims=[c.id for c in now.claims if c.id not in known],
        updated=updated,
        gone=gone,
        renamed={old: new for old, new in pairs.items() if old != new},
    )
