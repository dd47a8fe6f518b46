from __future__ import annotations

import json
from typing import Any

import pytest

from service.answer_format import WireMap, WireReduce, answer_schema, format_ids, parse_ids
from service.errors import ReplyError
from service.model.modes import is_strict
from service.validation import (
    MapClaim,
    MapCounter,
    MapRebuttal,
    MapReply,
    ReduceClaim,
    ReduceReply,
    check_map,
    check_reduce,
    encode_map,
    encode_reduce,
    parse_reply,
    strict_schema,
)

VALID = {"k": [{"t": "c1.1 X is true.", "p": "c2.1", "r": [{"t": "c3.1 No."}]}]}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(VALID),
        "```json\n" + json.dumps(VALID) + "\n```",
        "Here you go:\n" + json.dumps(VALID) + "\nHope this helps!",
        "Sure! ```\n" + json.dumps(VALID, indent=2) + "\n```",
    ],
)
def test_parse_reply_tolerates_fences_and_prose(text: str) -> None:
    assert parse_reply(text) == VALID


def test_parse_reply_rejects_garbage() -> None:
    with pytest.raises(ReplyError, match="not valid JSON"):
        parse_reply("}{ not json")


def test_check_map_schema_errors_are_reported() -> None:
    with pytest.raises(ReplyError) as info:
        check_map({"k": [{"t": 3}]}, {"c1.1"})
    assert any("k.0.t" in e for e in info.value.errors)
    with pytest.raises(ReplyError):
        check_map({"claims": []}, {"c1.1"})  # the long field names are not the format


def test_check_map_expands_ranges_and_leaves_out_nothing_required() -> None:
    value = {"k": [{"t": "c1.1-3 c2.2 Ranges cite every sentence in them."}]}
    valid = {"c1.1", "c1.2", "c1.3", "c2.1", "c2.2"}
    checked = check_map(value, valid)
    assert checked.errors == []
    (claim,) = checked.reply.claims
    assert claim.statement == "Ranges cite every sentence in them."
    assert claim.evidence == ["c1.1", "c1.2", "c1.3", "c2.2"]
    assert claim.supporters == [] and claim.rebuttals == []


def test_check_map_reports_ranges_past_a_comment_bad_ids_and_garbage() -> None:
    value = {
        "k": [
            {
                "t": "c1.1-9 c1.4-2 c7.1: A claim.",
                "p": "c1.1 c2.1-2 banana p1.1",
                "r": [{"t": "c8.8 Unfounded.", "c": ["c2.1"]}],
            },
            {"t": "A claim with no ids."},
        ]
    }
    checked = check_map(value, {"c1.1", "c1.2", "c2.1"})
    (claim,) = checked.reply.claims
    assert claim.evidence == ["c1.1", "c1.2"]  # the part of the range that is in the data
    assert claim.supporters == ["c2.1"] and claim.rebuttals == []
    text = "\n".join(checked.errors)
    assert "'c1.1-9' runs past the data ('c1.3' is not in it)" in text
    assert "'c7.1' is not in the data" in text and "'p1.1' is not in the data" in text
    assert "'c1.4-2': the range runs backwards" in text and claim.statement == "A claim."
    assert "'banana' is not a sentence id" in text and "'c2.1-2' runs past" in text
    assert "k[1].r[1]: a rebuttal needs" in text and "k[2]: a claim needs" in text
    assert checked.dropped == 7


def test_check_map_drops_duplicates_and_repeated_claims() -> None:
    value: dict[str, Any] = {
        "k": [
            {"t": "c1.1 c1.1 A", "p": "c1.1"},
            {"t": "c1.1 A"},
            {"t": "c1.1"},
        ]
    }
    g = check_map(value, {"c1.1", "c2.1"})
    assert len(g.reply.claims) == 1
    claim = g.reply.claims[0]
    assert claim.evidence == ["c1.1"] and claim.supporters == [] and claim.rebuttals == []
    assert g.dropped == 0 and len(g.errors) == 1


def test_encode_map_is_the_inverse_of_check_map() -> None:
    reply = MapReply(
        claims=[
            MapClaim(
                statement="Open models commoditise the layer rivals sell.",
                evidence=["c1.1", "c1.2", "c1.3", "c4.2"],
                supporters=["c6.1"],
                rebuttals=[
                    MapRebuttal(
                        statement="Not quite.",
                        evidence=["c2.1"],
                        counters=[MapCounter(statement="It is.", evidence=["c3.2", "c3.3"])],
                    )
                ],
            ),
            MapClaim(statement="Alone.", evidence=["c9.1"], supporters=[], rebuttals=[]),
        ]
    )
    wire = encode_map(reply)
    assert wire["k"][0]["t"] == "c1.1-3 c4.2 Open models commoditise the layer rivals sell."
    assert wire["k"][0]["r"][0]["c"] == ["c3.2-3 It is."]
    assert wire["k"][1] == {"t": "c9.1 Alone."}  # no empty fields
    valid = {"c1.1", "c1.2", "c1.3", "c4.2", "c6.1", "c2.1", "c3.2", "c3.3", "c9.1"}
    assert check_map(json.loads(json.dumps(wire)), valid).reply == reply


@pytest.mark.parametrize(
    ("ids", "text"),
    [
        (["c3.1", "c3.2", "c3.3", "c5.1", "c3.4"], "c3.1-3 c5.1 c3.4"),
        (["m1", "m2", "m4"], "m1-2 m4"),
        ([], ""),
    ],
)
def test_id_strings_round_trip(ids: list[str], text: str) -> None:
    assert format_ids(ids) == text
    assert parse_ids(text, sentences=ids[0].startswith("c") if ids else True) == (ids, [])


def test_parse_ids_reads_long_forms_and_refuses_huge_ranges() -> None:
    assert parse_ids("C3.1-c3.3, c4.2")[0] == ["c3.1", "c3.2", "c3.3", "c4.2"]
    assert parse_ids("m1-m3", sentences=False)[0] == ["m1", "m2", "m3"]
    ids, bad = parse_ids("c1.1-999999999 c1.2-c2.4")
    assert ids == [] and "too long" in bad[0] and "one comment" in bad[1]


def test_check_reduce_repairs_and_reports() -> None:
    checked = check_reduce(
        {"k": [{"m": "m1 m9", "s": "S"}, {"m": "m3 m2 m1"}, {"m": "x7.1"}]},
        {"m1": "One.", "m2": "Two.", "m3": "Three.", "m4": "Four."},
    )
    reply, errors = checked.reply, checked.errors
    # m3's statement is kept (none given); m4, listed nowhere, stays apart; in input order
    assert [(c.statement, c.merges) for c in reply.claims] == [
        ("S", ["m1"]),
        ("Three.", ["m3", "m2"]),
        ("Four.", ["m4"]),
    ]
    assert any("m9" in e for e in errors) and any("already merged" in e for e in errors)
    assert any("x7.1" in e for e in errors) and not any("m4" in e for e in errors)
    with pytest.raises(ReplyError):
        check_reduce({"k": [], "o": "An overview."}, {"m1": "One."})  # not this answer's field


def test_encode_reduce_lists_only_what_changes() -> None:
    inputs = {"m1": "One.", "m2": "Two.", "m3": "Three."}
    reply = ReduceReply(
        claims=[
            ReduceClaim(statement="One.", merges=["m1", "m3"]),
            ReduceClaim(statement="Two.", merges=["m2"]),
        ],
    )
    wire = encode_reduce(reply, inputs)
    assert wire == {"k": [{"m": "m1 m3"}]}
    assert check_reduce(wire, inputs).reply == reply


def test_strict_schema_closes_every_object() -> None:
    schema = strict_schema(MapReply)
    for node in [schema, *schema["$defs"].values()]:
        assert node["additionalProperties"] is False
        assert set(node["required"]) == set(node["properties"])
    assert is_strict(schema)


def test_answer_schemas_leave_empty_fields_optional() -> None:
    schema = answer_schema(WireMap)
    claim = schema["$defs"]["WireClaim"]
    assert claim["additionalProperties"] is False and claim["required"] == ["t"]
    assert not is_strict(schema) and not is_strict(answer_schema(WireReduce))
    assert "default" not in json.dumps(schema)
