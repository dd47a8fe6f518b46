"""Whether a comment argues a point: a trained model the extractive map asks before a comment
starts a claim.

:func:`claim_probability` reads one comment's text and answers the probability that it argues
a point of its own (a position, judgment, prediction, recommendation or correction someone could
dispute), against everything else a thread holds: jokes, questions, thanks, condolences and
kind wishes, anecdotes with no point, framing, bare links, one-word agreement.

The model is a logistic regression over what the stance model reads of a reply
(:func:`~service.engines.stance.features.named_features`, with no parent: the comment's opening
words and characters, its words and word pairs, the discourse cues, whether it asks, exclaims or
quotes), but not its length or its count of negations (:func:`comment_features`): in labelled
threads short comments are mostly jokes and thanks, and a model that learns that vetoes a short
plain claim ("Hardware is the real bottleneck here."). Trained by
``bench/train_claims.py`` on comments labelled by hand (``bench/data/claims/``); ``MODEL.md``
beside this file says how, on what, and what it scores. The map uses it as a veto only: a
comment the rules read as arguing is not a claim when the model is sure it argues nothing, at
:func:`not_a_claim_confidence` or above, a threshold the training script chose on its own
training data (out-of-fold), never on a fixture. Inference is deterministic and needs only the
standard library.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ...errors import ClaimModelError
from ..linear import document, probabilities, read, shipped
from ..stance.features import BUCKETS, hashed, named_features

__all__ = [
    "CLASSES",
    "ClaimModel",
    "claim_probability",
    "comment_features",
    "load",
    "not_a_claim_confidence",
]

MODEL_FILE = "model.json"
CLASSES = ("claim", "none")
#: Features of the stance model's that say how long a text is, not what it says.
_LENGTH_FEATURES = ("len:", "neg:", "overlap:")


def comment_features(text: str) -> dict[int, float]:
    """The hashed features of one comment: slot → value."""
    named = named_features("", text)
    return hashed({k: v for k, v in named.items() if not k.startswith(_LENGTH_FEATURES)})


@dataclass(frozen=True)
class ClaimModel:
    """A logistic regression over hashed comment features."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: array[int]  # slot-major, see :func:`~service.engines.linear.unpack`
    scale: float
    not_a_claim_confidence: float
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def claim_probability(self, text: str) -> float:
        """The probability that ``text`` argues a point."""
        probs = probabilities(self.weights, self.bias, self.scale, comment_features(text))
        return probs[self.classes.index("claim")]


def decode(doc: dict[str, Any]) -> ClaimModel:
    """A model from the parsed ``model.json`` document; a wrong file is a clear error."""
    try:
        linear = read(doc, CLASSES, BUCKETS)
    except ValueError as e:
        raise ClaimModelError(f"claim model: {e}") from e
    return ClaimModel(
        classes=linear.classes,
        bias=linear.bias,
        weights=linear.weights,
        scale=linear.scale,
        not_a_claim_confidence=float(doc["not_a_claim_confidence"]),
        meta={k: v for k, v in doc.items() if k not in ("weights", "bias")},
    )


def encode(
    classes: list[str],
    bias: list[float],
    weights: list[list[float]],
    not_a_claim_confidence: float,
    meta: dict[str, Any],
) -> dict[str, Any]:
    """The ``model.json`` document for trained float weights (``weights[class][slot]``)."""
    fields = {"not_a_claim_confidence": not_a_claim_confidence}
    return document(classes, bias, weights, BUCKETS, fields, meta)


@cache
def load() -> ClaimModel:
    """The shipped model, read once from the installed package."""
    return shipped(__name__, MODEL_FILE, decode, ClaimModelError, "claim model")


def claim_probability(text: str) -> float:
    """The probability that the comment ``text`` argues a point (see the module docstring)."""
    return load().claim_probability(text)


def not_a_claim_confidence() -> float:
    """How sure the model must be that a comment argues nothing before the map vetoes it."""
    return load().not_a_claim_confidence
