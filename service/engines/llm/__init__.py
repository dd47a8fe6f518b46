"""The LLM engine: map each chunk to claims with one model call, reduce them to the thread's.

Modules, in the order a summary goes through them:

* :mod:`.context` sizes chunks and answers to the model's context, and halves a chunk whose
  answer is cut off;
* :mod:`.calls` is the one validated model call (render → cache → model → validate → re-ask
  with the errors, bounded by ``max_reasks``);
* :mod:`.map` maps one chunk to claims; calls run concurrently (the client bounds them);
* :mod:`.reduce` merges chunk claims into the thread's and writes the overview, in a tree when
  they do not fit one call; a single-chunk thread needs exactly one call in all;
* :mod:`.assemble` builds the summary's claims and citations from what map and reduce found;
* :mod:`.policy` decides whether the chunks that got no usable answer make the run an error.

A thread whose comments are all deleted or empty is summarized without asking the model.
"""

from __future__ import annotations

import time
from pathlib import Path

from ...cache import Cache
from ...chunker import chunk_thread
from ...model.protocol import ChatModel
from ...models import EngineInfo, Thread, ThreadInfo, ThreadSummary
from ...prompts import Prompt, default_prompts_dir, load_prompt
from ...settings import Settings
from ...text.wording import one_line
from .assemble import MAX_CLAIMS, ClaimGroup, build_claims, template_overview
from .calls import Run, gather_or_cancel
from .context import fit_to_context
from .map import map_chunk
from .policy import judge
from .reduce import reduce_claims

__all__ = ["NOTHING_TO_SUMMARIZE", "load_engine_prompts", "summarize_llm"]

NOTHING_TO_SUMMARIZE = (
    "every comment is deleted or empty: there is nothing to summarize, so no model was asked"
)


def load_engine_prompts(directory: Path | None = None) -> dict[str, Prompt]:
    """The map, reduce and re-ask prompts, checked."""
    where = directory or default_prompts_dir()
    return {name: load_prompt(name, where) for name in ("map", "reduce", "reask")}


async def summarize_llm(
    thread: Thread,
    settings: Settings,
    model: ChatModel,
    cache: Cache,
    prompts: dict[str, Prompt] | None = None,
) -> ThreadSummary:
    """The argument map of ``thread`` from a model, through ``cache``."""
    started = time.perf_counter()
    prompts = prompts or load_engine_prompts(settings.prompts_dir)
    if not any(c.sentences for c in thread.comments):
        run = Run(thread, settings, model, cache, prompts)
        run.warnings.append(NOTHING_TO_SUMMARIZE)
        return _summary(thread, settings, run, [], "", started)
    fitted = await fit_to_context(model, settings)
    settings = fitted.settings
    run = Run(thread, settings, model, cache, prompts)
    if fitted.note:
        run.warnings.append(fitted.note)
    chunks = chunk_thread(thread, settings.chunk_tokens)
    run.stats.chunks = len(chunks)
    per_chunk = await gather_or_cancel(*(map_chunk(run, ch, str(ch.index)) for ch in chunks))
    run.stats.failed_chunks = run.failures.chunks
    partial = judge(run.failures, len(chunks), settings.max_failed_share)
    if partial:
        run.warnings.append(partial)
    found = [f for fs in per_chunk for f in fs]
    if len(chunks) == 1 or len(found) <= 1:
        groups = [ClaimGroup(f.statement, [f]) for f in found]
        overview = ""
    else:
        reduced = await reduce_claims(run, found)
        groups = [ClaimGroup(m.statement, [found[i] for i in m.members]) for m in reduced.claims]
        overview = reduced.overview
    return _summary(thread, settings, run, groups, overview, started)


def _summary(
    thread: Thread,
    settings: Settings,
    run: Run,
    groups: list[ClaimGroup],
    overview: str,
    started: float,
) -> ThreadSummary:
    claims = build_claims(thread, groups)
    if len(groups) > MAX_CLAIMS:
        run.warnings.append(f"{len(groups) - MAX_CLAIMS} further claim(s) are not shown")
    overview = one_line(overview) or template_overview(thread, claims)
    run.stats.elapsed_s = (
        0.0 if settings.cache == "replay" else round(time.perf_counter() - started, 3)
    )
    modes = sorted(m for m in run.modes if m)
    names = sorted(n for n in run.model_names if n)
    return ThreadSummary(
        thread=ThreadInfo.of(thread),
        engine=EngineInfo(
            kind="llm",
            model=names[0] if len(names) == 1 else (settings.model or ", ".join(names)),
            output_mode=", ".join(modes) or settings.output_mode,
            prompt_digest=run.digest,
            version="llm-1",
        ),
        overview=overview,
        claims=claims,
        stats=run.stats,
        warnings=[*thread.warnings, *run.warnings],
    )
