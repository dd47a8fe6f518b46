"""Placing replies in the claim tree: which comments start claims, and where each reply sits.

Top-level comments start claims; a top-level question's direct answers start claims instead; a
deep comment that draws :data:`DEEP_REPLIES` or more replies starts one of its own. Walking down
from a claim, sides flip on disagreement: a reply against the claim is a rebuttal, a reply
against a rebuttal is a counter (a reply to a rebuttal that does not agree is a counter by
default), agreement with the claim is a supporter, agreement with a rebuttal or counter backs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...models import Comment, Thread
from .reading import Reader

DEEP_REPLIES = 3


@dataclass
class CounterDraft:
    """A reply defending the claim against a rebuttal."""

    comment: Comment
    evidence: list[str] = field(default_factory=list)  # sentence ids


@dataclass
class RebuttalDraft:
    """A reply against the claim, with what backs it and what answers it."""

    comment: Comment
    statement: str  # sentence id
    evidence: list[str] = field(default_factory=list)
    counters: list[CounterDraft] = field(default_factory=list)


@dataclass
class ClaimDraft:
    """A claim being mapped: its statement, its backers and its rebuttals, by sentence id."""

    root: Comment
    statement_sid: str
    evidence: list[str] = field(default_factory=list)
    supporters: list[str] = field(default_factory=list)
    rebuttals: list[RebuttalDraft] = field(default_factory=list)
    comments: set[str] = field(default_factory=set)  # comments making or backing the claim
    subtree: set[str] = field(default_factory=set)
    engagement: float = 0.0
    merged: int = 0


@dataclass
class _Node:
    """Where a comment sits in a claim's map."""

    side: str  # "pro" (with the claim) or "con"
    role: str  # claim, supporter, rebuttal, counter, backer, neutral
    rebuttal: RebuttalDraft | None = None
    counter: CounterDraft | None = None


@dataclass
class Roots:
    """The comments that start claims, the question prompts, and the deep ones among the roots."""

    claims: list[Comment]
    prompts: list[Comment]
    deep: set[str]


def claim_roots(reader: Reader) -> Roots:
    """Comments that start claims, in thread order; question prompts; the deep roots."""
    thread = reader.thread
    roots: list[Comment] = []
    prompts: list[Comment] = []
    for rid in thread.roots:
        top = thread.by_id[rid]
        if reader.ok(rid) and reader.is_question(top) and top.children:
            prompts.append(top)
            for k in top.children:
                if reader.ok(k) and reader.stance.get(k) not in ("agree", "question"):
                    roots.append(thread.by_id[k])
        elif reader.ok(rid):
            roots.append(top)
    taken = {c.id for c in roots} | {c.id for c in prompts}
    deep: set[str] = set()
    for c in thread.comments:
        if c.id in taken or c.depth == 1 or not reader.ok(c.id):
            continue
        answered = sum(1 for k in c.children if reader.ok(k))
        if answered >= DEEP_REPLIES and reader.stance.get(c.id) != "agree":
            roots.append(c)
            deep.add(c.id)
    order = {c.id: i for i, c in enumerate(thread.comments)}
    roots.sort(key=lambda c: order[c.id])
    return Roots(roots, prompts, deep)


def map_claim(reader: Reader, root: Comment, deep: set[str]) -> ClaimDraft:
    """The claim ``root`` starts, with every reply under it placed (deep roots map their own)."""
    thread = reader.thread
    draft = ClaimDraft(root=root, statement_sid=reader.thesis_id(root))
    draft.evidence.append(draft.statement_sid)
    draft.comments.add(root.id)
    draft.subtree.add(root.id)
    stack: list[tuple[str, _Node]] = [(k, _Node("pro", "claim")) for k in reversed(root.children)]
    while stack:
        cid, parent_node = stack.pop()
        c = thread.by_id[cid]
        draft.subtree.add(cid)
        node = _place(reader, draft, c, parent_node)
        if cid in deep:
            continue  # it maps its own replies as a claim of its own
        stack.extend((k, node) for k in reversed(c.children))
    draft.engagement = _engagement(thread, draft)
    return draft


def _place(reader: Reader, draft: ClaimDraft, c: Comment, parent: _Node) -> _Node:
    """Put comment ``c`` in the claim's map, given where its parent sits."""
    if not reader.ok(c.id):
        return _Node(parent.side, "neutral", parent.rebuttal, parent.counter)
    stance = reader.stance.get(c.id, "neutral")
    # Replies that take a side are summed up by the sentence that takes it.
    sid = reader.opening_id(c) if stance in ("agree", "disagree") else reader.thesis_id(c)
    if parent.side == "con" and stance == "neutral":
        sid = reader.opening_id(c)
    if parent.side == "pro":
        if stance == "agree":
            if parent.role == "counter" and parent.counter is not None:
                parent.counter.evidence.append(sid)
                return _Node("pro", "backer", parent.rebuttal, parent.counter)
            if parent.role in ("claim", "supporter", "neutral"):
                draft.supporters.append(sid)
                draft.comments.add(c.id)
                return _Node("pro", "supporter")
            return _Node("pro", "backer", parent.rebuttal, parent.counter)
        if stance == "disagree":
            if parent.role == "counter" and parent.rebuttal is not None:
                parent.rebuttal.evidence.append(sid)  # re-asserts the rebuttal
                return _Node("con", "backer", parent.rebuttal)
            rebuttal = RebuttalDraft(c, sid, [*reader.leading_quote(c, sid), sid])
            quoted = None
            parent_comment = reader.thread.by_id.get(c.parent_id or "")
            if parent.role == "claim" and parent_comment is not None:
                quoted = reader.quoted_sentence(c, parent_comment)
            if quoted and quoted not in draft.evidence:
                draft.evidence.append(quoted)  # the sentence the rebuttal contests
            draft.rebuttals.append(rebuttal)
            return _Node("con", "rebuttal", rebuttal)
        return _Node("pro", "neutral", parent.rebuttal, parent.counter)
    # The parent argues against the claim.
    if stance == "agree":
        if parent.rebuttal is not None:
            parent.rebuttal.evidence.append(sid)
        return _Node("con", "backer", parent.rebuttal)
    if stance in ("disagree", "neutral") and parent.rebuttal is not None:
        counter = CounterDraft(comment=c, evidence=[sid])
        parent.rebuttal.counters.append(counter)
        return _Node("pro", "counter", parent.rebuttal, counter)
    return _Node("con", "neutral", parent.rebuttal)


def _engagement(thread: Thread, draft: ClaimDraft) -> float:
    """Distinct authors in the claim's part of the tree, plus a little for score and rebuttals."""
    comments = [thread.by_id[c] for c in draft.subtree]
    named = {c.author for c in comments if c.author}
    anonymous = sum(1 for c in comments if not c.author)
    score = sum(max(0, c.score or 0) for c in comments)
    return len(named) + anonymous + 0.5 * math.log1p(score) + 0.25 * len(draft.rebuttals)
