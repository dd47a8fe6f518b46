"""The one core: ``summarize(thread, settings, *, engine, runtime) -> ThreadSummary``.

The CLI, the HTTP API and the batch runners all call this; none of them picks an engine, runs
one, builds a cache or a model client. It resolves the engine once, runs the extractive engine
off the event loop (it is CPU-bound; on the runtime's executor when it has one), runs the LLM
engine with the runtime's shared model, cache and prompts, and checks every summary for
grounding before it leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from . import events
from .changes import compare
from .claim_ids import assign_ids
from .errors import CacheError, GroundingError, UsageError
from .grounding import check_summary
from .models import Thread, ThreadSummary
from .progress import Progress, ProgressCallback
from .runtime import Runtime
from .settings import EngineName, Settings

ResolvedEngine = Literal["extractive", "llm"]


@dataclass(frozen=True, slots=True)
class EngineChoice:
    """The engine a run uses, and why (the CLI says so on stderr)."""

    kind: ResolvedEngine
    reason: str


def resolve_engine(settings: Settings, engine: EngineName | None = None) -> EngineChoice:
    """The engine to run and why. ``auto`` means the LLM engine when a model is configured.

    Raises :class:`UsageError` at once, before any work, for an engine that cannot run.
    """
    choice = engine or settings.engine
    if choice == "llm" and not settings.model:
        raise UsageError("the llm engine needs a model name: set THREADSUM_MODEL or --model")
    if choice != "auto":
        return EngineChoice(choice, f"--engine {choice}")
    if not settings.model_configured:
        return EngineChoice("extractive", "no model is configured")
    if not settings.model:
        raise UsageError(
            "THREADSUM_BASE_URL is set but no model is named: set THREADSUM_MODEL or --model"
        )
    return EngineChoice("llm", "a model is configured")


async def summarize(
    thread: Thread,
    settings: Settings | None = None,
    *,
    engine: EngineName | EngineChoice | None = None,
    runtime: Runtime | None = None,
    since: ThreadSummary | None = None,
    progress: ProgressCallback | None = None,
) -> ThreadSummary:
    """The argument map of ``thread``, from the engine the settings (or ``engine``) choose.

    ``runtime`` holds the model clients, caches and prompts to share with other calls; without
    one, a runtime is opened for this call and closed after it. ``engine`` may be a choice the
    caller already resolved (:func:`resolve_engine`), so a face resolves it once per request.
    ``since`` is an earlier summary of the same thread: the result then carries ``changes``,
    what is new since (:func:`~service.changes.compare`). Claim ids are stable across runs
    (:func:`~service.claim_ids.assign_ids`), so ids in both name the same claims.
    ``progress`` receives :class:`~service.progress.Progress` events on the event loop's thread
    (the LLM engine's chunks, calls, tokens, retries and cache hits; the extractive engine's
    stages), the last one of stage ``done``.
    """
    if since is not None:
        check_since(since, thread)
    settings = settings or (runtime.settings if runtime is not None else Settings())
    choice = engine if isinstance(engine, EngineChoice) else resolve_engine(settings, engine)
    observe = None if progress is None else _Observer(progress)
    if choice.kind == "extractive":
        summary = await _summarize_extractive(thread, runtime, observe, settings)
    elif runtime is None:
        async with Runtime(settings) as own:
            summary = await _summarize_llm(thread, settings, own, observe, since)
    else:
        summary = await _summarize_llm(thread, settings, runtime, observe, since)
    problems = check_summary(summary, thread)
    if problems:
        raise GroundingError(
            f"summary failed its grounding check ({len(problems)} problem(s)): {problems[0]}"
        )
    assign_ids(summary)
    if since is not None:
        summary.changes = compare(since, summary)
    if choice.kind == "llm":
        from .cost import price

        model = summary.engine.model or settings.model or ""
        stats = summary.stats
        stats.cost_usd = price(
            model, settings.base_url, stats.prompt_tokens, stats.completion_tokens
        ).usd
    events.summary_done(choice.kind, summary.stats)
    if observe is not None:
        s = summary.stats
        observe(
            Progress(
                kind="stage",
                stage="done",
                chunks_total=s.chunks,
                chunks_done=s.chunks,
                calls=s.llm_calls,
                cache_hits=s.cache_hits,
                prompt_tokens=s.prompt_tokens,
                completion_tokens=s.completion_tokens,
                retries=observe.last.retries if observe.last else 0,
                reasks=s.reasks,
            )
        )
    return summary


def check_since(since: ThreadSummary, thread: Thread) -> None:
    """Refuse an earlier summary of another thread (a pasted page's id follows its text)."""
    then, now = since.thread, thread
    if then.source != now.source or (now.source != "text" and then.id != now.id):
        raise UsageError(
            f"the earlier summary is of {then.source} thread {then.id!r}, "
            f"not of {now.source} thread {now.id!r}"
        )


class _Observer:
    """A progress callback that remembers the last event it passed on."""

    def __init__(self, callback: ProgressCallback) -> None:
        self.callback = callback
        self.last: Progress | None = None

    def __call__(self, event: Progress) -> None:
        self.last = event
        self.callback(event)


async def _summarize_extractive(
    thread: Thread,
    runtime: Runtime | None,
    progress: ProgressCallback | None,
    settings: Settings,
) -> ThreadSummary:
    """The extractive map, off the event loop. With a runtime, the stances an earlier run of the
    same thread stored in the answer cache are reused, so only new reply pairs are read."""
    from .engines.extractive import summarize_extractive
    from .engines.stance.memo import StanceMemo, memo_key

    cache = None
    key = memo_key(thread.source, thread.id)
    stored = None
    if runtime is not None:
        try:
            cache = runtime.cache(settings)
            stored = await cache.get(key)
        except CacheError:
            cache = None  # the map does not need the memo: read every pair
    memo = StanceMemo(stored)
    stage = None if progress is None else _on_loop(progress, asyncio.get_running_loop())
    work = functools.partial(
        summarize_extractive, thread, stage=stage, max_claims=settings.max_claims, stance=memo
    )
    executor = runtime.executor if runtime is not None else None
    if executor is None:
        summary = await asyncio.to_thread(work)
    else:
        job = functools.partial(contextvars.copy_context().run, work)
        summary = await asyncio.get_running_loop().run_in_executor(executor, job)
    if cache is not None and memo.changed:
        with contextlib.suppress(CacheError):
            await cache.set(key, memo.value())
    return summary


def _on_loop(progress: ProgressCallback, loop: asyncio.AbstractEventLoop) -> Callable[[str], None]:
    """A stage callback for an engine on a worker thread: each event goes to ``loop``."""

    def stage(name: str) -> None:
        loop.call_soon_threadsafe(progress, Progress(kind="stage", stage=name))

    return stage


async def _summarize_llm(
    thread: Thread,
    settings: Settings,
    runtime: Runtime,
    progress: ProgressCallback | None,
    since: ThreadSummary | None = None,
) -> ThreadSummary:
    from .engines.llm import summarize_llm

    return await summarize_llm(
        thread,
        settings,
        runtime.model(settings),
        runtime.cache(settings),
        runtime.prompts(settings),
        progress=progress,
        since=since,
    )
