"""The ``inspect`` report: what was parsed and how it was chunked, as JSON or readable text."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .models import Chunk, Thread


def thread_info(thread: Thread) -> dict[str, Any]:
    """Counts that describe a thread, as ``inspect --json`` reports them.

    ``source`` is the input format here (``hn-algolia`` …) and ``site`` the origin (``hn``);
    the ThreadSummary names these ``format`` and ``source``.
    """
    return {
        "id": thread.id,
        "source": thread.format,
        "site": thread.source,
        "title": thread.title,
        "url": thread.url,
        "comments": len(thread.comments),
        "authors": thread.authors,
        "max_depth": thread.max_depth,
    }


def inspect_json(thread: Thread, chunks: list[Chunk], budget: int) -> dict[str, Any]:
    """The ``inspect --json`` document."""
    return {
        "thread": {
            **thread_info(thread),
            "top_level": len(thread.roots),
            "unloaded": thread.unloaded,
        },
        "comments": [
            {
                "id": c.id,
                "key": c.key,
                "parent_id": c.parent_id,
                "author": c.author,
                "depth": c.depth,
                "status": c.status,
                "created_at": c.created_at.isoformat() if c.created_at else None,
                "score": c.score,
                "url": c.url,
                "text": c.text,
                "sentences": [{"id": s.id, "text": s.text} for s in c.sentences],
            }
            for c in thread.comments
        ],
        "chunks": [
            {
                "index": ch.index,
                "comment_ids": list(ch.comment_ids),
                "context_ids": list(ch.context_ids),
                "continued_ids": list(ch.continued_ids),
                "segments": [s.model_dump() for s in ch.segments],
                "tokens": ch.tokens,
                "digest": ch.digest,
            }
            for ch in chunks
        ],
        "budget": budget,
        "warnings": list(thread.warnings),
    }


def inspect_text(thread: Thread, chunks: list[Chunk], budget: int) -> str:
    """A readable report: counts, depth histogram, chunks, warnings."""
    statuses = Counter(c.status for c in thread.comments)
    sentences = sum(len(c.sentences) for c in thread.comments)
    lines = [
        f"thread    {thread.title or '(untitled)'}",
        f"          id {thread.id} · {thread.format}" + (f" · {thread.url}" if thread.url else ""),
        f"comments  {len(thread.comments)} ({len(thread.roots)} top-level"
        + "".join(f", {n} {s}" for s, n in sorted(statuses.items()) if s != "ok")
        + (f", {thread.unloaded} not loaded" if thread.unloaded else "")
        + f") · {thread.authors} authors · {sentences} sentences",
        f"depth     max {thread.max_depth}",
    ]
    depths = Counter(c.depth for c in thread.comments)
    widest = max(depths.values())
    for d in sorted(depths):
        bar = "█" * max(1, round(30 * depths[d] / widest))
        lines.append(f"  {d:>4}  {depths[d]:>6}  {bar}")
    total = sum(ch.tokens for ch in chunks)
    lines.append(f"chunks    {len(chunks)} · budget {budget} tokens · {total} tokens in all")
    for ch in chunks:
        extra = f" +{len(ch.context_ids)} context" if ch.context_ids else ""
        if ch.continued_ids:
            extra += f" +{len(ch.continued_ids)} continued"
        lines.append(
            f"  #{ch.index:<4} {len(ch.comment_ids):>5} comments{extra:<14} "
            f"{ch.tokens:>6} tokens  {ch.digest}"
        )
    if thread.warnings:
        lines.append("warnings")
        lines.extend(f"  - {w}" for w in thread.warnings)
    return "\n".join(lines)
