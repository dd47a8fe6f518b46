"""``threadsum watch``: follow a live thread, summarizing it again as it grows.

Each poll fetches the thread, summarizes it ``since`` the previous poll's summary (so the run
says what changed, and the answer cache serves what did not) and prints one line per change.
With ``-o FILE`` the latest whole summary is written there after every poll, through a temporary
file: an interrupt (Ctrl-C) at any moment leaves the last complete summary in place.

It stops on its own: after ``settle`` polls in a row in which the thread did not change, or when
the next poll would start after ``until``. A fetch that fails is reported and the poll is
retried at the next interval; a thread that is gone (404) ends the watch with its error.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ..errors import FetchError, UsageError, describe
from ..files import write_atomic
from ..ingest import load_thread_async
from ..models import ThreadSummary
from ..render import Format, render
from ..render.common import change_lines
from ..runtime import Runtime
from ..settings import Settings
from ..summarizer import EngineChoice, summarize

__all__ = ["MIN_EVERY", "WatchPlan", "parse_duration", "parse_until", "watch"]

MIN_EVERY = 10.0
"""Shortest interval between polls, in seconds: a live source is not to be hammered."""
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``10m``, ``1h30m`` or ``2d``; a usage error otherwise."""
    raw = text.strip().lower()
    try:
        return float(raw)
    except ValueError:
        pass
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise UsageError(f"{text!r} is not a duration: use seconds or e.g. 90s, 10m, 1h30m")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def parse_until(text: str, now: float) -> float:
    """The wall-clock time (epoch seconds) of ``--until``: a duration from now or an ISO time."""
    try:
        return now + parse_duration(text)
    except UsageError:
        pass
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--until {text!r}: give a duration (2h) or a time (2026-12-02T18:00, UTC unless "
            "it names its offset)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


@dataclass(frozen=True)
class WatchPlan:
    """How a watch runs: its target, interval, bounds and where it writes."""

    target: str
    every: float
    until: float | None = None
    settle: int = 3
    out: Path | None = None
    output: Format = "json"
    jsonl: bool = False


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%H:%M:%SZ")


def _report(summary: ThreadSummary, now: float, stream: TextIO, jsonl: bool) -> None:
    if jsonl:
        record = {
            "at": datetime.fromtimestamp(now, UTC).isoformat(),
            "comments": summary.thread.comments,
            "claims": len(summary.claims),
            "changes": summary.changes.model_dump(mode="json") if summary.changes else None,
        }
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        head = f"{_stamp(now)} {summary.thread.comments} comments, {len(summary.claims)} claims"
        stream.write(head + "\n")
        if summary.changes is not None:
            stream.writelines(f"  {line}\n" for line in change_lines(summary.changes))
    stream.flush()


async def watch(
    plan: WatchPlan,
    settings: Settings,
    runtime: Runtime,
    engine: EngineChoice,
    *,
    since: ThreadSummary | None = None,
    stream: TextIO = sys.stdout,
    errors: TextIO = sys.stderr,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.time,
) -> ThreadSummary | None:
    """Poll ``plan.target`` until it settles or ``plan.until``; the last summary made."""
    previous = since
    quiet = 0
    while True:
        now = clock()
        try:
            thread = await load_thread_async(
                plan.target, "auto", settings, retry=runtime.fetch_retry
            )
        except FetchError as e:
            errors.write(
                f"threadsum watch: {_stamp(now)} fetch failed, will retry: {describe(e)}\n"
            )
            errors.flush()
        else:
            summary = await summarize(
                thread, settings, engine=engine, runtime=runtime, since=previous
            )
            if plan.out is not None:
                write_atomic(plan.out, [render(summary, plan.output)])
            _report(summary, now, stream, plan.jsonl)
            changed = summary.changes is None or not summary.changes.empty
            quiet = 0 if changed else quiet + 1
            previous = summary
            if quiet >= plan.settle:
                errors.write(f"threadsum watch: no change in {quiet} polls in a row; stopping\n")
                return previous
        if plan.until is not None and clock() + plan.every > plan.until:
            errors.write("threadsum watch: --until reached; stopping\n")
            return previous
        await sleep(plan.every)
