"""Stance as a component: how a reply stands toward the comment it answers.

:func:`classify_pair` reads a (parent, reply) pair and answers ``agree``, ``disagree`` or
``other`` with a confidence in [0, 1] (the model's probability of that label). It is the one
stance reader of threadsum: the extractive map is built from it, and ``threadsum eval stance``
measures it.

The model (:mod:`.model`) is a multinomial logistic regression over hashed features of the pair
(:mod:`.features`: the reply's opening words and characters, its words, general discourse cues
from :mod:`.cues`, quoting the parent, questions, negation, overlap with the parent), trained by
``bench/train_stance.py`` on DEBAGREEMENT reply pairs; ``MODEL.md`` beside this file says how,
on what, and what it scores. An explicit opening declaration ("I completely disagree.", "Can
relate", "Exactly.") decides on its own when its cue margin is strong (see :mod:`.model`).
Inference is deterministic and needs only the standard library.

A map reads a whole thread, and :func:`in_thread` reads its replies' stances against the
thread's own mix of sides (a heated argument is mostly disagreement, condolences mostly neither):
the model's probabilities assume every side equally common. ``threadsum eval stance`` reads
pairs one by one, as :func:`classify_pair` does.

The map gives a reply a role only when its stance (read in its thread) is confident:
:func:`role_confidence` is the threshold the training script chose on its own training data
(out-of-fold), never on a fixture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from .model import load, thread_prior

Label = Literal["agree", "disagree", "other"]
LABELS: tuple[Label, ...] = ("agree", "disagree", "other")
_AS_LABEL: dict[str, Label] = {label: label for label in LABELS}

__all__ = [
    "LABELS",
    "Label",
    "StanceResult",
    "classify_pair",
    "decided",
    "in_thread",
    "role_confidence",
]


@dataclass(frozen=True)
class StanceResult:
    """A reply's stance toward its parent, and how sure the model is (0 to 1).

    ``probabilities`` (the regression's, in :data:`LABELS` order) and ``cue`` (the cue
    reading: label and margin) are what the label was decided from, kept so that
    :func:`in_thread` can decide again in the thread's light; a result without them (a stance
    reader other than the model) is taken as it is.
    """

    label: Label
    confidence: float
    probabilities: tuple[float, ...] | None = None
    cue: tuple[str, float] | None = None


def classify_pair(parent_text: str, reply_text: str) -> StanceResult:
    """The stance of ``reply_text`` toward ``parent_text``, with the model's confidence."""
    model = load()
    return decided(model.probabilities(parent_text, reply_text), model.cue(parent_text, reply_text))


def decided(probabilities: Sequence[float], cue: tuple[str, float]) -> StanceResult:
    """The stance the model decides from its class probabilities (in :data:`LABELS` order) and
    a cue reading (label and margin) of the pair."""
    label, confidence = load().decide(list(probabilities), cue)
    return StanceResult(
        label=_AS_LABEL[label],
        confidence=round(confidence, 6),
        probabilities=tuple(round(p, 6) for p in probabilities),
        cue=(cue[0], round(cue[1], 6)),
    )


def in_thread(results: Sequence[StanceResult]) -> list[StanceResult]:
    """The stances of one thread's replies, each decided again against the thread's mix of
    sides (:func:`.model.thread_prior`, as strong as the model file says).

    Results without the model's probabilities pass through unchanged and do not count toward
    the mix. An explicit declaration ("I completely disagree.") keeps deciding on its own.
    """
    model = load()
    read = [i for i, r in enumerate(results) if r.probabilities is not None and r.cue is not None]
    out = list(results)
    if not read or model.thread_prior <= 0:
        return out
    rows = [list(results[i].probabilities or ()) for i in read]
    for i, row in zip(read, thread_prior(rows, model.thread_prior), strict=True):
        label, confidence = model.decide(row, results[i].cue or ("other", 0.0))
        out[i] = replace(results[i], label=_AS_LABEL[label], confidence=round(confidence, 6))
    return out


def role_confidence() -> float:
    """The confidence a stance needs before the map gives the reply a role."""
    return load().role_confidence
