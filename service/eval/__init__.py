"""``threadsum eval``: an instrument that measures any engine on labelled data.

* **Stance** (:func:`stance_report`): labelled reply pairs (``parent``, ``reply``, ``label``;
  CSV or JSONL) → each engine's stance of every reply toward its parent → confusion matrix,
  per-class precision / recall / F1, macro-F1 and accuracy, beside the majority-class baseline.
* **Maps** (:func:`map_report`): gold threads whose comments carry hand-assigned roles → the
  engine's argument map of each → per-role precision / recall / F1, the share of shown claims,
  supporters, rebuttals and counters that are right, and rebuttals shown where there is no
  dispute.
* **Stability**: ``repeat`` runs of the same input, and whether their outputs are identical.

Modules: :mod:`.pairs` (reading pairs, label maps), :mod:`.gold` (reading gold threads),
:mod:`.metrics` (pure classification metrics), :mod:`.stance` (the stance engines),
:mod:`.maps` (roles shown, scored), :mod:`.runner` (runs and reports), :mod:`.tables` (text
and JSON). The gold set that ships with threadsum is in ``fixtures/eval/``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..runtime import Runtime
from ..settings import Settings
from ..summarizer import EngineChoice
from .gold import gold_files, read_gold
from .pairs import COLUMNS, Columns, Label, read_pairs
from .runner import MapReport, StanceReport, eval_maps, eval_stance
from .stance import ComponentStance, ModelStance, StanceEngine
from .tables import map_json, map_text, stance_json, stance_text

__all__ = ["MapReport", "StanceReport", "map_report", "render", "stance_engine", "stance_report"]


def stance_engine(engine: EngineChoice, settings: Settings, runtime: Runtime) -> StanceEngine:
    """The stance engine a run measures: the extractive component, or the configured model."""
    if engine.kind == "extractive":
        return ComponentStance()
    from ..engines.llm.stance import LlmStance, load_stance_prompts

    asker = LlmStance(
        settings,
        runtime.model(settings),
        runtime.cache(settings),
        load_stance_prompts(settings.prompts_dir),
    )
    return ModelStance(asker, settings.model or "")


async def stance_report(
    path: Path,
    settings: Settings,
    runtime: Runtime,
    *,
    engine: EngineChoice,
    labels: Mapping[str, Label] | None = None,
    columns: Columns = COLUMNS,
    repeat: int = 1,
) -> StanceReport:
    """Score ``engine``'s stance on the labelled pairs in ``path``."""
    pairs = read_pairs(path, labels, columns)
    return await eval_stance(
        pairs, stance_engine(engine, settings, runtime), source=path.name, repeat=repeat
    )


async def map_report(
    targets: Sequence[str],
    settings: Settings,
    runtime: Runtime,
    *,
    engine: EngineChoice,
    repeat: int = 1,
) -> MapReport:
    """Score ``engine``'s maps of the gold threads ``targets`` name (files or directories)."""
    golds = [read_gold(path, settings) for path in gold_files(targets)]
    return await eval_maps(golds, settings, engine, runtime, repeat=repeat)


def render(report: StanceReport | MapReport, as_json: bool = False) -> str:
    """A report as text tables, or as one JSON document."""
    if isinstance(report, StanceReport):
        if as_json:
            return json.dumps(stance_json(report), ensure_ascii=False, indent=2) + "\n"
        return stance_text(report)
    if as_json:
        return json.dumps(map_json(report), ensure_ascii=False, indent=2) + "\n"
    return map_text(report)
