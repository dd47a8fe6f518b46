"""A generated thread with many distinct claims, for tests of how a long map reads.

:func:`service.devtools.synthetic.synthetic_thread` draws its top-level theses from a small bank,
so its claims merge into a handful. Here two top-level comments in three state a point of their
own, in made-up words no other claim uses; the third keeps the generator's thesis with a word
added, so near-duplicates merge into a few claims that gather many quotes. The replies (and so
the stances, depth and fan-out) stay the generator's.
"""

from __future__ import annotations

import random
from typing import Any

from service.devtools.synthetic import synthetic_thread

_SYLLABLES = ["ka", "lo", "mi", "ren", "tu", "vo", "zan", "pe", "shi", "dor", "qua", "bex"]


def many_claims_thread(n_comments: int, seed: int = 0, *, thread_id: str = "big") -> dict[str, Any]:
    """``synthetic_thread`` with two top-level theses in three made distinct."""
    doc = synthetic_thread(n_comments, seed=seed, thread_id=thread_id)
    rng = random.Random(seed)
    used: set[str] = set()

    def word() -> str:
        while True:
            w = "".join(rng.choice(_SYLLABLES) for _ in range(3))
            if w not in used:
                used.add(w)
                return w

    tops = [c for c in doc["comments"] if c["parent_id"] is None]
    for k, c in enumerate(tops):
        if k % 3:
            a, b, d, e = word(), word(), word(), word()
            c["text"] = f"The {a} {b} should replace every {d} because {e} costs less."
        else:
            c["text"] = c["text"].replace(".", f" in {word()}.", 1)
    return doc
