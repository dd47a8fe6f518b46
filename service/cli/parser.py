"""The ``threadsum`` argument parser: every subcommand, its flags and help texts.

Flags that name a setting (``--chunk-tokens`` → ``chunk_tokens``) are applied by
:func:`apply_flags` through :meth:`Settings.override`, so they are validated as the environment
is. Parsing errors raise :class:`UsageError` instead of exiting, so ``main`` owns the exit code.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from ..errors import UsageError
from ..ingest import FORMATS
from ..settings import Settings

__all__ = ["apply_flags", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting, so main() owns the exit code."""

    def error(self, message: str) -> NoReturn:
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
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="run the error records again (given-up threads too), from the state file of an "
        "unfinished run or from OUT.jsonl of a finished one; implies --resume",
    )
    p.add_argument("--engine", choices=["auto", "extractive", "llm"])
    p.add_argument("--strict", action="store_true", default=None)
    p.add_argument("--chunk-tokens", type=int, metavar="N")
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run on Ray Data (the ray extra): the cluster at ADDRESS, else a local Ray; "
        "IN may then be JSONL or Parquet at any path Ray reads, OUT .jsonl or .parquet",
    )
    p.add_argument(
        "--ray-actors",
        type=int,
        metavar="N",
        help="actors summarizing with --ray, each with its share of --concurrency "
        "(default: the cluster's CPUs, at most --concurrency)",
    )
    _add_model_args(p, concurrency=False)

    sub.add_parser("schema", help="print the JSON Schema of the ThreadSummary output")

    p = sub.add_parser("eval", help="measure an engine on labelled data (stance, maps)")
    kinds = p.add_subparsers(dest="eval_kind", required=True, parser_class=_Parser)
    q = kinds.add_parser("stance", help="stance of replies: confusion matrix, per-class F1")
    q.add_argument(
        "pairs", metavar="PAIRS", help="labelled pairs: .csv or .jsonl with parent, reply, label"
    )
    q.add_argument(
        "--labels",
        metavar="MAP",
        help="what raw labels mean, e.g. 0=disagree,1=other,2=agree (default: the names "
        "agree, disagree, other, neutral)",
    )
    q.add_argument(
        "--columns",
        metavar="P,R,L",
        help="names of the parent, reply and label columns (default: parent,reply,label)",
    )
    _add_eval_args(q)
    q = kinds.add_parser("map", help="roles in maps of gold threads: P/R/F1, share right")
    q.add_argument("gold", nargs="+", metavar="GOLD", help="gold thread files or directories")
    _add_eval_args(q)

    p = sub.add_parser("serve", help="run the HTTP service (FastAPI on uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--engine", choices=["auto", "extractive", "llm"])
    p.add_argument("--chunk-tokens", type=int, metavar="N")
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="public base URL for the links the service returns (THREADSUM_PUBLIC_URL)",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="proxies whose X-Forwarded-For is believed (THREADSUM_FORWARDED_ALLOW_IPS; "
        "default: none)",
    )
    p.add_argument(
        "--shutdown-timeout",
        type=float,
        metavar="S",
        help="seconds requests in flight get on SIGTERM (THREADSUM_SHUTDOWN_TIMEOUT, default 10)",
    )
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


def _add_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=["auto", "extractive", "llm"])
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run N times and report whether the outputs are identical",
    )
    _add_model_args(p)


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


def apply_flags(args: argparse.Namespace, settings: Settings) -> Settings:
    """``settings`` with the setting flags given in ``args`` applied (flags not given: unchanged).

    Raises :class:`UsageError` naming the flag of the first invalid value.
    """
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
        "public_url",
        "forwarded_allow_ips",
        "shutdown_timeout",
    )
    given = {name: getattr(args, name, None) for name in names}
    return settings.override(given, name_of=lambda field: "--" + field.replace("_", "-"))
