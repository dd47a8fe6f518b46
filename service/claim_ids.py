"""Claim ids that last: named after the evidence a claim is anchored in, not after its rank.

A claim's id is ``K`` and six characters of a digest of its anchor, the first sentence of its
first evidence citation, named by the comment's source id and the sentence's place in that
comment (``45890123`` sentence 3). Sentence ids (``c12.3``) number comments by position and
shift when a thread grows; source ids do not, so the same claim in a grown thread keeps its id
for as long as its anchor stays its first evidence. A rebuttal's id is its claim's id, ``.R``
and four characters of its own anchor's digest.

:func:`assign_ids` renames the claims an engine numbered ``K1…`` and every mention of those
numbers in the summary (warnings, the overview, topic lists), in one pass, so the engines keep
numbering by rank and this module is the one place ids are made.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from .models import Citation, ThreadSummary

__all__ = ["anchor", "assign_ids"]

#: Crockford's base-32 digits: no I, L, O or U to misread.
_DIGITS: Final = "0123456789abcdefghjkmnpqrstvwxyz"
CLAIM_DIGITS: Final = 6
REBUTTAL_DIGITS: Final = 4
_RANKED: Final = re.compile(r"\bK\d+(?:\.R\d+)?\b")


def anchor(citations: list[Citation], fallback: str) -> str:
    """What an id is derived from: the first cited sentence by source, else ``fallback``."""
    if citations and citations[0].sentence_ids:
        first = citations[0]
        _, _, place = first.sentence_ids[0].partition(".")
        return f"{first.comment_id}:{place}"
    return "text:" + fallback


def _digest(text: str, digits: int) -> str:
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    out = []
    for _ in range(digits):
        value, d = divmod(value, 32)
        out.append(_DIGITS[d])
    return "".join(out)


def _unique(base: str, used: set[str]) -> str:
    name, n = base, 2
    while name in used:
        name, n = f"{base}-{n}", n + 1
    used.add(name)
    return name


def assign_ids(summary: ThreadSummary) -> ThreadSummary:
    """``summary`` with stable claim and rebuttal ids, and every mention of the old ones renamed.

    The claims keep their order (by rank); only their names change. Changes ``summary`` in place
    and returns it.
    """
    renamed: dict[str, str] = {}
    used: set[str] = set()
    for claim in summary.claims:
        new = _unique("K" + _digest(anchor(claim.evidence, claim.statement), CLAIM_DIGITS), used)
        renamed[claim.id] = new
        claim.id = new
        taken: set[str] = set()
        for rebuttal in claim.rebuttals:
            digest = _digest(anchor(rebuttal.evidence, rebuttal.statement), REBUTTAL_DIGITS)
            name = _unique(f"{new}.R{digest}", taken)
            renamed[rebuttal.id] = name
            rebuttal.id = name
    if not renamed:
        return summary

    def rename(text: str) -> str:
        return _RANKED.sub(lambda m: renamed.get(m.group(0), m.group(0)), text)

    summary.overview = rename(summary.overview)
    summary.warnings = [rename(w) for w in summary.warnings]
    for topic in getattr(summary, "topics", None) or []:
        topic.claim_ids = [renamed.get(c, c) for c in topic.claim_ids]
    return summary
