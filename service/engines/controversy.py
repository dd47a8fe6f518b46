"""Where a thread splits: per claim, how many distinct people stand on each side of it.

For a claim: the authors who make it, back it or defend it against a rebuttal (a counter);
against it: the authors of its rebuttals and of the replies backing them. Comments that repeat
another (:mod:`.duplicates`) count as the comment they repeat, and a comment with no named
author counts as one author of its own. The score is the volume raised to the balance,
``(for + against) ** (min / max)`` (the controversy sort of Reddit's ranking code): 0 when a
side is empty, 2 for one person on each side, and growing with the number of people when the
sides are even; a lopsided claim (ten for, one against) stays low.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..models import Claim, Comment, Controversy, Thread
from ..text.wording import count
from .duplicates import Duplicates

__all__ = ["SPLIT_CLAIMS", "author_keys", "measure", "split_sentence"]

#: How many of the most controversial claims the overview names.
SPLIT_CLAIMS = 3


def author_keys(
    comments: Iterable[Comment], duplicates: Duplicates | None = None, thread: Thread | None = None
) -> set[str]:
    """One key per distinct author of ``comments``: a comment with no named author is one of
    its own, and a copy (``duplicates``, resolved in ``thread``) is the comment it repeats."""
    keys: set[str] = set()
    for c in comments:
        if duplicates is not None and thread is not None:
            c = thread.by_id[duplicates.canonical(c.id)]
        keys.add(f"@{c.author}" if c.author else f"#{c.id}")
    return keys


def measure(for_authors: set[str], against_authors: set[str]) -> Controversy:
    """The controversy of a claim from the authors on each side."""
    a, b = len(for_authors), len(against_authors)
    score = 0.0 if not a or not b else round(float(a + b) ** (min(a, b) / max(a, b)), 3)
    return Controversy(for_authors=a, against_authors=b, score=score)


def split_sentence(claims: Sequence[Claim], limit: int = SPLIT_CLAIMS) -> str:
    """The overview's sentence naming the claims people split on most."""
    split = sorted(
        (c for c in claims if c.controversy.score > 0),
        key=lambda c: -c.controversy.score,  # stable: ties keep the claims' rank order
    )[:limit]
    if not split:
        return "No claim drew clear pushback."
    named = ", ".join(
        f"{c.id} ({count(c.controversy.for_authors, 'author')} for, "
        f"{c.controversy.against_authors} against)"
        for c in split
    )
    return f"People split most over {named}."
