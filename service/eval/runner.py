"""Running an evaluation: the engine on every input, ``repeat`` times, scored, as a report.

:func:`eval_stance` classifies labelled pairs with a :class:`~.stance.StanceEngine` and scores
it beside the majority-class baseline; :func:`eval_maps` summarizes gold threads with the
engine a run resolved (through :func:`~service.summarizer.summarize`, the one core) and scores
the roles each map shows. With ``repeat`` above 1 the same inputs go through again and the
report says whether every run gave the same output: for the LLM engine with the cache off, that
measures the model; with the cache on, repeats are answered from it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..models import ThreadSummary
from ..runtime import Runtime
from ..settings import Settings
from ..summarizer import EngineChoice, summarize
from .gold import GoldThread
from .maps import MapScore, score_map
from .metrics import Scores, majority_label, score
from .pairs import LABELS, Label, Pair
from .stance import PairStance, StanceEngine

__all__ = ["MapReport", "Stability", "StanceReport", "ThreadResult", "eval_maps", "eval_stance"]


@dataclass(frozen=True)
class Stability:
    """Whether ``runs`` runs of the same input gave the same output."""

    runs: int
    distinct: int  # different outputs seen (1: all identical)

    @property
    def identical(self) -> bool:
        """Every run gave the same output."""
        return self.distinct == 1

    @classmethod
    def of(cls, outputs: Sequence[str]) -> Stability:
        """The stability of these outputs (one per run)."""
        return cls(len(outputs), len(set(outputs)))


@dataclass(frozen=True)
class StanceReport:
    """An engine's stance scores on labelled pairs, beside the majority-class baseline."""

    engine: str
    source: str
    pairs: int
    scores: Scores
    baseline: Scores
    baseline_label: Label
    invalid: int  # pairs with no usable answer from the engine, scored as "other"
    stability: Stability
    model_calls: int | None = None


async def eval_stance(
    pairs: Sequence[Pair], engine: StanceEngine, *, source: str, repeat: int = 1
) -> StanceReport:
    """Score ``engine`` on ``pairs`` (the first run's answers), running it ``repeat`` times."""
    runs: list[list[PairStance]] = []
    for _ in range(max(1, repeat)):
        runs.append(await engine.classify(pairs))
    first = runs[0]
    gold = [p.label for p in pairs]
    majority = majority_label(gold, LABELS)
    outputs = [json.dumps([[s.label, round(s.confidence, 6)] for s in run]) for run in runs]
    calls = getattr(engine, "calls", None)
    return StanceReport(
        engine=engine.name,
        source=source,
        pairs=len(pairs),
        scores=score(gold, [s.label for s in first], LABELS),
        baseline=score(gold, [majority] * len(gold), LABELS),
        baseline_label=majority,
        invalid=sum(1 for s in first if not s.valid),
        stability=Stability.of(outputs),
        model_calls=calls if isinstance(calls, int) else None,
    )


@dataclass(frozen=True)
class ThreadResult:
    """One gold thread's map, scored."""

    name: str
    comments: int
    disputed: bool
    score: MapScore
    stability: Stability
    warnings: list[str]


@dataclass
class MapReport:
    """The maps of every gold thread, scored one by one and in total."""

    engine: str
    threads: list[ThreadResult] = field(default_factory=list)
    total: MapScore = field(default_factory=MapScore)

    @property
    def stable(self) -> bool:
        """Every thread gave identical maps on every run."""
        return all(t.stability.identical for t in self.threads)


def _canonical(summary: ThreadSummary) -> str:
    """A map as compared across runs: everything but the work counters (time, cache hits)."""
    return json.dumps(summary.model_dump(mode="json", exclude={"stats"}), sort_keys=True)


async def eval_maps(
    golds: Sequence[GoldThread],
    settings: Settings,
    engine: EngineChoice,
    runtime: Runtime,
    *,
    repeat: int = 1,
) -> MapReport:
    """Summarize every gold thread with ``engine`` (``repeat`` times) and score the first map."""
    report = MapReport(engine=engine.kind)
    for gold in golds:
        summaries = [
            await summarize(gold.thread, settings, engine=engine, runtime=runtime)
            for _ in range(max(1, repeat))
        ]
        scored = score_map(summaries[0], gold)
        report.total.add(scored)
        report.threads.append(
            ThreadResult(
                name=gold.name,
                comments=len(gold.thread.comments),
                disputed=gold.disputed,
                score=scored,
                stability=Stability.of([_canonical(s) for s in summaries]),
                warnings=list(summaries[0].warnings),
            )
        )
    return report
