"""The ``threadsum`` argument parser: every subcommand, its flags and help texts.

Flags that name a setting (``--chunk-tokens`` → ``chunk_tokens``) are applied by
:func:`apply_flags` through :meth:`Settings.override`, so they are validated as the environment
is; their help names the variable and its default (:func:`_setting`). Every other flag's help
shows its default, and every command's help ends with examples. Parsing errors raise
:class:`UsageError` instead of exiting, so ``main`` owns the exit code. ``--log-level`` and
``--log-format`` go before or after the command.
"""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from pathlib import PurePath
from typing import Any, Final, NoReturn

from ..errors import UsageError
from ..ingest import FORMATS
from ..settings import Settings

__all__ = ["OUTPUT_SUFFIXES", "apply_flags", "build_parser", "output_format", "version"]

OUTPUT_SUFFIXES: Final = {".json": "json", ".md": "markdown", ".markdown": "markdown"} | {
    ".html": "html",
    ".htm": "html",
}
"""The output format ``summarize -o FILE`` picks from FILE's extension when ``--output`` is
not given."""


def version() -> str:
    """The installed threadsum version."""
    try:
        return _dist_version("threadsum")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


class _Help(argparse.RawDescriptionHelpFormatter):
    """Help that shows each flag's default (unless its help already says it), and keeps the
    examples in an epilog as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text or default in (None, False, True, [], argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting, so main() owns the exit code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _setting(name: str) -> str:
    """``(THREADSUM_NAME, default V)``, for the help of a flag that sets ``name``."""
    default = Settings.model_fields[name].get_default(call_default_factory=True)
    if default is None:
        shown = "unset"
    elif isinstance(default, bool):
        shown = str(default).lower()
    else:
        shown = str(default)
    return f"(THREADSUM_{name.upper()}, default {shown})"


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _common() -> _Parser:
    """The flags every command takes, before or after its name."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default=argparse.SUPPRESS,
        help="least severe log records shown on stderr; info shows retries and the output "
        "mode settled on (THREADSUM_LOG_LEVEL, default info for serve, warning otherwise)",
    )
    common.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=argparse.SUPPRESS,
        help=f"log lines as text or one JSON object each {_setting('log_format')}",
    )
    return common


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
        help="input format; auto detects it",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help=f"reject comments whose parent is missing, instead of attaching them at the top "
        f"level {_setting('strict')}",
    )
    _add_chunk_arg(p)


def _add_engine_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=["auto", "extractive", "llm"],
        help=f"auto: the llm engine when a model is configured, else extractive "
        f"{_setting('engine')}",
    )


def _add_chunk_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--chunk-tokens",
        type=int,
        metavar="N",
        help=f"token budget of one chunk {_setting('chunk_tokens')}",
    )


def _add_claims_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-claims",
        type=int,
        metavar="N",
        help="most claims shown (THREADSUM_MAX_CLAIMS; default max(20, 2*sqrt(comments)), 0: all)",
    )


EXAMPLE: Final = "fixtures/threads/hn-comment-page.txt"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    common = _common()
    parser = _Parser(
        prog="threadsum",
        description="Turn discussion threads into argument maps.",
        parents=[common],
        epilog=_examples(
            f"threadsum summarize {EXAMPLE} -o map.html",
            "threadsum summarize https://news.ycombinator.com/item?id=1 --estimate --model gpt-4o",
            "threadsum COMMAND --help",
        ),
    )
    parser.add_argument("--version", action="version", version=f"threadsum {version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, summary: str, *examples: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=summary[:1].upper() + summary[1:] + ".",
            parents=[common],
            epilog=_examples(*examples) if examples else None,
        )

    p = command(
        "inspect",
        "parse and chunk a thread; report what was found",
        f"threadsum inspect {EXAMPLE}",
        f"threadsum inspect {EXAMPLE} --json --chunk-tokens 2000",
    )
    _add_input_args(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = command(
        "summarize",
        "summarize one thread into an argument map",
        f"threadsum summarize {EXAMPLE} --output markdown",
        f"threadsum summarize {EXAMPLE} -o map.html",
        "threadsum summarize https://news.ycombinator.com/item?id=1 --engine llm "
        "--base-url http://127.0.0.1:8089/v1 --model threadsum-mock",
        f"threadsum summarize {EXAMPLE} --estimate --model gpt-4o-mini",
    )
    _add_input_args(p)
    _add_engine_arg(p)
    p.add_argument(
        "--output",
        choices=["json", "markdown", "html"],
        help="output format (default: from the extension of -o FILE, .html, .md or .json; "
        "else json)",
    )
    p.add_argument("-o", "--out", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument(
        "--estimate",
        action="store_true",
        help="print the model calls, tokens and cost the LLM engine would spend on the thread, "
        "without calling the model",
    )
    _add_claims_arg(p)
    p.add_argument(
        "--since",
        metavar="EARLIER.json",
        help="an earlier JSON summary of the same thread: add what changed since (changes)",
    )
    _add_model_args(p)

    p = command(
        "batch",
        "summarize many threads: JSONL in, JSONL out, resumable",
        "threadsum batch threads.jsonl -o summaries.jsonl",
        "threadsum batch threads.jsonl -o summaries.jsonl --resume --concurrency 8",
    )
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
        help="threads summarized at once (with the LLM engine a quarter more lines are read "
        f"meanwhile) {_setting('batch_concurrency')}",
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
    _add_engine_arg(p)
    p.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help=f"reject comments whose parent is missing {_setting('strict')}",
    )
    _add_chunk_arg(p)
    _add_claims_arg(p)
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

    p = command(
        "watch",
        "follow a live HN/Reddit thread: summarize it again as it grows, print what changed",
        "threadsum watch https://news.ycombinator.com/item?id=1 --every 10m -o latest.json",
        "threadsum watch 8863 --every 5m --until 6h --jsonl",
    )
    p.add_argument("target", metavar="URL", help="an HN or Reddit thread URL, or an HN item id")
    p.add_argument(
        "--every",
        default="10m",
        metavar="DURATION",
        help="time between polls: 90s, 10m, 1h (at least 10s)",
    )
    p.add_argument(
        "--until",
        metavar="WHEN",
        help="stop before a poll would start after WHEN: a duration from now (6h) or an ISO "
        "time (2026-12-02T18:00, UTC unless it names its offset)",
    )
    p.add_argument(
        "--settle",
        type=int,
        default=3,
        metavar="N",
        help="stop after N polls in a row in which nothing changed",
    )
    p.add_argument("--since", metavar="EARLIER.json", help="an earlier JSON summary to start from")
    _add_engine_arg(p)
    p.add_argument(
        "--output",
        default="json",
        choices=["json", "markdown", "html"],
        help="format of the summary written to -o FILE",
    )
    p.add_argument(
        "-o", "--out", metavar="FILE", help="after every poll, write the latest summary to FILE"
    )
    p.add_argument(
        "--jsonl", action="store_true", help="print one JSON line per poll instead of text"
    )
    _add_chunk_arg(p)
    _add_claims_arg(p)
    _add_model_args(p)

    command("schema", "print the JSON Schema of the ThreadSummary output", "threadsum schema")

    p = command(
        "eval",
        "measure an engine on labelled data (stance, maps)",
        "threadsum eval stance pairs.csv --labels 0=disagree,1=other,2=agree",
        "threadsum eval map fixtures/eval/threads --json",
    )
    kinds = p.add_subparsers(dest="eval_kind", required=True, parser_class=_Parser)
    q = kinds.add_parser(
        "stance",
        help="stance of replies: confusion matrix, per-class F1",
        parents=[common],
        epilog=_examples("threadsum eval stance pairs.jsonl --repeat 2"),
    )
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
    q = kinds.add_parser(
        "map",
        help="roles in maps of gold threads: P/R/F1, share right",
        parents=[common],
        epilog=_examples("threadsum eval map fixtures/eval/threads"),
    )
    q.add_argument("gold", nargs="+", metavar="GOLD", help="gold thread files or directories")
    _add_eval_args(q)

    p = command(
        "serve",
        "run the HTTP service (FastAPI on uvicorn)",
        "threadsum serve --port 8080",
        "threadsum serve --host 0.0.0.0 --workers 4 --log-format json",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (0: any free one)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (their /metrics are added up)",
    )
    _add_engine_arg(p)
    _add_chunk_arg(p)
    _add_claims_arg(p)
    p.add_argument(
        "--public-url",
        metavar="URL",
        help=f"public base URL for the links the service returns {_setting('public_url')}",
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
        help=f"seconds requests in flight get on SIGTERM {_setting('shutdown_timeout')}",
    )
    _add_model_args(p)

    p = command(
        "local-server",
        "run a local model with llama-cpp-python (the local extra)",
        "threadsum local-server --port 8000",
    )
    p.add_argument("--model-path", metavar="GGUF", help="a GGUF file (default: the bundled model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--ctx", type=int, default=8192, metavar="N", help="context size in tokens")

    p = command(
        "mock-llm",
        "run an OpenAI-compatible mock model server (offline development)",
        "threadsum mock-llm --port 8089",
        "threadsum mock-llm --latency-ms 200 --fail-rate 0.1 --faults 429,503",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8089, help="port to listen on")
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
    p.add_argument(
        "--context-limit", type=int, help="reject prompts over N tokens with a 400 (default: none)"
    )
    p.add_argument(
        "--max-concurrency", type=int, help="requests served at once; others queue (default: all)"
    )
    p.add_argument("--max-output-tokens", type=int, help="cap on completion tokens (default: none)")
    p.add_argument(
        "--refuse",
        action="append",
        default=[],
        metavar="MODE",
        choices=["json_schema", "json_object", "tools"],
        help="reject this structured-output mode with a 400 (repeatable; default: none)",
    )
    p.add_argument(
        "--answer-any",
        action="store_true",
        help="answer any other prompt with a short plain-text summary (for benchmarks)",
    )
    return parser


def _add_eval_args(p: argparse.ArgumentParser) -> None:
    _add_engine_arg(p)
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
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="OpenAI-compatible server; wins over THREADSUM_BASE_URL, which wins over "
        "OPENAI_BASE_URL (default: OpenAI's)",
    )
    p.add_argument("--model", help=f"model name {_setting('model')}")
    p.add_argument(
        "--output-mode",
        choices=["auto", "json_schema", "json_object", "tools", "text"],
        help=f"structured output mode {_setting('output_mode')}",
    )
    p.add_argument(
        "--cache",
        choices=["use", "refresh", "off", "replay"],
        help=f"answer cache mode {_setting('cache')}",
    )
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="answer cache folder (THREADSUM_CACHE_DIR, default ~/.cache/threadsum)",
    )
    if concurrency:
        p.add_argument(
            "--concurrency",
            type=int,
            metavar="N",
            help=f"model calls in flight {_setting('concurrency')}",
        )
    p.add_argument(
        "--max-reasks",
        type=int,
        metavar="N",
        help=f"re-asks of an invalid answer {_setting('max_reasks')}",
    )


def output_format(args: argparse.Namespace) -> None:
    """Fill in ``args.output`` of ``summarize``: as given, else from ``-o FILE``'s extension
    (:data:`OUTPUT_SUFFIXES`), else json."""
    if getattr(args, "command", None) != "summarize" or args.output is not None:
        return
    suffix = PurePath(args.out).suffix.lower() if args.out else ""
    args.output = OUTPUT_SUFFIXES.get(suffix, "json")


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
        "max_claims",
        "public_url",
        "forwarded_allow_ips",
        "shutdown_timeout",
        "log_level",
        "log_format",
    )
    given = {name: getattr(args, name, None) for name in names}
    return settings.override(
        given, name_of=lambda field: _FLAGS.get(field, "--" + field.replace("_", "-"))
    )


#: Setting flags not spelled after their setting's name.
_FLAGS: Final = {"batch_concurrency": "--concurrency"}
