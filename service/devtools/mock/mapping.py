"""The mock's answers to map prompts: a chunk's claims, from the extractive engine.

The chunk is read back with :func:`~service.prompts.parse_chunk`, rebuilt as a small thread
(context comments ``pN`` included so replies keep their parents), summarised by
:func:`~service.engines.extractive.summarize_extractive`, and turned into a
:class:`~service.validation.MapReply` citing the chunk-local sentence ids exactly as rendered.
Context comments are never cited: a claim whose only evidence is context is carried by its first
citable supporter, or else replaced by its rebuttals as claims of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...answer_format import format_ids
from ...engines.extractive import summarize_extractive
from ...errors import ThreadsumError
from ...ingest.tree import build_thread
from ...models import Citation, RawComment, RawThread, Thread
from ...models import Claim as SummaryClaim
from ...prompts import ParsedComment, parse_chunk
from ...text.wording import one_line
from ...validation import MapClaim, MapCounter, MapRebuttal, MapReply


@dataclass(frozen=True)
class _Span:
    """Where a rendered sentence sits in the rebuilt comment's text."""

    number: int  # the sentence number as rendered (``c3.<number>``)
    start: int
    end: int


_Spans = dict[str, list[_Span]]  # comment key -> its rendered sentences
_Local = Callable[[list[Citation]], list[str]]  # citations -> chunk-local sentence ids


def _local_ids(thread: Thread, spans: _Spans, citations: list[Citation]) -> list[str]:
    """The prompt's own sentence ids (``c3.2``) of the sentences ``citations`` name, each once;
    context comments (not in ``spans``) are never cited."""
    out: list[str] = []
    for c in citations:
        if c.comment_id not in spans:
            continue
        comment = thread.by_id[c.comment_id]
        for sid in c.sentence_ids:
            s = comment.sentences[int(sid.rpartition(".")[2]) - 1]
            out.extend(
                f"{c.comment_id}.{span.number}"
                for span in spans[c.comment_id]
                if span.start < s.end and s.start < span.end
            )
    return list(dict.fromkeys(out))


def _mini_thread(parsed: list[ParsedComment], title: str) -> tuple[RawThread, _Spans]:
    """The chunk as a thread, each comment's text its rendered sentences joined by blank lines."""
    keys = {p.key for p in parsed}
    spans: _Spans = {}
    comments: list[RawComment] = []
    for p in parsed:
        author = p.author if p.author and p.author != "?" else None
        parent = p.parent if p.parent in keys else None
        if p.context:
            text = p.sentences[0][1] if p.sentences else ""
            hidden = text in ("[deleted]", "[dead]", "[removed]")
            status = "deleted" if hidden or not text.strip() else "ok"
        else:
            pieces: list[str] = []
            offsets: list[_Span] = []
            pos = 0
            for number, sentence in p.sentences:
                if pieces:
                    pos += 2
                offsets.append(_Span(number, pos, pos + len(sentence)))
                pieces.append(sentence)
                pos += len(sentence)
            text = "\n\n".join(pieces)
            spans[p.key] = offsets
            status = "ok" if text.strip() else "deleted"
        comments.append(
            RawComment(
                id=p.key,
                parent_id=parent,
                author=author,
                text=text if status == "ok" else "",
                status=status,
            )
        )
    raw = RawThread(id="chunk", source="native", format="native", title=title or None)
    raw.comments = comments
    return raw, spans


def map_answer(data: str, title: str = "") -> MapReply:
    """The map reply for a chunk rendered by :func:`~service.prompts.render_chunk`."""
    parsed = parse_chunk(data)
    raw, spans = _mini_thread(parsed, title)
    try:
        thread = build_thread(raw, max_comments=10**7, max_depth=10**7)
    except ThreadsumError:
        return MapReply(claims=[])
    summary = summarize_extractive(thread)

    def local(citations: list[Citation]) -> list[str]:
        return _local_ids(thread, spans, citations)

    claims: list[MapClaim] = []
    for claim in summary.claims:
        claims.extend(_map_claims(claim, local))
    return MapReply(claims=_dedupe(claims))


def _map_claims(claim: SummaryClaim, local: _Local) -> list[MapClaim]:
    """One summary claim as map claims citing only chunk sentences (none, one, or several)."""
    evidence: list[str] = local(claim.evidence)
    supporters: list[str] = []
    for citation in claim.supporters:
        ids = local([citation])
        if not evidence:
            evidence, ids = ids, []  # the first citable supporter carries the claim
        supporters.extend(i for i in ids if i not in evidence and i not in supporters)
    if not evidence:
        return _promoted(claim, local)
    rebuttals: list[MapRebuttal] = []
    for r in claim.rebuttals:
        r_evidence = local(r.evidence)
        counters = [
            MapCounter(statement=c.statement, evidence=ids)
            for c in r.counters
            if (ids := local(c.evidence))
        ]
        if r_evidence:
            rebuttals.append(
                MapRebuttal(statement=r.statement, evidence=r_evidence, counters=counters)
            )
        else:  # the rebuttal is context only: its counters defend the claim
            for counter in counters:
                supporters.extend(
                    i for i in counter.evidence if i not in evidence and i not in supporters
                )
    return [
        MapClaim(
            statement=claim.statement, evidence=evidence, supporters=supporters, rebuttals=rebuttals
        )
    ]


def _promoted(claim: SummaryClaim, local: _Local) -> list[MapClaim]:
    """A claim only context makes: its rebuttals become claims, their counters rebuttals."""
    out: list[MapClaim] = []
    for r in claim.rebuttals:
        r_evidence = local(r.evidence)
        counters = [(c.statement, ids) for c in r.counters if (ids := local(c.evidence))]
        if r_evidence:
            rebuttals = [MapRebuttal(statement=s, evidence=ids, counters=[]) for s, ids in counters]
            out.append(
                MapClaim(
                    statement=r.statement, evidence=r_evidence, supporters=[], rebuttals=rebuttals
                )
            )
        else:  # the rebuttal is context too: its counters stand on their own
            out.extend(
                MapClaim(statement=s, evidence=ids, supporters=[], rebuttals=[])
                for s, ids in counters
            )
    return out


def _dedupe(claims: list[MapClaim]) -> list[MapClaim]:
    """Claims with the same statement fold into the first."""
    kept: dict[str, MapClaim] = {}
    for claim in claims:
        key = one_line(claim.statement.lower())
        first = kept.get(key)
        if first is None:
            kept[key] = claim
            continue
        first.evidence.extend(i for i in claim.evidence if i not in first.evidence)
        first.supporters.extend(
            i
            for i in [*claim.evidence, *claim.supporters]
            if i not in first.evidence and i not in first.supporters
        )
        first.rebuttals.extend(claim.rebuttals)
    return list(kept.values())


def delta_answer(data: str, claims: str, title: str = "") -> dict[str, object]:
    """The delta reply (compact format) for new comments and the listed earlier claims.

    The new comments and their context are read by the extractive engine as a map chunk is; a
    claim it anchors on a context comment that a listed claim cites becomes additions to that
    claim (its backers ``p``, its rebuttals ``r``), one anchored on a comment a listed rebuttal
    cites becomes counters to it; every other claim is new (``k``), as in a map answer.
    """
    from ...validation import encode_map
    from ..fake import listed_claims

    cited = listed_claims(claims)
    parsed = parse_chunk(data)
    raw, spans = _mini_thread(parsed, title)
    try:
        thread = build_thread(raw, max_comments=10**7, max_depth=10**7)
    except ThreadsumError:
        return {"k": [], "a": []}
    summary = summarize_extractive(thread)

    def local(citations: list[Citation]) -> list[str]:
        return _local_ids(thread, spans, citations)

    touches: dict[str, dict[str, object]] = {}
    new: list[MapClaim] = []
    for claim in summary.claims:
        anchors = [c.comment_id for c in claim.evidence if c.comment_id not in spans]
        target = next((cited[a] for a in anchors if a in cited), None)
        if local(claim.evidence) or target is None:
            new.extend(_map_claims(claim, local))
            continue
        touch = touches.setdefault(target, {"i": target})
        items = []
        for r in claim.rebuttals:
            ids = local(r.evidence)
            if ids:
                counters = [
                    f"{format_ids(c_ids)} {c.statement}"
                    for c in r.counters
                    if (c_ids := local(c.evidence))
                ]
                items.append((ids, r.statement, counters))
        if ".R" in target:
            counters_of = touch.setdefault("c", [])
            assert isinstance(counters_of, list)
            counters_of.extend(f"{format_ids(ids)} {s}" for ids, s, _ in items)
        else:
            backers = local(claim.supporters)
            if backers:
                touch["p"] = " ".join(filter(None, [str(touch.get("p", "")), format_ids(backers)]))
            rebuttals = touch.setdefault("r", [])
            assert isinstance(rebuttals, list)
            for ids, s, counters in items:
                item: dict[str, object] = {"t": f"{format_ids(ids)} {s}"}
                if counters:
                    item["c"] = counters
                rebuttals.append(item)
    kept = [t for t in touches.values() if t.get("p") or t.get("r") or t.get("c")]
    return {"k": encode_map(MapReply(claims=_dedupe(new)))["k"], "a": kept}
