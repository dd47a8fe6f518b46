"""Progress of one summary as it runs: typed events for a face to show (a terminal line, SSE).

``summarize(thread, settings, progress=callback)`` calls ``callback(event)`` with a
:class:`Progress` each time something moves: the stage changes, the chunks are known, a chunk is
mapped, a model call or a cache hit is made, a request is retried, an answer is re-asked. Every
event carries the running totals, so a consumer may drop any of them and still show the truth;
``kind`` says what moved. Callbacks run on the event loop's thread (the core moves events from
its worker threads there) and must not block or raise.

Retries happen inside the model client, below the engine: :func:`counting_retries` lets the
engine hear of them without the client knowing who listens (a context variable that
:func:`report_retry` reads, called by :mod:`service.retrying` before each retry's wait).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "Progress",
    "ProgressCallback",
    "ProgressKind",
    "counting_retries",
    "report_retry",
]

ProgressKind = Literal["stage", "chunks", "chunk_done", "call", "cache_hit", "retry", "reask"]
"""What moved: the stage; the chunk count became known; a chunk was mapped; a model call
returned; an answer came from the cache; a request is retried; an answer is asked again."""


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress event: what moved (``kind``) and the running totals of the summary."""

    kind: ProgressKind
    stage: str
    """``reading``, ``mapping``, ``reducing``, ``merging``, ``building`` or ``done``."""
    chunks_total: int = 0
    chunks_done: int = 0
    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    reasks: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict."""
        return asdict(self)


ProgressCallback = Callable[[Progress], None]
"""Receives each :class:`Progress` event of a summary."""

_on_retry: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "threadsum_on_retry", default=None
)


@contextlib.contextmanager
def counting_retries(on_retry: Callable[[], None]) -> Iterator[None]:
    """Within the block (this task and the tasks it starts), each retry calls ``on_retry``."""
    token = _on_retry.set(on_retry)
    try:
        yield
    finally:
        _on_retry.reset(token)


def report_retry() -> None:
    """A request is about to be retried: tell whoever counts retries here, if anyone."""
    listener = _on_retry.get()
    if listener is not None:
        listener()
