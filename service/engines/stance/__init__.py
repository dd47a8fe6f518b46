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

The map gives a reply a role only when its stance is confident: :func:`role_confidence` is the
threshold the training script chose on its own training data (out-of-fold), never on a fixture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .model import load

Label = Literal["agree", "disagree", "other"]
LABELS: tuple[Label, ...] = ("agree", "disagree", "other")
_AS_LABEL: dict[str, Label] = {label: label for label in LABELS}

__all__ = ["LABELS", "Label", "StanceResult", "classify_pair", "role_confidence"]


@dataclass(frozen=True)
class StanceResult:
    """A reply's stance toward its parent, and how sure the model is (0 to 1)."""

    label: Label
    confidence: float


def classify_pair(parent_text: str, reply_text: str) -> StanceResult:
    """The stance of ``reply_text`` toward ``parent_text``, with the model's confidence."""
    label, confidence = load().classify(parent_text, reply_text)
    return StanceResult(label=_AS_LABEL[label], confidence=round(confidence, 6))


def role_confidence() -> float:
    """The confidence a stance needs before the map gives the reply a role."""
    return load().role_confidence
