"""Operational events: what the model client, the retry loop and the core report as they work.

The modules where things happen report them here, and import nothing else for it: the model
client each HTTP attempt (model, status, seconds) and the tokens of each answer, the retry loop
each retry, the core each finished summary (engine, its stats). Whoever wants to count them
subscribes a :class:`Listener` with :func:`listening`: the HTTP face's Prometheus metrics
(:mod:`service.metrics`), the CLI's batch bar. With nobody listening a report costs a loop over
an empty tuple.

Listeners are called synchronously on the reporting thread or task, so they only count: no I/O,
no awaiting, nothing that can raise.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .models import Stats

__all__ = [
    "Listener",
    "listening",
    "model_request",
    "model_tokens",
    "retry",
    "summary_cached",
    "summary_done",
]


class Listener(Protocol):
    """What a subscriber to the events implements (every method; ignore what you do not need)."""

    def model_request(self, model: str, status: str, seconds: float) -> None:
        """One HTTP attempt to the model server ended: ``status`` is the HTTP status code, or
        ``timeout``, ``connection`` or ``error`` when there was none."""

    def model_tokens(self, model: str, prompt: int, completion: int) -> None:
        """An answer came back using these tokens (answers cut off at max_tokens too)."""

    def retry(self, client: str, target: str) -> None:
        """A call is retried: ``client`` is ``model`` or ``fetch``."""

    def summary_done(self, engine: str, stats: Stats) -> None:
        """The core finished a summary with ``engine`` (``extractive`` or ``llm``); ``stats``
        says what it took (model calls made, answers from the cache, tokens, cost)."""

    def summary_cached(self, engine: str) -> None:
        """A whole summary made by ``engine`` was served from the summary cache (nothing ran)."""


_listeners: dict[int, tuple[Listener, int]] = {}
_active: tuple[Listener, ...] = ()
_lock = threading.Lock()


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[Listener]:
    """Subscribe ``listener`` for the ``with`` block.

    Subscribing the same object twice (two apps in one process sharing one set of metrics) is
    counted, not doubled: it hears each event once, until the last of the blocks ends.
    """
    global _active
    key = id(listener)
    with _lock:
        held = _listeners.get(key, (listener, 0))[1]
        _listeners[key] = (listener, held + 1)
        _active = tuple(entry[0] for entry in _listeners.values())
    try:
        yield listener
    finally:
        with _lock:
            held = _listeners[key][1] - 1
            if held:
                _listeners[key] = (listener, held)
            else:
                del _listeners[key]
            _active = tuple(entry[0] for entry in _listeners.values())


def model_request(model: str, status: str, seconds: float) -> None:
    """Report one HTTP attempt to the model server."""
    for listener in _active:
        listener.model_request(model, status, seconds)


def model_tokens(model: str, prompt: int, completion: int) -> None:
    """Report the tokens one answer used."""
    for listener in _active:
        listener.model_tokens(model, prompt, completion)


def retry(client: str, target: str) -> None:
    """Report a retry of a call to ``target`` by ``client`` (``model`` or ``fetch``)."""
    for listener in _active:
        listener.retry(client, target)


def summary_done(engine: str, stats: Stats) -> None:
    """Report a finished summary."""
    for listener in _active:
        listener.summary_done(engine, stats)


def summary_cached(engine: str) -> None:
    """Report a summary served whole from the summary cache."""
    for listener in _active:
        listener.summary_cached(engine)
