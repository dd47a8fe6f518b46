from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.devtools.synthetic import synthetic_thread
from service.engines.argues import claim_probability, not_a_claim_confidence
from service.engines.extractive import StanceFn, reading, summarize_extractive
from service.engines.extractive.reading import argues
from service.engines.stance import Label, StanceResult
from service.grounding import check_summary, cite
from service.ingest import read_thread
from service.models import Citation, Thread, ThreadSummary

from .conftest import EXAMPLE_PAGE


@pytest.fixture(scope="module")
def example() -> tuple[object, ThreadSummary]:
    thread = read_thread(EXAMPLE_PAGE.read_bytes())
    return thread, summarize_extractive(thread)


def _starts(citations: list[Citation], prefix: str) -> bool:
    return any(c.quote.lstrip("> ").startswith(prefix) for c in citations)


def test_example_page_maps_the_real_disagreements(example: tuple[object, ThreadSummary]) -> None:
    """What the map shows of the example page is right; it does not show everything.

    The sarcastic "I love how Tiananmen …" reads as agreement to the model (no role), and the
    replies that argue against a rebuttal on content alone (t4, t6, t7) are below the role
    confidence, so they are no counters: the page is not tuned for.
    """
    thread, summary = example
    assert check_summary(summary, thread) == []  # type: ignore[arg-type]
    # motoboi asks; the answers are the claims.
    assert "What is the business here?" in summary.overview
    statements = [c.statement for c in summary.claims]
    assert statements[0].startswith("Chinese state that maybe sees open collaboration")
    assert any(s.startswith("Speculating: there are two connected businesses") for s in statements)
    k1 = summary.claims[0]
    # The reply quoting "Taiwan belongs to China" and asking back is K1's rebuttal, and cites
    # the quote with its question.
    (taiwan,) = k1.rebuttals
    assert taiwan.id == "K1.R1"
    assert "same page as the UN and US" in taiwan.statement
    assert _starts(taiwan.evidence, "Taiwan belongs to China")
    # No comment plays two roles.
    cited = [e.comment_id for c in summary.claims for e in c.evidence]
    cited += [e.comment_id for c in summary.claims for r in c.rebuttals for e in r.evidence]
    assert len(cited) == len(set(cited))


def test_example_summary_is_deterministic(example: tuple[object, ThreadSummary]) -> None:
    thread, summary = example
    again = summarize_extractive(thread)  # type: ignore[arg-type]
    strip = {"stats": {"elapsed_s"}}
    assert again.model_dump(exclude=strip) == summary.model_dump(exclude=strip)


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


@pytest.fixture
def rules_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The claim model never vetoes: what a test checks is the rules and the map around them."""
    monkeypatch.setattr(reading, "claim_probability", lambda text: 1.0)


@pytest.mark.usefixtures("rules_only")
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
    # The same words twice are quoted once; both comments (two authors) still count.
    assert [e.comment_id for e in merged.evidence] == ["1"]
    assert merged.prevalence.comments == 2 and merged.prevalence.authors == 2


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
    assert 0 < len(s.claims) <= 142  # the claim limit for 5,000 comments
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


# --- The map from parent-relative stances (a scripted stance reader isolates the walk) ---


def _scripted(stances: dict[str, tuple[Label, float]]) -> StanceFn:
    """A stance reader that answers from ``reply text → (label, confidence)``; else other."""

    def read(parent: str, reply: str) -> StanceResult:
        label, confidence = stances.get(reply, ("other", 0.9))
        return StanceResult(label, confidence)

    return read


def _thread(*comments: tuple[str, str | None, str, str]) -> Thread:
    doc = {
        "id": "t",
        "comments": [{"id": i, "parent_id": p, "author": a, "text": t} for i, p, a, t in comments],
    }
    return read_thread(json.dumps(doc))


def _roles(summary: ThreadSummary) -> dict[str, list[str]]:
    """Comment id → every role it plays in the map."""
    roles: dict[str, list[str]] = {}
    for claim in summary.claims:
        for e in claim.evidence:
            roles.setdefault(e.comment_id, []).append(f"{claim.id} claim")
        for e in claim.supporters:
            roles.setdefault(e.comment_id, []).append(f"{claim.id} supporter")
        for r in claim.rebuttals:
            for e in r.evidence:
                roles.setdefault(e.comment_id, []).append(f"{r.id} rebuttal")
            for co in r.counters:
                for e in co.evidence:
                    roles.setdefault(e.comment_id, []).append(f"{r.id} counter")
    return {k: sorted(set(v)) for k, v in roles.items()}


CLAIM_TEXT = "Remote work makes most software teams more productive."


def test_a_deep_disagreement_after_a_neutral_reply_is_judged_against_its_parent() -> None:
    thread = _thread(
        ("1", None, "a", CLAIM_TEXT),
        ("2", "1", "b", "My team moved to remote work in March of this year."),
        ("3", "2", "c", "That is not what happened to the teams I know at all."),
    )
    stance = _scripted(
        {"That is not what happened to the teams I know at all.": ("disagree", 0.95)}
    )
    (claim,) = summarize_extractive(thread, stance=stance, threshold=0.5).claims
    assert claim.rebuttals == []  # 3 disagrees with the side remark 2, not with the claim


def test_a_reply_to_a_rebuttal_that_takes_no_side_is_no_counter() -> None:
    thread = _thread(
        ("1", None, "a", CLAIM_TEXT),
        ("2", "1", "b", "No, the studies show remote teams ship less often."),
        ("3", "2", "c", "Which studies are those, and who funded them?"),
        ("4", "2", "d", "The office lease here runs out in about two years."),
    )
    stance = _scripted({"No, the studies show remote teams ship less often.": ("disagree", 0.9)})
    (claim,) = summarize_extractive(thread, stance=stance, threshold=0.5).claims
    (rebuttal,) = claim.rebuttals
    assert rebuttal.counters == []


def test_a_disagreement_with_a_rebuttal_is_a_counter_and_agreement_backs_it() -> None:
    thread = _thread(
        ("1", None, "a", CLAIM_TEXT),
        ("2", "1", "b", "No, the studies show remote teams ship less often."),
        ("3", "2", "c", "Those studies measured commits, which says nothing about output."),
        ("4", "2", "d", "Right, and our own numbers show the same drop in releases."),
    )
    stance = _scripted(
        {
            "No, the studies show remote teams ship less often.": ("disagree", 0.9),
            "Those studies measured commits, which says nothing about output.": ("disagree", 0.9),
            "Right, and our own numbers show the same drop in releases.": ("agree", 0.9),
        }
    )
    (claim,) = summarize_extractive(thread, stance=stance, threshold=0.5).claims
    (rebuttal,) = claim.rebuttals
    assert [e.comment_id for e in rebuttal.evidence] == ["2", "4"]
    assert [co.evidence[0].comment_id for co in rebuttal.counters] == ["3"]


def test_a_low_confidence_stance_gives_no_role() -> None:
    thread = _thread(
        ("1", None, "a", CLAIM_TEXT),
        ("2", "1", "b", "Maybe, the studies show remote teams ship less often."),
    )
    stance = _scripted({"Maybe, the studies show remote teams ship less often.": ("disagree", 0.6)})
    (claim,) = summarize_extractive(thread, stance=stance, threshold=0.7).claims
    assert claim.rebuttals == []
    (claim,) = summarize_extractive(thread, stance=stance, threshold=0.5).claims
    assert len(claim.rebuttals) == 1


def test_a_comment_has_one_role_never_two() -> None:
    """A rebuttal that draws many replies stays a rebuttal; it does not also start a claim."""
    rebut = "No, the studies show remote teams ship less often than office teams."
    thread = _thread(
        ("1", None, "a", CLAIM_TEXT),
        ("2", "1", "b", rebut),
        ("3", "2", "c", "Those studies measured commits, which says nothing about output."),
        ("4", "2", "d", "Our own release numbers show the same drop since we went remote."),
        ("5", "2", "e", "Office teams are measured the same way, so the comparison holds."),
    )
    stance = _scripted(
        {
            rebut: ("disagree", 0.9),
            "Those studies measured commits, which says nothing about output.": ("disagree", 0.9),
        }
    )
    summary = summarize_extractive(thread, stance=stance, threshold=0.5)
    roles = _roles(summary)
    assert all(len(r) == 1 for r in roles.values()), roles
    assert roles["2"] == ["K1.R1 rebuttal"]


def test_a_side_remark_that_draws_replies_starts_a_claim_of_its_own() -> None:
    side = "Commuting costs are the real reason people want to stay home."
    thread = _thread(
        ("1", None, "a", CLAIM_TEXT),
        ("2", "1", "b", side),
        ("3", "2", "c", "No, plenty of people with short commutes prefer home too."),
        ("4", "2", "d", "Fuel prices went up a lot over the last two years."),
        ("5", "2", "e", "Childcare matters far more than commuting for most parents."),
    )
    stance = _scripted(
        {"No, plenty of people with short commutes prefer home too.": ("disagree", 0.9)}
    )
    summary = summarize_extractive(thread, stance=stance, threshold=0.5)
    claims = {c.statement: c for c in summary.claims}
    assert claims[CLAIM_TEXT].rebuttals == []
    assert [r.evidence[0].comment_id for r in claims[side].rebuttals] == ["3"]
    assert all(len(r) == 1 for r in _roles(summary).values())


def test_a_claimant_defending_his_claim_is_never_its_rebuttal() -> None:
    thread = _thread(
        ("1", None, "a", CLAIM_TEXT),
        ("2", "1", "b", "Do you mean all teams or only the ones that were already remote?"),
        ("3", "2", "a", "No, I mean all of them, the effect holds for every team we measured."),
        ("4", "1", "c", "Exactly, our team ships twice as often since we went remote."),
        ("5", "4", "a", "Well, twice is more than we measured, closer to a third more."),
        ("6", "1", "d", "No, the studies show remote teams ship less often."),
        ("7", "6", "a", "Those studies measured commits, which says nothing about output."),
    )
    stance = _scripted(
        {
            "No, I mean all of them, the effect holds for every team we measured.": (
                "disagree",
                0.9,
            ),
            "Exactly, our team ships twice as often since we went remote.": ("agree", 0.9),
            "Well, twice is more than we measured, closer to a third more.": ("disagree", 0.9),
            "No, the studies show remote teams ship less often.": ("disagree", 0.9),
            "Those studies measured commits, which says nothing about output.": ("disagree", 0.9),
        }
    )
    (claim,) = summarize_extractive(thread, stance=stance, threshold=0.5).claims
    assert [r.evidence[0].comment_id for r in claim.rebuttals] == ["6"]
    assert [co.evidence[0].comment_id for co in claim.rebuttals[0].counters] == ["7"]
    assert [s.comment_id for s in claim.supporters] == ["4"]


def test_a_thread_with_no_dispute_shows_no_rebuttal() -> None:
    """Condolences, thanks and shared memories: the shipped model finds nothing to rebut."""
    thread = _thread(
        ("1", None, "a", "I'm so sorry for your loss. She sounds like she was a wonderful person."),
        ("2", "1", "op", "Thank you, she really was. I miss her every day."),
        ("3", None, "b", "Sending you hugs. Losing a parent is the hardest thing there is."),
        ("4", "3", "op", "Thanks, it means a lot. The last few weeks were very hard."),
        ("5", "3", "c", "Can relate. I lost my dad two years ago and it still hurts."),
        ("6", None, "d", "Rest in peace. Take care of yourself and your family."),
        ("7", "6", "op", "Thank you so much, I will."),
        ("8", "2", "e", "But she would have been so proud of you."),
    )
    summary = summarize_extractive(thread)
    assert [r for c in summary.claims for r in c.rebuttals] == []
    assert summary.claims == []  # kind words are not claims either
    assert check_summary(summary, thread) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "I just noticed something strange in the screenshot.",
        "What is the business here?",
        "Thanks for sharing this!",
        "So sorry for your loss, she was lovely.",
        "That title is the best thing I have read all week lol.",
        "We tried the beta last year.",
        " ".join(["and then it went on and they said that it was fine"] * 10) + ".",
    ],
)
def test_framing_greetings_questions_jokes_and_run_ons_argue_nothing(sentence: str) -> None:
    assert not argues(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Open weights commoditise the model layer.",
        "Hardware is the real bottleneck here.",
        "They should have released the weights years ago.",
        "I think the screenshot was edited.",
    ],
)
def test_points_argue(sentence: str) -> None:
    assert argues(sentence)


def test_a_framing_comment_is_no_claim_and_its_answers_start_none() -> None:
    """Answers under framing talk about it: where they argue, they mostly take a side of a point
    the rules missed, so none of them starts a claim, whatever side it is read to take."""
    answer = "The screenshot is cropped to hide the second account, which changes the story."
    framing = "I just noticed something strange in the screenshot."
    for side in (("other", 0.9), ("disagree", 0.3), ("other", 0.3)):
        thread = _thread(
            ("1", None, "a", framing),
            ("2", "1", "b", answer),
            ("3", "1", "c", "Same, I saw it too."),
        )
        stance = _scripted({answer: side, "Same, I saw it too.": ("agree", 0.9)})
        summary = summarize_extractive(thread, stance=stance, threshold=0.5)
        assert summary.claims == [], side


@pytest.mark.usefixtures("rules_only")
def test_an_answer_that_argues_starts_a_claim_under_a_comment_that_asks() -> None:
    """An answer to a question takes no side by nature, told or not."""
    answer = "The screenshot is cropped to hide the second account, which changes the story."
    asking = "Why would they crop the screenshot like that? I saw it on the train this morning."
    for side in (("other", 0.9), ("disagree", 0.3)):
        thread = _thread(("1", None, "a", asking), ("2", "1", "b", answer))
        summary = summarize_extractive(thread, stance=_scripted({answer: side}), threshold=0.5)
        assert [c.statement for c in summary.claims] == [answer], side
    agreeing = _scripted({answer: ("agree", 0.9)})
    thread = _thread(("1", None, "a", asking), ("2", "1", "b", answer))
    assert summarize_extractive(thread, stance=agreeing, threshold=0.5).claims == []


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("This looks great. How does it handle arrays? Most tools do not.", True),
        ("Does it support YAML? Half my configs are YAML.", True),
        ("I read it to the end. I think I got smarter?", False),
        ("I just noticed something strange in the screenshot.", False),
    ],
)
def test_a_comment_asks_when_any_sentence_is_a_question_that_asks(text: str, asks: bool) -> None:
    from service.engines.extractive.reading import Reader

    thread = _thread(("1", None, "a", text))
    assert Reader(thread, _scripted({})).asks(thread.comments[0]) is asks


def test_run_on_merged_text_never_becomes_a_statement() -> None:
    run_on = (
        " ".join(f"we went to the {w} and it was nice and then we came home" for w in "abcdefg")
        + "."
    )
    assert len(run_on) > 320
    thread = _thread(
        ("1", None, "a", run_on),
        ("2", None, "b", "Public parks are underfunded in most cities."),
    )
    summary = summarize_extractive(thread)
    assert [c.statement for c in summary.claims] == ["Public parks are underfunded in most cities."]


def test_a_reply_whose_side_cannot_be_told_starts_no_claim_and_places_nothing_below() -> None:
    """Below the role confidence a reply may well be a rebuttal: it is neither a claim of its own
    nor the root of roles under it, however many replies it draws."""
    unsure = "Growing up somewhere else, I saw how these arguments really play out for people."
    thread = _thread(
        ("1", None, "a", CLAIM_TEXT),
        ("2", "1", "b", unsure),
        ("3", "2", "c", "No, plenty of people with short commutes prefer home too."),
        ("4", "2", "d", "That is exactly the point, and it holds for most teams I know."),
        ("5", "2", "e", "Childcare matters far more than commuting for most parents."),
    )
    stance = _scripted(
        {
            unsure: ("disagree", 0.4),
            "No, plenty of people with short commutes prefer home too.": ("disagree", 0.9),
            "That is exactly the point, and it holds for most teams I know.": ("agree", 0.9),
        }
    )
    summary = summarize_extractive(thread, stance=stance, threshold=0.5)
    assert [c.statement for c in summary.claims] == [CLAIM_TEXT]
    (claim,) = summary.claims
    assert claim.rebuttals == [] and claim.supporters == []


def test_a_role_needs_every_step_down_from_the_claim_to_be_sure() -> None:
    """A counter is only as sure as the rebuttal it answers and its own stance together."""
    rebut = "No, the studies show remote teams ship less often."
    counter = "Those studies measured commits, which says nothing about output."
    thread = _thread(("1", None, "a", CLAIM_TEXT), ("2", "1", "b", rebut), ("3", "2", "c", counter))
    stance = _scripted({rebut: ("disagree", 0.75), counter: ("disagree", 0.75)})
    (claim,) = summarize_extractive(thread, stance=stance, threshold=0.6).claims
    (rebuttal,) = claim.rebuttals  # 0.75 alone is sure enough
    assert rebuttal.counters == []  # 0.75 x 0.75 = 0.56 is not
    (claim,) = summarize_extractive(thread, stance=stance, threshold=0.5).claims
    assert [co.evidence[0].comment_id for co in claim.rebuttals[0].counters] == ["3"]


def test_a_reply_repeating_its_ancestor_never_merges_into_the_same_claim() -> None:
    """A reply that quotes a claim in quotation marks and answers it is not the same claim."""
    point = "Commuting costs are the real reason people want to stay at home."
    thread = _thread(
        ("1", None, "a", point),
        (
            "2",
            "1",
            "b",
            f'"{point}" Commuting costs are the real reason people want to stay at home.',
        ),
        ("3", "2", "c", "No, plenty of people with short commutes prefer home too."),
        ("4", "2", "d", "Fuel prices went up a lot over the last two years, true."),
        ("5", "2", "e", "Childcare matters far more than commuting for most parents."),
    )
    summary = summarize_extractive(thread, stance=_scripted({}), threshold=0.5)
    roots = [c.evidence[0].comment_id for c in summary.claims]
    assert sorted(roots) == ["1", "2"]
    assert all(len(r) == 1 for r in _roles(summary).values())


@pytest.mark.usefixtures("rules_only")
def test_a_pushed_back_comment_is_a_claim_though_no_sentence_reads_as_one() -> None:
    point = "Shows how much they care about their most dedicated users."
    rebut = "No, the old site was never going to get new features anyway."
    thread = _thread(("1", None, "a", point), ("2", "1", "b", rebut))
    summary = summarize_extractive(thread, stance=_scripted({rebut: ("disagree", 0.9)}))
    assert [c.statement for c in summary.claims] == [point]
    odd = "Looking back on all of it, quite the year."
    thread = _thread(("1", None, "a", odd), ("2", "1", "b", rebut))
    summary = summarize_extractive(thread, stance=_scripted({rebut: ("disagree", 0.9)}))
    assert [c.statement for c in summary.claims] == [odd]
    kind = "So sorry for your loss. Looking back on all of it, quite the year."
    thread = _thread(("1", None, "a", kind), ("2", "1", "b", rebut))
    summary = summarize_extractive(thread, stance=_scripted({rebut: ("disagree", 0.9)}))
    assert summary.claims == []  # kind words are no claim, and an answer to them starts none


@pytest.mark.parametrize(
    ("text", "prompt"),
    [
        ("What do you all use for backups?", True),
        ("Does anyone still run their own mail server?", True),
        ("Why would anyone pick this over Postgres?", True),
        ("I read it to the end. I think I got smarter?", False),
        ("You really think the board will allow that?", False),
    ],
)
def test_only_a_question_that_asks_is_a_prompt(text: str, prompt: bool) -> None:
    from service.engines.extractive.reading import Reader

    thread = _thread(("1", None, "a", text))
    assert Reader(thread, _scripted({})).is_question(thread.comments[0]) is prompt


@pytest.mark.parametrize(
    "sentence",
    [
        "Shows how much the developers care about their most dedicated users.",
        "A biased source is still a source.",
    ],
)
def test_adjectives_in_ed_are_no_past_tense_narration(sentence: str) -> None:
    assert argues(sentence)


def test_the_claimant_answering_a_rebuttal_defends_unless_he_concedes() -> None:
    rebut = "No, the studies show remote teams ship less often."
    unsure = "Look at what those studies counted before you lean on them here."
    concede = "Fair enough, that is a real drop and I had not seen those numbers."
    asks = "Which studies do you mean?"
    thread = _thread(
        ("1", None, "a", CLAIM_TEXT),
        ("2", "1", "b", rebut),
        ("3", "2", "a", unsure),
        ("4", "2", "a", concede),
        ("5", "2", "a", asks),
    )
    stance = _scripted({rebut: ("disagree", 0.9), unsure: ("other", 0.4), concede: ("agree", 0.9)})
    (claim,) = summarize_extractive(thread, stance=stance, threshold=0.5).claims
    (rebuttal,) = claim.rebuttals
    assert [co.evidence[0].comment_id for co in rebuttal.counters] == ["3"]
    assert [e.comment_id for e in rebuttal.evidence] == ["2"]  # no concession backs it


def test_a_comment_the_claim_model_is_sure_argues_nothing_starts_no_claim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    banter = "That keyboard is glorious, my cat would sleep on it all day."
    point = "Mechanical keyboards last far longer than membrane ones."
    assert argues(banter)  # the rules alone would make it a claim
    thread = _thread(("1", None, "a", banter), ("2", None, "b", point))
    sure = {banter: 0.1, point: 0.9}  # the probability that each argues a point
    monkeypatch.setattr(reading, "claim_probability", lambda text: sure[text])
    monkeypatch.setattr(reading, "not_a_claim_confidence", lambda: 0.8)
    assert [c.statement for c in summarize_extractive(thread).claims] == [point]
    # Not sure enough: the rules decide.
    sure[banter] = 0.3
    claims = summarize_extractive(thread).claims
    assert sorted(c.statement for c in claims) == sorted([banter, point])


@pytest.mark.parametrize(
    "comment",
    [
        "Open weights commoditise the model layer.",
        "Hardware is the real bottleneck here.",
        "They should have released the weights years ago.",
        "Remote work makes most software teams more productive.",
        "No, the vote is on the 14th, not the 8th.",
    ],
)
def test_the_shipped_claim_model_never_vetoes_a_plain_claim(comment: str) -> None:
    assert 1 - claim_probability(comment) < not_a_claim_confidence()


def _read_as(probs: dict[str, tuple[float, float, float]]) -> StanceFn:
    """A stance reader answering with the model's kind of result: class probabilities."""

    def read(parent: str, reply: str) -> StanceResult:
        p = probs[reply]
        best = max(range(3), key=lambda i: p[i])
        labels: tuple[Label, ...] = ("agree", "disagree", "other")
        return StanceResult(labels[best], p[best], p, ("other", 0.0))

    return read


@pytest.mark.parametrize(("others", "role"), [((0.1, 0.8, 0.1), True), ((0.1, 0.1, 0.8), False)])
def test_a_doubtful_reply_is_read_in_the_light_of_its_thread(
    others: tuple[float, float, float], role: bool
) -> None:
    """Alone, a reply leaning to disagreement is below the role confidence; among a dozen
    confident disagreements it is a rebuttal, among a dozen side remarks it is nothing."""
    doubtful = "Maybe, though the trials I saw were mostly about desk jobs and not shifts."
    replies = [f"Reply {i} says the studies measured the wrong thing entirely." for i in range(12)]
    probs = {r: others for r in replies} | {doubtful: (0.25, 0.45, 0.30)}
    thread = _thread(
        ("1", None, "ana", "A four-day week would not lower output for most office jobs."),
        *((f"r{i}", "1", f"u{i}", r) for i, r in enumerate(replies)),
        ("d", "1", "dee", doubtful),
    )
    summary = summarize_extractive(thread, stance=_read_as(probs))
    assert any(r.endswith(" rebuttal") for r in _roles(summary).get("d", [])) is role
    assert reading.role_confidence() > 0.45  # the reply alone would have no role
