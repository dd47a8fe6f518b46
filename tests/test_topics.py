"""Large threads: topics over claims, repeated comments counted once, controversy, claim limit."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from service.devtools.synthetic import synthetic_thread
from service.engines.controversy import measure, split_sentence
from service.engines.duplicates import find_duplicates
from service.engines.extractive import summarize_extractive
from service.engines.limits import claim_limit
from service.engines.llm.assemble import ClaimGroup, build_claims
from service.engines.llm.map import ChunkClaim, ChunkRebuttal
from service.engines.topics import build_topics, cluster
from service.errors import EvalDataError
from service.eval.gold import read_gold
from service.eval.maps import score_topics
from service.grounding import check_summary, quote_key
from service.ingest import read_thread
from service.models import (
    Citation,
    Claim,
    Controversy,
    EngineInfo,
    Prevalence,
    Thread,
    ThreadInfo,
    ThreadSummary,
    Topic,
)
from service.render import render_json, render_markdown

from .conftest import FIXTURES

COPY = (
    "Vote no on measure twelve: it doubles the property tax for every family in the county "
    "and the money goes to consultants."
)


def _thread(comments: list[dict[str, Any]], title: str = "t") -> Thread:
    doc = {"id": "t", "title": title, "source": "native", "comments": comments}
    return read_thread(json.dumps(doc), "native")


def _c(cid: str, text: str, parent: str | None = None, author: str | None = None) -> dict[str, Any]:
    return {"id": cid, "parent_id": parent, "author": author or f"u{cid}", "text": text}


def _flood() -> Thread:
    comments = [
        _c("a", "Measure twelve funds the new library, and the library will pay for itself."),
        _c("a1", "I disagree, the library budget is already overrun by half.", "a"),
    ]
    comments += [_c(f"x{n}", COPY, author=f"sock{n}") for n in range(50)]
    comments += [_c("b", "Parking downtown is the real problem this council should fix first.")]
    return _thread(comments)


def _all_quotes_distinct(summary: ThreadSummary) -> bool:
    lists = []
    for claim in summary.claims:
        lists += [claim.evidence, claim.supporters]
        for r in claim.rebuttals:
            lists.append(r.evidence)
            lists += [c.evidence for c in r.counters]
    return all(len({quote_key(c.quote) for c in cs}) == len(cs) for cs in lists)


# --- Duplicates ---------------------------------------------------------------------------------


def test_fifty_copies_of_one_comment_count_once_and_the_summary_says_so() -> None:
    thread = _flood()
    summary = summarize_extractive(thread)
    (group,) = summary.duplicates
    assert group.count == 50 and group.authors == 50
    assert group.comment_ids == [f"x{n}" for n in range(50)]
    assert group.excerpt.startswith("Vote no on measure twelve")
    copied = [c for c in summary.claims if c.statement.startswith("Vote no")]
    assert len(copied) == 1
    claim = copied[0]
    assert claim.prevalence == Prevalence(comments=1, authors=1)
    assert len(claim.evidence) == 1  # one quote, not fifty
    assert any("repeated text" in w and "50 comments" in w for w in summary.warnings)
    md = render_markdown(summary)
    assert "## Repeated comments" in md and "50 copies by 50 authors" in md
    assert not check_summary(summary, thread)


def test_near_copies_group_but_short_stock_replies_and_shared_quotes_do_not() -> None:
    edited = COPY.replace("consultants", "lobbyists")
    quote = "> " + COPY
    thread = _thread(
        [
            _c("a", COPY),
            _c("b", edited),  # one word changed in a 22-word text
            _c("c", "I don't think that's right."),
            _c("d", "I don't think that's right."),
            _c("e", quote + "\n\nThis is simply false, the rate stays the same.", "a"),
            _c("f", quote + "\n\nExactly, and the consultants are friends of the mayor.", "a"),
        ]
    )
    duplicates = find_duplicates(thread)
    assert duplicates.groups == (("a", "b"),)
    assert duplicates.canonical("b") == "a" and duplicates.canonical("c") == "c"


def test_llm_assembly_cites_a_repeated_quote_once_and_counts_copies_once() -> None:
    thread = _thread([_c("a", COPY), _c("b", COPY, author="other"), _c("r", "No, it does not.")])
    claim = ChunkClaim(
        statement="Measure twelve doubles the tax.",
        evidence=["c1.1", "c2.1"],
        supporters=[],
        rebuttals=[ChunkRebuttal("It does not.", ["c3.1"], [])],
    )
    (built,) = build_claims(
        thread, [ClaimGroup(claim.statement, [claim])], None, find_duplicates(thread)
    )
    assert len(built.evidence) == 1
    assert built.prevalence == Prevalence(comments=1, authors=1)
    assert built.controversy == Controversy(for_authors=1, against_authors=1, score=2.0)


# --- Controversy --------------------------------------------------------------------------------


def test_controversy_is_volume_raised_to_balance() -> None:
    assert measure({"a"}, set()).score == 0.0
    assert measure({"a"}, {"b"}).score == 2.0
    even = measure({"a", "b", "c", "d", "e"}, {"f", "g", "h", "i", "j"})
    lopsided = measure({str(n) for n in range(9)}, {"x"})
    assert even.score == 10.0 and lopsided.score < 2
    assert (even.for_authors, even.against_authors) == (5, 5)


def _claim(kid: str, statement: str, score: float = 0.0, quote: str | None = None) -> Claim:
    return Claim(
        id=kid,
        statement=statement,
        prevalence=Prevalence(comments=1, authors=1),
        evidence=[Citation(comment_id="a", sentence_ids=["c1.1"], quote=quote or statement)],
        controversy=Controversy(for_authors=2, against_authors=2, score=score),
    )


def test_the_overview_names_the_claims_people_split_on_most() -> None:
    claims = [_claim("K1", "a", 0.0), _claim("K2", "b", 4.0), _claim("K3", "c", 9.0)]
    assert split_sentence(claims) == (
        "People split most over K3 (2 authors for, 2 against), K2 (2 authors for, 2 against)."
    )
    assert split_sentence(claims[:1]) == "No claim drew clear pushback."


def test_a_rebutted_claim_has_authors_on_both_sides() -> None:
    thread = _thread(
        [
            _c("a", "Remote work makes teams more productive because focus time is protected."),
            _c(
                "b",
                "I completely disagree, remote teams lose the quick questions that matter.",
                "a",
            ),
        ]
    )
    summary = summarize_extractive(thread, stance=lambda p, r: _disagree(), threshold=0.5)
    (claim,) = summary.claims
    assert claim.controversy == Controversy(for_authors=1, against_authors=1, score=2.0)
    assert "People split most over K1" in summary.overview


def _disagree() -> Any:
    from service.engines.stance import StanceResult

    return StanceResult("disagree", 0.9)


# --- Topics -------------------------------------------------------------------------------------


def _background(n: int) -> list[dict[str, Any]]:
    """Comments of 12 to 20 words drawn from a broad vocabulary: unrelated chatter."""
    rng = random.Random(5)
    vocab = [
        "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3))
        for _ in range(400)
    ]
    return [
        _c(f"z{i}", " ".join(rng.choice(vocab) for _ in range(rng.randrange(12, 21))) + ".")
        for i in range(n)
    ]


def test_claims_sharing_distinctive_words_form_one_topic() -> None:
    thread = _thread(_background(40))
    claims = [
        _claim("K1", "Nuclear reactors are the cheapest low-carbon baseload."),
        _claim("K2", "Solar panels on every roof beat any subsidy scheme."),
        _claim("K3", "New nuclear reactors take fifteen years to build, so they are too late."),
        _claim("K4", "Cheap solar panels made rooftop subsidy schemes pointless."),
    ]
    topics = build_topics(claims, thread)
    assert [t.claim_ids for t in topics] == [["K1", "K3"], ["K2", "K4"]]
    assert [t.id for t in topics] == ["T1", "T2"]
    assert "nuclear" in topics[0].title and "reactors" in topics[0].title


def test_words_every_comment_uses_do_not_join_claims() -> None:
    common = "kubernetes"
    thread = _thread([_c(f"z{i}", f"{common} again number {i} {i * 7}") for i in range(30)])
    claims = [
        _claim("K1", f"{common} makes deploys slower for small teams."),
        _claim("K2", f"{common} is fine once the billing dashboards exist."),
    ]
    assert [t.claim_ids for t in build_topics(claims, thread)] == [["K1"], ["K2"]]


def test_average_linkage_stops_at_the_threshold() -> None:
    vectors = [{"a": 1.0}, {"a": 0.6, "b": 0.8}, {"c": 1.0}]
    assert cluster(vectors, 0.5) == [[0, 1], [2]]
    assert cluster(vectors, 0.7) == [[0], [1], [2]]
    assert cluster([], 0.1) == []


@pytest.mark.parametrize("n", [1000, pytest.param(5000, marks=pytest.mark.slow)])
def test_every_claim_of_a_large_thread_is_in_exactly_one_topic(n: int) -> None:
    thread = read_thread(json.dumps(synthetic_thread(n, seed=3)), "native")
    summary = summarize_extractive(thread)
    placed = [k for t in summary.topics for k in t.claim_ids]
    assert sorted(placed) == sorted(c.id for c in summary.claims) and len(placed) == len(
        set(placed)
    )
    assert summary.claims and summary.topics
    assert _all_quotes_distinct(summary) and not check_summary(summary, thread)
    assert summary.duplicates  # the generator draws from small sentence banks: copies abound
    md = render_markdown(summary)
    assert all(f"## {t.id} · " in md for t in summary.topics)
    doc = json.loads(render_json(summary))
    assert doc["schema_version"] == "1.1" and len(doc["topics"]) == len(summary.topics)


@pytest.mark.parametrize("path", sorted((FIXTURES / "eval" / "threads").glob("*.json")))
def test_every_claim_of_the_gold_threads_is_in_one_topic(path: Path) -> None:
    thread = read_gold(path).thread
    summary = summarize_extractive(thread)
    placed = [k for t in summary.topics for k in t.claim_ids]
    assert sorted(placed) == sorted(c.id for c in summary.claims)
    assert _all_quotes_distinct(summary)


# --- Claim limit --------------------------------------------------------------------------------


def test_the_claim_limit_grows_with_the_thread() -> None:
    assert claim_limit(None, 10) == 20
    assert claim_limit(None, 1000) == 64 and claim_limit(None, 5000) == 142
    assert claim_limit(0, 5000) is None and claim_limit(7, 5000) == 7


def test_claims_past_the_limit_are_counted_in_the_output() -> None:
    thread = _thread(
        [
            _c("a", "Trains should replace short flights because they emit far less."),
            _c("b", "Bike lanes must be protected, or parents will never use them."),
            _c("c", "Congestion pricing is the only measure that cuts traffic for good."),
        ]
    )
    summary = summarize_extractive(thread, max_claims=1)
    assert len(summary.claims) == 1 and summary.claims_omitted == 2
    md = render_markdown(summary)
    assert "2 further claim(s) with less engagement are not shown" in md
    assert summarize_extractive(thread, max_claims=0).claims_omitted == 0


# --- Markdown and the eval topic check -----------------------------------------------------------


def _summary(claims: list[Claim], topics: list[Topic]) -> ThreadSummary:
    return ThreadSummary(
        thread=ThreadInfo(id="t", source="native", comments=3, authors=3, max_depth=1),
        engine=EngineInfo(kind="extractive"),
        overview="",
        claims=claims,
        topics=topics,
    )


def test_markdown_shows_claims_under_their_topic() -> None:
    claims = [_claim("K1", "One."), _claim("K2", "Two."), _claim("K3", "Three.")]
    topics = [
        Topic(
            id="T1",
            title="alpha",
            claim_ids=["K1", "K3"],
            prevalence=Prevalence(comments=2, authors=2),
        ),
        Topic(
            id="T2", title="beta", claim_ids=["K2"], prevalence=Prevalence(comments=1, authors=1)
        ),
    ]
    lines = render_markdown(_summary(claims, topics)).splitlines()
    heads = [line for line in lines if line.startswith("#")]
    assert heads[1:] == [
        "## T1 · alpha",
        "### K1 · One.",
        "### K3 · Three.",
        "## T2 · beta",
        "### K2 · Two.",
    ]
    assert "*3 claims in 2 topics.*" in lines


def _gold_file(tmp_path: Path, topic_on: str = "c1") -> Path:
    comments = [
        {"id": "c1", "parent_id": None, "author": "a", "text": "Claim one here.", "role": "claim"},
        {
            "id": "c2",
            "parent_id": "c1",
            "author": "b",
            "text": "No.",
            "role": "rebuttal",
            "claim": "c1",
        },
        {"id": "c3", "parent_id": None, "author": "c", "text": "Claim two here.", "role": "claim"},
    ]
    for c in comments:
        if c["id"] == topic_on:
            c["topic"] = "roads"
    comments[2]["topic"] = "roads"
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"id": "g", "source": "native", "comments": comments}))
    return path


def test_gold_topics_are_scored_by_where_their_claims_land(tmp_path: Path) -> None:
    gold = read_gold(_gold_file(tmp_path))
    assert gold.topic_of("c2") == "roads"

    def cited(kid: str, cid: str) -> Claim:
        claim = _claim(kid, kid)
        return claim.model_copy(
            update={"evidence": [Citation(comment_id=cid, sentence_ids=["c1.1"], quote=kid)]}
        )

    claims = [cited("K1", "c1"), cited("K2", "c2"), cited("K3", "c3")]
    apart = [
        Topic(
            id="T1", title="x", claim_ids=["K1", "K2"], prevalence=Prevalence(comments=1, authors=1)
        ),
        Topic(id="T2", title="y", claim_ids=["K3"], prevalence=Prevalence(comments=1, authors=1)),
    ]
    counts = score_topics(_summary(claims, apart), gold)
    assert (counts.claims, counts.together, counts.split, counts.mixed) == (3, 2, 1, 0)
    one = [
        Topic(
            id="T1",
            title="x",
            claim_ids=["K1", "K2", "K3"],
            prevalence=Prevalence(comments=1, authors=1),
        )
    ]
    assert score_topics(_summary(claims, one), gold).share_together == 1.0


def test_a_topic_on_a_comment_that_is_not_a_claim_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match="'topic' is a non-empty label, on claims only"):
        read_gold(_gold_file(tmp_path, topic_on="c2"))


def test_the_cli_takes_a_claim_limit_and_the_schema_has_topics(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from service.cli import main

    from .conftest import EXAMPLE_PAGE

    args = ["summarize", str(EXAMPLE_PAGE), "--engine", "extractive", "--max-claims", "1"]
    assert main([*args, "--output", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "further claim(s) with less engagement are not shown" in out and "## T1 · " in out
    assert main([*args[:-1], "-1"]) == 2
    capsys.readouterr()
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"topics", "claims_omitted", "duplicates"} <= set(schema["properties"])
    assert schema["properties"]["schema_version"]["const"] == "1.1"
