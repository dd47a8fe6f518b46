"""The held-out split the training scripts and the map measurement share (standard library only).

The groups (DEBAGREEMENT submissions, hand-labelled threads) are sorted, shuffled with the seed,
and the items of the first :data:`HELD_OUT_SHARE` of them are held out, so no discussion is on
both sides.
"""

from __future__ import annotations

import random
from typing import Protocol, TypeVar

HELD_OUT_SHARE = 0.2


class Grouped(Protocol):
    @property
    def group(self) -> str: ...


G = TypeVar("G", bound=Grouped)


def split(items: list[G], seed: int) -> tuple[list[G], list[G]]:
    """(train, held-out): the items of a seeded 20% of the groups (submissions, threads) are
    held out, so no discussion is on both sides."""
    groups = sorted({i.group for i in items})
    random.Random(seed).shuffle(groups)
    held = set(groups[: round(len(groups) * HELD_OUT_SHARE)])
    return [i for i in items if i.group not in held], [i for i in items if i.group in held]
