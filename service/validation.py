"""Model replies: their schemas, parsing, and grounding against the chunk they answer.

``parse_reply`` turns reply text into JSON (tolerating code fences and prose around it, as
``text`` mode needs). Answers come in the compact format of :mod:`service.answer_format` and
leave here as the internal replies below. ``check_map`` validates a map answer and grounds it:
every cited sentence id (or every id of a cited range) must exist in the chunk (context comments
cannot be cited), duplicates go, items left with no evidence go. ``check_reduce`` checks that a
reduce answer merges only input ids, each at most once, and that its topics are titled and
list only input ids, each in at most one topic; ``check_overview`` that an overview answer is
one paragraph. Each returns a :class:`Checked` reply:
what could be kept, and as errors what could not, ready to be sent back to the model in a
re-ask. ``encode_map``, ``encode_reduce`` and ``encode_overview`` are the way back, for the
fakes that answer like a model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .answer_format import (
    WireMap,
    WireOverview,
    WireReduce,
    format_ids,
    parse_ids,
    split_item,
    split_topic,
)
from .errors import ReplyError
from .text.wording import one_line


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MapCounter(_Strict):
    """A reply defending the claim against a rebuttal."""

    statement: str
    evidence: list[str]


class MapRebuttal(_Strict):
    """A reply pushing back on a claim."""

    statement: str
    evidence: list[str]
    counters: list[MapCounter]


class MapClaim(_Strict):
    """A claim made in the chunk."""

    statement: str
    evidence: list[str]
    supporters: list[str]
    rebuttals: list[MapRebuttal]


class MapReply(_Strict):
    """A map answer, validated: ids expanded, full field names (the internal form)."""

    claims: list[MapClaim]


class ReduceClaim(_Strict):
    """A thread-level claim made of merged chunk claims."""

    statement: str
    merges: list[str] = Field(description="IDs of the input claims this claim merges.")


class ReduceTopic(_Strict):
    """A topic the reduce named: its title and the input claims on it."""

    title: str
    members: list[str] = Field(description="IDs of the input claims on this topic.")


class ReduceReply(_Strict):
    """A reduce answer, validated: every input id in exactly one claim, and in at most one
    topic, the one of every other id its claim merges (the internal form)."""

    claims: list[ReduceClaim]
    topics: list[ReduceTopic] = []


class OverviewReply(_Strict):
    """An overview answer, validated: one paragraph."""

    overview: str


#: Most words of a topic title the reduce may give (the prompt asks for at most 6).
TITLE_WORDS = 8
#: Most characters of a topic title.
TITLE_CHARS = 80


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of ``model`` in the form strict structured output accepts."""
    schema = model.model_json_schema()

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("title", None)
            node.pop("description", None)
            if node.get("type") == "object":
                node["additionalProperties"] = False
                node["required"] = list(node.get("properties", {}))
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(schema)
    return schema


_ID_SPLIT = re.compile(r"[\s,;]+")
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)\n?```", re.DOTALL)


def parse_reply(text: str) -> Any:
    """The JSON value in ``text``: bare, fenced, or the first balanced object in prose."""
    stripped = text.strip()
    candidates = [stripped]
    candidates += [m.group(1) for m in _FENCE.finditer(text)]
    start = stripped.find("{")
    if start > 0:
        candidates.append(stripped[start:])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            pass
        except (RecursionError, ValueError):
            break
    if start >= 0:
        try:
            value, _ = json.JSONDecoder().raw_decode(stripped[start:])
            return value
        except (json.JSONDecodeError, RecursionError, ValueError):
            pass
    raise ReplyError(["the reply is not valid JSON"])


def schema_errors(e: ValidationError) -> list[str]:
    """A schema failure as re-ask errors (the first 8), each naming where it is."""
    out = []
    for err in e.errors()[:8]:
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        out.append(f"{where}: {err['msg']}")
    return out


Reply = TypeVar("Reply", bound=BaseModel)


@dataclass
class Checked(Generic[Reply]):
    """A reply with what could not be kept taken out; ``errors`` say what and why."""

    reply: Reply
    errors: list[str] = field(default_factory=list)
    dropped: int = 0  # citations of ids that are not in the data


def keep_cited(
    text: str, valid_ids: set[str], where: str, out: Checked[Any], data: str = "the data"
) -> list[str]:
    """The sentence ids an id string cites that are in ``valid_ids``, in order, each once.

    Each item that is no id, or names a sentence outside ``valid_ids`` (``data`` says what they
    are in the message), is reported in ``out.errors`` and counted in ``out.dropped``.
    """
    kept: list[str] = []
    for item in _ID_SPLIT.split(text.strip()):
        if not item:
            continue
        ids, bad = parse_ids(item)
        if bad:
            out.errors.append(f"{where}: {bad[0]}")
            out.dropped += 1
            continue
        missing = [sid for sid in ids if sid not in valid_ids]
        if missing:
            if len(ids) == 1:
                out.errors.append(f"{where}: sentence id {item!r} is not in {data}")
            else:
                out.errors.append(
                    f"{where}: range {item!r} runs past {data} ({missing[0]!r} is not in it)"
                )
            out.dropped += 1
        kept.extend(sid for sid in ids if sid in valid_ids and sid not in kept)
    return kept


def check_map(value: Any, valid_ids: set[str]) -> Checked[MapReply]:
    """Validate a parsed map answer (the compact format); keep what is grounded, report the rest.

    Id strings are expanded (``c3.1-4`` → ``c3.1 … c3.4``); an id or range that names a
    sentence not in the data is reported and dropped (one dropped citation per item), and so
    is an item that is not an id at all. Raises :class:`ReplyError` when the answer does not fit
    the schema at all.
    """
    try:
        wire = WireMap.model_validate(value)
    except ValidationError as e:
        raise ReplyError(schema_errors(e)) from None
    out = Checked(MapReply(claims=[]))

    def keep(text: str, where: str) -> list[str]:
        return keep_cited(text, valid_ids, where, out)

    seen_statements: set[str] = set()
    for i, claim in enumerate(wire.k, start=1):
        where = f"k[{i}]"
        ids, text = split_item(claim.t)
        evidence = keep(ids, f"{where}.t")
        statement = one_line(text)
        if not statement or not evidence:
            out.errors.append(
                f"{where}: a claim needs sentence ids and then a statement, in that order"
            )
            continue
        if statement.lower() in seen_statements:
            continue  # a repeated item
        seen_statements.add(statement.lower())
        rebuttals = []
        for j, r in enumerate(claim.r, start=1):
            rw = f"{where}.r[{j}]"
            r_ids, r_text = split_item(r.t)
            r_evidence = keep(r_ids, f"{rw}.t")
            if not r_text.strip() or not r_evidence:
                out.errors.append(f"{rw}: a rebuttal needs sentence ids and then a statement")
                continue
            counters = []
            for k, c in enumerate(r.c, start=1):
                c_ids, c_text = split_item(c)
                c_evidence = keep(c_ids, f"{rw}.c[{k}]")
                if c_text.strip() and c_evidence:
                    counters.append(MapCounter(statement=c_text, evidence=c_evidence))
            rebuttals.append(MapRebuttal(statement=r_text, evidence=r_evidence, counters=counters))
        supporters = [s for s in keep(claim.p, f"{where}.p") if s not in evidence]
        out.reply.claims.append(
            MapClaim(
                statement=statement,
                evidence=evidence,
                supporters=supporters,
                rebuttals=rebuttals,
            )
        )
    return out


def encode_map(reply: MapReply) -> dict[str, Any]:
    """``reply`` in the compact answer format (what a model answering the map prompt writes)."""

    def item(ids: list[str], statement: str) -> str:
        return f"{format_ids(ids)} {statement}"

    claims = []
    for claim in reply.claims:
        out: dict[str, Any] = {"t": item(claim.evidence, claim.statement)}
        if claim.supporters:
            out["p"] = format_ids(claim.supporters)
        if claim.rebuttals:
            out["r"] = []
            for r in claim.rebuttals:
                rebuttal: dict[str, Any] = {"t": item(r.evidence, r.statement)}
                if r.counters:
                    rebuttal["c"] = [item(c.evidence, c.statement) for c in r.counters]
                out["r"].append(rebuttal)
        claims.append(out)
    return {"k": claims}


def check_reduce(value: Any, inputs: dict[str, str]) -> Checked[ReduceReply]:
    """Validate a parsed reduce answer (the compact format) against its ``inputs`` (id →
    statement, in order): no id invented, none merged twice, none in two topics.

    A merge that gives no statement keeps its first id's; an input id listed nowhere stays a
    claim of its own. Claims come out in the order of their first input, so the result does not
    depend on the order the model lists them in. Invented and repeated ids are dropped and
    reported. Topics: a title is one plain line of at most :data:`TITLE_WORDS` words and
    :data:`TITLE_CHARS` characters (a longer one is reported and cut, an empty one reported and
    its topic dropped); topics with the same title (case aside) are one. A claim's merges all
    land in the topic of the first of them that is in one, so topics follow the merged claims;
    an input id in no topic is left for the caller to place. Raises :class:`ReplyError` when
    the answer does not fit the schema.
    """
    try:
        wire = WireReduce.model_validate(value)
    except ValidationError as e:
        raise ReplyError(schema_errors(e)) from None
    order = {mid: n for n, mid in enumerate(inputs)}
    used: set[str] = set()
    errors: list[str] = []
    claims: list[ReduceClaim] = []
    for i, claim in enumerate(wire.k, start=1):
        ids, bad = parse_ids(claim.m, sentences=False)
        errors.extend(f"k[{i}].m: {b}" for b in bad)
        merges = []
        for mid in ids:
            if mid not in order:
                errors.append(f"k[{i}].m: {mid!r} is not an input ID")
            elif mid in used:
                errors.append(f"k[{i}].m: {mid!r} is already merged elsewhere")
            else:
                merges.append(mid)
                used.add(mid)
        if merges:
            statement = one_line(claim.s) or inputs[merges[0]]
            claims.append(ReduceClaim(statement=statement, merges=merges))
    claims += [
        ReduceClaim(statement=s, merges=[mid]) for mid, s in inputs.items() if mid not in used
    ]
    claims.sort(key=lambda c: min(order[mid] for mid in c.merges))
    topics = _check_topics(wire.g, order, claims, errors)
    return Checked(ReduceReply(claims=claims, topics=topics), errors)


def _check_topics(
    wire: list[str], order: dict[str, int], claims: list[ReduceClaim], errors: list[str]
) -> list[ReduceTopic]:
    """The valid part of the model's topics, over the (checked) ``claims``; faults go to
    ``errors``."""
    titles: list[str] = []  # one per topic, in the order first named
    by_title: dict[str, int] = {}
    topic_of: dict[str, int] = {}  # input id -> topic
    for i, topic in enumerate(wire, start=1):
        where = f"g[{i}]"
        parts = split_topic(topic)
        if parts is None:
            errors.append(f"{where}: a topic is its title, a colon and its IDs ('title: m1 m3')")
            continue
        title = one_line(parts[0])
        if not title:
            errors.append(f"{where}: a topic needs a title before the colon")
            continue
        words = title.split()
        if len(words) > TITLE_WORDS or len(title) > TITLE_CHARS:
            errors.append(f"{where}: a title is at most 6 words, not {len(words)}")
            title = one_line(" ".join(words[:TITLE_WORDS]), TITLE_CHARS)
        ids, bad = parse_ids(parts[1], sentences=False)
        errors.extend(f"{where}: {b}" for b in bad)
        if not ids and not bad:
            errors.append(f"{where}: a topic lists the IDs of its claims after the colon")
        n = by_title.setdefault(title.casefold(), len(titles))
        if n == len(titles):
            titles.append(title)
        for mid in ids:
            if mid not in order:
                errors.append(f"{where}: {mid!r} is not an input ID")
            elif mid in topic_of:
                errors.append(f"{where}: {mid!r} is already in another topic")
            else:
                topic_of[mid] = n
    members: list[list[str]] = [[] for _ in titles]
    for claim in claims:
        home = next((topic_of[mid] for mid in claim.merges if mid in topic_of), None)
        if home is not None:
            members[home].extend(claim.merges)
    return [
        ReduceTopic(title=title, members=sorted(ids, key=order.__getitem__))
        for title, ids in zip(titles, members, strict=True)
        if ids
    ]


def encode_reduce(reply: ReduceReply, inputs: dict[str, str]) -> dict[str, Any]:
    """``reply`` in the compact answer format, given its ``inputs`` (id → statement): a claim
    that keeps its first id's statement gives none, a claim of one id that keeps its
    statement is not listed at all, and topics are listed when there are any."""
    claims = []
    for claim in reply.claims:
        kept = claim.statement == inputs.get(claim.merges[0]) if claim.merges else False
        if kept and len(claim.merges) == 1:
            continue
        item: dict[str, Any] = {"m": format_ids(claim.merges)}
        if not kept:
            item["s"] = claim.statement
        claims.append(item)
    out: dict[str, Any] = {"k": claims}
    if reply.topics:
        out["g"] = [f"{t.title}: {format_ids(t.members)}" for t in reply.topics]
    return out


def check_overview(value: Any) -> Checked[OverviewReply]:
    """Validate a parsed overview answer: one paragraph, not empty. Raises
    :class:`ReplyError` when the answer does not fit the schema."""
    try:
        wire = WireOverview.model_validate(value)
    except ValidationError as e:
        raise ReplyError(schema_errors(e)) from None
    overview = one_line(wire.o)
    return Checked(OverviewReply(overview=overview), [] if overview else ["o: it is empty"])


def encode_overview(reply: OverviewReply) -> dict[str, Any]:
    """``reply`` in the compact answer format (what a model answering the overview prompt
    writes)."""
    return {"o": reply.overview}
