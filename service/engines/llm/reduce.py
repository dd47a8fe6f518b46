"""Reduce: chunk claims merged into the thread's claims and its overview.

Only statements and ids go to the model, never comment text; evidence, supporters and rebuttals
travel by index, so every quote is still sliced from the thread. Claims that do not fit one call
are packed into groups and reduced in a tree, level by level, until one call holds them all or
they stop merging. An answer cut off at the token limit splits its group in two. A group with no
valid answer after the re-asks keeps its claims unmerged, counted in ``stats.failed_reduces``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import TruncatedError
from ...prompts import one_line
from ...text.tokens import estimate_tokens
from ...validation import REDUCE_SHAPE, ReduceClaim, ReduceReply, check_reduce, strict_schema
from .calls import Run, Step, ask_validated, gather_or_cancel
from .map import ChunkClaim

REDUCE = Step(prompt="reduce", schema_name="merged_claims", schema=strict_schema(ReduceReply))
#: Estimated tokens of a reduce prompt besides the claims.
REDUCE_OVERHEAD = 800
#: Smallest group budget, however small the settings make it.
MIN_ROOM = 300


@dataclass
class Merged:
    """A thread claim: its statement and the chunk claims it merges."""

    statement: str
    members: list[int]  # indexes into the chunk claims


@dataclass
class Reduced:
    """The reduce result: the overview and the thread's claims."""

    overview: str
    claims: list[Merged]


@dataclass
class _Item:
    """A claim going into a reduce call."""

    id: str  # what the prompt calls it: m1… at the first level, r1… above
    statement: str
    rebuttals: int
    members: list[int]


async def reduce_claims(run: Run, found: list[ChunkClaim]) -> Reduced:
    """Merge chunk claims: the overview and, per thread claim, the chunk claims it merges."""
    items = [_Item(f"m{i + 1}", f.statement, len(f.rebuttals), [i]) for i, f in enumerate(found)]
    level = 0
    # A reduce answer restates every claim, so a group's input must fit the answer budget.
    s = run.settings
    room = min(s.chunk_tokens - REDUCE_OVERHEAD, int(s.max_tokens * 0.6))
    while True:
        groups = _pack(items, room)
        results = await gather_or_cancel(
            *(_reduce_group(run, g, f"{level}.{n}") for n, g in enumerate(groups))
        )
        merged: list[_Item] = []
        overview = ""
        for group, result in zip(groups, results, strict=True):
            overview = result.overview
            by_id = {item.id: item for item in group}
            for claim in result.claims:
                members = [m for mid in claim.merges for m in by_id[mid].members]
                rebuttals = sum(by_id[mid].rebuttals for mid in claim.merges)
                merged.append(_Item("", claim.statement, rebuttals, members))
        if len(groups) == 1:
            break
        if len(merged) >= len(items):
            # No progress: the claims do not merge further; stop with what there is.
            run.warnings.append("reduce: claims could not be merged into one call")
            break
        level += 1
        items = [
            _Item(f"r{k + 1}", m.statement, m.rebuttals, m.members) for k, m in enumerate(merged)
        ]
    return Reduced(overview, [Merged(m.statement, m.members) for m in merged])


def _pack(items: list[_Item], room: int) -> list[list[_Item]]:
    """``items`` in order, in groups of at most ``room`` estimated tokens."""
    groups: list[list[_Item]] = [[]]
    used = 0
    room = max(MIN_ROOM, room)
    for item in items:
        cost = estimate_tokens(item.statement) + 8
        if groups[-1] and used + cost > room:
            groups.append([])
            used = 0
        groups[-1].append(item)
        used += cost
    return groups


async def _reduce_group(run: Run, group: list[_Item], label: str) -> ReduceReply:
    try:
        return await _reduce_once(run, group, label)
    except TruncatedError:
        if len(group) < 2:
            raise TruncatedError(
                f"reduce {label}: the model's answer is cut off (finish_reason length) "
                "even for one claim; raise THREADSUM_MAX_TOKENS or the server's output limit"
            ) from None
        run.warnings.append(f"reduce {label}: the answer hit max_tokens; split in two")
        half = len(group) // 2
        first, second = await gather_or_cancel(
            _reduce_group(run, group[:half], label + "a"),
            _reduce_group(run, group[half:], label + "b"),
        )
        return ReduceReply(overview=first.overview, claims=first.claims + second.claims)


async def _reduce_once(run: Run, group: list[_Item], label: str) -> ReduceReply:
    """One group merged; every item of it lands in exactly one claim, valid answer or not."""
    ids = [item.id for item in group]
    lines = "\n".join(
        f"{item.id} [{item.rebuttals} rebuttals] {one_line(item.statement)}" for item in group
    )
    answer = await ask_validated(
        run,
        REDUCE,
        {"title": run.title, "claims": lines, "schema": REDUCE_SHAPE},
        lambda value: check_reduce(value, ids),
        where=f"reduce {label}",
    )
    if answer.errors:
        if answer.reply is None or not answer.reply.claims:
            run.stats.failed_reduces += 1
            run.warnings.append(
                f"reduce {label}: no valid answer after {answer.reasks} re-ask(s) "
                f"({answer.errors[0]}); its {len(group)} claim(s) are kept unmerged"
            )
        else:
            run.warnings.append(f"reduce {label}: {answer.errors[0]} (kept what was valid)")
    reply = answer.reply or ReduceReply(overview="", claims=[])
    placed = {mid for c in reply.claims for mid in c.merges}
    missing = [
        ReduceClaim(statement=item.statement, merges=[item.id])
        for item in group
        if item.id not in placed
    ]
    return ReduceReply(overview=reply.overview, claims=[*reply.claims, *missing])
