from __future__ import annotations

import itertools
import random

import pytest

from service.chunker import MIN_BUDGET, chunk_thread, comment_cost
from service.devtools.synthetic import synthetic_thread
from service.errors import UsageError
from service.ingest import read_thread
from service.ingest.tree import build_thread
from service.models import Chunk, RawComment, RawThread, Thread


def synth(n: int, seed: int = 1) -> Thread:
    import json

    return read_thread(json.dumps(synthetic_thread(n, seed)))


def check_invariants(thread: Thread, chunks: list[Chunk], budget: int) -> None:
    listed = [cid for ch in chunks for cid in ch.comment_ids]
    assert sorted(listed) == sorted(c.id for c in thread.comments)  # exactly once
    order = {c.id: i for i, c in enumerate(thread.comments)}
    assert listed == sorted(listed, key=order.__getitem__)  # thread order
    for ch in chunks:
        assert ch.tokens <= budget
        members = set(ch.comment_ids) | set(ch.continued_ids)
        assert not members & set(ch.context_ids)
        # every comment's parent is in the chunk, or shown as context, or it is top-level
        for cid in ch.comment_ids:
            p = thread.by_id[cid].parent_id
            assert p is None or p in members or p in ch.context_ids


@pytest.mark.parametrize(("n", "budget"), [(10, 1000), (300, 1000), (1000, 2000), (2000, 6000)])
def test_invariants_on_synthetic_threads(n: int, budget: int) -> None:
    thread = synth(n)
    chunks = chunk_thread(thread, budget)
    check_invariants(thread, chunks, budget)
    assert [ch.index for ch in chunks] == list(range(len(chunks)))


def test_small_thread_is_one_chunk() -> None:
    thread = synth(10)
    assert len(chunk_thread(thread, 6000)) == 1


def test_deterministic() -> None:
    a = chunk_thread(synth(800, 3), 1500)
    b = chunk_thread(synth(800, 3), 1500)
    assert a == b


def test_packing_is_reasonably_dense() -> None:
    thread = synth(3000, 5)
    budget = 4000
    chunks = chunk_thread(thread, budget)
    total = sum(comment_cost(c) for c in thread.comments)
    assert len(chunks) <= 2 * total / budget + 1


def _raw_from_thread(thread: Thread) -> RawThread:
    return RawThread(
        id=thread.id,
        source="native",
        format="native",
        comments=[
            RawComment(id=c.id, parent_id=c.parent_id, author=c.author, text=c.text)
            for c in thread.comments
        ],
    )


def test_oversize_comment_is_split_at_sentence_boundaries() -> None:
    big = " ".join(f"Sentence number {i} is here with some words." for i in range(600))
    raw = RawThread(
        id="T",
        source="native",
        format="native",
        comments=[
            RawComment(id="a", text="Short root."),
            RawComment(id="b", parent_id="a", text=big),
            RawComment(id="c", parent_id="b", text="Reply to the big one."),
        ],
    )
    thread = build_thread(raw, max_comments=10, max_depth=10)
    chunks = chunk_thread(thread, MIN_BUDGET)
    check_invariants(thread, chunks, MIN_BUDGET)
    segs = [s for ch in chunks for s in ch.segments if s.comment_id == "b"]
    assert len(segs) >= 3
    assert segs[0].first == 1 and segs[-1].last == len(thread.by_id["b"].sentences)
    assert all(x.last + 1 == y.first for x, y in itertools.pairwise(segs))
    assert sum("b" in ch.comment_ids for ch in chunks) == 1
    assert sum("b" in ch.continued_ids for ch in chunks) == len(segs) - 1


def test_deep_subtree_carries_ancestor_context() -> None:
    text = "A fairly long comment that takes up room in the budget. " * 12
    comments = [RawComment(id="0", text=text)]
    comments += [RawComment(id=str(i), parent_id=str(i - 1), text=text) for i in range(1, 60)]
    thread = build_thread(
        RawThread(id="T", source="native", format="native", comments=comments),
        max_comments=100,
        max_depth=100,
    )
    chunks = chunk_thread(thread, MIN_BUDGET)
    check_invariants(thread, chunks, MIN_BUDGET)
    later = [ch for ch in chunks if ch.index > 0]
    assert later and all(ch.context_ids for ch in later)
    assert all(len(ch.context_ids) <= 6 for ch in chunks)


def test_very_deep_thread() -> None:
    comments = [RawComment(id="0", text="Root.")]
    comments += [
        RawComment(id=str(i), parent_id=str(i - 1), text="Reply " * 30) for i in range(1, 3000)
    ]
    thread = build_thread(
        RawThread(id="T", source="native", format="native", comments=comments),
        max_comments=5000,
        max_depth=5000,
    )
    check_invariants(thread, chunk_thread(thread, MIN_BUDGET), MIN_BUDGET)


def test_budget_below_minimum_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="below the minimum"):
        chunk_thread(synth(5), 100)


def test_growth_keeps_untouched_chunks_identical() -> None:
    thread = synth(2000, 11)
    before = chunk_thread(thread, 3000)
    raw = _raw_from_thread(thread)
    # New replies land in one subtree: append them under a single comment near the middle.
    rng = random.Random(2)
    target = thread.comments[len(thread.comments) // 2].id
    for i in range(8):
        raw.comments.append(
            RawComment(
                id=f"new{i}",
                parent_id=target,
                author="late",
                text="A late reply. " * rng.randint(1, 5),
            )
        )
    grown = build_thread(raw, max_comments=10_000, max_depth=1000)
    after = chunk_thread(grown, 3000)
    old = {ch.digest for ch in before}
    kept = sum(ch.digest in old for ch in after)
    assert kept >= len(after) - 3, (kept, len(after))


def test_dense_scripts_and_deep_context_stay_within_budget() -> None:
    cjk = "。".join(["这是一个很长的句子" * 12] * 5)
    comments = [RawComment(id="0", text="这" * 1200)]
    comments += [RawComment(id=str(i), parent_id=str(i - 1), text=cjk) for i in range(1, 15)]
    thread = build_thread(
        RawThread(id="T", source="native", format="native", comments=comments),
        max_comments=100,
        max_depth=100,
    )
    for budget in (MIN_BUDGET, 1500):
        check_invariants(thread, chunk_thread(thread, budget), budget)


@pytest.mark.parametrize(
    ("n", "budget", "slots"), [(1000, 6000, 8), (1000, 2000, 4), (600, 2000, 8)]
)
def test_balanced_chunks_fill_whole_waves(n: int, budget: int, slots: int) -> None:
    thread = synth(n, seed=42)
    plain = chunk_thread(thread, budget)
    balanced = chunk_thread(thread, budget, slots=slots)
    check_invariants(thread, balanced, budget)
    assert balanced == chunk_thread(thread, budget, slots=slots)  # deterministic
    if len(plain) > slots and len(plain) % slots:
        # No more chunks than the next full wave, and the biggest is no bigger than before.
        assert len(balanced) <= -(-len(plain) // slots) * slots
        assert max(c.tokens for c in balanced) <= max(c.tokens for c in plain)
        assert len(balanced) % slots == 0 or len(balanced) < len(plain)
    else:
        assert balanced == plain


def test_balance_leaves_threads_that_fill_their_waves_alone() -> None:
    thread = synth(1000, seed=42)
    plain = chunk_thread(thread, 6000)
    assert chunk_thread(thread, 6000, slots=1) == plain
    assert chunk_thread(thread, 6000, slots=len(plain)) == plain
    assert chunk_thread(thread, 6000, slots=len(plain) + 5) == plain
