"""Model replies: their schemas, parsing, and grounding against the chunk they answer.

``parse_reply`` turns reply text into JSON (tolerating code fences and prose around it, as
``text`` mode needs). ``check_map`` validates a map reply against :class:`MapReply` and then
grounds it: every cited sentence id must exist in the chunk (context comments cannot be cited),
duplicates go, items left with no evidence go. ``check_reduce`` checks that a reduce reply merges
every input id exactly once. Both return a :class:`Checked` reply: what could be kept, and as
errors what could not, ready to be sent back to the model in a re-ask.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
    """What the map prompt asks for."""

    claims: list[MapClaim]


class ReduceClaim(_Strict):
    """A thread-level claim made of merged chunk claims."""

    statement: str
    merges: list[str] = Field(description="IDs of the input claims this claim merges.")


class ReduceReply(_Strict):
    """What the reduce prompt asks for."""

    overview: str
    claims: list[ReduceClaim]


MAP_SHAPE = (
    '{"claims": [{"statement": str, "evidence": [sentence id], "supporters": [sentence id], '
    '"rebuttals": [{"statement": str, "evidence": [sentence id], '
    '"counters": [{"statement": str, "evidence": [sentence id]}]}]}]}'
)
REDUCE_SHAPE = '{"overview": str, "claims": [{"statement": str, "merges": [ID]}]}'


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


def _schema_errors(e: ValidationError) -> list[str]:
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


def check_map(value: Any, valid_ids: set[str]) -> Checked[MapReply]:
    """Validate a parsed map reply; keep what is grounded, report the rest.

    Raises :class:`ReplyError` when the reply does not fit the schema at all.
    """
    try:
        reply = MapReply.model_validate(value)
    except ValidationError as e:
        raise ReplyError(_schema_errors(e)) from None
    out = Checked(MapReply(claims=[]))

    def keep(ids: list[str], where: str) -> list[str]:
        kept: list[str] = []
        for sid in ids:
            if sid in kept:
                continue
            if sid not in valid_ids:
                out.errors.append(f"{where}: sentence id {sid!r} is not in the data")
                out.dropped += 1
                continue
            kept.append(sid)
        return kept

    seen_statements: set[str] = set()
    for i, claim in enumerate(reply.claims, start=1):
        where = f"claims[{i}]"
        evidence = keep(claim.evidence, f"{where}.evidence")
        statement = one_line(claim.statement)
        if not statement or not evidence:
            out.errors.append(f"{where}: a claim needs a statement and at least one valid id")
            continue
        if statement.lower() in seen_statements:
            continue  # a repeated item
        seen_statements.add(statement.lower())
        rebuttals = []
        for j, r in enumerate(claim.rebuttals, start=1):
            rw = f"{where}.rebuttals[{j}]"
            r_evidence = keep(r.evidence, f"{rw}.evidence")
            if not r.statement.strip() or not r_evidence:
                out.errors.append(f"{rw}: a rebuttal needs a statement and at least one valid id")
                continue
            counters = []
            for k, c in enumerate(r.counters, start=1):
                c_evidence = keep(c.evidence, f"{rw}.counters[{k}].evidence")
                if c.statement.strip() and c_evidence:
                    counters.append(MapCounter(statement=c.statement, evidence=c_evidence))
            rebuttals.append(
                MapRebuttal(statement=r.statement, evidence=r_evidence, counters=counters)
            )
        supporters = keep([s for s in claim.supporters if s not in evidence], f"{where}.supporters")
        out.reply.claims.append(
            MapClaim(
                statement=statement,
                evidence=evidence,
                supporters=supporters,
                rebuttals=rebuttals,
            )
        )
    return out


def check_reduce(value: Any, input_ids: list[str]) -> Checked[ReduceReply]:
    """Validate a reduce reply: every input id merged exactly once, none invented.

    Ids the model forgot become claims of their own; invented ids are dropped; each is
    reported. Raises :class:`ReplyError` when the reply does not fit the schema.
    """
    try:
        reply = ReduceReply.model_validate(value)
    except ValidationError as e:
        raise ReplyError(_schema_errors(e)) from None
    known = set(input_ids)
    used: set[str] = set()
    errors: list[str] = []
    claims: list[ReduceClaim] = []
    for i, claim in enumerate(reply.claims, start=1):
        merges = []
        for mid in claim.merges:
            if mid not in known:
                errors.append(f"claims[{i}].merges: {mid!r} is not an input ID")
            elif mid in used:
                errors.append(f"claims[{i}].merges: {mid!r} is already merged elsewhere")
            else:
                merges.append(mid)
                used.add(mid)
        if merges and claim.statement.strip():
            claims.append(ReduceClaim(statement=claim.statement, merges=merges))
    missing = [mid for mid in input_ids if mid not in used]
    if missing:
        errors.append(f"input IDs not merged into any claim: {', '.join(missing[:10])}")
    return Checked(ReduceReply(overview=reply.overview, claims=claims), errors)
