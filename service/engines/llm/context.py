"""Fitting work to the model's context: chunk and answer sizes, and halving a chunk.

:func:`fit_to_context` shrinks the chunk budget and the answer limit to the context length the
server reports. :func:`split_chunk` halves a chunk whose answer was cut off at the token limit:
by comments, each half keeping the context its replies need, or a single comment by sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...chunker import MIN_BUDGET
from ...errors import UsageError
from ...model.protocol import ChatModel
from ...models import Chunk, ChunkSegment, Thread
from ...settings import Settings

#: Estimated tokens of a map prompt besides the chunk (instructions, schema, title).
PROMPT_OVERHEAD = 700


@dataclass(frozen=True)
class Fitted:
    """Settings sized to the model's context, and a note for the warnings when they changed."""

    settings: Settings
    note: str | None = None


async def fit_to_context(model: ChatModel, settings: Settings) -> Fitted:
    """Shrink chunks and answers to the model's context, where the server reports it.

    Servers such as vLLM and llama.cpp report their context length on ``/v1/models``; a chunk
    plus the instructions plus the answer must fit in it. Replay never asks the server.
    """
    if settings.cache == "replay":
        return Fitted(settings)
    context = await model.context_length()
    if context is None or context <= 0:
        return Fitted(settings)
    max_tokens = min(settings.max_tokens, max(256, context // 4))
    budget = min(settings.chunk_tokens, context - max_tokens - PROMPT_OVERHEAD)
    if budget < MIN_BUDGET:
        raise UsageError(
            f"the model's context of {context} tokens is too small: threadsum needs at least "
            f"{MIN_BUDGET + max_tokens + PROMPT_OVERHEAD}"
        )
    if (max_tokens, budget) == (settings.max_tokens, settings.chunk_tokens):
        return Fitted(settings)
    note = (
        f"sized to the model's context of {context} tokens: chunks of at most {budget} "
        f"tokens, answers of at most {max_tokens}"
    )
    return Fitted(
        settings.model_copy(update={"max_tokens": max_tokens, "chunk_tokens": budget}), note
    )


def split_chunk(thread: Thread, chunk: Chunk) -> tuple[Chunk, Chunk] | None:
    """Two halves of a chunk's comments, each with the context its replies need.

    A chunk of one comment is halved by sentence range instead; None when it is one sentence.
    """
    members = [*chunk.continued_ids, *chunk.comment_ids]
    if len(members) == 1:
        return _split_comment(thread, chunk, members[0])
    if len(members) < 2:
        return None
    half = len(members) // 2
    parts = []
    for n, ids in enumerate((members[:half], members[half:])):
        inside = set(ids)
        context = list(chunk.context_ids)
        for cid in ids:
            p = thread.by_id[cid].parent_id
            while p is not None and p not in inside and p not in context and p in members:
                context.append(p)
                p = thread.by_id[p].parent_id
        order = {c.id: i for i, c in enumerate(thread.comments)}
        context.sort(key=order.__getitem__)
        parts.append(
            Chunk(
                index=chunk.index,
                comment_ids=tuple(c for c in ids if c in chunk.comment_ids),
                continued_ids=tuple(c for c in ids if c in chunk.continued_ids),
                context_ids=tuple(context),
                segments=tuple(s for s in chunk.segments if s.comment_id in inside),
                tokens=chunk.tokens // 2,
                digest=f"{chunk.digest}{'ab'[n]}",
            )
        )
    return parts[0], parts[1]


def _split_comment(thread: Thread, chunk: Chunk, cid: str) -> tuple[Chunk, Chunk] | None:
    """A one-comment chunk halved by sentence range; None when it is one sentence."""
    ranges = {seg.comment_id: (seg.first, seg.last) for seg in chunk.segments}
    first, last = ranges.get(cid, (1, len(thread.by_id[cid].sentences)))
    if last <= first:
        return None
    mid = (first + last) // 2
    head = Chunk(
        index=chunk.index,
        comment_ids=chunk.comment_ids,
        continued_ids=chunk.continued_ids,
        context_ids=chunk.context_ids,
        segments=(ChunkSegment(comment_id=cid, first=first, last=mid),),
        tokens=chunk.tokens // 2,
        digest=f"{chunk.digest}a",
    )
    tail = Chunk(
        index=chunk.index,
        comment_ids=(),
        continued_ids=(cid,),
        context_ids=chunk.context_ids,
        segments=(ChunkSegment(comment_id=cid, first=mid + 1, last=last),),
        tokens=chunk.tokens // 2,
        digest=f"{chunk.digest}b",
    )
    return head, tail
