"""Data models shared by every part of threadsum: threads, comments, sentences and chunks.

These are plain pydantic models with no behaviour that does I/O. A :class:`Thread` is always
complete and checked: it is only built by :func:`service.ingest.tree.build_thread`.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from itertools import chain
from typing import Any, Literal, overload

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import core_schema

Source = Literal["native", "hn", "reddit", "text"]
CommentStatus = Literal["ok", "deleted", "dead", "removed"]


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a comment: ``text == comment.text[start:end]``, always.

    A slotted dataclass rather than a pydantic model: a large thread holds hundreds of thousands
    of sentences, and a model instance costs several times the memory (pydantic validates and
    serialises it as a field of :class:`Comment` all the same).
    """

    id: str  # "c<n>.<k>"
    text: str
    start: int
    end: int


#: Typecode of the offsets a :class:`Sentences` keeps: unsigned, at least 32 bits.
_OFFSET = "I" if array("I").itemsize >= 4 else "L"


class Sentences(Sequence[Sentence]):
    """A comment's sentences, kept as offsets into its text and made on access.

    A large thread holds hundreds of thousands of sentences, and a string per sentence text and
    id doubled the memory its comment texts take. This keeps the comment's text, its key and two
    offsets per sentence; each :class:`Sentence` read from it is built when asked for (equal to
    the one stored before, ``text == comment.text[start:end]``). It is a read-only sequence, equal
    to the tuple of its sentences, and pydantic validates and serialises it as that tuple.
    """

    __slots__ = ("_items", "_key", "_spans", "_text")

    def __init__(self, text: str, key: str, spans: Iterable[tuple[int, int]]) -> None:
        """Sentences ``<key>.1 …`` of ``text`` at the ``(start, end)`` ``spans``."""
        self._text = text
        self._key = key
        self._spans = array(_OFFSET, chain.from_iterable(spans))
        self._items: tuple[Sentence, ...] | None = None

    @classmethod
    def of(cls, items: Iterable[Sentence]) -> Sentences:
        """Sentences given whole (validated input, which need not slice one text)."""
        made = cls("", "", ())
        made._items = tuple(items)
        return made

    def __len__(self) -> int:
        if self._items is not None:
            return len(self._items)
        return len(self._spans) // 2

    @overload
    def __getitem__(self, index: int) -> Sentence: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Sentence, ...]: ...

    def __getitem__(self, index: int | slice) -> Sentence | tuple[Sentence, ...]:
        if self._items is not None:
            return self._items[index]
        if isinstance(index, slice):
            return tuple(self._make(k) for k in range(*index.indices(len(self))))
        n = len(self)
        k = index + n if index < 0 else index
        if not 0 <= k < n:
            raise IndexError("sentence index out of range")
        return self._make(k)

    def _make(self, k: int) -> Sentence:
        start, end = self._spans[2 * k], self._spans[2 * k + 1]
        return Sentence(f"{self._key}.{k + 1}", self._text[start:end], start, end)

    def __iter__(self) -> Iterator[Sentence]:
        if self._items is not None:
            yield from self._items
            return
        key, text, spans = self._key, self._text, self._spans
        for k in range(len(spans) // 2):
            start, end = spans[2 * k], spans[2 * k + 1]
            yield Sentence(f"{key}.{k + 1}", text[start:end], start, end)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sentences):
            if self._items is None and other._items is None:
                return (self._key, self._spans, self._text) == (
                    other._key,
                    other._spans,
                    other._text,
                )
            return tuple(self) == tuple(other)
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        items = handler.generate_schema(tuple[Sentence, ...])
        from_items = core_schema.no_info_after_validator_function(cls.of, items)
        return core_schema.json_or_python_schema(
            json_schema=from_items,
            python_schema=core_schema.union_schema(
                [core_schema.is_instance_schema(cls), from_items]
            ),
            serialization=core_schema.plain_serializer_function_ser_schema(
                tuple, return_schema=items
            ),
        )


NO_SENTENCES = Sentences("", "", ())


class RawComment(BaseModel):
    """A comment as a parser read it, before the tree is checked and ordered."""

    id: str
    parent_id: str | None = None
    author: str | None = None
    text: str = ""
    created_at: datetime | None = None
    score: int | None = None
    status: CommentStatus = "ok"
    url: str | None = None


class RawThread(BaseModel):
    """A thread as a parser read it. Comments are in source order (siblings in display order)."""

    id: str
    source: Source
    format: str
    title: str | None = None
    url: str | None = None
    text: str | None = None
    comments: list[RawComment] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    unloaded: int = 0  # comments the source says exist but did not send (reddit "more" stubs)


class Comment(BaseModel):
    """A comment in a checked thread: placed in the tree, keyed, split into sentences."""

    model_config = ConfigDict(frozen=True)

    id: str
    key: str  # "c<n>", depth-first thread order
    parent_id: str | None
    author: str | None
    depth: int  # 1 for a top-level comment
    text: str
    created_at: datetime | None = None
    score: int | None = None
    status: CommentStatus = "ok"
    url: str | None = None
    children: tuple[str, ...] = ()
    sentences: Sentences = NO_SENTENCES


class Thread(BaseModel):
    """A checked reply tree. ``comments`` are depth-first, siblings in source order."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: Source
    format: str
    title: str | None = None
    url: str | None = None
    text: str | None = None
    comments: tuple[Comment, ...]
    warnings: tuple[str, ...] = ()
    unloaded: int = 0

    @cached_property
    def by_id(self) -> dict[str, Comment]:
        """Comments by source id."""
        return {c.id: c for c in self.comments}

    @cached_property
    def by_key(self) -> dict[str, Comment]:
        """Comments by key (``c1`` …)."""
        return {c.key: c for c in self.comments}

    @cached_property
    def roots(self) -> tuple[str, ...]:
        """Ids of the top-level comments, in order."""
        return tuple(c.id for c in self.comments if c.parent_id is None)

    @property
    def authors(self) -> int:
        """Distinct named authors."""
        return len({c.author for c in self.comments if c.author})

    @property
    def max_depth(self) -> int:
        """Deepest nesting (1 when every comment is top-level)."""
        return max((c.depth for c in self.comments), default=0)


class ChunkSegment(BaseModel):
    """Part of a comment that was too large for one chunk: sentences ``first..last`` (1-based)."""

    model_config = ConfigDict(frozen=True)

    comment_id: str
    first: int
    last: int


class Chunk(BaseModel):
    """A sub-thread sent to the model in one call.

    ``comment_ids`` are the comments this chunk is responsible for, in thread order; every comment
    of a thread is in exactly one chunk's ``comment_ids``. ``context_ids`` are ancestors shown
    read-only so the model knows what the first comments answer. ``segments`` narrows comments
    that had to be split at sentence boundaries; ``continued_ids`` are such comments whose first
    part lives in an earlier chunk.
    """

    model_config = ConfigDict(frozen=True)

    index: int
    comment_ids: tuple[str, ...]
    context_ids: tuple[str, ...] = ()
    continued_ids: tuple[str, ...] = ()
    segments: tuple[ChunkSegment, ...] = ()
    tokens: int
    digest: str  # identity of the chunk's content, independent of its position in the thread


# --- The output: ThreadSummary (a contract; see DESIGN.md) -------------------------------------

#: "1.1" added ``topics``, ``claims_omitted`` and ``duplicates`` to the summary and
#: ``controversy`` to each claim; every field of "1" is unchanged.
SCHEMA_VERSION: Literal["1.1"] = "1.1"


class Citation(BaseModel):
    """Where a point was made: a comment and the sentences in it, quoted verbatim."""

    comment_id: str = Field(description="Source id of the comment (HN item id, reddit id, …).")
    author: str | None = None
    sentence_ids: list[str] = Field(description="Consecutive sentence ids c<n>.<k>, in order.")
    quote: str = Field(
        description="Verbatim slice of the comment text from the first cited sentence to the last."
    )
    url: str | None = Field(None, description="Link to the comment where the source has one.")


class Counter(BaseModel):
    """An answer to a rebuttal, defending the claim."""

    statement: str
    evidence: list[Citation] = Field(default_factory=list)


class Rebuttal(BaseModel):
    """A reply that pushes back on a claim, with the answers it drew."""

    id: str = Field(description="<claim id>.R and four characters derived from its evidence.")
    statement: str
    evidence: list[Citation] = Field(default_factory=list)
    counters: list[Counter] = Field(default_factory=list)


class Prevalence(BaseModel):
    """How many comments and distinct authors make or back a claim."""

    comments: int
    authors: int


class Controversy(BaseModel):
    """How much people split over a claim: distinct authors on each side.

    ``score`` is ``(for + against) ** (min / max)`` (the volume raised to the balance), 0 when a
    side is empty: a claim argued evenly by many people scores highest.
    """

    for_authors: int = Field(0, description="Distinct authors making, backing or defending it.")
    against_authors: int = Field(0, description="Distinct authors rebutting it.")
    score: float = Field(0.0, ge=0, allow_inf_nan=False)


class Claim(BaseModel):
    """A point someone makes, who backs it and who rebuts it."""

    id: str = Field(
        description="K and six characters derived from its first evidence: stable across runs."
    )
    statement: str
    prevalence: Prevalence
    evidence: list[Citation] = Field(default_factory=list)
    supporters: list[Citation] = Field(default_factory=list)
    rebuttals: list[Rebuttal] = Field(default_factory=list)
    controversy: Controversy = Field(default_factory=Controversy)


class Topic(BaseModel):
    """Claims about one subject; every shown claim is in exactly one topic."""

    id: str = Field(description="T<n>, in the order of the best-ranked claim of each.")
    title: str = Field(
        description="The title the LLM engine's reduce gave it, else its most distinctive terms."
    )
    claim_ids: list[str] = Field(description="Its claims, best-ranked first.")
    prevalence: Prevalence = Field(
        description="Comments and distinct authors cited as making or backing its claims."
    )


class DuplicateGroup(BaseModel):
    """Comments that repeat one text (identical or nearly): counted once in prevalence."""

    comment_ids: list[str] = Field(description="Source ids, in thread order; the first is kept.")
    count: int
    authors: int = Field(description="Distinct authors who posted it.")
    excerpt: str = Field(description="The start of the first comment's text.")


class SeenComments(BaseModel):
    """Which comments a summary read: their source ids and one digest of their content.

    A later run ``--since`` this summary asks the model only about comments not listed here,
    provided the listed ones are unchanged (the digest still matches).
    """

    ids: list[str] = Field(description="Source ids of the comments read, in thread order.")
    digest: str = Field(description="sha256 (16 hex) over each listed comment's id, status, text.")

    @classmethod
    def of(cls, comments: Sequence[Comment]) -> SeenComments:
        """What ``comments`` are, as a later run checks them."""
        return cls(ids=[c.id for c in comments], digest=seen_digest(comments))


def seen_digest(comments: Sequence[Comment]) -> str:
    """The digest :class:`SeenComments` keeps of ``comments``."""
    h = hashlib.sha256()
    for c in comments:
        for part in (c.id, c.status, c.text):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
    return h.hexdigest()[:16]


class ThreadInfo(BaseModel):
    """What thread was summarised."""

    id: str
    source: str = Field(description="hn, reddit, native or text.")
    format: str | None = Field(None, description="The input format it was read from.")
    title: str | None = None
    url: str | None = None
    comments: int
    authors: int
    max_depth: int
    seen: SeenComments | None = Field(
        None, description="The comments this summary read (absent in older summaries)."
    )

    @classmethod
    def of(cls, thread: Thread) -> ThreadInfo:
        """The description of ``thread``."""
        return cls(
            id=thread.id,
            source=thread.source,
            format=thread.format,
            title=thread.title,
            url=thread.url,
            comments=len(thread.comments),
            authors=thread.authors,
            max_depth=thread.max_depth,
            seen=SeenComments.of(thread.comments),
        )


class EngineInfo(BaseModel):
    """Which engine produced the summary, and with what."""

    kind: Literal["extractive", "llm"]
    model: str | None = None
    output_mode: str | None = None
    prompt_digest: str | None = None
    version: str | None = Field(None, description="Version of the engine's method.")


class Stats(BaseModel):
    """Work done to produce the summary."""

    chunks: int = 0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    reasks: int = 0
    dropped_citations: int = 0
    failed_chunks: int = Field(0, description="Chunks with no usable answer: not in the map.")
    failed_reduces: int = Field(
        0, description="Reduce calls with no valid answer: their claims are kept unmerged."
    )
    elapsed_s: float = Field(0.0, ge=0, allow_inf_nan=False)
    cost_usd: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        exclude_if=lambda value: value is None,
        description="What this run's model tokens cost in US dollars, from the genai-prices "
        "table; left out when the model's price is not known (or no model was used).",
    )


class PrevalenceDelta(BaseModel):
    """How prevalence moved between two summaries (now minus then)."""

    comments: int
    authors: int


class NewCounter(BaseModel):
    """A counter that is new since the earlier summary, and the rebuttal it answers."""

    rebuttal_id: str
    statement: str
    evidence: list[Citation] = Field(default_factory=list)


class ClaimChange(BaseModel):
    """What a claim present in both summaries gained."""

    claim_id: str
    statement: str
    new_evidence: list[Citation] = Field(default_factory=list)
    new_supporters: list[Citation] = Field(default_factory=list)
    new_rebuttals: list[str] = Field(default_factory=list, description="Ids of new rebuttals.")
    new_counters: list[NewCounter] = Field(default_factory=list)
    prevalence_delta: PrevalenceDelta


class GoneClaim(BaseModel):
    """A claim of the earlier summary that is not in this one."""

    claim_id: str
    statement: str
    merged_into: str | None = Field(
        None, description="The claim that now holds its evidence, when one does."
    )


class Changes(BaseModel):
    """What changed since an earlier summary of the same thread."""

    since_comments: int = Field(description="Comments of the thread the earlier summary read.")
    new_comments: int
    new_claims: list[str] = Field(default_factory=list, description="Ids of claims that are new.")
    updated: list[ClaimChange] = Field(default_factory=list)
    gone: list[GoneClaim] = Field(default_factory=list)
    renamed: dict[str, str] = Field(
        default_factory=dict,
        description="Earlier id → id now, for claims matched by their evidence under a new id.",
    )

    @property
    def empty(self) -> bool:
        """True when nothing changed that a reader would see."""
        return not (self.new_comments or self.new_claims or self.updated or self.gone)


class ThreadSummary(BaseModel):
    """The argument map of one thread."""

    schema_version: Literal["1.1"] = SCHEMA_VERSION
    thread: ThreadInfo
    engine: EngineInfo
    overview: str
    claims: list[Claim] = Field(default_factory=list)
    topics: list[Topic] = Field(default_factory=list)
    claims_omitted: int = Field(
        0, ge=0, description="Claims found but not shown (past the claim limit)."
    )
    duplicates: list[DuplicateGroup] = Field(default_factory=list)
    stats: Stats = Field(default_factory=Stats)
    warnings: list[str] = Field(default_factory=list)
    changes: Changes | None = Field(
        None, description="What changed since the earlier summary it was given (--since)."
    )
