from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.devtools.synthetic import synthetic_thread
from service.engines.extractive import summarize_extractive
from service.engines.stance import classify
from service.grounding import check_summary, cite
from service.ingest import read_thread
from service.models import Citation, ThreadSummary

from .conftest import EXAMPLE_PAGE


@pytest.fixture(scope="module")
def example() -> tuple[object, ThreadSummary]:
    thread = read_thread(EXAMPLE_PAGE.read_bytes())
    return thread, summarize_extractive(thread)


def _starts(citations: list[Citation], prefix: str) -> bool:
    return any(c.quote.lstrip("> ").startswith(prefix) for c in citations)


def test_example_page_maps_the_real_disagreements(example: tuple[object, ThreadSummary]) -> None:
    thread, summary = example
    assert check_summary(summary, thread) == []  # type: ignore[arg-type]
    # motoboi asks; the answers are the claims.
    assert "What is the business here?" in summary.overview
    statements = [c.statement for c in summary.claims]
    assert statements[0].startswith("Chinese state that maybe sees open collaboration")
    assert any(s.startswith("Speculating: there are two connected businesses") for s in statements)
    k1 = summary.claims[0]
    # The two replies that push back on the "Chinese state" comment are its rebuttals …
    by_text = {r.statement[:30]: r for r in k1.rebuttals}
    tiananmen = next(r for r in k1.rebuttals if r.statement.startswith("I love how Tiananmen"))
    taiwan = next(r for r in k1.rebuttals if "same page as the UN and US" in r.statement)
    assert len(by_text) == 2
    # … the rebuttal quoting "Taiwan belongs to China" cites that quote with its question …
    assert _starts(taiwan.evidence, "Taiwan belongs to China")
    # … and the replies defending the original claim are counters to those rebuttals.
    assert [c.statement[:30] for c in tiananmen.counters] == ["The difference is that, in the"]
    assert sorted(c.statement[:20] for c in taiwan.counters) == [
        "Existence of an inde",
        "The One China policy",
    ]
    ids = [r.id for r in k1.rebuttals]
    assert ids == ["K1.R1", "K1.R2"]


def test_example_summary_is_deterministic(example: tuple[object, ThreadSummary]) -> None:
    thread, summary = example
    again = summarize_extractive(thread)  # type: ignore[arg-type]
    strip = {"stats": {"elapsed_s"}}
    assert again.model_dump(exclude=strip) == summary.model_dump(exclude=strip)


@pytest.mark.parametrize(
    ("text", "stance"),
    [
        ("No, that's not how licensing works.", "disagree"),
        ("I don't think that's right. The numbers say otherwise.", "disagree"),
        ("Yes, but the cost is the problem.", "disagree"),
        ("> They give it away\n\nSo they are charities now?", "disagree"),
        ("Exactly, and the same happened with Android.", "agree"),
        ("This.", "agree"),
        ("I agree with all of this.", "agree"),
        ("Do you have a link to the paper?", "question"),
        ("The release notes mention a new tokenizer.", "neutral"),
        ("This is a big change for the industry.", "neutral"),
    ],
)
def test_stance_cues(text: str, stance: str) -> None:
    assert classify(text)[0] == stance


def test_agreeing_replies_are_supporters_and_prevalence_counts_them() -> None:
    doc = {
        "id": "t",
        "title": "T",
        "comments": [
            {
                "id": "1",
                "parent_id": None,
                "author": "a",
                "text": "Rust makes systems code safer. It has costs.",
            },
            {
                "id": "2",
                "parent_id": "1",
                "author": "b",
                "text": "Exactly, the borrow checker catches real bugs.",
            },
            {
                "id": "3",
                "parent_id": "1",
                "author": "c",
                "text": "Agreed. We saw it in production.",
            },
            {
                "id": "4",
                "parent_id": "1",
                "author": "d",
                "text": "No, most memory bugs are logic bugs anyway.",
            },
            {
                "id": "5",
                "parent_id": "4",
                "author": "a",
                "text": "That's not true, the CVE data shows the opposite.",
            },
        ],
    }
    thread = read_thread(json.dumps(doc))
    s = summarize_extractive(thread)
    (claim,) = s.claims
    assert claim.statement == "Rust makes systems code safer."
    assert [c.comment_id for c in claim.supporters] == ["2", "3"]
    assert claim.prevalence.comments == 3 and claim.prevalence.authors == 3
    (reb,) = claim.rebuttals
    assert reb.evidence[0].comment_id == "4"
    assert reb.counters[0].evidence[0].comment_id == "5"
    assert check_summary(s, thread) == []


def test_near_duplicate_claims_merge() -> None:
    doc = {
        "id": "t",
        "comments": [
            {
                "id": "1",
                "parent_id": None,
                "author": "a",
                "text": "Open weights commoditise the model layer.",
            },
            {
                "id": "2",
                "parent_id": None,
                "author": "b",
                "text": "Open weights commoditise the model layer!",
            },
            {
                "id": "3",
                "parent_id": None,
                "author": "c",
                "text": "Hardware is the real bottleneck here.",
            },
        ],
    }
    s = summarize_extractive(read_thread(json.dumps(doc)))
    assert len(s.claims) == 2
    merged = next(c for c in s.claims if c.statement.startswith("Open weights"))
    assert {e.comment_id for e in merged.evidence} == {"1", "2"}
    assert merged.prevalence.comments == 2


def test_deleted_comments_are_never_cited() -> None:
    doc = {
        "id": "t",
        "comments": [
            {"id": "1", "parent_id": None, "author": None, "text": "", "status": "deleted"},
            {"id": "2", "parent_id": "1", "author": "b", "text": "No, this is wrong. Here is why."},
        ],
    }
    thread = read_thread(json.dumps(doc))
    s = summarize_extractive(thread)
    assert all(e.comment_id != "1" for c in s.claims for e in c.evidence)
    assert check_summary(s, thread) == []


def test_check_summary_catches_forged_quotes() -> None:
    thread = read_thread(json.dumps(synthetic_thread(30, 4)))
    s = summarize_extractive(thread)
    forged = s.model_copy(deep=True)
    forged.claims[0].evidence[0].quote = "Something nobody said."
    assert any("not verbatim" in p for p in check_summary(forged, thread))
    forged = s.model_copy(deep=True)
    forged.claims[0].evidence[0].sentence_ids = ["c999.1"]
    assert check_summary(forged, thread)


def test_cite_joins_consecutive_sentences_only() -> None:
    thread = read_thread(json.dumps(synthetic_thread(5, 1)))
    c = next(c for c in thread.comments if len(c.sentences) >= 3)
    ids = [s.id for s in c.sentences]
    one = cite(thread, ids[:2])
    assert len(one) == 1 and one[0].quote in c.text and one[0].sentence_ids == ids[:2]
    two = cite(thread, [ids[0], ids[2]])
    assert len(two) == 2


def test_five_thousand_comments_schema_valid_and_grounded() -> None:
    thread = read_thread(json.dumps(synthetic_thread(5000, 9)))
    s = summarize_extractive(thread)
    assert ThreadSummary.model_validate_json(s.model_dump_json()) == s
    assert 0 < len(s.claims) <= 20
    assert check_summary(s, thread) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 400), seed=st.integers(0, 10_000))
def test_every_generated_summary_is_grounded(n: int, seed: int) -> None:
    thread = read_thread(json.dumps(synthetic_thread(n, seed)))
    s = summarize_extractive(thread)
    assert check_summary(s, thread) == []
    for claim in s.claims:
        for e in claim.evidence:
            assert e.quote in thread.by_id[e.comment_id].text
