"""Output modes, and the memory of which one each server accepts.

``auto`` tries :data:`MODE_ORDER` strongest first and falls back when a server refuses a mode;
the answer is kept in a :class:`ModeMemory`, which the :class:`~service.runtime.Runtime`
owns and hands to every client it builds, so one process (or one test) asks each server once
and two runtimes never share what they learned by accident.
"""

from __future__ import annotations

import threading
from typing import Final, Literal

OutputMode = Literal["json_schema", "json_object", "tools", "text"]
MODE_ORDER: Final[tuple[OutputMode, ...]] = ("json_schema", "json_object", "tools", "text")


class ModeMemory:
    """Which output mode each (server URL, model) accepts, once known. Thread-safe."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], OutputMode] = {}
        self._lock = threading.Lock()

    def get(self, server: str, model: str) -> OutputMode | None:
        """The mode ``server`` accepts for ``model``, if known."""
        with self._lock:
            return self._known.get((server, model))

    def remember(self, server: str, model: str, mode: OutputMode) -> bool:
        """Record the accepted mode; ``True`` when that is news."""
        with self._lock:
            if self._known.get((server, model)) == mode:
                return False
            self._known[(server, model)] = mode
            return True

    def clear(self) -> None:
        """Forget everything (a server was reconfigured)."""
        with self._lock:
            self._known.clear()
