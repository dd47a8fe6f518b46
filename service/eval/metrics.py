"""Classification metrics, pure: confusion matrix, per-class precision / recall / F1, macro-F1,
accuracy, and the majority-class baseline.

Conventions (those of scikit-learn's ``classification_report`` with ``zero_division=0``): a
class never predicted has precision 0, a class absent from the gold labels has recall 0, and F1
is 0 when precision and recall are both 0. Macro-F1 averages F1 over the classes given, so a
class that never occurs still counts (as 0) when it is in ``classes``: callers pass the label
set of the task, not the labels that happened to occur.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "ClassScore",
    "Confusion",
    "Scores",
    "f1",
    "majority_label",
    "score",
    "score_counts",
    "wilson_interval",
]

#: The normal quantile of a two-sided 95% interval.
Z_95 = 1.959964


def f1(precision: float, recall: float) -> float:
    """The harmonic mean of ``precision`` and ``recall`` (0 when both are 0)."""
    total = precision + recall
    return 0.0 if total == 0 else 2 * precision * recall / total


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a share (95% by default): where the true rate may lie
    given ``successes`` of ``trials``; (0, 1) when there are no trials. Unlike the normal
    approximation it stays inside [0, 1] and is honest for the handful of items a few gold
    threads show (Wilson, JASA 1927)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class ClassScore:
    """Precision, recall and F1 of one class, with the counts behind them."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int  # gold items of this class
    predicted: int  # items predicted as this class
    correct: int  # items of this class predicted as it


def score_counts(label: str, correct: int, predicted: int, support: int) -> ClassScore:
    """The scores of one class from its counts."""
    precision, recall = _ratio(correct, predicted), _ratio(correct, support)
    return ClassScore(label, precision, recall, f1(precision, recall), support, predicted, correct)


@dataclass(frozen=True)
class Confusion:
    """A confusion matrix: ``counts[gold][predicted]``, rows and columns in ``classes`` order."""

    classes: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, gold: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> Confusion:
        """Count ``gold`` against ``predicted`` (equal lengths; every label in ``classes``)."""
        if len(gold) != len(predicted):
            raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
        index = {c: i for i, c in enumerate(classes)}
        unknown = sorted({x for x in (*gold, *predicted) if x not in index})
        if unknown:
            raise ValueError(f"labels not among the classes {list(classes)}: {unknown}")
        grid = [[0] * len(classes) for _ in classes]
        for g, p in zip(gold, predicted, strict=True):
            grid[index[g]][index[p]] += 1
        return cls(tuple(classes), tuple(tuple(row) for row in grid))

    @property
    def total(self) -> int:
        """All items counted."""
        return sum(sum(row) for row in self.counts)

    def row(self, label: str) -> tuple[int, ...]:
        """How the items whose gold label is ``label`` were predicted."""
        return self.counts[self.classes.index(label)]


@dataclass(frozen=True)
class Scores:
    """Everything one set of predictions scores: the matrix, per-class scores, the averages."""

    confusion: Confusion
    per_class: tuple[ClassScore, ...]
    macro_f1: float
    accuracy: float

    @property
    def total(self) -> int:
        """Items scored."""
        return self.confusion.total


def score(gold: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> Scores:
    """Score ``predicted`` against ``gold`` over ``classes``."""
    matrix = Confusion.of(gold, predicted, classes)
    per_class = []
    for i, label in enumerate(matrix.classes):
        correct = matrix.counts[i][i]
        predicted_as = sum(row[i] for row in matrix.counts)
        per_class.append(score_counts(label, correct, predicted_as, sum(matrix.counts[i])))
    macro = sum(c.f1 for c in per_class) / len(per_class) if per_class else 0.0
    right = sum(matrix.counts[i][i] for i in range(len(matrix.classes)))
    return Scores(matrix, tuple(per_class), macro, _ratio(right, matrix.total))


L = TypeVar("L", bound=str)


def majority_label(gold: Sequence[str], classes: Sequence[L]) -> L:
    """The most frequent gold label; ties go to the class listed first in ``classes``."""
    counts = Counter(gold)
    return max(classes, key=lambda c: (counts[c], -classes.index(c)))
