"""The extractive engine: an argument map from thread structure alone, with no model.

How it reads a thread:

* **Lines of argument.** Top-level comments start claims. When a top-level comment is a
  question, its direct answers start claims instead. A deep comment that draws
  :data:`~.placing.DEEP_REPLIES` or more replies also starts a claim of its own.
* **Statements** are verbatim *thesis sentences*: in each comment, the sentence most central to
  the comment and to what its replies talk about (TF-IDF cosine over content words), with a
  preference for early, declarative, mid-length sentences; quotes, code and bare links are never
  theses.
* **Stance.** Each reply's stance toward its parent comes from :mod:`..stance`. Walking down from
  a claim, sides flip on disagreement: a reply against the claim is a rebuttal, a reply against a
  rebuttal is a counter (a reply to a rebuttal that does not agree is a counter by default),
  agreement with the claim is a supporter, agreement with a rebuttal or counter backs it.
* **Merging.** Claims whose statements share most of their content words (Jaccard ≥
  :data:`MERGE_JACCARD`) merge; the better-engaged one keeps its statement.
* **Ranking** by engagement: distinct authors in the claim's part of the tree, plus a little for
  score and for rebuttals.

Modules: :mod:`.reading` (content words, sentence vectors, thesis choice), :mod:`.placing` (claim
roots and the claim tree), :mod:`.merging` (near-duplicate claims and rebuttals),
:mod:`.building` (claims, citations and the overview). Everything is deterministic. Limits are
in the README.
"""

from __future__ import annotations

import time

from ...models import EngineInfo, Stats, Thread, ThreadInfo, ThreadSummary
from .building import build_claim, overview
from .merging import MERGE_JACCARD, merge_claims
from .placing import claim_roots, map_claim
from .reading import Reader

__all__ = ["ENGINE_VERSION", "MAX_CLAIMS", "MERGE_JACCARD", "summarize_extractive"]

ENGINE_VERSION = "extractive-1"
MAX_CLAIMS = 20


def summarize_extractive(thread: Thread, *, max_claims: int = MAX_CLAIMS) -> ThreadSummary:
    """The argument map of ``thread`` without a model."""
    started = time.perf_counter()
    reader = Reader(thread)
    roots = claim_roots(reader)
    drafts = [map_claim(reader, r, roots.deep) for r in roots.claims]
    merged = merge_claims(thread, drafts)
    order = {c.id: i for i, c in enumerate(thread.comments)}
    merged.sort(key=lambda d: (-d.engagement, order[d.root.id]))
    warnings = list(thread.warnings)
    if len(merged) > max_claims:
        warnings.append(
            f"{len(merged) - max_claims} further claim(s) with less engagement are not shown"
        )
    claims = [
        build_claim(thread, d, n, warnings) for n, d in enumerate(merged[:max_claims], start=1)
    ]
    return ThreadSummary(
        thread=ThreadInfo.of(thread),
        engine=EngineInfo(kind="extractive", version=ENGINE_VERSION),
        overview=overview(thread, claims, roots.prompts),
        claims=claims,
        stats=Stats(elapsed_s=round(time.perf_counter() - started, 3)),
        warnings=warnings,
    )
