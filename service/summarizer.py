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


#: Whether this build has the LLM engine. Until it does, ``auto`` always means extractive.
LLM_AVAILABLE = False


def resolve_engine(
    settings: Settings, engine: EngineName | None = None
) -> tuple[ResolvedEngine, str]:
    """The engine to run and why. ``auto`` means the LLM engine when a model is configured.

    Raises :class:`UsageError` at once, before any work, for an engine that cannot run.
    """
    choice = engine or settings.engine
    if choice == "llm" and not LLM_AVAILABLE:
        raise UsageError("the llm engine is not available in this version; use --engine extractive")
    if choice != "auto":
        return choice, f"--engine {choice}"
    if not settings.model_configured:
        return "extractive", "no model is configured"
    if not LLM_AVAILABLE:
        return "extractive", "a model is configured, but this version has no llm engine yet"
    return "llm", "a model is configured"


async def summarize(
    thread: Thread, settings: Settings | None = None, *, engine: EngineName | None = None
) -> ThreadSummary:
    """The argument map of ``thread``, from the engine the settings (or ``engine``) choose."""
    settings = settings or Settings()
    resolve_engine(settings, engine)  # raises for an engine this build cannot run
    from .engines.extractive import summarize_extractive

    summary = summarize_extractive(thread)
    problems = check_summary(summary, thread)
    if problems:
        raise GroundingError(
            f"summary failed its grounding check ({len(problems)} problem(s)): {problems[0]}"
        )
    return summary
