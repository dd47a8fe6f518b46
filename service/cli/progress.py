"""Batch progress on stderr: a bar redrawn in place on a terminal, throttled lines otherwise,
and one closing line that says how the batch went and where its failed records are.

:class:`BatchProgress` is called with ``(done, total, failed)`` as items finish, and listens to
:mod:`service.events` while the batch runs (``with events.listening(bar)``) for the tokens the
model reports, the answers taken from the cache and the retries. The ETA is the time so far
over the items finished in this run (a resumed run does not count the items it found done).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TextIO

from ..cost import price
from ..models import Stats

__all__ = ["BatchProgress", "duration", "progress_printer"]

_WIDTH = 20
_EVERY_S = 2.0
_LINES_SHOWN = 10


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class BatchProgress:
    """The batch's progress on ``stream``: a bar on a TTY, else a line at most every 2 seconds
    or every 10% of the total (and always the last).

    ``model`` and ``base_url`` price the tokens in the closing line (``None``: no model).
    """

    def __init__(
        self,
        stream: TextIO,
        is_tty: bool,
        *,
        clock: Callable[[], float] = time.monotonic,
        model: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self.stream = stream
        self.is_tty = is_tty
        self.clock = clock
        self.model = model
        self.base_url = base_url
        self.started = clock()
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cache_hits = 0
        self.retries = 0
        self._first_done: int | None = None
        self._last: tuple[float, int, int] | None = None  # when, done, tenth
        self._drawn = ""

    # -- events.Listener ------------------------------------------------------------------

    def model_request(self, model: str, status: str, seconds: float) -> None:
        """Not shown."""

    def model_tokens(self, model: str, prompt: int, completion: int) -> None:
        """Count the tokens of an answer."""
        self.prompt_tokens += prompt
        self.completion_tokens += completion

    def retry(self, client: str, target: str) -> None:
        """Count a retry."""
        self.retries += 1

    def summary_done(self, engine: str, stats: Stats) -> None:
        """Count the answers a summary took from the cache."""
        self.cache_hits += stats.cache_hits

    def summary_cached(self, engine: str) -> None:
        """A summary served whole from the summary cache: nothing to count."""

    # -- progress -----------------------------------------------------------------------------

    def __call__(self, done: int, total: int, failed: int) -> None:
        """Show that ``done`` of ``total`` items are finished, ``failed`` of them with errors."""
        now = self.clock()
        if self._first_done is None:
            self._first_done = done
        if self.is_tty:
            bar_done = _WIDTH * done // total if total else _WIDTH
            bar = "#" * bar_done + "." * (_WIDTH - bar_done)
            line = f"[{bar}] {done}/{total} ok {done - failed} failed {failed}"
            line += "".join(f" · {part}" for part in self._parts(now, done, total))
            pad = " " * max(0, len(self._drawn) - len(line))  # wipe a longer previous line
            self._drawn = line
            end = "\n" if done >= total else ""
            self.stream.write(f"\r{line}{pad}{end}")
            self.stream.flush()
            return
        tenth = _LINES_SHOWN * done // total if total else _LINES_SHOWN
        if self._last is not None:
            at, shown, shown_tenth = self._last
            if shown == done:
                return
            if done < total and now - at < _EVERY_S and tenth <= shown_tenth:
                return
        self._last = (now, done, tenth)
        parts = ", ".join(self._parts(now, done, total))
        self.stream.write(f"batch: {done}/{total} done, {failed} failed; {parts}\n")
        self.stream.flush()

    def _parts(self, now: float, done: int, total: int) -> list[str]:
        elapsed = now - self.started
        parts = [f"{duration(elapsed)} elapsed"]
        finished_here = done - (self._first_done or 0)
        if done < total and finished_here > 0:
            parts.append(f"ETA {duration(elapsed / finished_here * (total - done))}")
        tokens = self.prompt_tokens + self.completion_tokens
        if tokens or self.model:
            parts.append(f"{tokens:,} tokens")
        if self.cache_hits or self.model:
            parts.append(f"{self.cache_hits:,} cache hits")
        if self.retries:
            parts.append(f"{self.retries:,} retries")
        return parts

    def finish(self, out: str, total: int, failed_lines: Sequence[int]) -> None:
        """The closing line: counts, time, tokens and cost, and where the failed records are."""
        elapsed = duration(self.clock() - self.started)
        failed = len(failed_lines)
        text = f"batch: {total} threads in {elapsed}: {total - failed} ok, {failed} failed"
        if failed:
            shown = ", ".join(str(n) for n in failed_lines[:_LINES_SHOWN])
            more = f" and {failed - _LINES_SHOWN} more" if failed > _LINES_SHOWN else ""
            text += (
                f" (input line{'s' if failed > 1 else ''} {shown}{more}: their records in {out} "
                'have "status": "error"; rerun with --retry-failed to try them again)'
            )
        if self.model:
            tokens = self.prompt_tokens + self.completion_tokens
            cost = price(self.model, self.base_url, self.prompt_tokens, self.completion_tokens)
            text += (
                f"; {tokens:,} tokens ({self.prompt_tokens:,} prompt + "
                f"{self.completion_tokens:,} completion), {self.cache_hits:,} cache hits, {cost}"
            )
        self.stream.write(text + "\n")
        self.stream.flush()


def progress_printer(
    stream: TextIO, is_tty: bool, *, clock: Callable[[], float] = time.monotonic
) -> BatchProgress:
    """A ``progress(done, total, failed)`` callback with no model to price (see
    :class:`BatchProgress`)."""
    return BatchProgress(stream, is_tty, clock=clock)
