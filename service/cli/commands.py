"""The ``threadsum`` command line: ``main(argv) -> int``.

Exit codes: 0 ok, 1 error (one line on stderr, no traceback), 2 bad usage, 3 batch partly failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from ..chunker import chunk_thread
from ..errors import ThreadsumError, UsageError
from ..files import write_atomic
from ..ingest import FORMATS, load_thread_async
from ..report import inspect_json, inspect_text
from ..settings import Settings

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting, so main() owns the exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _add_input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "target",
        metavar="PATH_OR_URL",
        help="a thread file, - for standard input, or an HN/Reddit URL or HN item id",
    )
    p.add_argument(
        "--format",
        default="auto",
        choices=["auto", *FORMATS],
        help="input format (default: detect)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="reject comments whose parent is missing (default: attach at top level)",
    )
    p.add_argument(
        "--chunk-tokens",
        type=int,
        metavar="N",
        help="token budget of one chunk (THREADSUM_CHUNK_TOKENS, default 6000)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="threadsum", description="Turn discussion threads into argument maps.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("inspect", help="parse and chunk a thread; report what was found")
    _add_input_args(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("summarize", help="summarize one thread into an argument map")
    _add_input_args(p)
    p.add_argument(
        "--engine",
        choices=["auto", "extractive", "llm"],
        help="auto: the llm engine when a model is configured, else extractive",
    )
    p.add_argument(
        "--output",
        default="json",
        choices=["json", "markdown", "html"],
        help="output format (default: json)",
    )
    p.add_argument("-o", "--out", metavar="FILE", help="write to FILE instead of standard output")
    _add_model_args(p)

    p = sub.add_parser("batch", help="summarize many threads: JSONL in, JSONL out, resumable")
    p.add_argument("input", metavar="IN.jsonl", help="one thread per line (see README)")
    p.add_argument(
        "-o",
        "--out",
        required=True,
        metavar="OUT.jsonl",
        help="one result record per input line, written when the job completes",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        dest="batch_concurrency",
        metavar="N",
        help="threads summarized at once (THREADSUM_BATCH_CONCURRENCY, default 4)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run of the same input and options",
    )
    p.add_argument("--engine", choices=["auto", "extractive", "llm"])
    p.add_argument("--strict", action="store_true", default=None)
    p.add_argument("--chunk-tokens", type=int, metavar="N")
    _add_model_args(p, concurrency=False)

    sub.add_parser("schema", help="print the JSON Schema of the ThreadSummary output")

    p = sub.add_parser("serve", help="run the HTTP service (FastAPI on uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--engine", choices=["auto", "extractive", "llm"])
    p.add_argument("--chunk-tokens", type=int, metavar="N")
    _add_model_args(p)

    p = sub.add_parser(
        "local-server", help="run a local model with llama-cpp-python (the local extra)"
    )
    p.add_argument("--model-path", metavar="GGUF", help="a GGUF file (default: the bundled model)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--ctx", type=int, default=8192, metavar="N", help="context size in tokens")

    p = sub.add_parser(
        "mock-llm", help="run an OpenAI-compatible mock model server (offline development)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8089)
    p.add_argument(
        "--model", dest="mock_model", default="threadsum-mock", help="model name it reports"
    )
    p.add_argument("--latency-ms", type=float, default=0.0, help="fixed latency per call")
    p.add_argument("--ms-per-token", type=float, default=0.0, help="per completion token")
    p.add_argument("--ms-per-prompt-token", type=float, default=0.0, help="per prompt token")
    p.add_argument(
        "--fail-rate",
        type=float,
        default=0.0,
        help="share of requests answered with an injected fault (0..1)",
    )
    p.add_argument(
        "--faults",
        default="429,500,503,garbage,disconnect",
        help="comma-separated faults --fail-rate draws from",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the fault sequence")
    p.add_argument("--context-limit", type=int, help="reject prompts over N tokens with a 400")
    p.add_argument("--max-concurrency", type=int, help="requests served at once; others queue")
    p.add_argument("--max-output-tokens", type=int, help="cap on completion tokens")
    p.add_argument(
        "--refuse",
        action="append",
        default=[],
        metavar="MODE",
        choices=["json_schema", "json_object", "tools"],
        help="reject this structured-output mode with a 400 (repeatable)",
    )
    p.add_argument(
        "--answer-any",
        action="store_true",
        help="answer any other prompt with a short plain-text summary (for benchmarks)",
    )
    return parser


def _add_model_args(p: argparse.ArgumentParser, *, concurrency: bool = True) -> None:
    p.add_argument("--base-url", help="OpenAI-compatible server (THREADSUM_BASE_URL)")
    p.add_argument("--model", help="model name (THREADSUM_MODEL)")
    p.add_argument(
        "--output-mode",
        choices=["auto", "json_schema", "json_object", "tools", "text"],
        help="structured output mode (THREADSUM_OUTPUT_MODE, default auto)",
    )
    p.add_argument(
        "--cache",
        choices=["use", "refresh", "off", "replay"],
        help="answer cache mode (THREADSUM_CACHE, default use)",
    )
    p.add_argument("--cache-dir", help="answer cache folder (THREADSUM_CACHE_DIR)")
    if concurrency:
        p.add_argument(
            "--concurrency",
            type=int,
            metavar="N",
            help="model calls in flight (THREADSUM_CONCURRENCY, default 4)",
        )
    p.add_argument(
        "--max-reasks",
        type=int,
        metavar="N",
        help="re-asks of an invalid answer (THREADSUM_MAX_REASKS, default 2)",
    )


def _settings(args: argparse.Namespace, settings: Settings) -> Settings:
    names = (
        "strict",
        "chunk_tokens",
        "engine",
        "base_url",
        "model",
        "output_mode",
        "cache",
        "cache_dir",
        "batch_concurrency",
        "concurrency",
        "max_reasks",
    )
    given = {name: getattr(args, name, None) for name in names}
    return settings.override(given, name_of=lambda field: "--" + field.replace("_", "-"))


async def _inspect(args: argparse.Namespace, settings: Settings) -> int:
    thread = await load_thread_async(args.target, args.format, settings)
    chunks = chunk_thread(thread, settings.chunk_tokens)
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


async def _summarize(args: argparse.Namespace, settings: Settings) -> int:
    from ..render import render
    from ..summarizer import resolve_engine, summarize

    choice = resolve_engine(settings)
    if settings.engine == "auto":
        print(f"threadsum: using the {choice.kind} engine ({choice.reason})", file=sys.stderr)
    thread = await load_thread_async(args.target, args.format, settings)
    summary = await summarize(thread, settings, engine=choice)
    _write(render(summary, args.output), args.out)
    return EXIT_OK


async def _batch(args: argparse.Namespace, settings: Settings) -> int:
    from ..jobs.runner import progress_printer, run_batch_file
    from ..summarizer import resolve_engine

    choice = resolve_engine(settings)
    if settings.engine == "auto":
        print(f"threadsum: using the {choice.kind} engine ({choice.reason})", file=sys.stderr)
    return await run_batch_file(
        Path(args.input),
        Path(args.out),
        settings,
        concurrency=settings.batch_concurrency,
        resume=args.resume,
        progress=progress_printer(sys.stderr, sys.stderr.isatty()),
    )


async def _schema(args: argparse.Namespace, settings: Settings) -> int:
    from ..models import ThreadSummary

    schema = ThreadSummary.model_json_schema()
    sys.stdout.write(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from ..http.app import serve
    from ..summarizer import resolve_engine

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    choice = resolve_engine(settings)
    print(
        f"threadsum serve on http://{args.host}:{args.port} "
        f"(engine {choice.kind}: {choice.reason}; "
        f"API keys {'required' if settings.api_key_set else 'off'})",
        file=sys.stderr,
    )
    serve(settings, args.host, args.port, args.workers)  # runs until interrupted
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


_COMMANDS = {"inspect": _inspect, "summarize": _summarize, "batch": _batch, "schema": _schema}


def _env_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        first = e.errors()[0]
        name = "THREADSUM_" + "_".join(str(x) for x in first["loc"]).upper()
        raise UsageError(f"{name}: {first['msg']}") from None


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    command = ""
    try:
        args = parser.parse_args(argv)
        command = args.command
        run_settings = _settings(args, settings or _env_settings())
        if args.command == "mock-llm":
            return _mock_llm(args, run_settings)
        if args.command == "serve":
            return _serve(args, run_settings)
        if args.command == "local-server":
            from ..devtools.local import run_local_server

            return run_local_server(args.model_path, host=args.host, port=args.port, ctx=args.ctx)
        return asyncio.run(_COMMANDS[args.command](args, run_settings))
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except ThreadsumError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except SystemExit as e:  # --help and --version
        return e.code if isinstance(e.code, int) else EXIT_OK
    except KeyboardInterrupt:
        hint = "; run again with --resume to continue" if command == "batch" else ""
        print(f"error: interrupted{hint}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
