"""bench/map_threads.py: gold maps derived from the labelled pairs and comments."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import map_threads  # noqa: E402

from service.eval.gold import read_gold  # noqa: E402


def _thread(
    pairs: list[tuple[str, str, str]], argues: dict[str, bool]
) -> map_threads.LabelledThread:
    """A labelled thread from (parent, reply, stance) links; a comment's text is its id."""
    t = map_threads.LabelledThread("hn:1")
    for parent, reply, stance in pairs:
        t.add(parent, f"text of {parent}")
        t.add(reply, f"text of {reply}")
        t.parent[reply] = parent
        t.stance[reply] = stance
    t.argues.update(argues)
    return t


def test_roles_follow_the_gold_definitions_down_the_tree() -> None:
    t = _thread(
        [
            ("c", "r", "disagree"),  # rebuttal of the claim
            ("r", "rb", "agree"),  # backs the rebuttal: a rebuttal too
            ("r", "k", "disagree"),  # answers the rebuttal: a counter
            ("k", "kb", "agree"),  # backs the counter: a counter
            ("k", "re", "disagree"),  # pushes back on the counter: a rebuttal again
            ("c", "s", "agree"),  # supporter
            ("s", "sr", "disagree"),  # pushes back on a supporter: a rebuttal of the claim
            ("c", "t", "other"),  # takes no side and argues: a claim of its own
            ("t", "tr", "disagree"),  # a rebuttal of that claim, not of the first
            ("c", "j", "other"),  # a joke: nothing
            ("j", "jr", "disagree"),  # disagrees with the joke, argues nothing: nothing
        ],
        {k: k not in ("j", "jr") for k in "c r rb k kb re s sr t tr j jr".split()},
    )
    assert t.gold_roles() == {
        "c": ("claim", None),
        "r": ("rebuttal", "c"),
        "rb": ("rebuttal", "c"),
        "k": ("counter", "c"),
        "kb": ("counter", "c"),
        "re": ("rebuttal", "c"),
        "s": ("supporter", "c"),
        "sr": ("rebuttal", "c"),
        "t": ("claim", None),
        "tr": ("rebuttal", "t"),
        "j": ("none", None),
        "jr": ("none", None),
    }


def test_a_top_comment_that_argues_nothing_leaves_its_arguing_answers_claims() -> None:
    t = _thread([("q", "a", "disagree"), ("q", "b", "other")], {"q": False, "a": True, "b": False})
    assert t.gold_roles() == {"q": ("none", None), "a": ("claim", None), "b": ("none", None)}


def test_the_gold_file_is_a_gold_thread_threadsum_reads(tmp_path: Path) -> None:
    t = _thread([("c", "r", "disagree"), ("r", "k", "disagree")], dict.fromkeys("crk", True))
    path = tmp_path / "t.json"
    path.write_text(json.dumps(t.gold_file()))
    gold = read_gold(path)
    assert [c.id for c in gold.thread.comments] == ["c", "r", "k"]
    assert gold.roles["k"].role == "counter" and gold.roles["k"].claim == "c"
    assert gold.disputed


def test_the_shipped_data_make_complete_threads_split_as_the_training_scripts_split() -> None:
    data = ROOT / "bench" / "data"
    threads = map_threads.read_threads(
        sorted((data / "stance").glob("*.jsonl")), sorted((data / "claims").glob("*.jsonl"))
    )
    assert threads and all(t.complete() for t in threads)
    train, held = map_threads.split(threads, 11)
    assert {t.group for t in train}.isdisjoint(t.group for t in held)
    assert len(held) == round(len(threads) * 0.2)


def test_reads_must_cover_every_pair(tmp_path: Path) -> None:
    stance = tmp_path / "stance.jsonl"
    claims = tmp_path / "claims.jsonl"
    row = {"parent": "A point.", "reply": "I agree.", "probabilities": [0.8, 0.1, 0.1]}
    stance.write_text(json.dumps(row) + "\n")
    claims.write_text(json.dumps({"text": "A point.", "claim_probability": 0.9}) + "\n")
    read_stance, read_claim = map_threads.read_reads(stance, claims)
    assert read_stance("A  point.", "I agree.").label == "agree"  # spacing does not matter
    assert read_claim("A point.") == 0.9
    with pytest.raises(SystemExit, match="no out-of-fold stance read"):
        read_stance("A point.", "Something else.")
    with pytest.raises(SystemExit, match="no out-of-fold claim read"):
        read_claim("Another comment.")


def test_json_report_is_all_that_reaches_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert map_threads.main(["--out", str(tmp_path), "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["kind"] == "map" and report["total"]["shown"] > 0
    assert "held thread(s)" in err
