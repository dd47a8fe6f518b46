"""Scoring an argument map against a gold thread: the roles it shows, per-role P/R/F1, the share
of shown items that are right.

The roles a :class:`~service.models.ThreadSummary` shows, read off its citations: a comment cited
as a claim's evidence is a **claim**; cited among its supporters, a **supporter**; as a
rebuttal's evidence, a **rebuttal**; as a counter's evidence, a **counter**. Every comment shown
nowhere is **none**. A comment shown twice (as a claim and as another claim's rebuttal, say)
is two shown items; at most one can be right.

A shown item is right when the comment's gold role is the role shown and, for a supporter,
rebuttal or counter, when it sits under the right claim: the shown claim's evidence holds the
gold claim the comment belongs to (the gold claim itself, or a comment that belongs to it).
Per role, precision is right / shown and recall is right / gold; "none" is scored the same way
over the comments shown nowhere. The share right is right / shown over all four shown roles (with
its 95% Wilson interval: a few gold threads show few items):
the figure the map is held to (at least 85% of the claims, rebuttals, counters and supporters
shown right).

Topics (:func:`score_topics`): a shown claim stands for the gold topics of the comments it cites
as evidence (a gold claim's ``topic``, or that of the claim a comment belongs to). For each gold
topic, its shown claims should land in one predicted topic: **together** counts those in the
predicted topic holding most of them, out of all of them. A predicted topic holding claims of
two gold topics is **mixed** (putting every claim in one topic would score all together and all
mixed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..models import Citation, ThreadSummary
from .gold import ROLES, SHOWN_ROLES, GoldThread, Role
from .metrics import ClassScore, score_counts, wilson_interval

__all__ = [
    "MapScore",
    "RoleCounts",
    "Shown",
    "TopicCounts",
    "score_map",
    "score_topics",
    "shown_items",
]


@dataclass(frozen=True, order=True)
class Shown:
    """One comment in one role under one shown claim (``claim`` is its id, ``K1``)."""

    comment_id: str
    role: Role
    claim: str


def _cited(citations: Iterable[Citation]) -> list[str]:
    return list(dict.fromkeys(c.comment_id for c in citations))


def shown_items(summary: ThreadSummary) -> list[Shown]:
    """Every (comment, role, claim) the map shows, once each, in map order."""
    items: dict[Shown, None] = {}
    for claim in summary.claims:
        for cid in _cited(claim.evidence):
            items[Shown(cid, "claim", claim.id)] = None
        for cid in _cited(claim.supporters):
            items[Shown(cid, "supporter", claim.id)] = None
        for rebuttal in claim.rebuttals:
            for cid in _cited(rebuttal.evidence):
                items[Shown(cid, "rebuttal", claim.id)] = None
            for counter in rebuttal.counters:
                for cid in _cited(counter.evidence):
                    items[Shown(cid, "counter", claim.id)] = None
    return list(items)


@dataclass
class RoleCounts:
    """Counts behind one role's scores; they add up across threads."""

    shown: int = 0
    right: int = 0
    gold: int = 0

    def add(self, other: RoleCounts) -> None:
        """Add ``other``'s counts to these."""
        self.shown += other.shown
        self.right += other.right
        self.gold += other.gold


@dataclass
class TopicCounts:
    """How shown claims of each gold topic spread over the predicted topics; they add up."""

    gold_topics: int = 0  # gold topics some shown claim stands for
    claims: int = 0  # (shown claim, gold topic) pairs
    together: int = 0  # of those, in the predicted topic holding most of that gold topic
    split: int = 0  # gold topics whose claims land in more than one predicted topic
    predicted: int = 0  # predicted topics holding a claim that stands for a gold topic
    mixed: int = 0  # of those, holding claims of two or more gold topics

    def add(self, other: TopicCounts) -> None:
        """Add ``other``'s counts to these."""
        self.gold_topics += other.gold_topics
        self.claims += other.claims
        self.together += other.together
        self.split += other.split
        self.predicted += other.predicted
        self.mixed += other.mixed

    @property
    def share_together(self) -> float:
        """Claims of one gold topic that land in its main predicted topic (0 when none)."""
        return self.together / self.claims if self.claims else 0.0


@dataclass
class MapScore:
    """How one map (or the sum of several) compares with the gold roles."""

    counts: dict[Role, RoleCounts] = field(
        default_factory=lambda: {role: RoleCounts() for role in ROLES}
    )
    rebuttals_undisputed: int = 0  # rebuttals and counters shown on threads with no gold dispute
    undisputed_threads: int = 0
    wrong: list[str] = field(default_factory=list)  # "comment 123 shown as rebuttal of K1: gold …"
    topics: TopicCounts = field(default_factory=TopicCounts)

    def add(self, other: MapScore) -> None:
        """Add ``other`` (another thread's score) to this one."""
        self.topics.add(other.topics)
        for role in ROLES:
            self.counts[role].add(other.counts[role])
        self.rebuttals_undisputed += other.rebuttals_undisputed
        self.undisputed_threads += other.undisputed_threads
        self.wrong.extend(other.wrong)

    def role(self, role: Role) -> ClassScore:
        """Precision, recall and F1 of ``role``."""
        c = self.counts[role]
        return score_counts(role, c.right, c.shown, c.gold)

    @property
    def shown(self) -> int:
        """Claims, supporters, rebuttals and counters shown."""
        return sum(self.counts[r].shown for r in SHOWN_ROLES)

    @property
    def right(self) -> int:
        """Shown items that are right."""
        return sum(self.counts[r].right for r in SHOWN_ROLES)

    @property
    def share_right(self) -> float:
        """Right items over shown items (0 when the map shows nothing)."""
        return self.right / self.shown if self.shown else 0.0

    @property
    def share_right_interval(self) -> tuple[float, float]:
        """The 95% Wilson interval of :attr:`share_right`: how little a few items pin it down."""
        return wilson_interval(self.right, self.shown)


def _claims_of(gold: GoldThread, evidence: Iterable[str]) -> set[str]:
    """The gold claims a shown claim stands for, from the comments it cites as evidence."""
    found: set[str] = set()
    for cid in evidence:
        g = gold.roles.get(cid)
        if g is None:
            continue
        if g.role == "claim":
            found.add(cid)
        elif g.claim is not None:
            found.add(g.claim)
    return found


def score_topics(summary: ThreadSummary, gold: GoldThread) -> TopicCounts:
    """How the shown claims of each gold topic spread over ``summary``'s topics."""
    topic_of = {k: t.id for t in summary.topics for k in t.claim_ids}
    per_gold: dict[str, Counter[str]] = {}
    per_predicted: dict[str, set[str]] = {}
    for claim in summary.claims:
        labels = {gold.topic_of(cid) for cid in _cited(claim.evidence)}
        predicted = topic_of.get(claim.id, f"{claim.id} (no topic)")
        for label in sorted(t for t in labels if t is not None):
            per_gold.setdefault(label, Counter())[predicted] += 1
            per_predicted.setdefault(predicted, set()).add(label)
    counts = TopicCounts(gold_topics=len(per_gold), predicted=len(per_predicted))
    for spread in per_gold.values():
        counts.claims += sum(spread.values())
        counts.together += max(spread.values())
        counts.split += len(spread) > 1
    counts.mixed = sum(1 for labels in per_predicted.values() if len(labels) > 1)
    return counts


def score_map(summary: ThreadSummary, gold: GoldThread) -> MapScore:
    """Score the roles ``summary`` shows against ``gold``."""
    items = shown_items(summary)
    stands_for = {claim.id: _claims_of(gold, _cited(claim.evidence)) for claim in summary.claims}
    result = MapScore(topics=score_topics(summary, gold))
    for role in ROLES:
        result.counts[role].gold = gold.count(role)
    for item in items:
        g = gold.roles.get(item.comment_id)
        counts = result.counts[item.role]
        counts.shown += 1
        right = g is not None and g.role == item.role
        if right and item.role != "claim" and g is not None:
            right = g.claim in stands_for.get(item.claim, set())
        if right:
            counts.right += 1
        else:
            said = "none" if g is None else g.role + (f" of claim {g.claim}" if g.claim else "")
            result.wrong.append(
                f"{gold.name}: comment {item.comment_id} shown as {item.role}"
                + (f" of {item.claim}" if item.role != "claim" else f" ({item.claim})")
                + f"; gold: {said}"
            )
    shown_ids = {item.comment_id for item in items}
    unshown = [cid for cid in gold.roles if cid not in shown_ids]
    none = result.counts["none"]
    none.shown = len(unshown)
    none.right = sum(1 for cid in unshown if gold.roles[cid].role == "none")
    if not gold.disputed:
        result.undisputed_threads = 1
        result.rebuttals_undisputed = sum(
            1 for item in items if item.role in ("rebuttal", "counter")
        )
    return result
