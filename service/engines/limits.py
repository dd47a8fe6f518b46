"""How many claims a summary shows: a limit that grows with the thread, or a fixed one.

By default (no setting) a thread of ``n`` comments shows up to ``max(20, ⌈2·√n⌉)`` claims: 20
for up to 100 comments, 64 for 1,000, 142 for 5,000, 448 for 50,000. Distinct points grow more
slowly than comments (replies mostly take a side on points already made), and topics group what
is shown, so a reader still takes it in. ``THREADSUM_MAX_CLAIMS`` / ``--max-claims N`` fixes
the limit at ``N``; ``0`` shows every claim. What is left out is counted in the summary
(``claims_omitted``).
"""

from __future__ import annotations

import math

__all__ = ["MIN_CLAIMS", "PER_SQRT_COMMENT", "claim_limit"]

#: The fewest claims the scaled limit allows (small threads).
MIN_CLAIMS = 20
#: Claims per square root of the thread's comments.
PER_SQRT_COMMENT = 2.0


def claim_limit(setting: int | None, comments: int) -> int | None:
    """The most claims to show for a thread of ``comments``; None for no limit.

    ``setting`` is ``THREADSUM_MAX_CLAIMS``: None scales with the thread, 0 is no limit.
    """
    if setting is None:
        return max(MIN_CLAIMS, math.ceil(PER_SQRT_COMMENT * math.sqrt(max(0, comments))))
    return setting or None
