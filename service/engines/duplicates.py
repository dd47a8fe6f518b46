"""Repeated comments: identical and near-identical texts (copy-paste campaigns, bots, floods).

A comment takes part when its own words (quoted lines, ``> …``, left out: two replies quoting
the same passage are not copies of each other) number at least :data:`MIN_WORDS`; shorter
texts ("Same.", "I don't think that's right.") are what independent people write alike.

* **Identical**: the same words once case, punctuation and spacing are set aside.
* **Near-identical**: word 3-shingle sets with Jaccard similarity at least
  :data:`NEAR_JACCARD` (a name swapped or a sentence added to a paragraph-long text).

Near pairs are found exactly, with no probabilistic misses, by prefix filtering (the
All-Pairs set-similarity join of Bayardo et al., WWW 2007): shingles are ordered rarest first,
and two sets with Jaccard ``≥ t`` must share a shingle among the first ``|x| − ⌈t·|x|⌉ + 1`` of
each, so only those are indexed and only sets of compatible size are compared. MinHash/LSH
(``datasketch``) would estimate the same pairs with some misses and bring numpy and scipy into
the core install; the exact join needs neither. Groups are the connected pairs; the first
comment of a group (thread order) is the one kept, and the rest count as that comment in
prevalence (:meth:`Duplicates.canonical`).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..models import DuplicateGroup, Thread
from ..text.wording import count, one_line

__all__ = ["EXCERPT_CHARS", "MIN_WORDS", "NEAR_JACCARD", "Duplicates", "find_duplicates"]

#: Fewest words (outside quoted lines) a comment needs to count as a copy of another.
MIN_WORDS = 10
#: Least Jaccard similarity of word 3-shingles for two texts to be near-identical.
NEAR_JACCARD = 0.8
#: Length of the excerpt a group is shown by.
EXCERPT_CHARS = 160

_WORD = re.compile(r"\w+")
_QUOTED = re.compile(r"^[ \t]*(?:>|&gt;)")


@dataclass(frozen=True)
class Duplicates:
    """The groups of repeated comments of a thread, and which comment stands for each."""

    groups: tuple[tuple[str, ...], ...] = ()
    _first: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def canonical(self, comment_id: str) -> str:
        """The comment that stands for ``comment_id``: the first of its group, or itself."""
        return self._first.get(comment_id, comment_id)

    @property
    def repeats(self) -> int:
        """Comments that only repeat an earlier one (not counted in prevalence)."""
        return sum(len(g) - 1 for g in self.groups)

    def report(self, thread: Thread) -> list[DuplicateGroup]:
        """The groups as the summary shows them, largest first."""
        out = []
        for ids in self.groups:
            comments = [thread.by_id[c] for c in ids]
            named = {c.author for c in comments if c.author}
            unnamed = sum(1 for c in comments if not c.author)
            out.append(
                DuplicateGroup(
                    comment_ids=list(ids),
                    count=len(ids),
                    authors=len(named) + unnamed,
                    excerpt=one_line(comments[0].text, EXCERPT_CHARS),
                )
            )
        return out

    def warning(self) -> str | None:
        """One line saying what was found and how it was counted; None when nothing repeats."""
        if not self.groups:
            return None
        largest = max(len(g) for g in self.groups)
        return (
            f"repeated text: {count(len(self.groups), 'group')} of identical or near-identical "
            f"comments ({count(self.repeats, 'copy', 'copies')} beyond the first of each; "
            f"the largest has {largest} comments): each group counts once in prevalence"
        )


def _own_words(text: str) -> tuple[str, ...]:
    lines = [line for line in text.splitlines() if not _QUOTED.match(line)]
    return tuple(_WORD.findall(" ".join(lines).casefold()))


def _shingles(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(" ".join(words[i : i + 3]) for i in range(len(words) - 2))


class _Sets:
    """Union-find over indices."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _near_pairs(sets: list[frozenset[str]], t: float) -> list[tuple[int, int]]:
    """Every pair of ``sets`` with Jaccard ≥ ``t``, found by prefix filtering (exact)."""
    df: Counter[str] = Counter()
    for s in sets:
        df.update(s)
    ordered = [sorted(s, key=lambda g: (df[g], g)) for s in sets]
    by_size = sorted(range(len(sets)), key=lambda i: (len(sets[i]), i))
    index: dict[str, list[int]] = defaultdict(list)
    pairs: list[tuple[int, int]] = []
    for i in by_size:  # smaller sets first: each pair is seen from its larger member
        x = sets[i]
        prefix = ordered[i][: len(x) - math.ceil(t * len(x)) + 1]
        seen: set[int] = set()
        for g in prefix:
            for j in index[g]:
                if j in seen:
                    continue
                seen.add(j)
                y = sets[j]
                if len(y) < t * len(x):
                    continue  # too small to reach t with x
                inter = len(x & y)
                if inter >= t * (len(x) + len(y) - inter):
                    pairs.append((j, i))
        # Index this set's prefix under the same bound; later (larger) sets probe it.
        for g in prefix:
            index[g].append(i)
    return pairs


def find_duplicates(
    thread: Thread, *, min_words: int = MIN_WORDS, near: float = NEAR_JACCARD
) -> Duplicates:
    """The groups of identical and near-identical comments of ``thread``."""
    texts: dict[tuple[str, ...], list[str]] = {}
    for c in thread.comments:
        if c.status != "ok" or not c.text:
            continue
        words = _own_words(c.text)
        if len(words) >= min_words:
            texts.setdefault(words, []).append(c.id)
    keys = list(texts)
    sets = _Sets(len(keys))
    for a, b in _near_pairs([_shingles(k) for k in keys], near):
        sets.union(a, b)
    merged: dict[int, list[str]] = defaultdict(list)
    for n, k in enumerate(keys):
        merged[sets.find(n)].extend(texts[k])
    order = {c.id: n for n, c in enumerate(thread.comments)}
    groups = sorted(
        (tuple(sorted(ids, key=order.__getitem__)) for ids in merged.values() if len(ids) > 1),
        key=lambda g: (-len(g), order[g[0]]),
    )
    first = {cid: g[0] for g in groups for cid in g[1:]}
    return Duplicates(tuple(groups), first)
