"""How the mock model server behaves (:class:`MockConfig`) and what it counts (:class:`Stats`)."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Final

MODES = ("json_schema", "json_object", "tools", "text")
"""The output modes the mock answers in."""
REFUSABLE_MODES = ("json_schema", "json_object", "tools")
"""The modes :attr:`MockConfig.refuse_modes` may name (plain text is always accepted)."""
FAULT_KINDS = ("429", "500", "503", "garbage", "disconnect")
"""The transient faults the mock can inject."""
KINDS = ("map", "reduce", "overview", "other")
"""The kinds of prompt the mock counts."""
CALLS_KEPT: Final = 10_000
"""The most calls :attr:`Stats.calls` keeps (the latest): a long-lived mock stays small."""


@dataclass
class MockConfig:
    """How the mock server behaves. Every field has an offline-friendly default."""

    model: str = "threadsum-mock"
    latency_ms: float = 0.0  # fixed, per call
    ms_per_token: float = 0.0  # per completion token
    ms_per_prompt_token: float = 0.0
    fail_rate: float = 0.0  # share of requests that get an injected fault, 0..1
    seed: int = 0
    context_limit: int | None = None  # tokens; None = unlimited
    max_concurrency: int | None = None  # None = unlimited; requests beyond it queue
    refuse_modes: AbstractSet[str] = frozenset()  # among json_schema, json_object, tools
    max_output_tokens: int | None = None  # the server's cap on completion tokens
    faults: Sequence[str] = FAULT_KINDS  # which faults fail_rate draws from
    answer_any: bool = False  # answer prompts that are not threadsum's (else they get a 400)

    def __post_init__(self) -> None:
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be between 0 and 1, not {self.fail_rate}")
        unknown = set(self.refuse_modes) - set(REFUSABLE_MODES)
        if unknown:
            raise ValueError(f"refuse_modes: unknown mode(s) {sorted(unknown)}")
        if not self.faults or set(self.faults) - set(FAULT_KINDS):
            raise ValueError(f"faults must be a non-empty subset of {FAULT_KINDS}")
        for name in ("latency_ms", "ms_per_token", "ms_per_prompt_token"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")
        for name in ("context_limit", "max_concurrency", "max_output_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 (or None)")
        self.refuse_modes = frozenset(self.refuse_modes)
        self.faults = tuple(self.faults)


@dataclass
class Stats:
    """What the server was asked since it started or was last reset (``GET /mock/stats``)."""

    requests: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    by_mode: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))
    faults: int = 0
    by_fault: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULT_KINDS, 0))
    rejected: int = 0  # 4xx answers
    prompt_tokens: int = 0
    completion_tokens: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    #: Seconds calls held a slot, summed (a call holds one for its whole latency, the time spent
    #: making its answer included); and when the first call's latency began and the last one's
    #: ended (``time.monotonic()`` readings, 0 before any call), so a client can tell its gaps
    #: between calls from its costs before the first and after the last.
    busy_seconds: float = 0.0
    first_started: float = 0.0
    last_finished: float = 0.0
    #: The calls that held a slot, oldest first (the last :data:`CALLS_KEPT`): each call's kind
    #: (``map``, ``reduce``, ``overview``, ``other``), when its slot was taken and given back
    #: (``time.monotonic()``), and its prompt and completion tokens; a client reads its own
    #: schedule off it (which call was last, what ran beside it).
    calls: list[dict[str, Any]] = field(default_factory=list)
