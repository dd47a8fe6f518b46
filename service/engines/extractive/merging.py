"""Merging near-duplicates: claims whose statements share most content words, same rebuttals.

Claims merge when their statements are equal in content words or share most of them (Jaccard
≥ :data:`MERGE_JACCARD`); the better-engaged one keeps its statement and takes the other's
evidence, supporters and rebuttals. A claim never merges with one above or below it in the
tree: a reply that repeats its ancestor's words quotes it, and the two may be on opposite sides.
Rebuttals of one claim that say the same thing fold into the first of them.
"""

from __future__ import annotations

from ...models import Thread
from .placing import ClaimDraft, RebuttalDraft
from .reading import content_words, statement

MERGE_JACCARD = 0.6


def merge_claims(thread: Thread, drafts: list[ClaimDraft]) -> list[ClaimDraft]:
    """Merge claims whose statements are near-duplicates; best-engaged first."""
    kept: list[ClaimDraft] = []
    exact: dict[str, ClaimDraft] = {}
    index: dict[str, list[int]] = {}
    sets: list[set[str]] = []
    for d in sorted(drafts, key=lambda d: -d.engagement):
        norm = " ".join(content_words(statement(thread, d.statement_sid)))
        words = set(norm.split())
        target = exact.get(norm) if norm else None
        if target is not None and _in_one_line(thread, target.root.id, d.root.id):
            target = None
        if target is None and len(words) >= 3:
            candidates: set[int] = set()
            for w in words:
                candidates.update(index.get(w, ()))
            for i in sorted(candidates):
                other = sets[i]
                if len(words & other) / len(words | other) >= MERGE_JACCARD and not _in_one_line(
                    thread, kept[i].root.id, d.root.id
                ):
                    target = kept[i]
                    break
        if target is not None:
            target.evidence.extend(s for s in d.evidence if s not in target.evidence)
            target.supporters.extend(d.supporters)
            target.rebuttals.extend(d.rebuttals)
            target.comments |= d.comments
            target.subtree |= d.subtree
            target.merged += 1 + d.merged
            continue
        if norm:
            exact[norm] = d
        for w in words:
            index.setdefault(w, []).append(len(kept))
        sets.append(words)
        kept.append(d)
    return kept


def _ancestors(thread: Thread, cid: str) -> set[str]:
    out: set[str] = set()
    parent = thread.by_id[cid].parent_id
    while parent is not None and parent in thread.by_id and parent not in out:
        out.add(parent)
        parent = thread.by_id[parent].parent_id
    return out


def _in_one_line(thread: Thread, a: str, b: str) -> bool:
    """Whether one of two comments is an ancestor of the other."""
    return a in _ancestors(thread, b) or b in _ancestors(thread, a)


def merge_rebuttals(thread: Thread, rebuttals: list[RebuttalDraft]) -> list[RebuttalDraft]:
    """Fold rebuttals that say the same thing into the first of them."""
    kept: list[RebuttalDraft] = []
    seen: dict[str, RebuttalDraft] = {}
    for r in rebuttals:
        norm = " ".join(content_words(statement(thread, r.statement)))
        target = seen.get(norm) if norm else None
        if target is None:
            seen[norm] = r
            kept.append(r)
            continue
        target.evidence.extend(s for s in r.evidence if s not in target.evidence)
        target.counters.extend(r.counters)
    return kept
