"""Map: the claims of one chunk, from one validated model call.

The chunk is rendered with chunk-local keys (``service.prompts.render_chunk``); the answer is
grounded against the sentences the chunk holds (context comments cannot be cited) and its ids
are turned back into thread-global ones. An answer cut off at the token limit splits the chunk
in two (:func:`~.context.split_chunk`) and each half is mapped on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...answer_format import MAP_SHAPE, WireMap, answer_schema
from ...errors import TruncatedError
from ...models import Chunk, Thread
from ...prompts import ChunkView, render_chunk
from ...validation import MapClaim, check_map
from .calls import Run, Step, ask_validated, gather_or_cancel
from .context import split_chunk

MAP = Step(prompt="map", schema_name="argument_map", schema=answer_schema(WireMap))


@dataclass
class ChunkCounter:
    """A defence of the claim against a rebuttal, found in one chunk."""

    statement: str
    evidence: list[str]


@dataclass
class ChunkRebuttal:
    """Pushback on a claim, found in one chunk."""

    statement: str
    evidence: list[str]
    counters: list[ChunkCounter]


@dataclass
class ChunkClaim:
    """A claim from one chunk, with thread-global sentence ids."""

    statement: str
    evidence: list[str]
    supporters: list[str]
    rebuttals: list[ChunkRebuttal]


async def map_chunk(run: Run, chunk: Chunk, label: str) -> list[ChunkClaim]:
    """The claims of ``chunk``; halves of it, labelled ``a`` and ``b``, when answers are cut off."""
    try:
        return await _map_once(run, chunk, label)
    except TruncatedError:
        halves = split_chunk(run.thread, chunk)
        if halves is None:
            raise TruncatedError(
                f"chunk {label}: the model's answers are cut off (finish_reason length) "
                "even for a single sentence range; raise THREADSUM_MAX_TOKENS or the "
                "server's output limit"
            ) from None
        run.warnings.append(f"chunk {label}: the answer hit max_tokens; split in two")
        first, second = await gather_or_cancel(
            map_chunk(run, halves[0], label + "a"), map_chunk(run, halves[1], label + "b")
        )
        return first + second


def citable(thread: Thread, view: ChunkView) -> set[str]:
    """The chunk-local sentence ids an answer about ``view`` may cite: every sentence shown of
    a comment that has any (deleted and empty comments have none)."""
    return {
        f"{key}.{k}"
        for key, (first, last) in view.sentences.items()
        for k in range(first, last + 1)
        if thread.by_key[view.local_to_global[key]].sentences
    }


async def _map_once(run: Run, chunk: Chunk, label: str) -> list[ChunkClaim]:
    thread = run.thread
    view = render_chunk(thread, chunk, implied_first=True)
    valid = citable(thread, view)
    if not valid:
        return []  # deleted or empty comments only: there is nothing to cite, so no call
    answer = await ask_validated(
        run,
        MAP,
        {"title": run.title, "comments": view.text, "schema": MAP_SHAPE},
        lambda value: check_map(value, valid),
        where=f"chunk {label}",
    )
    if answer.errors:
        if answer.reply is None or not answer.reply.claims:
            reason = (
                f"chunk {label}: no usable answer after {answer.reasks} re-ask(s) "
                f"({answer.errors[0]})"
            )
            comments = len(chunk.comment_ids)
            run.warnings.append(f"{reason}; its {comments} comment(s) are not in the map")
            run.failures.add(chunk.index, reason, comments)
            return []
        run.warnings.append(
            f"chunk {label}: kept the valid part of the answer; dropped "
            f"{len(answer.errors)} problem(s), e.g. {answer.errors[0]}"
        )
    run.stats.dropped_citations += answer.dropped
    claims = answer.reply.claims if answer.reply is not None else []
    return [_globalise(c, view.local_to_global) for c in claims]


def _globalise(claim: MapClaim, keys: dict[str, str]) -> ChunkClaim:
    """``claim`` with its chunk-local sentence ids (``c1.2``) made thread-global (``c17.2``)."""

    def g(ids: list[str]) -> list[str]:
        out = []
        for sid in ids:
            local, _, k = sid.partition(".")
            out.append(f"{keys[local]}.{k}")
        return out

    return ChunkClaim(
        statement=claim.statement,
        evidence=g(claim.evidence),
        supporters=g(claim.supporters),
        rebuttals=[
            ChunkRebuttal(
                statement=r.statement,
                evidence=g(r.evidence),
                counters=[ChunkCounter(c.statement, g(c.evidence)) for c in r.counters],
            )
            for r in claim.rebuttals
        ],
    )
