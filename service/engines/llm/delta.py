"""Delta: a grown thread mapped at the cost of its change, from the earlier summary.

The earlier summary says which comments it read (``thread.seen``: their source ids and one
digest of their content). When those comments are all still there and unchanged, only the new
ones go to the model: grouped by the top-level subtree they grow, packed to the chunk budget,
each batch rendered like a chunk with its earlier ancestors as read-only context (``p1…``), and
with the earlier claims and rebuttals those ancestors are cited by (ids and statements). An
ancestor is shown by an excerpt (:func:`excerpt`): the sentences the earlier map cites of it, else
its first sentence, since the listed statements already say what the map took from it. The
model answers in the compact format (:mod:`service.answer_format`) extended by ``a``
(:mod:`.delta_answer`): which listed claim each new comment backs (``p``) or rebuts (``r``), or
which listed rebuttal it counters (``c``); ``k`` holds new claims. Answers are validated and
re-asked like map answers (only the batch's new sentences may be cited, only listed ids
touched) and merged into the earlier map,
whose citations are carried over by source id, so every claim keeps its anchoring evidence and
therefore its id. New claims then go through one small reduce (:func:`_fold`) with the earlier
claims whose statements share words with them (at most :data:`REDUCE_PEERS` per new claim): a
new claim that repeats an earlier one backs it, and new claims that make one point merge; earlier
claims never merge with each other, so their ids stay. An earlier claim's prevalence counted
supporters its output left out as repeated quotes; :func:`carry_prevalence` adds what its shown
citations alone miss, so those supporters still count.

:func:`unusable` says why an earlier summary cannot be built on (then the run is cold, as
before): it predates ``seen``, came from another engine, or a comment it read changed or went.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Final

from ...answer_format import answer_schema
from ...chunker import context_text
from ...errors import TruncatedError
from ...models import Chunk, Citation, Comment, Prevalence, Thread, ThreadSummary, seen_digest
from ...prompts import ChunkView, render_chunk
from ...prompts import one_line as neutral_line
from ...text.tokens import estimate_tokens
from ...text.wording import one_line
from ..duplicates import find_duplicates
from .assemble import ClaimGroup, build_claims
from .calls import Run, Step, ask_validated, gather_or_cancel
from .delta_answer import DELTA_SHAPE, DeltaReply, WireDelta, check_delta
from .map import ChunkClaim, ChunkCounter, ChunkRebuttal, _globalise, citable
from .reduce import reduce_claims

__all__ = [
    "DELTA_SHAPE",
    "EXCERPT_CHARS",
    "Delta",
    "carry_prevalence",
    "check_delta",
    "excerpt",
    "plan_delta",
    "run_delta",
    "unusable",
]


DELTA = Step(prompt="delta", schema_name="argument_delta", schema=answer_schema(WireDelta))

REDUCE_PEERS: Final = 3
"""Earlier claims, most words in common first, that one new claim is reduced with."""
EXCERPT_CHARS: Final = 160
"""The most characters of an earlier ancestor a delta prompt shows (a map chunk shows 240)."""

_WORD = re.compile(r"\w{4,}")
_COMMON = frozenset(
    "that this with from have they their there what when which would could should about more "
    "most than then been were will into only some such very also just does your them these "
    "those here because think really".split()
)
_SPLIT_TAIL = re.compile(r"\s*(People split most over .*|No claim drew clear pushback\.)$")
_TEMPLATE_HEAD = re.compile(r"^[\d,]+ comments?\b")


def unusable(since: ThreadSummary, thread: Thread) -> str | None:
    """Why the LLM engine cannot build on ``since`` (None: it can)."""
    seen = since.thread.seen
    if seen is None:
        return "it does not say which comments it read (it predates thread.seen)"
    if since.engine.kind != "llm":
        return f"it was made by the {since.engine.kind} engine"
    if since.claims_omitted:
        return f"it left {since.claims_omitted} claim(s) out (--max-claims)"
    missing = [cid for cid in seen.ids if cid not in thread.by_id]
    if missing:
        return f"comment {missing[0]!r} it read is gone"
    if seen_digest([thread.by_id[cid] for cid in seen.ids]) != seen.digest:
        return "a comment it read has changed since"
    return None


@dataclass
class Delta:
    """The earlier map, re-keyed to the grown thread, and the comments that are new."""

    claims: list[tuple[str, ChunkClaim]]  # (earlier id, claim) in the earlier order
    rebuttals: dict[str, tuple[str, ChunkRebuttal]]  # rebuttal id -> (claim id, rebuttal)
    new: list[str]  # source ids of the new comments, thread order
    overview: str
    added: list[ChunkClaim] = field(default_factory=list)
    cited: dict[str, list[int]] = field(default_factory=dict)  # comment key -> cited sentences
    hidden: dict[str, Prevalence] = field(default_factory=dict)  # earlier id -> uncited part

    def __post_init__(self) -> None:
        if self.cited:
            return
        ids = [s for _, c in self.claims for s in (*c.evidence, *c.supporters)]
        ids += [s for _, r in self.rebuttals.values() for s in r.evidence]
        ids += [s for _, r in self.rebuttals.values() for c in r.counters for s in c.evidence]
        for sid in ids:
            key, _, k = sid.partition(".")
            got = self.cited.setdefault(key, [])
            if int(k) not in got:
                got.append(int(k))
        for got in self.cited.values():
            got.sort()


def plan_delta(since: ThreadSummary, thread: Thread) -> Delta | None:
    """The earlier map on the grown thread's keys; None when a citation does not resolve."""
    seen = set(since.thread.seen.ids if since.thread.seen else ())

    def ids(citations: list[Citation]) -> list[str] | None:
        out = []
        for c in citations:
            comment = thread.by_id.get(c.comment_id)
            if comment is None:
                return None
            for sid in c.sentence_ids:
                k = int(sid.rpartition(".")[2])
                if not 1 <= k <= len(comment.sentences):
                    return None
                out.append(f"{comment.key}.{k}")
        return out

    claims: list[tuple[str, ChunkClaim]] = []
    rebuttals: dict[str, tuple[str, ChunkRebuttal]] = {}
    for claim in since.claims:
        evidence, supporters = ids(claim.evidence), ids(claim.supporters)
        if evidence is None or supporters is None:
            return None
        found = ChunkClaim(claim.statement, evidence, supporters, [])
        for r in claim.rebuttals:
            r_ids = ids(r.evidence)
            counters = [(c.statement, ids(c.evidence)) for c in r.counters]
            if r_ids is None or any(e is None for _, e in counters):
                return None
            rebuttal = ChunkRebuttal(
                r.statement, r_ids, [ChunkCounter(s, e or []) for s, e in counters]
            )
            found.rebuttals.append(rebuttal)
            rebuttals[r.id] = (claim.id, rebuttal)
        claims.append((claim.id, found))
    overview = _SPLIT_TAIL.sub("", since.overview)
    if _TEMPLATE_HEAD.match(overview):
        overview = ""  # a one-call summary's template overview: written again from the claims
    new = [c.id for c in thread.comments if c.id not in seen]
    return Delta(claims, rebuttals, new, overview, hidden=_hidden(since, claims, thread))


def _hidden(
    since: ThreadSummary, claims: list[tuple[str, ChunkClaim]], thread: Thread
) -> dict[str, Prevalence]:
    """Per earlier claim, the prevalence its shown citations do not account for: supporters
    the earlier output left out as repeated quotes (counted then, not listed)."""
    duplicates = find_duplicates(thread)
    then = {c.id: c.prevalence for c in since.claims}
    out: dict[str, Prevalence] = {}
    for kid, claim in claims:
        copy = ChunkClaim(claim.statement, list(claim.evidence), list(claim.supporters), [])
        shown = build_claims(thread, [ClaimGroup(claim.statement, [copy])], None, duplicates)
        if not shown:
            continue
        now = shown[0].prevalence
        comments = max(0, then[kid].comments - now.comments)
        authors = max(0, then[kid].authors - now.authors)
        if comments or authors:
            out[kid] = Prevalence(comments=comments, authors=authors)
    return out


def carry_prevalence(summary: ThreadSummary, since: ThreadSummary, delta: Delta) -> None:
    """Add to each earlier claim of ``summary`` (found by its evidence, which a delta never
    changes) the prevalence of :attr:`Delta.hidden`: supporters counted but not listed then;
    the claims are ranked again."""
    if not delta.hidden:
        return

    def anchor(citations: list[Citation]) -> tuple[tuple[str, str], ...]:
        return tuple((c.comment_id, c.quote) for c in citations)

    earlier = {anchor(c.evidence): c.id for c in since.claims if c.id in delta.hidden}
    for claim in summary.claims:
        kid = earlier.get(anchor(claim.evidence))
        if kid is None:
            continue
        extra, p = delta.hidden[kid], claim.prevalence
        claim.prevalence = Prevalence(
            comments=p.comments + extra.comments, authors=p.authors + extra.authors
        )
    # ranked as assembly ranks them, by authors then rebuttals (a stable sort keeps the rest)
    summary.claims.sort(key=lambda c: (-c.prevalence.authors, -len(c.rebuttals)))


def batches(thread: Thread, new: list[str], budget: int) -> list[Chunk]:
    """The new comments packed into chunks: by the top-level subtree they grow, in thread
    order, each chunk up to ``budget`` tokens with its earlier ancestors as context."""
    groups: dict[str, list[Comment]] = {}
    for cid in new:
        comment = top = thread.by_id[cid]
        while top.parent_id is not None:
            top = thread.by_id[top.parent_id]
        groups.setdefault(top.id, []).append(comment)
    order = {c.id: n for n, c in enumerate(thread.comments)}
    out: list[Chunk] = []
    members: list[Comment] = []
    size = 0

    def close() -> None:
        nonlocal members, size
        if not members:
            return
        context: set[str] = set()
        for c in members:
            p = c.parent_id
            while p is not None:
                context.add(p)
                p = thread.by_id[p].parent_id
        inside = {m.id for m in members}
        ctx = tuple(sorted((p for p in context if p not in inside), key=order.__getitem__))
        ids = tuple(m.id for m in members)
        digest = hashlib.sha256("\0".join((*ctx, "|", *ids)).encode()).hexdigest()[:16]
        out.append(
            Chunk(index=len(out), comment_ids=ids, context_ids=ctx, tokens=size, digest=digest)
        )
        members, size = [], 0

    for group in groups.values():
        for c in group:
            cost = estimate_tokens(c.text) + 8
            if members and size + cost > budget:
                close()
            members.append(c)
            size += cost
    close()
    return out


def excerpt(comment: Comment, cited: list[int]) -> str:
    """What a delta prompt shows of an earlier ancestor: the sentences of it the earlier map
    cites (``cited``: their numbers), else its first sentence, on one line and at most
    :data:`EXCERPT_CHARS` characters (a deleted or empty comment: its map context text)."""
    if comment.status != "ok" or not comment.sentences:
        return context_text(comment)
    ks = [k for k in cited if 1 <= k <= len(comment.sentences)] or [1]
    text = " ".join(" ".join(comment.sentences[k - 1].text.split()) for k in ks)
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _excerpted(view: ChunkView, thread: Thread, chunk: Chunk, delta: Delta) -> ChunkView:
    """``view`` with each context line's text replaced by the ancestor's :func:`excerpt`.

    A line is only rewritten where it ends exactly as the chunk renderer writes it (its header,
    ``": "``, the map context text), so headers and parent references stay as rendered."""
    if not chunk.context_ids:
        return view
    lines = view.text.split("\n")
    if not lines or lines[0] != "context:":
        return view
    for n, cid in enumerate(chunk.context_ids, start=1):
        if n >= len(lines):
            break
        c = thread.by_id[cid]
        full = ": " + neutral_line(context_text(c))
        line = lines[n]
        if line.startswith(f"p{n}") and line.endswith(full):
            shown = neutral_line(excerpt(c, delta.cited.get(c.key, [])))  # untrusted: neutralised
            lines[n] = line[: len(line) - len(full)] + ": " + shown
    return replace(view, text="\n".join(lines))


def _listing(delta: Delta, thread: Thread, chunk: Chunk) -> tuple[str, set[str], set[str]]:
    """The claims and rebuttals a chunk's context is cited by, as ``ID [p1 p3] statement``."""
    local = {thread.by_id[cid].key: f"p{n}" for n, cid in enumerate(chunk.context_ids, start=1)}

    def cited(ids: list[str]) -> list[str]:
        return list(dict.fromkeys(local[k] for s in ids if (k := s.partition(".")[0]) in local))

    lines: list[str] = []
    claim_ids: set[str] = set()
    rebuttal_ids: set[str] = set()
    by_claim: dict[str, list[tuple[str, ChunkRebuttal]]] = {}
    for rid, (kid, r) in delta.rebuttals.items():
        by_claim.setdefault(kid, []).append((rid, r))
    for kid, claim in delta.claims:
        own = cited(claim.evidence + claim.supporters)
        theirs = [
            (rid, refs)
            for rid, r in by_claim.get(kid, [])
            if (refs := cited(r.evidence + [s for c in r.counters for s in c.evidence]))
        ]
        if not own and not theirs:
            continue
        lines.append(f"{kid} [{' '.join(own)}] {one_line(claim.statement)}")
        claim_ids.add(kid)
        for rid, refs in theirs:
            lines.append(f"{rid} [{' '.join(refs)}] {one_line(delta.rebuttals[rid][1].statement)}")
            rebuttal_ids.add(rid)
    return "\n".join(lines) or "(none)", claim_ids, rebuttal_ids


async def run_delta(run: Run, delta: Delta) -> list[ClaimGroup]:
    """Ask about every batch of new comments, merge the answers into the earlier map, and
    return the map's claims as groups (earlier claims first, in their order; then new ones)."""
    chunks = batches(run.thread, delta.new, run.settings.chunk_tokens)
    run.stats.chunks = len(chunks)
    run.report("chunks")
    answers = await gather_or_cancel(*(_ask_counted(run, delta, ch) for ch in chunks))
    for reply, keys in answers:
        if reply is not None:
            _merge(delta, reply, keys)
    groups = [ClaimGroup(c.statement, [c]) for _, c in delta.claims]
    return groups + await _fold(run, delta)


def _words(statement: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(statement.casefold()) if w not in _COMMON}


def peers(delta: Delta) -> list[int]:
    """Indexes into ``delta.claims`` of the earlier claims the new claims may repeat: per new
    claim, up to :data:`REDUCE_PEERS` sharing the most words with it (earlier ones first)."""
    earlier = [_words(c.statement) for _, c in delta.claims]
    out: set[int] = set()
    for claim in delta.added:
        words = _words(claim.statement)
        scored = [(len(words & w), -n) for n, w in enumerate(earlier) if words & w]
        out.update(-n for _, n in sorted(scored, reverse=True)[:REDUCE_PEERS])
    return sorted(out)


async def _fold(run: Run, delta: Delta) -> list[ClaimGroup]:
    """The new claims after one small reduce with the earlier claims they may repeat.

    A new claim merged with an earlier one joins it as support: its evidence and supporters
    become the earlier claim's supporters and its rebuttals the earlier claim's, so the earlier
    claim keeps its evidence (and id). New claims merged with each other become one group.
    Returns the groups of the new claims that merged with no earlier claim."""
    added = delta.added
    if not added:
        return []
    chosen = peers(delta)
    if len(added) + len(chosen) < 2:
        return [ClaimGroup(c.statement, [c]) for c in added]
    run.stage = "reducing"
    run.report("stage")
    earlier = [delta.claims[n][1] for n in chosen]
    found = [*(ChunkClaim(c.statement, [], [], c.rebuttals) for c in earlier), *added]
    reduced = await reduce_claims(run, found, overview=False)  # the earlier overview stays
    groups: list[ClaimGroup] = []
    for merged in reduced.claims:
        olds = [earlier[m] for m in merged.members if m < len(earlier)]
        news = [added[m - len(earlier)] for m in merged.members if m >= len(earlier)]
        if not news:
            continue
        if not olds:
            groups.append(ClaimGroup(merged.statement, news))
            continue
        into = olds[0]
        for claim in news:
            into.supporters.extend(
                s
                for s in (*claim.evidence, *claim.supporters)
                if s not in into.supporters and s not in into.evidence
            )
            into.rebuttals.extend(claim.rebuttals)
    return groups


async def _ask_counted(
    run: Run, delta: Delta, chunk: Chunk
) -> tuple[DeltaReply | None, dict[str, str]]:
    found = await _ask(run, delta, chunk, str(chunk.index))
    run.chunks_done += 1
    run.report("chunk_done")
    return found


async def _ask(
    run: Run, delta: Delta, chunk: Chunk, label: str
) -> tuple[DeltaReply | None, dict[str, str]]:
    thread = run.thread
    view = _excerpted(render_chunk(thread, chunk), thread, chunk, delta)
    valid = citable(thread, view)
    if not valid:
        return None, {}
    listing, claim_ids, rebuttal_ids = _listing(delta, thread, chunk)
    variables = {"title": run.title, "claims": listing, "comments": view.text}
    try:
        answer = await ask_validated(
            run,
            DELTA,
            {**variables, "schema": DELTA_SHAPE},
            lambda value: check_delta(value, valid, claim_ids, rebuttal_ids),
            where=f"delta {label}",
        )
    except TruncatedError:
        if len(chunk.comment_ids) < 2:
            raise
        half = len(chunk.comment_ids) // 2
        run.warnings.append(f"delta {label}: the answer hit max_tokens; split in two")
        parts = [
            chunk.model_copy(update={"comment_ids": ids, "digest": f"{chunk.digest}{tag}"})
            for tag, ids in (("a", chunk.comment_ids[:half]), ("b", chunk.comment_ids[half:]))
        ]
        first, second = await gather_or_cancel(
            _ask(run, delta, parts[0], label + "a"), _ask(run, delta, parts[1], label + "b")
        )
        for reply, keys in (first, second):
            if reply is not None:
                _merge(delta, reply, keys)
        return None, {}
    if answer.errors:
        reply = answer.reply
        if reply is None or not (reply.claims or reply.touches):
            reason = (
                f"delta {label}: no usable answer after {answer.reasks} re-ask(s) "
                f"({answer.errors[0]})"
            )
            n = len(chunk.comment_ids)
            run.warnings.append(f"{reason}; its {n} new comment(s) are not in the map")
            run.failures.add(chunk.index, reason, n)
            return None, {}
        run.warnings.append(
            f"delta {label}: kept the valid part of the answer; dropped "
            f"{len(answer.errors)} problem(s), e.g. {answer.errors[0]}"
        )
    run.stats.dropped_citations += answer.dropped
    return answer.reply, view.local_to_global


def _merge(delta: Delta, reply: DeltaReply, keys: dict[str, str]) -> None:
    """One batch's answer, with thread-global sentence ids, added to the map."""
    claims = dict(delta.claims)

    def g(ids: list[str]) -> list[str]:
        return [f"{keys[local]}.{k}" for local, _, k in (s.partition(".") for s in ids)]

    for t in reply.touches:
        if t.target in claims:
            claim = claims[t.target]
            claim.supporters.extend(s for s in g(t.supporters) if s not in claim.supporters)
            claim.rebuttals.extend(
                ChunkRebuttal(
                    r.statement,
                    g(r.evidence),
                    [ChunkCounter(c.statement, g(c.evidence)) for c in r.counters],
                )
                for r in t.rebuttals
            )
        else:
            _, rebuttal = delta.rebuttals[t.target]
            rebuttal.counters.extend(ChunkCounter(c.statement, g(c.evidence)) for c in t.counters)
    delta.added.extend(_globalise(c, keys) for c in reply.claims)
