"""The extractive engine: an argument map from thread structure alone, with no model.

How it reads a thread:

* **Lines of argument.** Top-level comments that argue something, or that someone confidently
  disagrees with, start claims. When a top-level comment does neither but asks something, its
  direct answers that argue and do not simply agree start claims instead; under one that asks
  nothing (framing, an anecdote, a greeting) no answer does. Whether a comment argues is read
  by rules, with a veto by the claim model (:mod:`~service.engines.argues`) where it is
  sure the comment argues nothing. A deeper comment that takes no
  side on what it answers (with confidence), argues and draws :data:`~.placing.DEEP_REPLIES` or
  more replies also starts a claim of its own; one whose side cannot be told does not.
* **Statements** are verbatim *thesis sentences*: in each comment, the sentence that argues
  (:func:`.reading.argues`) and is most central to the comment and to what its replies talk
  about (TF-IDF cosine over content words), with a preference for early, mid-length sentences;
  quotes, code, bare links and run-on text are never statements.
* **Stance.** Each reply's stance toward the comment it answers comes from
  :func:`..stance.classify_pair` (a trained model), decided again against the thread's own mix
  of sides (:func:`..stance.in_thread`: in a heated argument a doubtful reply leans to
  disagreement, among condolences to neither); below the model's role confidence a reply
  takes no side. Walking down from a claim (:mod:`.placing`): disagreeing with the claim or a
  supporter is a rebuttal, agreeing a supporter; disagreeing with a rebuttal is a counter;
  agreement backs what it answers; a reply that takes no side has no role, nor has anything
  below it. A role is as sure as every stance on the way down from the claim together (their
  product), and below the role confidence there is none. Each comment has one role at most, and
  a claim's author never rebuts his own claim.
* **Merging.** Claims whose statements share most of their content words (Jaccard ≥
  :data:`MERGE_JACCARD`) merge, unless one lies below the other in the tree; the better-engaged
  one keeps its statement.
* **Ranking** by engagement: distinct authors in the claim's part of the tree, plus a little for
  score and for rebuttals. The limit on claims shown grows with the thread
  (:func:`~service.engines.limits.claim_limit`); the rest are counted in ``claims_omitted``.
* **Shared steps**: repeated comments (:mod:`~service.engines.duplicates`) count once,
  controversy per claim (:mod:`~service.engines.controversy`), topics over the shown claims
  (:mod:`~service.engines.topics`).

Modules: :mod:`.reading` (content words, sentence vectors, thesis choice), :mod:`.placing` (claim
roots and the claim tree), :mod:`.merging` (near-duplicate claims and rebuttals),
:mod:`.building` (claims, citations and the overview). Everything is deterministic. Limits are
in the README.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ...models import EngineInfo, Stats, Thread, ThreadInfo, ThreadSummary
from ..duplicates import find_duplicates
from ..limits import claim_limit
from ..stance import classify_pair
from ..topics import build_topics
from .building import build_claim, overview
from .merging import MERGE_JACCARD, merge_claims
from .placing import claim_roots, map_thread
from .reading import ClaimFn, Reader, StanceFn

__all__ = ["ENGINE_VERSION", "MERGE_JACCARD", "ClaimFn", "StanceFn", "summarize_extractive"]

ENGINE_VERSION = "extractive-5"


def summarize_extractive(
    thread: Thread,
    *,
    max_claims: int | None = None,
    stance: StanceFn = classify_pair,
    threshold: float | None = None,
    stage: Callable[[str], None] | None = None,
    argues: ClaimFn | None = None,
) -> ThreadSummary:
    """The argument map of ``thread`` without a model.

    ``max_claims`` is the ``THREADSUM_MAX_CLAIMS`` setting (None: a limit that grows with the
    thread; 0: no limit). ``stance`` reads a (parent, reply) pair (the shipped model by default);
    a stance below ``threshold`` (the model's role confidence by default) gives the reply no
    role. ``argues`` reads whether a comment argues a point (the shipped claim model by
    default). ``stage`` is told each coarse stage as it starts: ``reading``, ``mapping``,
    ``merging``, ``building``.
    """
    tell = stage or (lambda _: None)
    started = time.perf_counter()
    tell("reading")
    reader = Reader(thread, stance, threshold, argues)
    roots = claim_roots(reader)
    tell("mapping")
    drafts = map_thread(reader, roots.claims)
    tell("merging")
    merged = merge_claims(thread, drafts)
    order = {c.id: i for i, c in enumerate(thread.comments)}
    merged.sort(key=lambda d: (-d.engagement, order[d.root.id]))
    tell("building")
    limit = claim_limit(max_claims, len(thread.comments))
    shown = merged if limit is None else merged[:limit]
    omitted = len(merged) - len(shown)
    warnings = list(thread.warnings)
    if omitted:
        warnings.append(f"{omitted} further claim(s) with less engagement are not shown")
    duplicates = find_duplicates(thread)
    repeated = duplicates.warning()
    if repeated:
        warnings.append(repeated)
    claims = [build_claim(thread, d, n, warnings, duplicates) for n, d in enumerate(shown, start=1)]
    return ThreadSummary(
        thread=ThreadInfo.of(thread),
        engine=EngineInfo(kind="extractive", version=ENGINE_VERSION),
        overview=overview(thread, claims, roots.prompts),
        claims=claims,
        topics=build_topics(claims, thread, duplicates),
        claims_omitted=omitted,
        duplicates=duplicates.report(thread),
        stats=Stats(elapsed_s=round(time.perf_counter() - started, 3)),
        warnings=warnings,
    )
