"""The stance component: classify_pair, the shipped model, its features and the cue baseline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engines.stance import LABELS, StanceResult, classify_pair, role_confidence
from service.engines.stance.cues import CUES, classify
from service.engines.stance.features import BUCKETS, named_features, split_quote
from service.engines.stance.model import decode, encode, load
from service.errors import StanceModelError

from .conftest import ROOT

CLAIM = "Remote work makes most software teams more productive."


@pytest.mark.parametrize(
    "reply", ["I completely disagree.", "I totally disagree with this.", "No, that's not true."]
)
def test_plain_disagreement_is_disagree(reply: str) -> None:
    assert classify_pair(CLAIM, reply).label == "disagree"


@pytest.mark.parametrize("reply", ["Can relate", "AMEN TO THAT", "Exactly, well said."])
def test_plain_agreement_is_agree(reply: str) -> None:
    assert classify_pair(CLAIM, reply).label == "agree"


def test_a_result_is_a_label_and_a_probability() -> None:
    result = classify_pair(CLAIM, "I agree, and the survey data backs it.")
    assert isinstance(result, StanceResult)
    assert result.label in LABELS
    assert 0.0 <= result.confidence <= 1.0
    assert 1 / len(LABELS) <= result.confidence  # the most probable of the labels


@settings(max_examples=60, deadline=None)
@given(parent=st.text(max_size=200), reply=st.text(max_size=300))
def test_any_text_gets_a_stance(parent: str, reply: str) -> None:
    result = classify_pair(parent, reply)
    assert result.label in LABELS and 0.0 <= result.confidence <= 1.0
    assert classify_pair(parent, reply) == result


def test_inference_is_deterministic_across_processes() -> None:
    """Hashed features use CRC-32, not Python's per-process salted hash()."""
    code = (
        "from service.engines.stance import classify_pair as c;"
        "r = c('Taxes should be lower.', 'Nope, the deficit says otherwise.');"
        "print(r.label, repr(r.confidence))"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        outputs.add(done.stdout)
    here = classify_pair("Taxes should be lower.", "Nope, the deficit says otherwise.")
    assert outputs == {f"{here.label} {here.confidence!r}\n"}


def test_the_model_loads_from_the_installed_package() -> None:
    path = resources.files("service.engines.stance").joinpath("model.json")
    assert path.is_file()
    assert len(path.read_bytes()) < 3_000_000  # a few MB at most
    model = load()
    assert set(model.classes) == set(LABELS)
    assert 1 / len(LABELS) < role_confidence() < 1
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "engines/stance/model.json" in package_data["package-data"]["service"]


def test_the_shipped_model_beats_the_cues_on_its_held_out_split() -> None:
    meta = load().meta["held_out"]
    assert meta["model"]["macro_f1"] >= 0.55
    assert meta["model"]["macro_f1"] > meta["cues"]["macro_f1"] > meta["majority"]["macro_f1"]
    # The hand-labelled HN and Reddit pairs' own held-out split.
    assert meta["hand_model"]["macro_f1"] > meta["hand_majority"]["macro_f1"]


def _jsonl(path: os.PathLike[str]) -> list[dict[str, str]]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_the_hand_labelled_training_pairs_are_well_formed_and_apart_from_the_gold_set() -> None:
    rows = [row for f in sorted((ROOT / "bench/data/stance").glob("*.jsonl")) for row in _jsonl(f)]
    assert len(rows) >= 900
    assert len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        assert row["label"] in LABELS, row["id"]
        assert row["source"] in ("hn", "reddit"), row["id"]
        assert row["parent"].strip() and row["reply"].strip(), row["id"]
        assert row["thread"] and row["repo"] and row["path"], row["id"]
    # Evaluation data is never trained on: no thread and no text of the gold pairs is here.
    gold = _jsonl(ROOT / "fixtures/eval/pairs.jsonl")
    assert {(g["source"], g["thread"]) for g in gold}.isdisjoint(
        (row["source"], row["thread"]) for row in rows
    )
    texts = {" ".join(g[k].split()) for g in gold for k in ("parent", "reply")}
    assert not any(" ".join(row["reply"].split()) in texts for row in rows)


def test_a_malformed_model_file_is_a_clear_error() -> None:
    good = encode(
        ["agree", "disagree", "other"], [0.0, 0.0, 0.0], [[0.0], [0.0], [0.0]], 0.5, 2.5, 0.8, {}
    )
    with pytest.raises(StanceModelError, match="do not match"):
        decode(good)  # one weight per class: not one per feature slot
    with pytest.raises(StanceModelError, match="format"):
        decode({**good, "format": 99})
    with pytest.raises(StanceModelError, match="classes"):
        decode({**good, "classes": ["yes", "no", "maybe"]})


def test_encoding_round_trips_within_quantisation() -> None:
    weights = [[0.0] * BUCKETS for _ in range(3)]
    weights[1][7], weights[2][BUCKETS - 1] = 1.5, -0.25
    doc = json.loads(
        json.dumps(
            encode(
                ["agree", "disagree", "other"],
                [0.1, -0.2, 0.3],
                weights,
                0.6,
                2.5,
                0.8,
                {"note": "x"},
            )
        )
    )
    model = decode(doc)
    assert model.bias == (0.1, -0.2, 0.3) and model.role_confidence == 0.6
    assert model.weights[7 * 3 + 1] * model.scale == pytest.approx(1.5, abs=1e-4)
    assert model.weights[(BUCKETS - 1) * 3 + 2] * model.scale == pytest.approx(-0.25, abs=1e-4)
    assert sum(1 for w in model.weights if w) == 2
    assert model.meta["note"] == "x"


def test_a_leading_quote_of_the_parent_is_not_the_opening() -> None:
    parent = "I don't know why the primary was cancelled. What is the point?"
    inline = ">I don't know why the primary was cancelled Well, for starters it was not."
    assert split_quote(parent, inline) == ("Well, for starters it was not.", True)
    lines = "> I don't know why the primary was cancelled.\n\nIt was not cancelled."
    assert split_quote(parent, lines) == ("It was not cancelled.", True)
    feats = named_features(parent, inline)
    assert "o1:well" in feats and "quotes-parent" in feats


def test_no_phrase_of_the_example_page_is_a_cue() -> None:
    """The cues are general discourse markers; these were taken from the example page."""
    patterns = " ".join(c.pattern.pattern for c in CUES)
    for phrase in ("i love how", "as though western", "naivety", "the difference is"):
        assert phrase not in patterns
    for text in ("I love how this works.", "The difference is the price.", "Such naivety."):
        assert classify(text)[0] == "neutral"


@pytest.mark.parametrize(
    ("text", "stance"),
    [
        ("No, that's not how licensing works.", "disagree"),
        ("Nope. It never shipped.", "disagree"),
        ("No it isn't, the docs say so.", "disagree"),
        ("No doubt it will be huge, and soon.", "agree"),
        ("No kidding, that is exactly it.", "agree"),
        ("No idea why you were downvoted, the numbers are public.", "neutral"),
        ("No one uses the old client any more.", "neutral"),
        ("No wonder the project stalled after the license change.", "neutral"),
        ("I don't think that's right. The numbers say otherwise.", "disagree"),
        ("Yes, but the cost is the problem.", "disagree"),
        ("> They give it away\n\nSo they are charities now?", "disagree"),
        ("I completely disagree.", "disagree"),
        ("Exactly, and the same happened with Android.", "agree"),
        ("This.", "agree"),
        ("I agree with all of this.", "agree"),
        ("Can relate", "agree"),
        ("AMEN TO THAT", "agree"),
        ("Do you have a link to the paper?", "question"),
        ("The release notes mention a new tokenizer.", "neutral"),
        ("This is a big change for the industry.", "neutral"),
    ],
)
def test_cue_baseline(text: str, stance: str) -> None:
    assert classify(text)[0] == stance


# The thread prior: a map reads each reply against its thread's mix of sides.

from service.engines.stance import in_thread  # noqa: E402
from service.engines.stance.model import thread_prior  # noqa: E402

_BORDERLINE = [0.25, 0.40, 0.35]  # agree, disagree, other: leaning disagree, not sure


def test_a_heated_thread_makes_a_borderline_disagreement_surer() -> None:
    heated = [[0.1, 0.8, 0.1]] * 40 + [_BORDERLINE]
    alone = thread_prior([_BORDERLINE], 30.0)[0]
    among = thread_prior(heated, 30.0)[-1]
    assert among[1] > alone[1] > 0.39
    assert among[1] > 0.5  # the thread's disagreement carries the doubtful one over


def test_a_thread_of_banter_makes_a_borderline_disagreement_doubtful() -> None:
    banter = [[0.15, 0.1, 0.75]] * 40 + [_BORDERLINE]
    (*_, among) = thread_prior(banter, 30.0)
    assert among[1] < _BORDERLINE[1]
    assert max(range(3), key=lambda c: among[c]) == 2  # now reads as neither side


def test_the_thread_prior_keeps_probabilities_and_is_off_at_strength_zero() -> None:
    rows = [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.3, 0.3, 0.4]]
    assert thread_prior(rows, 0.0) == rows
    assert thread_prior([], 30.0) == []
    for row in thread_prior(rows, 3.0):
        assert sum(row) == pytest.approx(1.0)
        assert all(0.0 <= p <= 1.0 for p in row)
    assert thread_prior(rows, 3.0) == thread_prior(rows, 3.0)


def test_a_few_replies_move_their_prior_less_than_many() -> None:
    few = thread_prior([[0.1, 0.8, 0.1]] * 3 + [_BORDERLINE], 30.0)[-1]
    many = thread_prior([[0.1, 0.8, 0.1]] * 300 + [_BORDERLINE], 30.0)[-1]
    assert _BORDERLINE[1] < few[1] < many[1]


def test_in_thread_decides_again_but_leaves_declarations_and_foreign_results() -> None:
    heated = [classify_pair(CLAIM, "No, that is wrong, the studies show the opposite.")] * 30
    doubtful = classify_pair(CLAIM, "Hmm, remote teams I know ship less, but it depends.")
    declared = classify_pair(CLAIM, "I completely disagree.")
    foreign = StanceResult("agree", 0.99)  # a stance reader other than the model's
    out = in_thread([*heated, doubtful, declared, foreign])
    assert out[-1] == foreign
    assert out[-2].label == "disagree" and out[-2].confidence >= declared.confidence
    assert out[-3].probabilities == doubtful.probabilities  # what it was read from is kept
    assert out[-3].confidence != doubtful.confidence or out[-3].label != doubtful.label
    assert in_thread([]) == []


def test_the_shipped_model_reads_replies_in_their_thread() -> None:
    assert load().thread_prior > 0
    meta = json.loads(resources.files("service.engines.stance").joinpath("model.json").read_text())
    assert meta["thread_prior"] == load().thread_prior


_ROW = st.lists(st.floats(0.01, 1.0), min_size=3, max_size=3).map(lambda r: [v / sum(r) for v in r])


@settings(max_examples=60, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=40), st.floats(0.5, 100.0))
def test_the_thread_prior_gives_probabilities_and_keeps_each_reply_s_order(
    rows: list[list[float]], strength: float
) -> None:
    """Every row stays a distribution, and the prior re-weighs each class by one factor for
    the whole thread: no reply is moved differently from another with the same reading."""
    out = thread_prior(rows, strength)
    assert len(out) == len(rows)
    for row in out:
        assert sum(row) == pytest.approx(1.0)
        assert all(0.0 <= p <= 1.0 for p in row)
    # The ratio p'(a)/p(a) : p'(b)/p(b) is the same for every reply.
    ratios = [(o[0] / r[0]) / (o[1] / r[1]) for r, o in zip(rows, out, strict=True)]
    assert all(x == pytest.approx(ratios[0], rel=1e-6) for x in ratios)


def test_a_shipped_model_file_that_cannot_be_read_or_decoded_is_a_clear_error() -> None:
    from service.engines.linear import shipped

    package = "service.engines.stance"
    with pytest.raises(StanceModelError, match=r"stance model: cannot read absent\.json"):
        shipped(package, "absent.json", decode, StanceModelError, "stance model")
    with pytest.raises(StanceModelError, match=r"cannot read MODEL\.md"):  # not JSON
        shipped(package, "MODEL.md", decode, StanceModelError, "stance model")

    def missing_field(doc: dict[str, object]) -> object:
        return doc["no such field"]

    with pytest.raises(StanceModelError, match=r"stance model: malformed model\.json"):
        shipped(package, "model.json", missing_field, StanceModelError, "stance model")
