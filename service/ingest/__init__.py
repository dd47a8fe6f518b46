"""Reading threads: format detection, parsing, live fetching, and the checked reply tree.

``read_thread`` turns input bytes into a :class:`~service.models.Thread`; ``load_thread`` also
accepts a file path, ``-`` for standard input, or a Hacker News / Reddit URL (fetched live).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError, TooLargeError, UsageError
from ..models import RawThread, Thread
from ..retrying import RetryPolicy
from ..settings import Settings
from .detect import FORMATS, decode, detect, load_json
from .tree import build_thread

__all__ = ["FORMATS", "load_thread", "load_thread_async", "parse_raw", "read_thread"]


def _parse_text(decoded: str) -> RawThread:
    # Parsers are imported on use: a CLI run reads one format.
    from . import text

    return text.parse(decoded)


def _parse_json(fmt: str, data: Any) -> RawThread:
    if fmt == "native":
        from . import native

        return native.parse(data)
    if fmt == "hn-algolia":
        from . import hn_algolia

        return hn_algolia.parse(data)
    if fmt == "hn-firebase":
        from . import hn_firebase

        return hn_firebase.parse(data)
    from . import reddit

    return reddit.parse(data)


def parse_raw(
    content: bytes | str, fmt: str = "auto", *, max_bytes: int | None = None
) -> RawThread:
    """Parse input in ``fmt`` (or detect it) into a :class:`RawThread`, unchecked."""
    if fmt != "auto" and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (choose from auto, {', '.join(FORMATS)})")
    if isinstance(content, bytes):
        _check_size(len(content), max_bytes)
        decoded = decode(content)
    else:
        decoded = decode(content)  # first: a str with a lone surrogate cannot be encoded
        _check_size(len(content.encode()), max_bytes)
    if fmt == "text":
        return _parse_text(decoded)
    if fmt == "auto":
        fmt, data = detect(decoded)
        if fmt == "text":
            return _parse_text(decoded)
    else:
        data = load_json(decoded, fmt)
    del decoded  # the decoded tree is all the parser needs: the text need not stay alive too
    return _parse_json(fmt, data)


def _check_size(size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise TooLargeError(f"input is {size} bytes, over the limit of {max_bytes}")


def _check(raw: RawThread, settings: Settings) -> Thread:
    # Every caller here owns ``raw`` and drops it after: let the build release it as it goes.
    return build_thread(
        raw,
        max_comments=settings.max_comments,
        max_depth=settings.max_depth,
        parent_policy=settings.parent_policy,
        consume=True,
    )


def read_thread(
    content: bytes | str, fmt: str = "auto", settings: Settings | None = None
) -> Thread:
    """Parse and check a thread given as bytes or text."""
    settings = settings or Settings()
    return _check(parse_raw(content, fmt, max_bytes=settings.max_bytes), settings)


def _read_source(target: str, max_bytes: int) -> bytes:
    if target == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
    else:
        path = Path(target)
        try:
            if not path.exists():
                raise InputError(f"no such file: {target}")
            if path.is_dir():
                raise InputError(f"is a directory, not a thread file: {target}")
            size = path.stat().st_size
            if size > max_bytes:
                raise TooLargeError(f"{target} is {size} bytes, over the limit of {max_bytes}")
            with path.open("rb") as f:
                data = f.read(max_bytes + 1)
        except OSError as e:
            raise InputError(f"cannot read {target}: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise TooLargeError(f"input is over the limit of {max_bytes} bytes")
    return data


async def load_thread_async(
    target: str,
    fmt: str = "auto",
    settings: Settings | None = None,
    *,
    retry: RetryPolicy | None = None,
) -> Thread:
    """Load a thread from a path, ``-`` (stdin), or an HN/Reddit URL or HN item id.

    ``retry`` says how live fetches are retried (default: the fetcher's own policy).
    """
    from .fetch import fetch_thread, parse_target

    settings = settings or Settings()
    if not target:
        raise UsageError("no input given (a path, - for standard input, or a URL)")
    try:
        is_file = target == "-" or Path(target).exists()
    except OSError:
        is_file = True  # let the read report it
    fetchable = None if is_file else parse_target(target)
    if fetchable is not None:
        if fmt not in ("auto",):
            raise UsageError("--format applies to files and standard input, not to URLs")
        raw = await fetch_thread(fetchable, settings, retry=retry)
        return _check(raw, settings)
    return await asyncio.to_thread(_load_source, target, fmt, settings)


def _load_source(target: str, fmt: str, settings: Settings) -> Thread:
    # Read, parse and build in one call, so that the input bytes are freed before the tree is
    # built (a future holding them as its result would keep them alive until the end).
    content = _read_source(target, settings.max_bytes)
    raw = parse_raw(content, fmt, max_bytes=settings.max_bytes)
    del content
    return _check(raw, settings)


def load_thread(target: str | Path, fmt: str = "auto", settings: Settings | None = None) -> Thread:
    """Synchronous :func:`load_thread_async`, for scripts and notebooks."""
    loaded: list[Thread] = []

    async def load() -> None:
        loaded.append(await load_thread_async(str(target), fmt, settings))

    # The task returns nothing: on Python 3.11, asyncio.run formats the repr of its main task's
    # result when it restores the SIGINT handler, and a large Thread's repr is ~100 MB.
    asyncio.run(load())
    return loaded[0]
