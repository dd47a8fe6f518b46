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

_PIECE = re.compile(r"[A-Za-z]{1,5}|\d{1,3}|[^\sA-Za-z\d]")
"""One token each: up to five ASCII letters of a word, up to three digits, any other symbol.

Matched left to right, a run of n letters gives ceil(n / 5) matches and a run of n digits
ceil(n / 3), so counting matches (in C, with ``subn``) is the estimate without a loop in Python.
"""


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text`` (an upper-leaning estimate)."""
    if not text:
        return 0
    return int(_PIECE.subn("", text)[1] * SAFETY_MARGIN) + 1
