"""Stances remembered across runs, so a grown thread's re-summary reads only its new reply pairs.

The stance model is most of the extractive engine's time (about two thirds on 5,000 comments).
:class:`StanceMemo` answers a (parent, reply) pair from the stances a previous run of the same
thread stored, and reads only the pairs it has not seen: a reply added, or a comment edited. The
stored value is kept in the answer cache under :func:`memo_key` (thread source and id, and the
digest of the stance model, so a new model never reuses an old model's answers) and holds the
pairs of the latest run only, keyed by a digest of the two texts: a memo never holds comment text.
A result is the model's own (its label, confidence, class probabilities and cue reading, what
the thread prior decides again from), so a summary read through the memo is the one read
without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from . import Label, StanceResult, classify_pair
from .model import MODEL_FILE

__all__ = ["StanceMemo", "memo_key"]

_LABELS: frozenset[str] = frozenset(("agree", "disagree", "other"))


@cache
def _model_digest() -> str:
    path = resources.files(__name__.rpartition(".")[0]).joinpath(MODEL_FILE)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def memo_key(source: str, thread_id: str) -> str:
    """The cache key of a thread's stored stances."""
    ident = hashlib.sha256(f"{source}\0{thread_id}".encode()).hexdigest()[:32]
    return f"stances:{_model_digest()}:{ident}"


def _pair(parent: str, reply: str) -> str:
    return hashlib.sha256(f"{parent}\0{reply}".encode()).hexdigest()[:24]


class StanceMemo:
    """A stance reader (a :data:`~..extractive.StanceFn`) backed by an earlier run's stances."""

    def __init__(self, stored: Mapping[str, Any] | None = None) -> None:
        self._known: dict[str, StanceResult] = {}
        pairs = (stored or {}).get("pairs")
        self._stored: set[str] = set(pairs) if isinstance(pairs, dict) else set()
        if isinstance(pairs, dict):
            for key, value in pairs.items():
                found = _result(value)
                if found is not None:
                    self._known[key] = found
        self._used: dict[str, StanceResult] = {}
        #: Pairs the model read in this run (not answered from the memo).
        self.read = 0

    def __call__(self, parent: str, reply: str) -> StanceResult:
        key = _pair(parent, reply)
        found = self._known.get(key)
        if found is None:
            found = classify_pair(parent, reply)
            self.read += 1
        self._used[key] = found
        return found

    @property
    def changed(self) -> bool:
        """Whether what this run used differs from what was stored."""
        return self.read > 0 or self._used.keys() != self._stored

    def value(self) -> dict[str, Any]:
        """What to store: the pairs this run used, and nothing else."""
        return {"pairs": {k: _stored(r) for k, r in self._used.items()}}


def _stored(r: StanceResult) -> list[Any]:
    """A result as the memo stores it: label, confidence, probabilities, cue label and margin."""
    cue = r.cue or ("other", 0.0)
    return [r.label, r.confidence, list(r.probabilities or ()), cue[0], cue[1]]


def _result(value: object) -> StanceResult | None:
    """A stored result read back; ``None`` when it is not one (the pair is read again)."""
    if not (isinstance(value, list) and len(value) == 5):
        return None
    label, confidence, probs, cue_label, margin = value
    numbers = (
        isinstance(probs, list)
        and len(probs) in (0, len(_LABELS))
        and all(isinstance(p, int | float) for p in probs)
    )
    if (
        label not in _LABELS
        or not isinstance(confidence, int | float)
        or not numbers
        or not isinstance(cue_label, str)
        or not isinstance(margin, int | float)
    ):
        return None
    kept: Label = label
    return StanceResult(
        kept,
        float(confidence),
        tuple(float(p) for p in probs) if probs else None,
        (cue_label, float(margin)),
    )
