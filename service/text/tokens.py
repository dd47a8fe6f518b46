"""Token estimates that need no download.

tiktoken fetches its encodings on first use and fails offline, so chunk budgets come from this
estimator instead. It counts the pieces a byte-pair tokenizer typically makes: a word of up to
about five letters is one token and longer words cost one more per five letters, digits go in
groups of three, every other symbol is one token, and non-Latin characters one each. The sum is
then raised by :data:`SAFETY_MARGIN`, so the estimate errs high: a chunk that fits by the
estimate fits the model. Exact counts come back from the model's ``usage`` and are reported.
"""

from __future__ import annotations

import re

SAFETY_MARGIN = 1.10

_PIECE = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text`` (an upper-leaning estimate)."""
    if not text:
        return 0
    total = 0
    for m in _PIECE.finditer(text):
        piece = m.group(0)
        c = piece[0]
        if c.isascii() and c.isalpha():
            total += 1 + (len(piece) - 1) // 5
        elif c.isdigit():
            total += (len(piece) + 2) // 3
        elif c.isascii() or len(piece) == 1:
            total += 1
    return int(total * SAFETY_MARGIN) + 1
