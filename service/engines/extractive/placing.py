"""Placing replies in the claim tree: which comments start claims, and the role of each reply.

Top-level comments that argue something start claims, and so do those that someone confidently
disagrees with. Where a top-level comment does neither but asks something (a question, or a
remark with a question in it), its direct answers that argue and do not simply agree start
claims instead. Under a top-level comment that asks nothing (framing, an anecdote, a greeting,
a joke) no answer starts a claim: the answers talk about it, and where they argue they mostly
take a side of a point the rules missed (on the training threads of ``bench/map_threads.py``,
read out of fold, such answers were right as claims 5 times in 24). A deeper comment that
takes no side on what it answers (a tangent, told with confidence), argues and draws
:data:`DEEP_REPLIES` or more replies starts a claim of its own; a comment whose side cannot be
told does not, as it may well be a rebuttal.

Roles come from each reply's stance toward the comment it answers (parent-relative, from
:meth:`.reading.Reader.side`), walked down the tree; every comment gets one role at most:

* a reply disagreeing with the claim's comment or with a supporter of it is a **rebuttal**;
  agreeing with either, a **supporter**;
* a reply disagreeing with a rebuttal (or with a reply backing it) is a **counter** of it;
  agreeing with it backs the rebuttal (more evidence for it);
* a reply agreeing with a counter backs the counter; disagreeing with it re-asserts the rebuttal;
* a reply that takes no side, or whose stance is not confident, has no role, and neither has
  anything below it in this claim: a disagreement with a side remark is not a rebuttal of the
  claim, however deep;
* a role's confidence is the product of the stance confidences on the way down from the claim
  (each step must be right for the side to be right); below the role confidence there is no role,
  so a deep counter needs surer steps than a direct rebuttal;
* the claim's author never rebuts or supports his own claim: his reply to a rebuttal is a
  counter unless it concedes (agrees) or only asks, whatever the stance model reads in it (he
  is defending his claim), and elsewhere he has no role.
"""

from __future__ import annotations

import math
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Literal

from ...models import Comment, Thread
from .reading import Reader

DEEP_REPLIES = 3

Role = Literal[
    "claim", "supporter", "rebuttal", "rebuttal-backer", "counter", "counter-backer", "none"
]


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
    roles: dict[str, Role] = field(default_factory=dict)  # comment id → its role here
    engagement: float = 0.0
    merged: int = 0


@dataclass
class _Node:
    """Where a comment sits in a claim's map."""

    role: Role
    rebuttal: RebuttalDraft | None = None
    counter: CounterDraft | None = None
    confidence: float = 1.0  # that the comment is on the side its role says


_NONE = _Node("none")


@dataclass
class Roots:
    """The comments that start claims at the top, and the question prompts."""

    claims: list[Comment]
    prompts: list[Comment]


def claim_roots(reader: Reader) -> Roots:
    """Top-level comments (or answers to a top-level prompt) that start claims; the prompts."""
    thread = reader.thread
    roots: list[Comment] = []
    prompts: list[Comment] = []
    for rid in thread.roots:
        top = thread.by_id[rid]
        if not reader.ok(rid):
            continue
        question = reader.is_question(top)
        if not question and (reader.argues(top) or reader.draws_pushback(top)):
            roots.append(top)
            continue
        if question:
            prompts.append(top)
        if not reader.asks(top):
            continue  # framing, an anecdote, a joke: its answers talk about it
        for k in top.children:
            answer = thread.by_id[k]
            if reader.argues(answer) and reader.side(k) != "agree":
                roots.append(answer)
    return Roots(roots, prompts)


def map_thread(reader: Reader, roots: list[Comment]) -> list[ClaimDraft]:
    """Map every claim: the top ones, then the deep ones their walks hand over, in thread order."""
    drafts: list[ClaimDraft] = []
    queue = list(roots)
    started = {c.id for c in roots}
    while queue:
        root = queue.pop(0)
        draft, deep = map_claim(reader, root, started)
        drafts.append(draft)
        for c in deep:
            started.add(c.id)
            queue.append(c)
    order = {c.id: i for i, c in enumerate(reader.thread.comments)}
    drafts.sort(key=lambda d: order[d.root.id])
    return drafts


def map_claim(
    reader: Reader, root: Comment, started: Set[str] = frozenset()
) -> tuple[ClaimDraft, list[Comment]]:
    """The claim ``root`` starts, with every reply under it placed, and the deep claims found.

    A reply with no role here that argues and draws :data:`DEEP_REPLIES` replies is handed back
    to start a claim of its own; this walk does not go below it.
    """
    thread = reader.thread
    draft = ClaimDraft(root=root, statement_sid=reader.thesis_id(root))
    draft.evidence.append(draft.statement_sid)
    draft.comments.add(root.id)
    draft.subtree.add(root.id)
    draft.roles[root.id] = "claim"
    deep: list[Comment] = []
    claim = _Node("claim")
    stack: list[tuple[str, _Node]] = [(k, claim) for k in reversed(root.children)]
    while stack:
        cid, parent_node = stack.pop()
        c = thread.by_id[cid]
        if cid in started:
            continue  # a claim of its own already
        draft.subtree.add(cid)
        node = _place(reader, draft, c, parent_node)
        draft.roles[cid] = node.role
        if node.role == "none" and reader.side(cid) == "other" and _starts_deep(reader, c):
            draft.subtree.discard(cid)
            deep.append(c)
            continue
        stack.extend((k, node) for k in reversed(c.children))
    draft.engagement = _engagement(thread, draft)
    return draft, deep


def _starts_deep(reader: Reader, c: Comment) -> bool:
    answered = sum(1 for k in c.children if reader.ok(k))
    return answered >= DEEP_REPLIES and reader.argues(c)


def _place(reader: Reader, draft: ClaimDraft, c: Comment, parent: _Node) -> _Node:
    """The role of comment ``c`` in the claim's map, given its parent's role."""
    if parent.role == "none" or not reader.ok(c.id):
        return _NONE
    claimant = bool(c.author) and c.author == draft.root.author
    side = reader.side(c.id)
    sure = parent.confidence * reader.confidence(c.id)
    answering = parent.role in ("rebuttal", "rebuttal-backer") and parent.rebuttal is not None
    if claimant and answering and side != "agree" and not reader.only_asks(c):
        # The claimant answering a rebuttal of his claim defends it, unless he concedes: his
        # side is known from who he is, however his words read.
        side, sure = "disagree", parent.confidence
    if side not in ("agree", "disagree"):
        return _NONE
    if sure < reader.threshold:
        return _NONE  # each step down may be misread: too deep to tell which side it is on
    sid = reader.opening_id(c)
    if sid is None:
        return _NONE  # nothing in it can stand as a statement
    if parent.role in ("claim", "supporter"):
        if claimant:
            return _NONE
        if side == "agree":
            draft.supporters.append(sid)
            draft.comments.add(c.id)
            return _Node("supporter", confidence=sure)
        rebuttal = RebuttalDraft(c, sid, [*reader.leading_quote(c, sid), sid])
        parent_comment = reader.thread.by_id.get(c.parent_id or "")
        if parent.role == "claim" and parent_comment is not None:
            quoted = reader.quoted_sentence(c, parent_comment)
            if quoted and quoted not in draft.evidence:
                draft.evidence.append(quoted)  # the sentence the rebuttal contests
        draft.rebuttals.append(rebuttal)
        return _Node("rebuttal", rebuttal, confidence=sure)
    if parent.role in ("rebuttal", "rebuttal-backer") and parent.rebuttal is not None:
        if side == "disagree":
            counter = CounterDraft(comment=c, evidence=[sid])
            parent.rebuttal.counters.append(counter)
            return _Node("counter", parent.rebuttal, counter, sure)
        if claimant:
            return _NONE
        parent.rebuttal.evidence.append(sid)
        return _Node("rebuttal-backer", parent.rebuttal, confidence=sure)
    if parent.role in ("counter", "counter-backer") and parent.counter is not None:
        if side == "agree":
            parent.counter.evidence.append(sid)
            return _Node("counter-backer", parent.rebuttal, parent.counter, sure)
        if claimant or parent.rebuttal is None:
            return _NONE
        parent.rebuttal.evidence.append(sid)  # re-asserts the rebuttal
        return _Node("rebuttal-backer", parent.rebuttal, confidence=sure)
    return _NONE


def _engagement(thread: Thread, draft: ClaimDraft) -> float:
    """Distinct authors in the claim's part of the tree, plus a little for score and rebuttals."""
    comments = [thread.by_id[c] for c in draft.subtree]
    named = {c.author for c in comments if c.author}
    anonymous = sum(1 for c in comments if not c.author)
    score = sum(max(0, c.score or 0) for c in comments)
    return len(named) + anonymous + 0.5 * math.log1p(score) + 0.25 * len(draft.rebuttals)
