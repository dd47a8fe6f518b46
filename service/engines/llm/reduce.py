"""Reduce: chunk claims merged into the thread's claims and its overview.

Only statements and ids go to the model, never comment text; evidence, supporters and rebuttals
travel by index, so every quote is still sliced from the thread. Claims that do not fit one call
are packed into groups and reduced in a tree, level by level, until one call holds them all or
they stop merging. An answer cut off at the token limit splits its group in two. A group with no
valid answer after the re-asks keeps its claims unmerged, counted in ``stats.failed_reduces``.

Topics: each answer names the topics of its group and lists the claims on each
(:func:`~service.validation.check_reduce` makes a merged claim follow its first member). A
claim carries its topic's title up the tree: the level above names topics afresh over the
claims it sees, and a claim it leaves in no topic (or a group with no valid answer) keeps the
title the level below gave it. The final claims' titles are their topics; a claim with none is
placed by the caller (lexically, :func:`~service.engines.topics.topics_from_titles`).

Overview: asked in a call of its own over the same claims as the last reduce call, at the same
time, so the last step waits for the longer of two short answers rather than for one long one.
An overview with no valid answer after the re-asks is left empty (the caller writes one from a
template), with a warning.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from ...answer_format import OVERVIEW_SHAPE, REDUCE_SHAPE, WireOverview, WireReduce, answer_schema
from ...errors import TruncatedError
from ...prompts import one_line
from ...text.tokens import estimate_tokens
from ...validation import ReduceClaim, ReduceReply, ReduceTopic, check_overview, check_reduce
from .calls import Run, Step, ask_validated, gather_or_cancel
from .map import ChunkClaim

REDUCE = Step(
    prompt="reduce", schema_name="merged_claims", schema=answer_schema(WireReduce), rank=1
)
OVERVIEW = Step(
    prompt="overview", schema_name="overview", schema=answer_schema(WireOverview), rank=1
)
#: Estimated tokens of a reduce prompt besides the claims.
REDUCE_OVERHEAD = 800
#: Smallest group budget, however small the settings make it.
MIN_ROOM = 300
_WORDS = re.compile(r"\w+")


@dataclass
class Merged:
    """A thread claim: its statement and the chunk claims it merges."""

    statement: str
    members: list[int]  # indexes into the chunk claims
    topic: str = ""  # the title of its topic, "" when no answer put it in one


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
    topic: str = ""  # its topic's title from the level below, "" for none


class Reducer:
    """Chunk claims in, in chunk order; out, the thread's claims and overview.

    Reducing starts while chunks are still being mapped: the first level's groups are packed
    in chunk order as the claims arrive, and each group is sent to the model as soon as it is
    full (the next claim would not fit), so the model's slots do not wait for the last map.
    The groups are the ones :func:`reduce_claims` packs from the whole list, whatever order the
    maps finish in, so the answer is the same; only its timing changes.
    """

    def __init__(self, run: Run, stream: bool = True, overview: bool = True) -> None:
        self.run = run
        self.stream = stream  # False: only collect, reduce everything in finish()
        self.overview = overview  # False: no overview call (the caller has one)
        self.found: list[ChunkClaim] = []
        self.room = _room(run)
        self._group: list[_Item] = []
        self._used = 0
        self._sent: list[tuple[list[_Item], asyncio.Future[ReduceReply]]] = []

    def add(self, claims: list[ChunkClaim]) -> None:
        """The claims of the next chunk (in chunk order)."""
        for claim in claims:
            n = len(self.found)
            self.found.append(claim)
            item = _Item(f"m{n + 1}", claim.statement, len(claim.rebuttals), [n])
            cost = _cost(item)
            if self.stream and self._group and self._used + cost > self.room:
                self._send()
            self._group.append(item)
            self._used += cost

    def _send(self) -> None:
        group, self._group, self._used = self._group, [], 0
        label = f"0.{len(self._sent)}"
        self._sent.append((group, asyncio.ensure_future(_reduce_group(self.run, group, label))))

    def cancel(self) -> None:
        """Stop the reductions in flight (the run failed)."""
        for _, task in self._sent:
            task.cancel()

    async def finish(self) -> Reduced:
        """The reduction of every claim added, once the last chunk's are in."""
        if not self._sent:  # one group, or still several: the levels decide
            return await _reduce_levels(self.run, self._group, 0, self.overview)
        self._send()
        try:
            results = await gather_or_cancel(*(task for _, task in self._sent))
        except BaseException:
            self.cancel()
            raise
        groups = [group for group, _ in self._sent]
        items = [item for group in groups for item in group]
        merged = _merged(groups, results)
        return await _continue(self.run, items, merged, 0, self.overview)


async def reduce_claims(run: Run, found: list[ChunkClaim], overview: bool = True) -> Reduced:
    """Merge chunk claims: per thread claim, the chunk claims it merges; and the overview
    (with ``overview``; else it is "")."""
    reducer = Reducer(run, overview=overview)
    reducer.add(found)
    return await reducer.finish()


async def _reduce_levels(run: Run, items: list[_Item], level: int, overview: bool) -> Reduced:
    """Reduce ``items`` level by level until one call holds them all or they stop merging."""
    groups = _pack(items, _room(run))
    if len(groups) == 1:
        # The last call: the overview is asked beside it, over the same claims.
        written = asyncio.ensure_future(_overview(run, groups[0], overview))
        try:
            result = await _reduce_group(run, groups[0], f"{level}.0")
        except BaseException:
            written.cancel()
            await asyncio.gather(written, return_exceptions=True)
            raise
        return Reduced(await written, _final(_merged(groups, [result])))
    results = await gather_or_cancel(
        *(_reduce_group(run, g, f"{level}.{n}") for n, g in enumerate(groups))
    )
    return await _continue(run, items, _merged(groups, results), level, overview)


async def _continue(
    run: Run, items: list[_Item], merged: list[_Item], level: int, overview: bool
) -> Reduced:
    """After a level of several groups: the next level, unless nothing merged."""
    if len(merged) >= len(items):
        # No progress: the claims do not merge further; stop with what there is, and write the
        # overview over as many of them as one call takes.
        run.warnings.append("reduce: claims could not be merged into one call")
        written = await _overview(run, _pack(merged, _room(run))[0], overview)
        return Reduced(written, _final(merged))
    upper = [
        _Item(f"r{k + 1}", m.statement, m.rebuttals, m.members, m.topic)
        for k, m in enumerate(merged)
    ]
    return await _reduce_levels(run, upper, level + 1, overview)


def _merged(groups: list[list[_Item]], results: list[ReduceReply]) -> list[_Item]:
    """The claims a level's answers make of its groups, in order."""
    merged: list[_Item] = []
    for group, result in zip(groups, results, strict=True):
        by_id = {item.id: item for item in group}
        titled = {mid: t.title for t in result.topics for mid in t.members}
        for claim in result.claims:
            members = [m for mid in claim.merges for m in by_id[mid].members]
            rebuttals = sum(by_id[mid].rebuttals for mid in claim.merges)
            # This answer's topic, else the one the level below gave its first titled member.
            topic = titled.get(claim.merges[0]) or next(
                (by_id[mid].topic for mid in claim.merges if by_id[mid].topic), ""
            )
            merged.append(_Item("", claim.statement, rebuttals, members, topic))
    return merged


def _final(merged: list[_Item]) -> list[Merged]:
    return [Merged(m.statement, m.members, m.topic) for m in merged]


def _room(run: Run) -> int:
    """Estimated tokens of claims one reduce call takes: bounded by the prompt budget and by
    the answer budget (an answer may restate a statement per merged claim)."""
    s = run.settings
    return max(MIN_ROOM, min(s.chunk_tokens - REDUCE_OVERHEAD, int(s.max_tokens * 0.6)))


def _same_words(statement: str) -> str:
    """What two statements share when they say the same words (case and punctuation aside)."""
    return " ".join(_WORDS.findall(statement.casefold())) or statement


def _cost(item: _Item) -> int:
    return estimate_tokens(item.statement) + 8


def _pack(items: list[_Item], room: int) -> list[list[_Item]]:
    """``items`` in order, in groups of at most ``room`` estimated tokens."""
    groups: list[list[_Item]] = [[]]
    used = 0
    for item in items:
        cost = _cost(item)
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
        return ReduceReply(claims=first.claims + second.claims, topics=first.topics + second.topics)


async def _reduce_once(run: Run, group: list[_Item], label: str) -> ReduceReply:
    """One group merged; every item of it lands in exactly one claim, valid answer or not.

    The prompt numbers the group's claims ``m1…`` afresh, so a group's prompt depends on its
    claims only, not on where the group sits in the thread.
    """
    local, lines = _listed(group)
    inputs = {mid: items[0].statement for mid, items in local.items()}
    answer = await ask_validated(
        run,
        REDUCE,
        {"title": run.title, "claims": lines, "schema": REDUCE_SHAPE},
        lambda value: check_reduce(value, inputs),
        where=f"reduce {label}",
    )
    if answer.errors:
        merged = answer.reply is not None and (
            bool(answer.reply.topics)
            or any(
                len(c.merges) > 1 or c.statement != inputs[c.merges[0]] for c in answer.reply.claims
            )
        )
        if not merged:
            run.stats.failed_reduces += 1
            run.warnings.append(
                f"reduce {label}: no valid answer after {answer.reasks} re-ask(s) "
                f"({answer.errors[0]}); its {len(group)} claim(s) are kept unmerged"
            )
        else:
            run.warnings.append(f"reduce {label}: {answer.errors[0]} (kept what was valid)")
    reply = answer.reply or ReduceReply(
        claims=[ReduceClaim(statement=s, merges=[mid]) for mid, s in inputs.items()],
    )
    # Back to the ids the caller knows.
    return ReduceReply(
        claims=[
            ReduceClaim(
                statement=c.statement,
                merges=[item.id for mid in c.merges for item in local[mid]],
            )
            for c in reply.claims
        ],
        topics=[
            ReduceTopic(
                title=t.title, members=[item.id for mid in t.members for item in local[mid]]
            )
            for t in reply.topics
        ],
    )


def _listed(group: list[_Item]) -> tuple[dict[str, list[_Item]], str]:
    """The group as a prompt lists it: local ids (``m1…``) → the items each stands for, and the
    lines ``ID [n] statement``.

    Claims that say the same words are one claim: the model sees each once (its rebuttals
    summed) and a merge of it takes every copy, so neither prompt nor answer repeats them.
    """
    copies: dict[str, list[_Item]] = {}
    for item in group:
        copies.setdefault(_same_words(item.statement), []).append(item)
    local = {f"m{n}": items for n, items in enumerate(copies.values(), start=1)}
    lines = "\n".join(
        f"{mid}{f' [{r}]' if (r := sum(i.rebuttals for i in items)) else ''} "
        f"{one_line(items[0].statement)}"
        for mid, items in local.items()
    )
    return local, lines


async def _overview(run: Run, group: list[_Item], wanted: bool = True) -> str:
    """The overview of the claims of ``group`` ("" when no valid answer came, or not
    ``wanted``)."""
    if not wanted:
        return ""
    _, lines = _listed(group)
    answer = await ask_validated(
        run,
        OVERVIEW,
        {"title": run.title, "claims": lines, "schema": OVERVIEW_SHAPE},
        check_overview,
        where="overview",
    )
    if answer.reply is None or answer.errors:
        run.warnings.append(
            f"overview: no valid answer after {answer.reasks} re-ask(s) "
            f"({answer.errors[0] if answer.errors else 'none'}); written from a template"
        )
        return ""
    return answer.reply.overview
