"""The one core: ``summarize(thread, settings) -> ThreadSummary``.

The CLI, the HTTP API and the batch runner all call this; none of them re-implements a step.
Every summary is checked for grounding before it leaves, whichever engine made it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from .cache import AnswerCache
from .engines.llm import ChatModel
from .errors import GroundingError, UsageError
from .grounding import check_summary
from .models import Thread, ThreadSummary
from .settings import EngineName, Settings

if TYPE_CHECKING:
    from .llm import ModelClient

ResolvedEngine = Literal["extractive", "llm"]


#: Whether this build has the LLM engine.
LLM_AVAILABLE = True


def resolve_engine(
    settings: Settings, engine: EngineName | None = None
) -> tuple[ResolvedEngine, str]:
    """The engine to run and why. ``auto`` means the LLM engine when a model is configured.

    Raises :class:`UsageError` at once, before any work, for an engine that cannot run.
    """
    choice = engine or settings.engine
    if choice == "llm" and not settings.model:
        raise UsageError("the llm engine needs a model name: set THREADSUM_MODEL or --model")
    if choice == "llm" and not LLM_AVAILABLE:
        raise UsageError("the llm engine is not available in this version; use --engine extractive")
    if choice != "auto":
        return choice, f"--engine {choice}"
    if not settings.model_configured:
        return "extractive", "no model is configured"
    if not LLM_AVAILABLE:
        return "extractive", "a model is configured, but this version has no llm engine yet"
    if not settings.model:
        raise UsageError(
            "THREADSUM_BASE_URL is set but no model is named: set THREADSUM_MODEL or --model"
        )
    return "llm", "a model is configured"


async def summarize(
    thread: Thread,
    settings: Settings | None = None,
    *,
    engine: EngineName | None = None,
    model: ChatModel | None = None,
    cache: AnswerCache | None = None,
) -> ThreadSummary:
    """The argument map of ``thread``, from the engine the settings (or ``engine``) choose.

    ``model`` and ``cache`` replace the configured model client and answer cache (tests, and
    callers that share them across threads).
    """
    settings = settings or Settings()
    kind, _ = resolve_engine(settings, engine)
    if kind == "llm":
        summary = await _summarize_llm(thread, settings, model, cache)
    else:
        from .engines.extractive import summarize_extractive

        summary = summarize_extractive(thread)
    problems = check_summary(summary, thread)
    if problems:
        raise GroundingError(
            f"summary failed its grounding check ({len(problems)} problem(s)): {problems[0]}"
        )
    return summary


def model_client(settings: Settings, *, concurrency: int | None = None) -> ModelClient:
    """The model client ``settings`` describe (one per run or app, shared by its calls)."""
    from .llm import ModelClient, RetryPolicy

    return ModelClient(
        retry=RetryPolicy(attempts=settings.llm_attempts),
        base_url=settings.base_url,
        model=settings.model or "",
        api_key=settings.api_key,
        output_mode=settings.output_mode,
        timeout=settings.llm_timeout,
        concurrency=concurrency or settings.concurrency,
    )


async def _summarize_llm(
    thread: Thread, settings: Settings, model: ChatModel | None, cache: AnswerCache | None
) -> ThreadSummary:
    from .engines.llm import summarize_llm

    own_cache = cache is None
    answer_cache = cache or AnswerCache(settings.cache_dir, settings.cache)
    client = None
    chat: ChatModel
    if model is not None:
        chat = model
    else:
        client = chat = model_client(settings)
    try:
        return await summarize_llm(thread, settings, chat, answer_cache)
    finally:
        if client is not None:
            await client.aclose()
        if own_cache:
            answer_cache.close()
