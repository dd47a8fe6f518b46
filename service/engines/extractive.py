"""The extractive engine: an argument map from thread structure alone, with no model.

How it reads a thread:

* **Lines of argument.** Top-level comments start claims. When a top-level comment is a
  question, its direct answers start claims instead. A deep comment that draws
  :data:`DEEP_REPLIES` or more replies also starts a claim of its own.
* **Statements** are verbatim *thesis sentences*: in each comment, the sentence most central to
  the comment and to what its replies talk about (TF-IDF cosine over content words), with a
  preference for early, declarative, mid-length sentences; quotes, code and bare links are never
  theses.
* **Stance.** Each reply's stance toward its parent comes from :mod:`.stance`. Walking down from a
  claim, sides flip on disagreement: a reply against the claim is a rebuttal, a reply against a
  rebuttal is a counter (a reply to a rebuttal that does not agree is a counter by default),
  agreement with the claim is a supporter, agreement with a rebuttal or counter backs it.
* **Merging.** Claims whose statements share most of their content words (Jaccard ≥
  :data:`MERGE_JACCARD`) merge; the better-engaged one keeps its statement.
* **Ranking** by engagement: distinct authors in the claim's part of the tree, plus a little for
  score and for rebuttals.

Everything is deterministic. Limits are in the README.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter as TallyCounter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..grounding import cite
from ..models import (
    Citation,
    Claim,
    Comment,
    Counter,
    EngineInfo,
    Prevalence,
    Rebuttal,
    Stats,
    Thread,
    ThreadInfo,
    ThreadSummary,
)
from .stance import Stance, classify

ENGINE_VERSION = "extractive-1"
DEEP_REPLIES = 3
MERGE_JACCARD = 0.6
MAX_CLAIMS = 20
MAX_REBUTTALS = 8
MAX_COUNTERS = 5
MAX_SUPPORTERS = 10

_WORD = re.compile(r"[a-z][a-z'’-]{2,}")
_STOP = frozenset(
    """
    the and for are but not you your with that this have has had was were been being from
    they them their there then than what when where which who whom why how all any can could
    would should will just also very into about over under more most some such only own same
    other its it's i'm don't doesn't didn't isn't aren't wasn't weren't can't won't i've
    you're they're that's there's here what's let's our ours out off one two yes yeah not
    nor too may might must shall does did doing because while though although even still yet
    get got like really much many well way make made lot lots thing things people think know
    see say said going want need use used using
    """.split()
)
_URL_ONLY = re.compile(r"^(\[\d+\]\s*)?(https?://\S+\s*)+$")


def _words(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(text.lower()):
        w = w.strip("'’-")
        if len(w) < 3 or w in _STOP:
            continue
        if w.endswith("s") and not w.endswith("ss") and len(w) > 4:
            w = w[:-1]
        out.append(w)
    return out


@dataclass
class _Node:
    """Where a comment sits in a claim's map."""

    side: str  # "pro" (with the claim) or "con"
    role: str  # claim, supporter, rebuttal, counter, backer, neutral
    rebuttal: _RebuttalDraft | None = None
    counter: _CounterDraft | None = None


@dataclass
class _CounterDraft:
    comment: Comment
    evidence: list[str] = field(default_factory=list)  # sentence ids


@dataclass
class _RebuttalDraft:
    comment: Comment
    statement: str  # sentence id
    evidence: list[str] = field(default_factory=list)
    counters: list[_CounterDraft] = field(default_factory=list)
    weight: int = 0


@dataclass
class _ClaimDraft:
    root: Comment
    statement_sid: str
    evidence: list[str] = field(default_factory=list)
    supporters: list[str] = field(default_factory=list)
    rebuttals: list[_RebuttalDraft] = field(default_factory=list)
    comments: set[str] = field(default_factory=set)  # comments making or backing the claim
    subtree: set[str] = field(default_factory=set)
    engagement: float = 0.0
    merged: int = 0


class _Reader:
    """Per-thread state: word statistics, stances and theses, computed once."""

    def __init__(self, thread: Thread) -> None:
        self.thread = thread
        self.words = {c.id: [_words(s.text) for s in c.sentences] for c in thread.comments}
        df: TallyCounter[str] = TallyCounter()
        for sents in self.words.values():
            df.update({w for ws in sents for w in ws})
        n = max(1, len(thread.comments))
        self.idf = {w: math.log((n + 1) / (f + 0.5)) for w, f in df.items()}
        self.stance: dict[str, Stance] = {}
        for c in thread.comments:
            if c.parent_id is not None and c.status == "ok":
                self.stance[c.id] = classify(c.text)[0]
        self._thesis: dict[str, int] = {}

    def ok(self, cid: str) -> bool:
        c = self.thread.by_id[cid]
        return c.status == "ok" and bool(c.sentences)

    def _vector(self, words: Iterable[str]) -> dict[str, float]:
        tf = TallyCounter(words)
        return {w: k * self.idf.get(w, 0.0) for w, k in tf.items()}

    @staticmethod
    def _cos(a: dict[str, float], b: dict[str, float]) -> float:
        if not a or not b:
            return 0.0
        dot = sum(v * b.get(w, 0.0) for w, v in a.items())
        na = math.sqrt(sum(v * v for v in a.values()))
        nb = math.sqrt(sum(v * v for v in b.values()))
        return dot / (na * nb) if na and nb else 0.0

    def thesis(self, comment: Comment) -> int:
        """Index (0-based) of the comment's thesis sentence."""
        if comment.id in self._thesis:
            return self._thesis[comment.id]
        sents = comment.sentences
        words = self.words[comment.id]
        best, best_score = 0, -math.inf
        if len(sents) > 1:
            vecs = [self._vector(ws) for ws in words]
            replies: list[str] = []
            for k in comment.children:
                for ws in self.words.get(k, ()):
                    replies.extend(ws)
            reply_vec = self._vector(replies)
            whole = self._vector(w for ws in words for w in ws)
            eligible = [i for i, s in enumerate(sents) if self._eligible(s.text)] or list(
                range(len(sents))
            )
            rank = {i: r for r, i in enumerate(eligible)}
            all_questions = all(sents[i].text.rstrip().endswith("?") for i in eligible)
            for i in eligible:
                text = sents[i].text
                n_words = len(text.split())
                score = self._cos(vecs[i], whole) + 0.5 * self._cos(vecs[i], reply_vec)
                score += (0.5, 0.2)[rank[i]] if rank[i] < 2 else 0.0
                if text.rstrip().endswith("?") and not all_questions:
                    score -= 0.5
                if n_words < 5:
                    score -= 0.4
                elif n_words > 60:
                    score -= 0.2
                if score > best_score:
                    best, best_score = i, score
        self._thesis[comment.id] = best
        return best

    @staticmethod
    def _eligible(text: str) -> bool:
        t = text.lstrip()
        return not (
            t.startswith((">", "```", "~~~", "&gt;"))
            or _URL_ONLY.match(t)
            or text.startswith(("    ", "\t"))
        )

    def thesis_id(self, comment: Comment) -> str:
        return comment.sentences[self.thesis(comment)].id

    def opening_id(self, comment: Comment) -> str:
        """A reply's stance-bearing sentence: the first substantive one after any quote."""
        eligible = [s for s in comment.sentences if self._eligible(s.text)]
        for s in eligible[:2]:
            if len(s.text.split()) >= 5:
                return s.id
        return eligible[0].id if eligible else comment.sentences[0].id

    def leading_quote(self, comment: Comment, sid: str) -> list[str]:
        """The quote sentence right before ``sid``, when the reply answers a quoted line."""
        k = int(sid.partition(".")[2])
        if k >= 2 and comment.sentences[k - 2].text.lstrip().startswith((">", "&gt;")):
            return [comment.sentences[k - 2].id]
        return []

    def is_question(self, comment: Comment) -> bool:
        """A comment that mainly asks: its last sentence is a question and it is short."""
        sents = [s for s in comment.sentences if self._eligible(s.text)]
        return bool(sents) and sents[-1].text.rstrip().endswith("?") and len(sents) <= 3

    def quoted_sentence(self, reply: Comment, parent: Comment) -> str | None:
        """The parent's sentence a reply quotes (``> …``), if any."""
        for s in reply.sentences:
            t = s.text.lstrip()
            if not t.startswith((">", "&gt;")):
                continue
            quoted = " ".join(line.lstrip().lstrip(">").strip() for line in t.split("\n")).strip()
            if len(quoted) < 8:
                continue
            norm = " ".join(quoted.split()).lower()
            for ps in parent.sentences:
                pt = " ".join(ps.text.split()).lower()
                if norm in pt or (len(pt) > 12 and pt in norm):
                    return ps.id
        return None


def _claim_roots(reader: _Reader) -> tuple[list[Comment], list[Comment], set[str]]:
    """Comments that start claims, question prompts, and the deep ones among the roots."""
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
    return roots, prompts, deep


def _map_claim(reader: _Reader, root: Comment, deep: set[str]) -> _ClaimDraft:
    thread = reader.thread
    draft = _ClaimDraft(root=root, statement_sid=reader.thesis_id(root))
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
    return draft


def _place(reader: _Reader, draft: _ClaimDraft, c: Comment, parent: _Node) -> _Node:
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
            rebuttal = _RebuttalDraft(c, sid, [*reader.leading_quote(c, sid), sid])
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
        counter = _CounterDraft(comment=c, evidence=[sid])
        parent.rebuttal.counters.append(counter)
        return _Node("pro", "counter", parent.rebuttal, counter)
    return _Node("con", "neutral", parent.rebuttal)


def _engagement(thread: Thread, draft: _ClaimDraft) -> float:
    comments = [thread.by_id[c] for c in draft.subtree]
    named = {c.author for c in comments if c.author}
    anonymous = sum(1 for c in comments if not c.author)
    score = sum(max(0, c.score or 0) for c in comments)
    return len(named) + anonymous + 0.5 * math.log1p(score) + 0.25 * len(draft.rebuttals)


def _merge(reader: _Reader, drafts: list[_ClaimDraft]) -> list[_ClaimDraft]:
    """Merge claims whose statements are near-duplicates; best-engaged first."""
    by_key = reader.thread.by_key
    kept: list[_ClaimDraft] = []
    exact: dict[str, _ClaimDraft] = {}
    index: dict[str, list[int]] = {}
    sets: list[set[str]] = []
    for d in sorted(drafts, key=lambda d: -d.engagement):
        key, _, k = d.statement_sid.partition(".")
        text = by_key[key].sentences[int(k) - 1].text
        norm = " ".join(_words(text))
        words = set(norm.split())
        target = exact.get(norm) if norm else None
        if target is None and len(words) >= 3:
            candidates: set[int] = set()
            for w in words:
                candidates.update(index.get(w, ()))
            for i in sorted(candidates):
                other = sets[i]
                if len(words & other) / len(words | other) >= MERGE_JACCARD:
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


def _merge_rebuttals(thread: Thread, rebuttals: list[_RebuttalDraft]) -> list[_RebuttalDraft]:
    """Fold rebuttals that say the same thing into the first of them."""
    kept: list[_RebuttalDraft] = []
    seen: dict[str, _RebuttalDraft] = {}
    for r in rebuttals:
        norm = " ".join(_words(_statement(thread, r.statement)))
        target = seen.get(norm) if norm else None
        if target is None:
            seen[norm] = r
            kept.append(r)
            continue
        target.evidence.extend(s for s in r.evidence if s not in target.evidence)
        target.counters.extend(r.counters)
    return kept


def _citations(thread: Thread, sids: list[str], limit: int | None = None) -> list[Citation]:
    """Citations for ``sids`` in order; adjacent sentences of one comment share a citation."""
    unique = list(dict.fromkeys(sids))
    return cite(thread, unique)[:limit]


def _statement(thread: Thread, sid: str) -> str:
    key, _, k = sid.partition(".")
    return " ".join(thread.by_key[key].sentences[int(k) - 1].text.split())


def _prevalence(thread: Thread, draft: _ClaimDraft) -> Prevalence:
    comments = [thread.by_id[c] for c in draft.comments]
    for sid in draft.supporters:
        comments.append(thread.by_key[sid.partition(".")[0]])
    unique = {c.id: c for c in comments}
    named = {c.author for c in unique.values() if c.author}
    anonymous = sum(1 for c in unique.values() if not c.author)
    return Prevalence(comments=len(unique), authors=len(named) + anonymous)


def _build(
    thread: Thread, draft: _ClaimDraft, number: int, reader: _Reader, warnings: list[str]
) -> Claim:
    claim_id = f"K{number}"
    order = {c.id: i for i, c in enumerate(thread.comments)}
    rebuttals = sorted(
        _merge_rebuttals(thread, draft.rebuttals),
        key=lambda r: (-(1 + len(r.evidence) + 2 * len(r.counters)), order[r.comment.id]),
    )
    dropped = max(0, len(rebuttals) - MAX_REBUTTALS)
    if dropped:
        warnings.append(f"{claim_id}: {dropped} further rebuttal(s) not shown")
    built: list[Rebuttal] = []
    for n, r in enumerate(rebuttals[:MAX_REBUTTALS], start=1):
        counters = [
            Counter(
                statement=_statement(thread, co.evidence[0]),
                evidence=_citations(thread, co.evidence),
            )
            for co in r.counters[:MAX_COUNTERS]
        ]
        built.append(
            Rebuttal(
                id=f"{claim_id}.R{n}",
                statement=_statement(thread, r.statement),
                evidence=_citations(thread, r.evidence),
                counters=counters,
            )
        )
    return Claim(
        id=claim_id,
        statement=_statement(thread, draft.statement_sid),
        prevalence=_prevalence(thread, draft),
        evidence=_citations(thread, draft.evidence),
        supporters=_citations(thread, draft.supporters, MAX_SUPPORTERS),
        rebuttals=built,
    )


def _overview(thread: Thread, claims: list[Claim], prompts: list[Comment], reader: _Reader) -> str:
    n, authors = len(thread.comments), thread.authors
    unnamed = sum(1 for c in thread.comments if c.status == "ok" and not c.author)
    who = f" by {_count(authors, 'author')}" if authors and not unnamed else ""
    title = f"“{thread.title}”" if thread.title else "This thread"
    depth = _count(thread.max_depth, "level")
    parts = [f"{title}: {_count(n, 'comment')}{who}, {depth} of replies deep."]
    if unnamed:
        parts.append(f"The source does not name the authors of {unnamed} of them.")
    if prompts:
        q = prompts[0].sentences[-1].text
        parts.append(f"It answers the question “{' '.join(q.split())}”")
    if not claims:
        parts.append("No claims could be drawn from it.")
        return " ".join(parts)
    top = claims[:3]
    listed = "; ".join(
        f"“{_short(c.statement)}” ({_count(c.prevalence.authors, 'author')}, "
        f"{_count(len(c.rebuttals), 'rebuttal')})"
        for c in top
    )
    parts.append(f"The most-engaged claims: {listed}.")
    contested = max(claims, key=lambda c: (len(c.rebuttals), -int(c.id[1:])))
    if contested.rebuttals:
        counters = sum(len(r.counters) for r in contested.rebuttals)
        parts.append(
            f"It splits most over {contested.id}, which drew "
            f"{_count(len(contested.rebuttals), 'rebuttal')}"
            + (f" answered by {_count(counters, 'counter')}." if counters else ".")
        )
    else:
        parts.append("No claim drew clear pushback.")
    return " ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def summarize_extractive(thread: Thread, *, max_claims: int = MAX_CLAIMS) -> ThreadSummary:
    """The argument map of ``thread`` without a model."""
    started = time.perf_counter()
    reader = _Reader(thread)
    roots, prompts, deep = _claim_roots(reader)
    drafts = [_map_claim(reader, r, deep) for r in roots]
    for d in drafts:
        d.engagement = _engagement(thread, d)
    merged = _merge(reader, drafts)
    order = {c.id: i for i, c in enumerate(thread.comments)}
    merged.sort(key=lambda d: (-d.engagement, order[d.root.id]))
    warnings = list(thread.warnings)
    if len(merged) > max_claims:
        warnings.append(
            f"{len(merged) - max_claims} further claim(s) with less engagement are not shown"
        )
    claims = [
        _build(thread, d, n, reader, warnings) for n, d in enumerate(merged[:max_claims], start=1)
    ]
    return ThreadSummary(
        thread=ThreadInfo.of(thread),
        engine=EngineInfo(kind="extractive", version=ENGINE_VERSION),
        overview=_overview(thread, claims, prompts, reader),
        claims=claims,
        stats=Stats(elapsed_s=round(time.perf_counter() - started, 3)),
        warnings=warnings,
    )
