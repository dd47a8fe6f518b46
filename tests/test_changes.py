"""Stable claim ids and what changed between two summaries (service.claim_ids, service.changes)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from service import Settings, read_thread, summarize
from service.changes import compare
from service.claim_ids import assign_ids
from service.cli import main
from service.devtools.synthetic import synthetic_thread
from service.errors import UsageError
from service.models import (
    Citation,
    Claim,
    Counter,
    EngineInfo,
    Prevalence,
    Rebuttal,
    ThreadInfo,
    ThreadSummary,
)

from .conftest import EXAMPLE_PAGE

ID = re.compile(r"^K[0-9a-z]{6}(-\d+)?$")


def _cite(comment: str, quote: str, sid: str = "c1.1") -> Citation:
    return Citation(comment_id=comment, sentence_ids=[sid], quote=quote)


def _claim(
    cid: str,
    anchor: tuple[str, str],
    *,
    supporters: list[Citation] | None = None,
    rebuttals: list[Rebuttal] | None = None,
    comments: int = 1,
) -> Claim:
    return Claim(
        id=cid,
        statement=anchor[1],
        prevalence=Prevalence(comments=comments, authors=comments),
        evidence=[_cite(*anchor)],
        supporters=supporters or [],
        rebuttals=rebuttals or [],
    )


def _summary(claims: list[Claim], comments: int = 10) -> ThreadSummary:
    return ThreadSummary(
        thread=ThreadInfo(id="t", source="native", comments=comments, authors=3, max_depth=2),
        engine=EngineInfo(kind="extractive"),
        overview="",
        claims=claims,
    )


def test_ids_follow_the_anchor_not_the_rank() -> None:
    a = _claim("K1", ("100", "Roads are public goods."))
    b = _claim("K2", ("200", "Software is not a road."))
    first = assign_ids(_summary([a.model_copy(deep=True), b.model_copy(deep=True)]))
    swapped = assign_ids(_summary([b.model_copy(deep=True), a.model_copy(deep=True)]))
    assert [c.id for c in first.claims] == [c.id for c in reversed(swapped.claims)]
    assert all(ID.match(c.id) for c in first.claims)


def test_renaming_reaches_warnings_overview_and_rebuttals() -> None:
    rebuttal = Rebuttal(id="K1.R1", statement="No.", evidence=[_cite("101", "No.", "c2.1")])
    s = _summary([_claim("K1", ("100", "Yes."), rebuttals=[rebuttal])])
    s.overview = "People split most on K1."
    s.warnings = ["K1: 2 further rebuttal(s) not shown", "K10 is not a claim here"]
    assign_ids(s)
    new = s.claims[0].id
    assert s.overview == f"People split most on {new}."
    assert s.warnings == [f"{new}: 2 further rebuttal(s) not shown", "K10 is not a claim here"]
    assert re.fullmatch(re.escape(new) + r"\.R[0-9a-z]{4}", s.claims[0].rebuttals[0].id)


def test_two_claims_on_one_anchor_get_distinct_ids() -> None:
    s = assign_ids(_summary([_claim("K1", ("1", "A.")), _claim("K2", ("1", "A."))]))
    assert len({c.id for c in s.claims}) == 2


def test_compare_names_new_updated_and_gone_claims() -> None:
    roads = ("100", "Roads are public goods.")
    taxes = ("300", "Taxes pay for it.")
    earlier = _summary(
        [
            _claim("Ka", roads, rebuttals=[Rebuttal(id="Ka.Rx", statement="No.", evidence=[])]),
            _claim("Kb", ("200", "Software is different.")),
            _claim("Kc", taxes),
        ],
        comments=10,
    )
    counter = Counter(statement="Yes.", evidence=[_cite("104", "Yes.")])
    now = _summary(
        [
            _claim(
                "Ka",
                roads,
                supporters=[_cite("102", "Agreed.")],
                rebuttals=[
                    Rebuttal(id="Ka.Rx", statement="No.", evidence=[], counters=[counter]),
                    Rebuttal(id="Ka.Ry", statement="Never.", evidence=[_cite("103", "Never.")]),
                ],
                comments=3,
            ),
            _claim("Kd", ("400", "Nobody asked.")),
            # Kc's anchor is now a supporter of a claim with another anchor: merged.
            _claim("Ke", ("500", "Public money, public code."), supporters=[_cite(*taxes)]),
        ],
        comments=14,
    )
    changes = compare(earlier, now)
    assert changes.new_comments == 4 and changes.since_comments == 10
    assert changes.new_claims == ["Kd", "Ke"]
    [update] = changes.updated
    assert update.claim_id == "Ka"
    assert update.new_rebuttals == ["Ka.Ry"]
    assert [c.rebuttal_id for c in update.new_counters] == ["Ka.Rx"]
    assert [c.comment_id for c in update.new_supporters] == ["102"]
    assert update.prevalence_delta.comments == 2
    gone = {g.claim_id: g.merged_into for g in changes.gone}
    assert gone == {"Kb": None, "Kc": "Ke"}


def test_a_claim_whose_anchor_moved_is_matched_by_its_evidence() -> None:
    earlier = _summary([_claim("Kold", ("100", "Roads are public goods."))])
    moved = _claim("Knew", ("090", "Roads, again."))
    moved.evidence.append(_cite("100", "Roads are public goods."))
    changes = compare(earlier, _summary([moved]))
    assert changes.renamed == {"Kold": "Knew"}
    assert not changes.new_claims and not changes.gone


def test_an_unchanged_thread_has_empty_changes() -> None:
    thread = read_thread(EXAMPLE_PAGE.read_bytes())
    first = asyncio.run(summarize(thread, Settings(), engine="extractive"))
    again = asyncio.run(summarize(thread, Settings(), engine="extractive", since=first))
    assert again.changes is not None and again.changes.empty
    assert [c.id for c in again.claims] == [c.id for c in first.claims]


@pytest.mark.parametrize("grown", [310, 330, 450])
def test_claims_keep_their_ids_as_a_generated_thread_grows(grown: int) -> None:
    # synthetic_thread(n) is a prefix of synthetic_thread(n + k): the same thread, later.
    before = read_thread(json.dumps(synthetic_thread(300, 3)))
    after = read_thread(json.dumps(synthetic_thread(grown, 3)))
    first = asyncio.run(summarize(before, Settings(), engine="extractive"))
    later = asyncio.run(summarize(after, Settings(), engine="extractive", since=first))
    assert later.changes is not None
    both = [c for c in first.claims if c.id in {x.id for x in later.claims}]
    matched = len(both) + len(later.changes.renamed)
    assert matched >= 0.8 * len(first.claims)
    assert len(both) >= 0.9 * matched  # of the claims found in both runs, nearly all keep ids
    assert later.changes.new_comments == grown - 300


def test_since_refuses_a_summary_of_another_thread() -> None:
    a = read_thread(json.dumps(synthetic_thread(20, 1, thread_id="a")))
    b = read_thread(json.dumps(synthetic_thread(20, 1, thread_id="b")))
    first = asyncio.run(summarize(a, Settings(), engine="extractive"))
    with pytest.raises(UsageError, match="earlier summary is of native thread 'a'"):
        asyncio.run(summarize(b, Settings(), engine="extractive", since=first))


def test_cli_since_adds_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = tmp_path / "small.json"
    big = tmp_path / "big.json"
    small.write_text(json.dumps(synthetic_thread(200, 5)))
    big.write_text(json.dumps(synthetic_thread(240, 5)))
    earlier = tmp_path / "earlier.json"
    assert main(["summarize", str(small), "--engine", "extractive", "-o", str(earlier)]) == 0
    code = main(
        [
            "summarize",
            str(big),
            "--engine",
            "extractive",
            "--since",
            str(earlier),
            "--output",
            "markdown",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "## What changed" in out
    assert "40 new comments since the earlier summary (200 comments then)." in out


@pytest.mark.parametrize(
    ("content", "message"),
    [("{}", "not a threadsum JSON summary"), (None, "cannot read it")],
)
def test_cli_since_refuses_what_is_not_a_summary(
    tmp_path: Path, content: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    since = tmp_path / "since.json"
    if content is not None:
        since.write_text(content)
    code = main(["summarize", str(EXAMPLE_PAGE), "--engine", "extractive", "--since", str(since)])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
