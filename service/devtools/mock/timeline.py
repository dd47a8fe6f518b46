"""Reading a run's schedule off mock-llm's call timeline (``GET /mock/stats`` → ``calls``).

:func:`after_maps` answers where a summary's model slots idled: which map finished last, what
ran after it, and the most of the slots the same calls could keep busy as long as every call
after the maps waits for the last of them (as a reduce over every map's claims must).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AfterMaps:
    """A run's schedule around its last map, in seconds from its first call."""

    last_map: tuple[float, float]  # when the map that finished last started and finished
    last_map_tokens: int  # its completion tokens
    map_lengths: tuple[float, float]  # the shortest and the longest map
    after: tuple[str, ...]  # the kinds of the calls that started after it finished
    tail_s: float  # from its end to the last call's end
    ceiling: float  # the most of the slots these calls allow busy, the tail as it ran


def after_maps(calls: Sequence[dict[str, Any]], slots: int) -> AfterMaps | None:
    """The schedule of ``calls`` (one run's timeline) around its last map; None without maps.

    The ceiling's wall time is the shortest that any schedule of the same maps on ``slots``
    slots could take (the longest map, or all of them spread evenly, whichever is longer), plus
    the time the run really took after its last map; its busy time is the calls' own.
    """
    maps = [c for c in calls if c["kind"] == "map"]
    if not maps:
        return None
    t0 = min(c["started"] for c in calls)
    last = max(maps, key=lambda c: c["finished"])
    later = [c for c in calls if c["started"] >= last["finished"]]
    end = max((c["finished"] for c in later), default=last["finished"])
    lengths = [c["finished"] - c["started"] for c in maps]
    busy = sum(c["finished"] - c["started"] for c in calls)
    fastest = max(max(lengths), sum(lengths) / slots) + (end - last["finished"])
    return AfterMaps(
        last_map=(last["started"] - t0, last["finished"] - t0),
        last_map_tokens=int(last["completion_tokens"]),
        map_lengths=(min(lengths), max(lengths)),
        after=tuple(sorted({c["kind"] for c in later})),
        tail_s=end - last["finished"],
        ceiling=busy / (slots * fastest) if fastest > 0 else 1.0,
    )
