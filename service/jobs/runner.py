"""Running batch jobs: a bounded pool of workers over a job's pending items, one record each.

:func:`run_job` takes the job's lease, applies the job's stored options to the process's
settings once, resolves the engine once, and runs a fixed pool of worker tasks over the pending
items: the batch's concurrency, and with a model client capped at it :func:`spare_workers` more,
so the model's slots do not wait while a line is read or recorded. All of them share
one :class:`~service.runtime.Runtime` (one answer cache, one model client). A heartbeat renews
the lease while it runs. Each item is read (:func:`summarize_item`) and summarised through the
one core, and its record made (:func:`summarize_record`, which the Ray runner calls too); the
record is committed as soon as it is known. A bad line never sinks the batch: an error is one
record, an unexpected exception one ``InternalError`` record, logged.

The names the HTTP face imports from here (``JobBusyError``, ``JobOptions``, ``JobStatus``,
``JobStore``, ``parse_body``, ``run_job``) are re-exported; they live in the modules of their
concern (:mod:`.lines`, :mod:`.options`, :mod:`.store`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from ..errors import (
    DETAIL_CHARS,
    JobBusyError,
    JobNotFoundError,
    OutputError,
    ThreadsumError,
    TooLargeError,
    UsageError,
)
from ..ingest import load_thread_async, read_thread
from ..leases import new_owner_token
from ..models import Thread, ThreadSummary
from ..retrying import RetryPolicy
from ..runtime import Runtime
from ..settings import EngineName, Settings
from ..summarizer import EngineChoice, resolve_engine, summarize
from ..text.wording import one_line
from .lines import LineSource, parse_body, read_line
from .options import JobOptions
from .records import error_record, ok_record, usage_of
from .store import Claim, ItemState, JobStatus, JobStore

__all__ = [
    "HEARTBEAT_S",
    "JobBusyError",
    "JobNotFoundError",
    "JobOptions",
    "JobStatus",
    "JobStore",
    "parse_body",
    "run_job",
    "summarize_item",
    "summarize_record",
]

log = logging.getLogger(__name__)

HEARTBEAT_S: Final = 10.0
"""Seconds between renewals of a running job's lease."""
BATCH_LINE: Final = "batch line"
"""How the summary cache names the reading of a batch line (its ``reader``)."""


def _read_local(content: str | bytes, settings: Settings) -> Thread | LineSource:
    """The thread a line holds, read and built; the line's source itself when it is a URL."""
    source = read_line(content)
    if source.kind == "url":
        return source
    return read_thread(source.content, source.fmt, settings)


async def _load(source: LineSource, settings: Settings, retry: RetryPolicy | None) -> Thread:
    from ..ingest.fetch import parse_target

    target = parse_target(source.content)
    if target is None:  # never a file path: lines come from untrusted bodies too
        raise UsageError(f"not a thread URL: {one_line(source.content, 200)}")
    return await load_thread_async(target.url, source.fmt, settings, retry=retry)


async def summarize_item(
    content: str | bytes,
    settings: Settings,
    *,
    engine: EngineName | EngineChoice | None = None,
    runtime: Runtime | None = None,
) -> ThreadSummary:
    """Read one input line and summarise its thread through the one core.

    With a ``runtime``, a line summarized before with the same settings is served from its
    summary cache without being read (a URL line is fetched and summarized every time).
    """
    if settings.max_bytes and len(content) > settings.max_bytes:
        raise TooLargeError(
            f"the line is {len(content)} bytes, over the limit of {settings.max_bytes}"
        )
    choice = engine if isinstance(engine, EngineChoice) else resolve_engine(settings, engine)

    async def make() -> tuple[ThreadSummary, bool]:
        # One hop off the event loop reads the line and builds its thread.
        found = await asyncio.to_thread(_read_local, content, settings)
        live = isinstance(found, LineSource)
        if isinstance(found, LineSource):
            retry = runtime.fetch_retry if runtime is not None else None
            found = await _load(found, settings, retry)
        summary = await summarize(found, settings, engine=choice, runtime=runtime)
        return summary, not live

    if runtime is None:
        return (await make())[0]
    return await runtime.summaries(settings).through(content, BATCH_LINE, choice.kind, make)


async def summarize_record(
    key: str,
    line: int,
    content: str | bytes,
    settings: Settings,
    *,
    engine: EngineChoice,
    runtime: Runtime,
    job: str = "",
) -> tuple[ItemState, str]:
    """The state and output record of one batch line: every batch runner's per-line step.

    Never raises for the line's own failure: an error is an error record, an unexpected
    exception an ``InternalError`` record, logged (``job`` names the batch in the log).
    """
    try:
        summary = await summarize_item(content, settings, engine=engine, runtime=runtime)
    except ThreadsumError as e:
        return "error", error_record(key, line, e)
    except Exception as e:
        # The fault boundary of one item: it must never sink the batch. Record, log, go on.
        log.exception("batch %s line %d failed unexpectedly", job, line)
        return "error", error_record(key, line, e)
    return "ok", ok_record(key, line, summary)


def spare_workers(concurrency: int) -> int:
    """Lines in flight beyond the batch's ``concurrency``: ⌈concurrency / 4⌉.

    A line spends part of its time off the model: claimed, read, chunked, validated, recorded,
    committed. With only ``concurrency`` lines in flight, a model slot would idle while its line
    does that work; the spare lines do it meanwhile. They run only where the model sees no more
    calls at once for them: with the LLM engine through a model client whose cap
    (``max(THREADSUM_CONCURRENCY, concurrency)``) is the batch's concurrency.
    """
    return -(-concurrency // 4)


@dataclass
class _Run:
    store: JobStore
    job_id: str
    owner: str
    settings: Settings
    engine: EngineChoice
    runtime: Runtime
    on_progress: Callable[[JobStatus], None] | None
    spare: bool  # run spare_workers() more workers
    stopped: bool = False

    async def worker(self, lines: Iterator[int]) -> None:
        for line in lines:  # shared by the workers: each line goes to one of them
            if self.stopped:
                return
            claim = await asyncio.to_thread(self.store.claim, self.job_id, line, self.owner)
            if claim == "stop":
                self.stopped = True
                return
            if not isinstance(claim, Claim):
                continue
            try:
                state, record = await self.process(line, claim)
            except asyncio.CancelledError:
                # A clean stop is not a sign of a poison input: the start does not count. A
                # blocking call, as awaiting anything more would be cancelled too (it is short).
                with contextlib.suppress(OutputError):
                    self.store.unclaim(self.job_id, line, self.owner)
                raise
            usage = usage_of(record) if state == "ok" else None
            await asyncio.to_thread(
                self.store.finish, self.job_id, line, self.owner, state, record, usage
            )
            await self.report()

    async def process(self, line: int, claim: Claim) -> tuple[ItemState, str]:
        return await summarize_record(
            claim.key,
            line,
            claim.input,
            self.settings,
            engine=self.engine,
            runtime=self.runtime,
            job=self.job_id,
        )

    async def heartbeat(self) -> None:
        while not self.stopped:
            await asyncio.sleep(HEARTBEAT_S)
            if not await asyncio.to_thread(self.store.renew, self.job_id, self.owner):
                self.stopped = True

    async def report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(await asyncio.to_thread(self.store.get, self.job_id))

    async def run(self, concurrency: int) -> None:
        lines = iter(await asyncio.to_thread(self.store.pending_lines, self.job_id))
        await self.report()
        workers = concurrency + (spare_workers(concurrency) if self.spare else 0)
        tasks = [asyncio.create_task(self.worker(lines)) for _ in range(workers)]
        beat = asyncio.create_task(self.heartbeat())
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in (*tasks, beat):
                task.cancel()
            await asyncio.gather(*tasks, beat, return_exceptions=True)


async def run_job(
    store: JobStore,
    job_id: str,
    settings: Settings,
    *,
    concurrency: int,
    on_progress: Callable[[JobStatus], None] | None = None,
    runtime: Runtime | None = None,
) -> JobStatus:
    """Run a job's pending items, ``concurrency`` threads at a time (and, with a model client
    capped at it, :func:`spare_workers` more being read or recorded); its final status.

    The job's stored options override ``settings`` (which supply secrets, paths and limits).
    ``runtime`` holds the model clients and caches the run shares (one is opened for the run
    when none is given).
    Returns at once for a job that has ended. Raises :class:`JobBusyError` when another live
    process runs it. A failure of the run itself (not of one item) marks the job ``failed``
    and is raised; a cancelled run (task cancelled, Ctrl-C) leaves it resumable. A job deleted
    while it runs stops, and its run ends in :class:`JobNotFoundError`.
    """
    if concurrency < 1:
        raise UsageError("the batch concurrency must be at least 1")
    owner = new_owner_token()
    status = await asyncio.to_thread(store.acquire, job_id, owner)
    if status.status != "running":
        return status
    try:
        options = await asyncio.to_thread(store.options, job_id)
        # At least one model call per thread in flight, or the batch concurrency is moot.
        run_settings = options.apply(
            settings, also={"concurrency": max(settings.concurrency, concurrency)}
        )
        engine = resolve_engine(run_settings)
        async with contextlib.AsyncExitStack() as stack:
            if runtime is None:
                runtime = await stack.enter_async_context(Runtime(run_settings))
            # Spare lines only where the model client holds the model to the concurrency: the
            # LLM engine through a client whose cap is the batch's (THREADSUM_CONCURRENCY at
            # most --concurrency). Elsewhere the batch's concurrency is its threads at once.
            spare = (
                engine.kind == "llm"
                and not runtime.model_injected
                and run_settings.concurrency == concurrency
            )
            run = _Run(store, job_id, owner, run_settings, engine, runtime, on_progress, spare)
            await run.run(concurrency)
    except Exception as e:
        # The fault boundary of the run: whatever failed, the job is marked failed, then raised.
        if not isinstance(e, ThreadsumError):
            log.exception("batch %s failed", job_id)
        with contextlib.suppress(OutputError):  # the state may be what failed
            store.release(job_id, owner, state="failed", error=one_line(str(e), DETAIL_CHARS))
        raise
    except BaseException:
        with contextlib.suppress(OutputError):  # cancelled or interrupted: resumable
            store.release(job_id, owner)
        raise
    return await asyncio.to_thread(store.complete, job_id, owner)
