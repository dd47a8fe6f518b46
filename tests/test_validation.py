from __future__ import annotations

import json
from typing import Any

import pytest

from service.errors import ReplyError
from service.validation import (
    MapReply,
    check_map,
    check_reduce,
    parse_reply,
    strict_schema,
)

VALID = {
    "claims": [
        {
            "statement": "X is true.",
            "evidence": ["c1.1"],
            "supporters": ["c2.1"],
            "rebuttals": [{"statement": "No.", "evidence": ["c3.1"], "counters": []}],
        }
    ]
}


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
        check_map({"claims": [{"statement": 3}]}, {"c1.1"})
    assert any("evidence" in e for e in info.value.errors)


def test_check_map_drops_unknown_ids_duplicates_and_empty_items() -> None:
    value: dict[str, Any] = {
        "claims": [
            {
                "statement": "A",
                "evidence": ["c1.1", "c1.1", "c9.9"],
                "supporters": ["c1.1", "p1.1"],
                "rebuttals": [{"statement": "R", "evidence": ["c8.8"], "counters": []}],
            },
            {"statement": "A", "evidence": ["c1.1"], "supporters": [], "rebuttals": []},
            {"statement": "", "evidence": ["c1.1"], "supporters": [], "rebuttals": []},
        ]
    }
    g = check_map(value, {"c1.1", "c2.1"})
    assert len(g.reply.claims) == 1
    claim = g.reply.claims[0]
    assert claim.evidence == ["c1.1"] and claim.supporters == [] and claim.rebuttals == []
    assert g.dropped == 3 and len(g.errors) == 5


def test_check_reduce_repairs_and_reports() -> None:
    checked = check_reduce(
        {"overview": "o", "claims": [{"statement": "S", "merges": ["m1", "m9", "m1"]}]},
        ["m1", "m2"],
    )
    reply, errors = checked.reply, checked.errors
    assert [c.merges for c in reply.claims] == [["m1"]]
    assert any("m9" in e for e in errors) and any("m2" in e for e in errors)


def test_strict_schema_closes_every_object() -> None:
    schema = strict_schema(MapReply)
    for node in [schema, *schema["$defs"].values()]:
        assert node["additionalProperties"] is False
        assert set(node["required"]) == set(node["properties"])
