"""The engines whose stance ``threadsum eval stance`` measures, behind one small protocol.

A :class:`StanceEngine` gives, for a batch of pairs, each reply's stance toward its parent
(agree / disagree / other) with a confidence. Two exist:

* :class:`ComponentStance` (``--engine extractive``): the extractive engine's stance component,
  ``service.engines.stance.classify_pair(parent, reply) -> StanceResult(label, confidence)``.
* :class:`ModelStance` (``--engine llm``): the configured model, asked once per pair through
  :class:`~service.engines.llm.stance.LlmStance` (cached, validated, re-asked).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..engines.llm.stance import LlmStance
from ..engines.stance import classify_pair
from .pairs import LABELS, Label, Pair

__all__ = ["ComponentStance", "ModelStance", "PairStance", "StanceEngine", "pair_classifier"]


@dataclass(frozen=True)
class PairStance:
    """The stance an engine gave one pair."""

    label: Label
    confidence: float
    valid: bool = True  # False: the engine gave no usable answer (counted as "other")


class StanceEngine(Protocol):
    """What ``threadsum eval stance`` needs from an engine."""

    @property
    def name(self) -> str:
        """How reports name the engine (``extractive``, ``llm (model)``)."""
        ...

    async def classify(self, pairs: Sequence[Pair]) -> list[PairStance]:
        """The stance of every pair, in order."""
        ...


def _label(raw: object) -> Label:
    text = str(raw).lower()
    return text if text in LABELS else "other"


def pair_classifier() -> Callable[[str, str], PairStance]:
    """The stance component's ``classify_pair``, as the eval's pair classifier."""

    def adapted(parent: str, reply: str) -> PairStance:
        result = classify_pair(parent, reply)
        return PairStance(_label(result.label), result.confidence)

    return adapted


class ComponentStance:
    """The extractive engine's stance component (``--engine extractive``)."""

    name = "extractive"

    def __init__(self, classify_pair: Callable[[str, str], PairStance] | None = None) -> None:
        self._classify = classify_pair or pair_classifier()

    async def classify(self, pairs: Sequence[Pair]) -> list[PairStance]:
        """Every pair's stance, off the event loop (the component is CPU-bound)."""

        def run() -> list[PairStance]:
            return [self._classify(p.parent, p.reply) for p in pairs]

        return await asyncio.to_thread(run)


class ModelStance:
    """The configured model (``--engine llm``); its client bounds the calls in flight."""

    def __init__(self, asker: LlmStance, model_name: str) -> None:
        self._asker = asker
        self.name = f"llm ({model_name})"

    async def classify(self, pairs: Sequence[Pair]) -> list[PairStance]:
        """Every pair's stance, asked concurrently."""
        answers = await asyncio.gather(
            *(self._asker.classify_pair(p.parent, p.reply, where=p.where) for p in pairs)
        )
        return [PairStance(a.label, a.confidence, a.valid) for a in answers]

    @property
    def calls(self) -> int:
        """Model calls made so far (cache hits excluded)."""
        return self._asker.run.stats.llm_calls
