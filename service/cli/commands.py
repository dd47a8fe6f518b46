"""The ``threadsum`` commands: one function each, given the parsed flags and the run's settings.

The commands that read threads run in one event loop with one :class:`Runtime` for the run
(``async with Runtime(settings)`` in :func:`service.cli.main`): URL loading retries with its
``fetch_retry``, summaries share its cache and model client. The engine is resolved once per
command, before any thread is read, so a bad engine choice fails at once. The servers
(``serve``, ``mock-llm``, ``local-server``) run in the foreground until interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from ..chunker import chunk_thread
from ..errors import UsageError
from ..files import write_atomic
from ..ingest import load_thread_async
from ..models import SCHEMA_VERSION, ThreadSummary
from ..progress import Progress
from ..report import inspect_json, inspect_text
from ..runtime import Runtime
from ..settings import Settings
from ..summarizer import EngineChoice, resolve_engine
from ..text.wording import count

__all__ = ["ASYNC_COMMANDS", "EXIT_ERROR", "EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE", "SYNC_COMMANDS"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3

AsyncCommand = Callable[[argparse.Namespace, Settings, Runtime], Awaitable[int]]
SyncCommand = Callable[[argparse.Namespace, Settings], int]


def _engine(settings: Settings) -> EngineChoice:
    """The engine of this command; when it was chosen automatically, say which and why."""
    choice = resolve_engine(settings)
    if settings.engine == "auto":
        print(f"threadsum: using the {choice.kind} engine ({choice.reason})", file=sys.stderr)
    return choice


async def _inspect(args: argparse.Namespace, settings: Settings, runtime: Runtime) -> int:
    thread = await load_thread_async(args.target, args.format, settings, retry=runtime.fetch_retry)
    chunks = chunk_thread(thread, settings.chunk_tokens, slots=settings.concurrency)
    if args.json:
        doc = inspect_json(thread, chunks, settings.chunk_tokens)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(inspect_text(thread, chunks, settings.chunk_tokens) + "\n")
    return EXIT_OK


def _write(text: str, out: str | None) -> None:
    """Write to stdout, or to ``out`` through a temporary file so a failure leaves no half file."""
    if out is None:
        sys.stdout.write(text)
        return
    write_atomic(Path(out), [text])


class _SummaryProgress:
    """One self-rewriting stderr line while a summary runs on a terminal: stage, chunks done of
    total, model calls, retries, cache hits, tokens. Redrawn at most every ``interval`` s."""

    def __init__(self, stream: TextIO, interval: float = 0.1) -> None:
        self.stream = stream
        self.interval = interval
        self.drawn = 0.0
        self.width = 0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if (
            p.stage != "done"
            and p.kind not in ("stage", "chunks")
            and now - self.drawn < self.interval
        ):
            return
        self.drawn = now
        parts = [p.stage]
        if p.chunks_total:
            parts.append(f"{p.chunks_done}/{p.chunks_total} chunks")
        if p.calls or p.cache_hits or p.chunks_total:
            parts += [count(p.calls, "call"), count(p.retries, "retry", "retries")]
            parts += [f"{p.cache_hits} cached", f"{p.prompt_tokens + p.completion_tokens:,} tokens"]
        line = "threadsum: " + " · ".join(parts)
        pad = " " * max(0, self.width - len(line))
        self.width = len(line)
        self.stream.write(f"\r{line}{pad}")
        if p.stage == "done":
            self.stream.write("\n")
        self.stream.flush()


async def _summarize(args: argparse.Namespace, settings: Settings, runtime: Runtime) -> int:
    from ..render import render
    from ..summarizer import summarize

    if args.estimate:
        from .estimate import estimate_command

        return await estimate_command(args, settings, runtime)
    since = read_summary(Path(args.since)) if args.since else None
    choice = _engine(settings)
    thread = await load_thread_async(args.target, args.format, settings, retry=runtime.fetch_retry)
    progress = _SummaryProgress(sys.stderr) if sys.stderr.isatty() else None
    summary = await summarize(
        thread, settings, engine=choice, runtime=runtime, since=since, progress=progress
    )
    _write(render(summary, args.output, thread=thread), args.out)
    return EXIT_OK


def read_summary(path: Path) -> ThreadSummary:
    """An earlier summary (``--since``): a JSON ThreadSummary, or a one-line usage error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--since {path}: cannot read it ({e.__class__.__name__})") from e
    try:
        data = json.loads(text)
        if isinstance(data, dict) and data.get("schema_version") == "1":
            data["schema_version"] = SCHEMA_VERSION  # 1.1 only added fields
        return ThreadSummary.model_validate(data)
    except ValueError as e:
        raise UsageError(
            f"--since {path}: not a threadsum JSON summary (write one with --output json)"
        ) from e


async def _watch(args: argparse.Namespace, settings: Settings, runtime: Runtime) -> int:
    import time

    from .watch import MIN_EVERY, WatchPlan, parse_duration, parse_until, watch

    every = parse_duration(args.every)
    if every < MIN_EVERY:
        raise UsageError(f"--every must be at least {MIN_EVERY:g}s")
    if args.settle < 1:
        raise UsageError("--settle must be at least 1")
    plan = WatchPlan(
        target=args.target,
        every=every,
        until=parse_until(args.until, time.time()) if args.until else None,
        settle=args.settle,
        out=Path(args.out) if args.out else None,
        output=args.output,
        jsonl=args.jsonl,
    )
    since = read_summary(Path(args.since)) if args.since else None
    await watch(plan, settings, runtime, _engine(settings), since=since)
    return EXIT_OK


async def _batch(args: argparse.Namespace, settings: Settings, runtime: Runtime) -> int:
    from .. import events
    from .batchfile import run_batch_file
    from .progress import BatchProgress

    if args.ray is None and args.ray_actors is not None:
        raise UsageError("--ray-actors needs --ray")
    choice = _engine(settings)
    llm = choice.kind == "llm"
    bar = BatchProgress(
        sys.stderr,
        sys.stderr.isatty(),
        model=settings.model if llm else None,
        base_url=settings.base_url,
    )
    if args.ray is not None:
        from ..jobs import ray_batch
        from .progress import progress_printer

        # The Ray driver blocks this loop until the job ends; nothing else runs in it, and a
        # Ctrl-C reaches the driver at once (the journal keeps what was finished). Tokens and
        # cache hits happen in the actors' processes: the bar counts lines only.
        result = ray_batch.run(
            args.input,
            Path(args.out),
            settings,
            address=args.ray or None,
            actors=args.ray_actors,
            resume=args.resume,
            retry_failed=args.retry_failed,
            progress=progress_printer(sys.stderr, sys.stderr.isatty()),
            engine=choice,
        )
        line = (
            f"batch: {result.total} threads on Ray: {result.total - result.failed} ok, "
            f"{result.failed} failed"
        )
        if result.failed:
            line += f' (their records in {args.out} have "status": "error")'
        print(line, file=sys.stderr)
        return result.exit_code
    with events.listening(bar):
        return await run_batch_file(
            Path(args.input),
            Path(args.out),
            settings,
            concurrency=settings.batch_concurrency,
            resume=args.resume,
            retry_failed=args.retry_failed,
            progress=bar,
            runtime=runtime,
            engine=choice,
            on_finish=lambda total, failed: bar.finish(args.out, total, failed),
        )


async def _eval(args: argparse.Namespace, settings: Settings, runtime: Runtime) -> int:
    from ..eval import map_report, render, stance_report
    from ..eval.pairs import COLUMNS, parse_columns, parse_label_map

    if args.repeat < 1:
        raise UsageError("--repeat must be at least 1")
    labels = parse_label_map(args.labels) if getattr(args, "labels", None) else None
    columns = parse_columns(args.columns) if getattr(args, "columns", None) else COLUMNS
    choice = _engine(settings)
    if args.eval_kind == "stance":
        report = await stance_report(
            Path(args.pairs),
            settings,
            runtime,
            engine=choice,
            labels=labels,
            columns=columns,
            repeat=args.repeat,
        )
        sys.stdout.write(render(report, args.json))
    else:
        maps = await map_report(args.gold, settings, runtime, engine=choice, repeat=args.repeat)
        sys.stdout.write(render(maps, args.json))
    return EXIT_OK


async def _schema(args: argparse.Namespace, settings: Settings, runtime: Runtime) -> int:
    from ..models import ThreadSummary

    schema = ThreadSummary.model_json_schema()
    sys.stdout.write(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from ..http import serve

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    choice = resolve_engine(settings)
    if settings.model_configured or settings.cache == "replay":
        # A replay folder that does not exist stops the server now, not its first request.
        Runtime(settings).check_cache()

    def announce(url: str) -> None:  # once the port is bound: a port in use is one error line
        print(
            f"threadsum serve on {url} (engine {choice.kind}: {choice.reason}; "
            f"API keys {'required' if settings.api_key_set else 'off'})",
            file=sys.stderr,
        )

    serve(settings, args.host, args.port, args.workers, announce=announce)  # until interrupted
    return EXIT_OK


def _mock_llm(args: argparse.Namespace, settings: Settings) -> int:
    from ..devtools.mockllm import MockConfig, serve_on
    from ..serving import listen

    try:
        config = MockConfig(
            model=args.mock_model,
            latency_ms=args.latency_ms,
            ms_per_token=args.ms_per_token,
            ms_per_prompt_token=args.ms_per_prompt_token,
            fail_rate=args.fail_rate,
            faults=tuple(f.strip() for f in args.faults.split(",") if f.strip()),
            seed=args.seed,
            context_limit=args.context_limit,
            max_concurrency=args.max_concurrency,
            max_output_tokens=args.max_output_tokens,
            refuse_modes=frozenset(args.refuse),
            answer_any=args.answer_any,
        )
    except ValueError as e:
        raise UsageError(f"mock-llm: {e}") from None
    sock = listen(args.host, args.port)  # a port in use is one error line, before the banner
    print(
        f"threadsum mock-llm on http://{args.host}:{args.port}/v1 (model {config.model}); "
        f"use THREADSUM_BASE_URL=http://{args.host}:{args.port}/v1 THREADSUM_MODEL={config.model}",
        file=sys.stderr,
    )
    serve_on(config, sock)  # runs until interrupted
    return EXIT_OK


def _local_server(args: argparse.Namespace, settings: Settings) -> int:
    from ..devtools.local import run_local_server

    return run_local_server(args.model_path, host=args.host, port=args.port, ctx=args.ctx)


ASYNC_COMMANDS: dict[str, AsyncCommand] = {
    "inspect": _inspect,
    "summarize": _summarize,
    "batch": _batch,
    "watch": _watch,
    "schema": _schema,
    "eval": _eval,
}
"""The commands that run in an event loop with the run's runtime."""

SYNC_COMMANDS: dict[str, SyncCommand] = {
    "serve": _serve,
    "mock-llm": _mock_llm,
    "local-server": _local_server,
}
"""The servers: they run their own loops, in the foreground."""
