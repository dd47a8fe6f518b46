"""The one core: ``summarize(thread, settings) -> ThreadSummary``.

The CLI, the HTTP API and the batch runner all call this; none of them re-implements a step.
Every summary is checked for grounding before it leaves, whichever engine made it.
"""

from __future__ import annotations

from typing import Literal

from .errors import GroundingError, UsageError
from .grounding import check_summary
from .models import Thread, ThreadSummary
from .settings import EngineName, Settings

ResolvedEngine = Literal["extractive", "llm"]


def resolve_engine(settings: Settings, engine: EngineName | None = None) -> ResolvedEngine:
    """``auto`` means the LLM engine when a model is configured, the extractive one otherwise."""
    choice = engine or settings.engine
    if choice == "auto":
        return "llm" if settings.model_configured else "extractive"
    return choice


async def summarize(
    thread: Thread, settings: Settings | None = None, *, engine: EngineName | None = None
) -> ThreadSummary:
    """The argument map of ``thread``, from the engine the settings (or ``engine``) choose."""
    settings = settings or Settings()
    kind = resolve_engine(settings, engine)
    if kind == "llm":
        raise UsageError("the llm engine is not available in this version; use --engine extractive")
    from .engines.extractive import summarize_extractive

    summary = summarize_extractive(thread)
    problems = check_summary(summary, thread)
    if problems:
        raise GroundingError(
            f"summary failed its grounding check ({len(problems)} problem(s)): {problems[0]}"
        )
    return summary
