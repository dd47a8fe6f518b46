"""The command-line face: ``threadsum`` is :func:`main`, a function that returns an exit code.

Exit codes: 0 ok, 1 error (one line on stderr, no traceback), 2 bad usage, 3 batch partly
failed, 130 interrupted. The ``error:`` line is :func:`service.errors.describe`'s detail, the
same words an HTTP problem or a batch record gives, and it is the only line an error prints: no
task the command started outlives it (:func:`_settle`), so nothing is left to be torn down, and
to warn, after the loop has stopped. Modules: :mod:`.parser` (flags and help),
:mod:`.commands` (one function per command), :mod:`.batchfile` (the batch file face),
:mod:`.progress` (batch progress on stderr), :mod:`.estimate` (``summarize --estimate``).
Logging is configured here for the run, and put back after it (:func:`service.logs.configured`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from ..errors import ThreadsumError, UsageError, describe
from ..logs import configured as logging_configured
from ..runtime import Runtime
from ..settings import Settings
from .commands import ASYNC_COMMANDS, EXIT_ERROR, EXIT_OK, EXIT_USAGE, SYNC_COMMANDS, AsyncCommand
from .parser import apply_flags, build_parser, output_format

__all__ = ["main"]

EXIT_INTERRUPTED = 130


def _env_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        first = e.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        name = "_".join(str(x) for x in first["loc"]).upper()
        if not name:  # a check across settings: its message names them
            raise UsageError(message) from None
        if not name.startswith(("THREADSUM_", "OPENAI_")):  # fields read through an alias
            name = "THREADSUM_" + name
        raise UsageError(f"{name}: {message}") from None


async def _settle() -> None:
    """Cancel and await every other task of the loop: what a failed command left running.

    When one of a summary's model calls fails, its siblings may still be in flight, some of them
    just spawning helper tasks (anyio's ``connect_tcp`` wraps each connection attempt in a task).
    Left to ``asyncio.run``, they are cancelled after the loop stopped, and a task cancelled
    before its first step drops the coroutine it wraps, which Python reports at exit as
    ``RuntimeWarning: coroutine … was never awaited``. Here, while the loop still runs, every
    task first takes the step it is due (``sleep(0)``: tasks already scheduled run first), and
    only then is cancelled, so each wrapped coroutine is started and unwound.
    """
    me = asyncio.current_task()
    while others := [t for t in asyncio.all_tasks() if t is not me and not t.done()]:
        await asyncio.sleep(0)
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)


async def _run(
    command: AsyncCommand, args: argparse.Namespace, settings: Settings, given: Runtime | None
) -> int:
    async with contextlib.AsyncExitStack() as stack:
        runtime = given if given is not None else Runtime(settings)
        if given is None:
            await stack.enter_async_context(runtime)
        try:
            return await command(args, settings, runtime)
        finally:
            await _settle()  # before the runtime closes the clients those tasks use


def main(
    argv: Sequence[str] | None = None,
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    ``settings`` replaces the ones read from the environment (flags still apply); ``runtime``
    is used instead of one opened for the run (tests, embedding: a runtime with a fake model),
    and stays the caller's to close.
    """
    parser = build_parser()
    command = ""
    try:
        args = parser.parse_args(argv)
        command = args.command
        output_format(args)
        run_settings = apply_flags(args, settings or _env_settings())
        level = "info" if command == "serve" else "warning"
        with logging_configured(run_settings, default_level=level):
            serve = SYNC_COMMANDS.get(command)
            if serve is not None:
                return serve(args, run_settings)
            return asyncio.run(_run(ASYNC_COMMANDS[command], args, run_settings, runtime))
    except ThreadsumError as e:
        print(f"error: {describe(e).detail}", file=sys.stderr)
        return EXIT_USAGE if isinstance(e, UsageError) else EXIT_ERROR
    except SystemExit as e:  # --help and --version
        return e.code if isinstance(e.code, int) else EXIT_OK
    except KeyboardInterrupt:
        hint = "; run again with --resume to continue" if command == "batch" else ""
        print(f"error: interrupted{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
