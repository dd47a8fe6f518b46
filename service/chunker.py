"""Split a reply tree into chunks by reply depth, within a token budget. Pure and deterministic.

Units. Each top-level subtree is a unit if it fits the budget. One that does not is split: its
root comment becomes a unit by itself and each child subtree is considered on its own, one level
deeper, carrying its ancestor path (abbreviated) as read-only context. A single comment over the
budget is cut into sentence ranges.

Packing. Units are packed in thread order. Where chunk boundaries fall is decided mostly by the
units themselves, not by their position: a unit *anchors* (starts a new chunk) when a hash of its
root id falls under a threshold proportional to its size, so anchors come on average every
``ANCHOR_FILL × budget`` tokens. A chunk also ends when the next unit would overflow the budget.
When a thread grows, a change inside one subtree moves boundaries only until the next anchor, so
the other chunks stay byte-identical and their model answers stay cached. Chunk ``digest``
identifies content, not position.

Balance. Given the number of model calls in flight (``slots``), a thread whose chunks would fill
the last wave of calls only in part is re-packed into a multiple of ``slots`` chunks of similar
size, without anchors, so no slot idles while one last chunk is mapped. That trades the anchors'
stability under growth for full waves; a thread that already packs into full waves keeps them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .errors import UsageError
from .models import Chunk, ChunkSegment, Comment, Thread
from .text.tokens import estimate_tokens

#: Average fill at which anchors start chunks (fraction of the budget).
ANCHOR_FILL = 0.7
#: A chunk under this fill of the budget is never ended by an anchor alone.
MIN_FILL = 0.35
#: Ancestors shown as context above a unit (nearest first kept).
MAX_CONTEXT = 6
#: Most of a chunk's budget that ancestor context may take.
MAX_CONTEXT_SHARE = 0.25
#: Characters of an ancestor's text kept as context.
CONTEXT_CHARS = 240
#: Per-comment markup in the prompt (key, author, reply-to) and per-sentence id, in tokens.
COMMENT_OVERHEAD = 12
SENTENCE_OVERHEAD = 5
#: Smallest budget the chunker accepts. Sentences are capped at MAX_SENTENCE_TOKENS, so one
#: sentence plus the largest context always fits.
MIN_BUDGET = 1000

CostFn = Callable[[Comment], int]


def comment_cost(comment: Comment) -> int:
    """Estimated prompt tokens of one comment as rendered for the model."""
    return (
        estimate_tokens(comment.text)
        + COMMENT_OVERHEAD
        + SENTENCE_OVERHEAD * len(comment.sentences)
    )


def context_text(comment: Comment) -> str:
    """The abbreviated text of an ancestor shown as context."""
    text = comment.text if comment.status == "ok" else f"[{comment.status}]"
    text = " ".join(text.split())
    return text if len(text) <= CONTEXT_CHARS else text[: CONTEXT_CHARS - 1] + "…"


def context_cost(comment: Comment) -> int:
    """Estimated prompt tokens of an ancestor shown as context."""
    return estimate_tokens(context_text(comment)) + COMMENT_OVERHEAD


@dataclass
class _Unit:
    ids: list[str]  # comments this unit is responsible for, thread order
    cost: int
    ancestors: tuple[str, ...]  # context, top-down, already trimmed
    segment: tuple[int, int] | None = None  # sentence range when one comment was split
    first_segment: bool = True


@dataclass
class _Open:
    units: list[_Unit] = field(default_factory=list)
    members: set[str] = field(default_factory=set)
    context: list[str] = field(default_factory=list)
    tokens: int = 0


class _ContextCosts(dict[str, int]):
    """:func:`context_cost` by comment id, computed on first use."""

    def __init__(self, by_id: dict[str, Comment]) -> None:
        super().__init__()
        self._by_id = by_id

    def __missing__(self, cid: str) -> int:
        value = self[cid] = context_cost(self._by_id[cid])
        return value


def _anchor_score(comment_id: str) -> float:
    h = hashlib.blake2b(comment_id.encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


def chunk_thread(
    thread: Thread, budget: int, cost: CostFn = comment_cost, *, slots: int = 1
) -> list[Chunk]:
    """Chunk ``thread`` so every chunk's estimated tokens are at most ``budget``.

    ``slots``: model calls in flight. When the chunks are more than ``slots`` and would leave
    some of the last wave's slots idle, they are re-packed into a multiple of ``slots`` chunks
    of similar size (see :func:`_balance`).
    """
    if budget < MIN_BUDGET:
        raise UsageError(f"chunk budget {budget} is below the minimum of {MIN_BUDGET} tokens")
    by_id = thread.by_id
    own = {c.id: cost(c) for c in thread.comments}
    ctx_cost = _ContextCosts(by_id)  # only ancestors of split subtrees are ever shown
    subtree: dict[str, int] = {}
    span: dict[str, int] = {}  # number of comments in each subtree (contiguous in thread order)
    for c in reversed(thread.comments):
        subtree[c.id] = own[c.id] + sum(subtree[k] for k in c.children)
        span[c.id] = 1 + sum(span[k] for k in c.children)
    position = {c.id: i for i, c in enumerate(thread.comments)}
    order = [c.id for c in thread.comments]

    units: list[_Unit] = []

    def visit(root_id: str, path: tuple[str, ...]) -> None:
        # Iterative over the split spine to survive very deep threads.
        stack: list[tuple[str, tuple[str, ...]]] = [(root_id, path)]
        while stack:
            cid, anc = stack.pop()
            shown = anc[-MAX_CONTEXT:]
            overhead = sum(ctx_cost[a] for a in shown)
            while len(shown) > 1 and overhead > budget * MAX_CONTEXT_SHARE:
                overhead -= ctx_cost[shown[0]]  # drop the farthest; the parent always stays
                shown = shown[1:]
            if subtree[cid] + overhead <= budget:
                start = position[cid]
                units.append(_Unit(order[start : start + span[cid]], subtree[cid], shown))
                continue
            if own[cid] + overhead <= budget:
                units.append(_Unit([cid], own[cid], shown))
            else:
                units.extend(_split_comment(by_id[cid], budget - overhead, shown))
            stack.extend((k, (*anc, cid)) for k in reversed(by_id[cid].children))

    for root in thread.roots:
        visit(root, ())

    chunks = _pack(units, budget, ctx_cost, anchors=True)
    if slots > 1 and len(chunks) > slots and len(chunks) % slots:
        chunks = _balance(units, budget, ctx_cost, len(chunks), slots)
    return [_finish(i, ch, by_id, position) for i, ch in enumerate(chunks)]


def _pack(units: list[_Unit], cap: int, ctx_cost: dict[str, int], anchors: bool) -> list[_Open]:
    """``units`` in thread order, in chunks of at most ``cap`` tokens (context included); with
    ``anchors``, a chunk also ends where an anchor unit starts (see the module docstring)."""
    chunks: list[_Open] = []
    cur = _Open()
    for unit in units:
        new_ctx = [a for a in unit.ancestors if a not in cur.members and a not in cur.context]
        added = unit.cost + sum(ctx_cost[a] for a in new_ctx)
        anchor = anchors and _anchor_score(unit.ids[0]) < unit.cost / (ANCHOR_FILL * cap)
        if cur.units and (cur.tokens + added > cap or (anchor and cur.tokens >= MIN_FILL * cap)):
            chunks.append(cur)
            cur = _Open()
            new_ctx = list(unit.ancestors)
            added = unit.cost + sum(ctx_cost[a] for a in new_ctx)
        cur.units.append(unit)
        cur.members.update(unit.ids)
        cur.context.extend(new_ctx)
        cur.tokens += added
    if cur.units:
        chunks.append(cur)
    return chunks


def _balance(
    units: list[_Unit], budget: int, ctx_cost: dict[str, int], count: int, slots: int
) -> list[_Open]:
    """Chunks of similar size, as many as a multiple of ``slots`` (model calls in flight), so
    the maps come in full waves: the fewest full waves that fit the budget, else one more
    wave than ``count`` chunks fill. Each chunk is at most the smallest cap that packs the
    units into that many chunks (found by bisection), so the largest is as small as it can be.
    A function of the units and the settings only; anchors give way to the balance here.
    """
    tight = len(_pack(units, budget, ctx_cost, anchors=False))
    target = count // slots * slots
    if target < tight:
        target = -(-count // slots) * slots
    low, high = max(u.cost for u in units), budget  # high always packs into <= target
    while low < high:
        mid = (low + high) // 2
        if len(_pack(units, mid, ctx_cost, anchors=False)) <= target:
            high = mid
        else:
            low = mid + 1
    return _pack(units, high, ctx_cost, anchors=False)


def _split_comment(comment: Comment, room: int, ancestors: tuple[str, ...]) -> list[_Unit]:
    """Cut one over-budget comment into sentence ranges that each fit ``room`` tokens."""
    parts: list[_Unit] = []
    first = 1
    acc = COMMENT_OVERHEAD
    for k, sentence in enumerate(comment.sentences, start=1):
        c = estimate_tokens(sentence.text) + SENTENCE_OVERHEAD
        if k > first and acc + c > room:
            parts.append(_Unit([comment.id], acc, ancestors, (first, k - 1), not parts))
            first, acc = k, COMMENT_OVERHEAD
        acc += c
    parts.append(_Unit([comment.id], acc, ancestors, (first, len(comment.sentences)), not parts))
    return parts


def _finish(index: int, ch: _Open, by_id: dict[str, Comment], position: dict[str, int]) -> Chunk:
    comment_ids: list[str] = []
    continued: list[str] = []
    segments: list[ChunkSegment] = []
    for u in ch.units:
        if u.segment is not None:
            segments.append(
                ChunkSegment(comment_id=u.ids[0], first=u.segment[0], last=u.segment[1])
            )
            if not u.first_segment:
                if u.ids[0] not in continued:
                    continued.append(u.ids[0])
                continue
        for cid in u.ids:
            if cid not in comment_ids:
                comment_ids.append(cid)
    context = sorted(set(ch.context), key=position.__getitem__)
    return Chunk(
        index=index,
        comment_ids=tuple(comment_ids),
        context_ids=tuple(context),
        continued_ids=tuple(continued),
        segments=tuple(segments),
        tokens=ch.tokens,
        digest=_digest(comment_ids, continued, context, segments, by_id),
    )


def _digest(
    comment_ids: Sequence[str],
    continued: Sequence[str],
    context: Sequence[str],
    segments: Sequence[ChunkSegment],
    by_id: dict[str, Comment],
) -> str:
    def entry(cid: str) -> list[object]:
        c = by_id[cid]
        return [c.id, c.parent_id, c.author, c.status, c.text]

    doc = {
        "comments": [entry(c) for c in comment_ids],
        "continued": [entry(c) for c in continued],
        "context": [[c, context_text(by_id[c])] for c in context],
        "segments": [[s.comment_id, s.first, s.last] for s in segments],
    }
    raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]
