"""The LLM engine: map each chunk to claims with one model call, reduce them to the thread's.

Modules, in the order a summary goes through them:

* :mod:`.context` sizes chunks and answers to the model's context, and halves a chunk whose
  answer is cut off;
* :mod:`.calls` is the one validated model call (render → cache → model → validate → re-ask
  with the errors, bounded by ``max_reasks``);
* :mod:`.map` maps one chunk to claims; calls run concurrently, the largest chunks first;
* :mod:`.reduce` merges chunk claims into the thread's, in a tree when they do not fit one
  call, starting while chunks are still mapped, and asks for the overview beside its last call;
  a single-chunk thread needs exactly one call in all;
* :mod:`.assemble` builds the summary's claims and citations from what map and reduce found;
* :mod:`.policy` decides whether the chunks that got no usable answer make the run an error.

After the reduce, the steps both engines share: repeated comments count once
(:mod:`..duplicates`), claims past the limit are counted (:mod:`..limits`), the shown claims
are put in topics (:mod:`..topics`: those the reduce named, and lexical groups for claims it
put in none, or for every claim when there was no reduce: one chunk, an incremental run), and
the overview ends by naming the claims people split on most (:mod:`..controversy`).

A thread whose comments are all deleted or empty is summarized without asking the model.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from ...cache import Cache
from ...chunker import chunk_thread
from ...model.protocol import ChatModel
from ...models import Chunk, EngineInfo, Thread, ThreadInfo, ThreadSummary
from ...progress import ProgressCallback
from ...prompts import Prompt, default_prompts_dir, load_prompt
from ...settings import Settings
from ...text.wording import one_line
from ..controversy import split_sentence
from ..duplicates import find_duplicates
from ..limits import claim_limit
from ..topics import topics_from_titles
from .assemble import ClaimGroup, ranked_claims, template_overview
from .calls import Run
from .context import fit_to_context
from .delta import Delta, carry_prevalence, plan_delta, run_delta, unusable
from .map import ChunkClaim, map_chunk
from .policy import judge
from .reduce import Reducer

__all__ = ["NOTHING_TO_SUMMARIZE", "load_engine_prompts", "summarize_llm"]

NOTHING_TO_SUMMARIZE = (
    "every comment is deleted or empty: there is nothing to summarize, so no model was asked"
)


def load_engine_prompts(directory: Path | None = None) -> dict[str, Prompt]:
    """The map, reduce, overview and re-ask prompts, checked, and the delta prompt where the
    directory has one (without it, runs ``since`` an earlier summary are cold)."""
    where = directory or default_prompts_dir()
    prompts = {name: load_prompt(name, where) for name in COLD_PROMPTS}
    if (where / "delta.toml").is_file():
        prompts["delta"] = load_prompt("delta", where)
    return prompts


#: The prompts of a cold run (its prompt digest, and so its cache keys, covers these only).
COLD_PROMPTS = ("map", "reduce", "overview", "reask")


async def summarize_llm(
    thread: Thread,
    settings: Settings,
    model: ChatModel,
    cache: Cache,
    prompts: dict[str, Prompt] | None = None,
    *,
    progress: ProgressCallback | None = None,
    since: ThreadSummary | None = None,
) -> ThreadSummary:
    """The argument map of ``thread`` from a model, through ``cache``.

    ``progress`` hears of the chunks, model calls, cache hits, retries and re-asks as they go.
    ``since``, an earlier summary of the thread, makes the run incremental where it can be
    (:mod:`.delta`): only the comments it did not read are sent to the model.
    """
    started = time.perf_counter()
    every = prompts or load_engine_prompts(settings.prompts_dir)
    prompts = {name: every[name] for name in COLD_PROMPTS}
    fallback = None
    if since is not None and "delta" in every:
        fallback = unusable(since, thread)
        planned = plan_delta(since, thread) if fallback is None else None
        if fallback is None and planned is None:
            fallback = "a citation in it does not resolve in the thread"
        if planned is not None:
            return await _incremental(
                thread, settings, model, cache, every, planned, since, progress
            )
    if not any(c.sentences for c in thread.comments):
        run = Run(thread, settings, model, cache, prompts)
        run.warnings.append(NOTHING_TO_SUMMARIZE)
        return _summary(thread, settings, run, [], "", started)
    fitted = await fit_to_context(model, settings)
    settings = fitted.settings
    run = Run(thread, settings, model, cache, prompts, progress=progress)
    if fitted.note:
        run.warnings.append(fitted.note)
    if fallback is not None:
        run.warnings.append(f"summarized in full, not since the earlier summary: {fallback}")
    chunks = chunk_thread(thread, settings.chunk_tokens, slots=settings.concurrency)
    run.stats.chunks = len(chunks)
    run.report("chunks")
    # One chunk needs no reduce: its map prompt already merges its claims.
    reducer = Reducer(run, stream=len(chunks) > 1)
    try:
        await _map_into(run, chunks, reducer)
        run.stats.failed_chunks = run.failures.chunks
        partial = judge(run.failures, len(chunks), settings.max_failed_share)
    except BaseException:
        reducer.cancel()
        raise
    if partial:
        run.warnings.append(partial)
    found = reducer.found
    if len(chunks) == 1 or len(found) <= 1:
        reducer.cancel()
        groups = [ClaimGroup(f.statement, [f]) for f in found]
        overview = ""
    else:
        run.stage = "reducing"
        run.report("stage")
        reduced = await reducer.finish()
        groups = [
            ClaimGroup(m.statement, [found[i] for i in m.members], m.topic) for m in reduced.claims
        ]
        overview = reduced.overview
    return _summary(thread, settings, run, groups, overview, started)


async def _incremental(
    thread: Thread,
    settings: Settings,
    model: ChatModel,
    cache: Cache,
    prompts: dict[str, Prompt],
    planned: Delta,
    since: ThreadSummary,
    progress: ProgressCallback | None,
) -> ThreadSummary:
    """The earlier map grown by what the new comments add (:mod:`.delta`)."""
    started = time.perf_counter()
    run = Run(thread, settings, model, cache, prompts, progress=progress)
    if planned.new:
        fitted = await fit_to_context(model, settings)
        run.settings = fitted.settings
        if fitted.note:
            run.warnings.append(fitted.note)
    groups = await run_delta(run, planned)
    run.stats.failed_chunks = run.failures.chunks
    partial = judge(run.failures, run.stats.chunks, settings.max_failed_share)
    if partial:
        run.warnings.append(partial)
    run.warnings.append(
        f"incremental: {len(planned.new)} new comment(s) read in {run.stats.chunks} delta "
        f"call(s); {len(planned.claims)} earlier claim(s) kept"
    )
    summary = _summary(thread, run.settings, run, groups, planned.overview, started)
    carry_prevalence(summary, since, planned)
    return summary


async def _map_into(run: Run, chunks: list[Chunk], reducer: Reducer) -> None:
    """Map every chunk, feeding the claims to ``reducer`` in chunk order as they come in.

    The maps are started largest chunk first (see :class:`~.calls.Slots`; while the client
    finds the server's output mode, the others wait only for its one-token probe); a chunk's
    claims go to the reducer once every chunk before it is in, so reduce groups follow chunk
    order, never the order the answers arrive in. The first failure cancels the rest.
    """
    order = sorted(chunks, key=lambda ch: (-ch.tokens, ch.index))
    tasks = {ch.index: asyncio.ensure_future(_map_counted(run, ch)) for ch in order}
    ordered = [tasks[ch.index] for ch in chunks]
    pending: set[asyncio.Future[list[ChunkClaim]]] = set(ordered)
    fed = 0
    try:
        while fed < len(ordered):
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # raises the first failure
            while fed < len(ordered) and ordered[fed].done():
                reducer.add(ordered[fed].result())
                fed += 1
    except BaseException:
        for task in ordered:
            task.cancel()
        await asyncio.gather(*ordered, return_exceptions=True)
        raise


def _summary(
    thread: Thread,
    settings: Settings,
    run: Run,
    groups: list[ClaimGroup],
    overview: str,
    started: float,
) -> ThreadSummary:
    duplicates = find_duplicates(thread)
    limit = claim_limit(settings.max_claims, len(thread.comments))
    ranked = ranked_claims(thread, groups, limit, duplicates)
    claims = [claim for claim, _ in ranked]
    omitted = len(groups) - len(claims)
    if omitted:
        run.warnings.append(f"{omitted} further claim(s) are not shown")
    repeated = duplicates.warning()
    if repeated:
        run.warnings.append(repeated)
    overview = one_line(overview) or template_overview(thread, claims)
    if claims:
        overview = f"{overview} {split_sentence(claims)}"
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
        topics=topics_from_titles(claims, [title for _, title in ranked], thread, duplicates),
        claims_omitted=omitted,
        duplicates=duplicates.report(thread),
        stats=run.stats,
        warnings=[*thread.warnings, *run.warnings],
    )


async def _map_counted(run: Run, chunk: Chunk) -> list[ChunkClaim]:
    """:func:`map_chunk`, reporting the chunk as done when it is."""
    found = await map_chunk(run, chunk, str(chunk.index))
    run.chunks_done += 1
    run.report("chunk_done")
    return found
