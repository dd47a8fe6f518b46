"""Batch progress on stderr: a bar redrawn in place on a terminal, throttled lines otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["progress_printer"]


def progress_printer(
    stream: TextIO, is_tty: bool, *, clock: Callable[[], float] = time.monotonic
) -> Callable[[int, int, int], None]:
    """A ``progress(done, total, failed)`` callback.

    On a TTY: a bar redrawn in place (``[#####.....] 40/100 ok 39 failed 1``), ended by a
    newline when done. Otherwise plain lines (``batch: 40/100 done, 1 failed``), at most every
    2 seconds or every 10% of the total, and always the last one.
    """
    width = 20
    last: dict[str, float] = {}

    def tty(done: int, total: int, failed: int) -> None:
        filled = width * done // total if total else width
        bar = "#" * filled + "." * (width - filled)
        end = "\n" if done >= total else ""
        stream.write(f"\r[{bar}] {done}/{total} ok {done - failed} failed {failed}{end}")
        stream.flush()

    def plain(done: int, total: int, failed: int) -> None:
        now = clock()
        tenth = 10 * done // total if total else 10
        if last and last["done"] == done:
            return
        if last and done < total and now - last["t"] < 2.0 and tenth <= last["tenth"]:
            return
        last.update(t=now, tenth=tenth, done=done)
        stream.write(f"batch: {done}/{total} done, {failed} failed\n")
        stream.flush()

    return tty if is_tty else plain
