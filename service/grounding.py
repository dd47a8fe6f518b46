"""Citations resolved from sentence ids, and the check that every summary is grounded.

A quote is never written by an engine: engines name sentence ids, and :func:`cite` slices the
comment text from the first cited sentence to the last. :func:`check_summary` re-verifies a
finished summary against its thread, so a broken engine cannot ship an ungrounded quote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from .models import Citation, Comment, Thread, ThreadSummary


def sentence_index(sentence_id: str) -> tuple[str, int] | None:
    """Split ``c12.3`` into ``("c12", 3)``; None when malformed."""
    key, _, k = sentence_id.partition(".")
    if not key.startswith("c") or not key[1:].isdigit() or not k.isdigit():
        return None
    return key, int(k)


def cite(thread: Thread, sentence_ids: Iterable[str]) -> list[Citation]:
    """Citations for ``sentence_ids``: one per comment and run of consecutive sentences.

    Unknown ids raise ``KeyError``: callers validate ids before citing.
    """
    runs: list[tuple[Comment, int, int]] = []
    for sid in sentence_ids:
        parsed = sentence_index(sid)
        if parsed is None:
            raise KeyError(sid)
        key, k = parsed
        comment = thread.by_key[key]
        if not 1 <= k <= len(comment.sentences):
            raise KeyError(sid)
        if runs and runs[-1][0].id == comment.id and runs[-1][2] + 1 == k:
            runs[-1] = (comment, runs[-1][1], k)
        elif not (runs and runs[-1][0].id == comment.id and runs[-1][1] <= k <= runs[-1][2]):
            runs.append((comment, k, k))
    return [_citation(c, first, last) for c, first, last in runs]


_WORDS = re.compile(r"\w+")


def quote_key(quote: str) -> str:
    """A quote as compared for repeats: its words, case folded (spacing and punctuation aside)."""
    return " ".join(_WORDS.findall(quote.casefold()))


def distinct_quotes(citations: Iterable[Citation]) -> list[Citation]:
    """``citations`` without those whose quote repeats an earlier one's (the first is kept)."""
    seen: set[str] = set()
    out: list[Citation] = []
    for c in citations:
        key = quote_key(c.quote)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _citation(comment: Comment, first: int, last: int) -> Citation:
    a, b = comment.sentences[first - 1], comment.sentences[last - 1]
    return Citation(
        comment_id=comment.id,
        author=comment.author,
        sentence_ids=[s.id for s in comment.sentences[first - 1 : last]],
        quote=comment.text[a.start : b.end],
        url=comment.url,
    )


def _citations(summary: ThreadSummary) -> Iterator[tuple[str, Citation]]:
    for claim in summary.claims:
        for c in claim.evidence:
            yield f"{claim.id} evidence", c
        for c in claim.supporters:
            yield f"{claim.id} supporters", c
        for r in claim.rebuttals:
            for c in r.evidence:
                yield f"{r.id} evidence", c
            for n, counter in enumerate(r.counters, start=1):
                for c in counter.evidence:
                    yield f"{r.id} counter {n}", c


def _lists(summary: ThreadSummary) -> Iterator[tuple[str, list[Citation]]]:
    for claim in summary.claims:
        yield f"{claim.id} evidence", claim.evidence
        yield f"{claim.id} supporters", claim.supporters
        for r in claim.rebuttals:
            yield f"{r.id} evidence", r.evidence
            for n, counter in enumerate(r.counters, start=1):
                yield f"{r.id} counter {n}", counter.evidence


def check_summary(summary: ThreadSummary, thread: Thread) -> list[str]:
    """Every grounding problem in ``summary``; empty when every citation is verbatim and real
    and no list of citations repeats a quote."""
    problems: list[str] = []
    for where, citations in _lists(summary):
        if len(distinct_quotes(citations)) != len(citations):
            problems.append(f"{where}: a quote is repeated")
    for where, c in _citations(summary):
        comment = thread.by_id.get(c.comment_id)
        if comment is None:
            problems.append(f"{where}: comment {c.comment_id} is not in the thread")
            continue
        ids = {s.id for s in comment.sentences}
        missing = [s for s in c.sentence_ids if s not in ids]
        if missing or not c.sentence_ids:
            problems.append(
                f"{where}: sentence ids {missing or '[]'} not in comment {c.comment_id}"
            )
            continue
        if c.quote not in comment.text:
            problems.append(f"{where}: quote is not verbatim in comment {c.comment_id}")
            continue
        expected = cite(thread, c.sentence_ids)
        if len(expected) != 1 or expected[0].quote != c.quote:
            problems.append(f"{where}: quote does not match sentences {c.sentence_ids}")
        if c.author != comment.author:
            problems.append(f"{where}: author {c.author!r} is not the comment's author")
    return problems
