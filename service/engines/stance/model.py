"""The trained stance model: weights shipped as package data, inference in pure Python.

``model.json`` (written by ``bench/train_stance.py``) holds a multinomial logistic regression
over the hashed features of :mod:`.features`: one bias per class and, per class, one weight per
feature slot, stored as :mod:`..linear` packs them. Beside the weights it records how
the model was trained and what it scored on the held-out split, the confidence below which the
map gives a reply no role (``role_confidence``), and when an explicit opening declaration
decides ("I completely disagree.", "Can relate"): a cue margin of at least ``cue_margin``
(:func:`.cues.classify`) takes the cue's side, with at least ``cue_confidence``, the precision
such calls had on the training split. Short explicit replies are rare in the training data, and
their words ("completely", "agree" inside "disagree") pull the regression the wrong way.

Loading reads the file once through :mod:`importlib.resources`, so the model works from an
installed wheel as well as from a checkout. Inference needs nothing beyond the standard library.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ...errors import StanceModelError
from ..linear import document, probabilities, read, shipped
from .cues import classify as cue_classify
from .features import BUCKETS, features, split_quote

MODEL_FILE = "model.json"
FORMAT = 1
CLASSES = ("agree", "disagree", "other")


@dataclass(frozen=True)
class StanceModel:
    """A multinomial logistic regression over hashed pair features."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: array[int]  # len(classes) * buckets, slot-major: weights[slot * k + class]
    scale: float
    buckets: int
    role_confidence: float
    cue_margin: float
    cue_confidence: float
    #: How many replies' worth of belief the thread prior starts from (:func:`thread_prior`);
    #: 0 reads every reply on its own.
    thread_prior: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def classify(self, parent: str, reply: str) -> tuple[str, float]:
        """The pair's label and its confidence: the regression, unless a strong cue decides."""
        return self.decide(self.probabilities(parent, reply), self.cue(parent, reply))

    def cue(self, parent: str, reply: str) -> tuple[str, float]:
        """The cue classifier's (label, margin) on the reply without its quote of the parent."""
        return cue_classify(split_quote(parent, reply)[0])

    def decide(self, probs: list[float], cue: tuple[str, float]) -> tuple[str, float]:
        """The label and confidence from class probabilities and a cue reading (:func:`decide`)."""
        return decide(self.classes, probs, cue, self.cue_margin, self.cue_confidence)

    def probabilities(self, parent: str, reply: str) -> list[float]:
        """The probability of each class, in :attr:`classes` order, for one pair."""
        return probabilities(self.weights, self.bias, self.scale, features(parent, reply))


def decide(
    classes: tuple[str, ...],
    probs: list[float],
    cue: tuple[str, float],
    cue_margin: float,
    cue_confidence: float,
) -> tuple[str, float]:
    """The label and confidence from the class probabilities and the cue reading ``cue``."""
    label, margin = cue
    if label in ("agree", "disagree") and margin >= cue_margin:
        return label, max(probs[classes.index(label)], cue_confidence)
    best = max(range(len(probs)), key=lambda i: (probs[i], -i))
    return classes[best], probs[best]


#: The thread prior's fixed point is found to this precision, in at most this many rounds.
PRIOR_TOLERANCE = 1e-7
PRIOR_ROUNDS = 100


def thread_prior(rows: list[list[float]], strength: float) -> list[list[float]]:
    """Each reply's class probabilities read against its own thread's mix of sides.

    The regression is fitted with balanced class weights, so its probabilities assume every
    side is equally common; a thread is not like that (a heated argument is mostly
    disagreement, condolences are mostly neither). This estimates the thread's mix from its
    own replies and re-weighs every reply by it: the expectation-maximisation of Saerens,
    Latinne and Decaestecker ("Adjusting the outputs of a classifier to new a priori
    probabilities", Neural Computation 2002), with the mix started from ``strength`` replies'
    worth of the uniform one, so a thread of a few replies moves little and one of hundreds
    follows its own. Deterministic: the same rows give the same answer, in any process.
    """
    if not rows or strength <= 0:
        return [list(r) for r in rows]
    k = len(rows[0])
    uniform = 1.0 / k
    prior = [uniform] * k
    for _ in range(PRIOR_ROUNDS):
        totals = [strength * uniform] * k
        for row in rows:
            weighted = [p * q for p, q in zip(row, prior, strict=True)]
            norm = sum(weighted) or 1.0
            for c in range(k):
                totals[c] += weighted[c] / norm
        n = len(rows) + strength
        new = [t / n for t in totals]
        moved = max(abs(a - b) for a, b in zip(new, prior, strict=True))
        prior = new
        if moved < PRIOR_TOLERANCE:
            break
    adjusted = []
    for row in rows:
        weighted = [p * q for p, q in zip(row, prior, strict=True)]
        norm = sum(weighted) or 1.0
        adjusted.append([w / norm for w in weighted])
    return adjusted


def decode(doc: dict[str, Any]) -> StanceModel:
    """A model from the parsed ``model.json`` document; a wrong file is a clear error."""
    try:
        linear = read(doc, CLASSES, BUCKETS)
    except ValueError as e:
        raise StanceModelError(f"stance model: {e}") from e
    return StanceModel(
        classes=linear.classes,
        bias=linear.bias,
        weights=linear.weights,
        scale=linear.scale,
        buckets=BUCKETS,
        role_confidence=float(doc["role_confidence"]),
        cue_margin=float(doc["cue_margin"]),
        cue_confidence=float(doc["cue_confidence"]),
        thread_prior=float(doc.get("thread_prior", 0.0)),
        meta={k: v for k, v in doc.items() if k not in ("weights", "bias")},
    )


def encode(
    classes: list[str],
    bias: list[float],
    weights: list[list[float]],
    role_confidence: float,
    cue_margin: float,
    cue_confidence: float,
    meta: dict[str, Any],
    thread_prior: float = 0.0,
) -> dict[str, Any]:
    """The ``model.json`` document for trained float weights (``weights[class][slot]``)."""
    fields = {
        "role_confidence": role_confidence,
        "cue_margin": cue_margin,
        "cue_confidence": cue_confidence,
        "thread_prior": thread_prior,
    }
    return document(classes, bias, weights, BUCKETS, fields, meta)


@cache
def load() -> StanceModel:
    """The shipped model, read once from the installed package."""
    return shipped(
        __name__.rpartition(".")[0], MODEL_FILE, decode, StanceModelError, "stance model"
    )
