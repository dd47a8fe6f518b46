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

# One match per token the estimate counts: an ASCII word of L letters is ceil(L / 5) tokens and
# a run of L digits ceil(L / 3), so matching at most five letters or three digits at a time
# counts them; every other non-space character is a match of its own. Counting matches with
# ``subn`` builds no list of pieces, and no Python code runs per piece.
_PIECE = re.compile(r"[A-Za-z]{1,5}|\d{1,3}|[^\sA-Za-z\d]")


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text`` (an upper-leaning estimate)."""
    if not text:
        return 0
    return int(_PIECE.subn("", text)[1] * SAFETY_MARGIN) + 1
