"""The command-line face: ``threadsum`` is :func:`main`, a function that returns an exit code.

Exit codes: 0 ok, 1 error (one line on stderr, no traceback), 2 bad usage, 3 batch partly
failed, 130 interrupted. The ``error:`` line is :func:`service.errors.describe`'s detail, the
same words an HTTP problem or a batch record gives. Modules: :mod:`.parser` (flags and help),
:mod:`.commands` (one function per command), :mod:`.batchfile` (the batch file face),
:mod:`.progress` (batch progress on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from ..errors import ThreadsumError, UsageError, describe
from ..runtime import Runtime
from ..settings import Settings
from .commands import ASYNC_COMMANDS, EXIT_ERROR, EXIT_OK, EXIT_USAGE, SYNC_COMMANDS, AsyncCommand
from .parser import apply_flags, build_parser

__all__ = ["main"]

EXIT_INTERRUPTED = 130


def _env_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        first = e.errors()[0]
        name = "THREADSUM_" + "_".join(str(x) for x in first["loc"]).upper()
        raise UsageError(f"{name}: {first['msg']}") from None


async def _run(command: AsyncCommand, args: argparse.Namespace, settings: Settings) -> int:
    async with Runtime(settings) as runtime:
        return await command(args, settings, runtime)


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    ``settings`` replaces the ones read from the environment (flags still apply).
    """
    parser = build_parser()
    command = ""
    try:
        args = parser.parse_args(argv)
        command = args.command
        run_settings = apply_flags(args, settings or _env_settings())
        serve = SYNC_COMMANDS.get(command)
        if serve is not None:
            return serve(args, run_settings)
        return asyncio.run(_run(ASYNC_COMMANDS[command], args, run_settings))
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
