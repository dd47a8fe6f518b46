"""The delta answer: its compact wire form (:data:`DELTA_SHAPE`) and its validation.

A delta answer is a map answer (``k``, new claims) extended by ``a``: for each listed claim the
new comments back (``p``) or rebut (``r``), or listed rebuttal they counter (``c``), the sentence
ids that do it. :func:`check_delta` grounds it like a map answer: only the batch's new sentences
may be cited, only listed ids touched; what is not grounded is dropped and reported.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ...answer_format import WireClaim, WireRebuttal, split_item
from ...errors import ReplyError
from ...text.wording import one_line
from ...validation import (
    Checked,
    MapClaim,
    MapCounter,
    MapRebuttal,
    check_map,
    keep_cited,
    schema_errors,
)

__all__ = ["DELTA_SHAPE", "DeltaReply", "Touch", "WireDelta", "check_delta"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WireTouch(_Strict):
    """What new comments add to a listed claim (``p``, ``r``) or rebuttal (``c``)."""

    i: str
    p: str = ""
    r: list[WireRebuttal] = []
    c: list[str] = []


class WireDelta(_Strict):
    """A delta answer as the model writes it: ``k`` new claims, ``a`` additions to listed ids."""

    k: list[WireClaim] = []
    a: list[WireTouch] = []


DELTA_SHAPE = "{k: [{t, p?, r?: [{t, c?: [t]}]}], a: [{i, p?, r?: [{t, c?}], c?: [t]}]}"
"""The delta answer's shape as the prompt shows it (``?``: may be left out)."""


class Touch(_Strict):
    """Validated additions to one listed id, with batch-local sentence ids."""

    target: str
    supporters: list[str]
    rebuttals: list[MapRebuttal]
    counters: list[MapCounter]


class DeltaReply(_Strict):
    """A delta answer, validated."""

    claims: list[MapClaim]
    touches: list[Touch]


def check_delta(
    value: Any, valid_ids: set[str], claim_ids: set[str], rebuttal_ids: set[str]
) -> Checked[DeltaReply]:
    """Validate a parsed delta answer: ``k`` exactly as a map answer (:func:`check_map`), and
    each ``a`` item naming a listed claim (``p``, ``r``) or rebuttal (``c``), citing only
    ``valid_ids``. What is not grounded is dropped and reported; raises :class:`ReplyError`
    when the answer does not fit the schema at all."""
    try:
        wire = WireDelta.model_validate(value)
    except ValidationError as e:
        raise ReplyError(schema_errors(e)) from None
    mapped = check_map({"k": [c.model_dump() for c in wire.k]}, valid_ids)
    out: Checked[DeltaReply] = Checked(
        DeltaReply(claims=mapped.reply.claims, touches=[]), list(mapped.errors), mapped.dropped
    )

    def keep(text: str, where: str) -> list[str]:
        return keep_cited(text, valid_ids, where, out, "the new comments")

    def item(text: str, where: str) -> tuple[str, list[str]] | None:
        ids, statement = split_item(text)
        evidence = keep(ids, where)
        if not one_line(statement) or not evidence:
            out.errors.append(f"{where}: an item needs sentence ids and then a statement")
            return None
        return one_line(statement), evidence

    for n, t in enumerate(wire.a, start=1):
        where = f"a[{n}]"
        is_claim, is_rebuttal = t.i in claim_ids, t.i in rebuttal_ids
        if not (is_claim or is_rebuttal):
            out.errors.append(f"{where}.i: {t.i!r} is not a listed claim or rebuttal ID")
            continue
        if is_rebuttal and (t.p or t.r):
            out.errors.append(f"{where}: {t.i!r} is a rebuttal: only c (counters) fit it")
        if is_claim and t.c:
            out.errors.append(f"{where}: {t.i!r} is a claim: counters go under r")
        supporters = keep(t.p, f"{where}.p") if is_claim else []
        rebuttals = []
        for j, r in enumerate(t.r if is_claim else [], start=1):
            got = item(r.t, f"{where}.r[{j}].t")
            if got is None:
                continue
            counters = [
                MapCounter(statement=s, evidence=e)
                for k, c in enumerate(r.c, start=1)
                if (ce := item(c, f"{where}.r[{j}].c[{k}]")) is not None
                for s, e in [ce]
            ]
            rebuttals.append(MapRebuttal(statement=got[0], evidence=got[1], counters=counters))
        counters = [
            MapCounter(statement=s, evidence=e)
            for k, c in enumerate(t.c if is_rebuttal else [], start=1)
            if (ce := item(c, f"{where}.c[{k}]")) is not None
            for s, e in [ce]
        ]
        if supporters or rebuttals or counters:
            out.reply.touches.append(
                Touch(target=t.i, supporters=supporters, rebuttals=rebuttals, counters=counters)
            )
    return out
