"""threadsum eval end to end: the CLI on tiny files, --json, --repeat, the LLM path (FakeModel and
the mock server)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from service.cli import main
from service.devtools.fake import FakeModel
from service.devtools.mock.stancing import stance_answer
from service.devtools.mockllm import MockConfig, running
from service.engines.llm.stance import load_stance_prompts, render_pair
from service.eval import StanceReport, stance_report
from service.runtime import Runtime
from service.settings import Settings
from service.summarizer import EngineChoice

from .conftest import FIXTURES


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


PAIRS_CSV = (
    "parent,reply,label\n"
    'Rust is the best language for this.,"No, C is still better.",0\n'
    'Rust is the best language for this.,"Exactly, it pays off.",2\n'
    "Rust is the best language for this.,What editor do you use?,1\n"
)


@pytest.fixture
def pairs_csv(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.csv"
    path.write_text(PAIRS_CSV)
    return path


@pytest.fixture
def gold_thread(tmp_path: Path) -> Path:
    comments = [
        {"id": "1", "parent_id": None, "author": "ann", "role": "claim",
         "text": "Static typing catches most bugs before they ship."},
        {"id": "2", "parent_id": "1", "author": "bob", "role": "rebuttal", "claim": "1",
         "text": "No, I don't think so. Tests catch far more of them."},
        {"id": "3", "parent_id": "2", "author": "ann", "role": "counter", "claim": "1",
         "text": "That's not true. Tests only cover the paths someone thought of."},
    ]  # fmt: skip
    path = tmp_path / "gold.json"
    path.write_text(json.dumps({"id": "g", "title": "Typing", "comments": comments}))
    return path


def test_eval_stance_prints_the_tables(capsys: pytest.CaptureFixture[str], pairs_csv: Path) -> None:
    code, out, err = run(
        capsys, "eval", "stance", str(pairs_csv), "--labels", "0=disagree,1=other,2=agree",
        "--engine", "extractive",
    )  # fmt: skip
    assert code == 0, err
    assert "confusion matrix" in out and "gold disagree" in out
    _, json_out, _ = run(
        capsys, "eval", "stance", str(pairs_csv), "--labels", "0=disagree,1=other,2=agree",
        "--engine", "extractive", "--json",
    )  # fmt: skip
    doc = json.loads(json_out)
    # The table shows the same figures as the JSON, whatever the engine gets right.
    assert f"macro-F1 {doc['macro_f1']:.3f}   accuracy {doc['accuracy']:.3f}" in out
    assert 'majority-class baseline (always "agree")' in out
    assert "macro-F1 0.167   accuracy 0.333" in out


def test_eval_stance_json_shape(capsys: pytest.CaptureFixture[str], pairs_csv: Path) -> None:
    code, out, err = run(
        capsys, "eval", "stance", str(pairs_csv), "--labels", "0=disagree,1=other,2=agree",
        "--engine", "extractive", "--json", "--repeat", "2",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert (
        doc["kind"] == "stance"
        and doc["pairs"] == 3
        and doc["classes"]
        == [
            "agree",
            "disagree",
            "other",
        ]
    )
    assert doc["confusion"]["disagree"] == {"agree": 0, "disagree": 1, "other": 0}
    assert set(doc["per_class"]["agree"]) == {"precision", "recall", "f1", "support", "predicted"}
    assert doc["baseline"]["label"] == "agree" and doc["baseline"]["accuracy"] == pytest.approx(
        1 / 3
    )
    assert doc["repeat"] == {"runs": 2, "identical": True, "distinct_outputs": 1}


def test_eval_map_on_a_tiny_gold_thread(
    capsys: pytest.CaptureFixture[str], gold_thread: Path
) -> None:
    code, out, err = run(
        capsys, "eval", "map", str(gold_thread), "--engine", "extractive", "--json", "--repeat", "3"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "map" and doc["stable"] is True
    (thread,) = doc["threads"]
    assert thread["repeat"] == {"runs": 3, "identical": True, "distinct_outputs": 1}
    assert set(doc["total"]["roles"]) == {"claim", "supporter", "rebuttal", "counter", "none"}
    assert doc["total"]["roles"]["claim"]["gold"] == 1
    assert 0.0 <= doc["total"]["share_right"] <= 1.0
    code, out, _ = run(capsys, "eval", "map", str(gold_thread), "--engine", "extractive")
    assert code == 0 and "shown items right" in out and "stability: 1 run(s)" in out


def test_eval_map_reads_the_shipped_gold_directory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "eval", "map", str(FIXTURES / "eval" / "threads"), "--engine", "extractive"
    )
    assert code == 0, err
    assert "reddit-no-dispute.json" in out and "threads with no dispute: 1" in out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["eval", "stance", "missing.csv"], 1, "error: no such file: missing.csv"),
        (["eval", "map", "missing-dir"], 1, "error: no such file or directory: missing-dir"),
        (["eval", "stance", "x.csv", "--labels", "0"], 2, "error: --labels: '0' is not"),
        (["eval", "stance", "x.csv", "--repeat", "0"], 2, "error: --repeat must be at least 1"),
        (["eval", "stance", "x.csv", "--engine", "llm"], 2, "error: the llm engine needs a model"),
    ],
)
def test_eval_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    got, out, err = run(capsys, *argv)
    assert got == code and out == ""
    assert err.strip().splitlines()[-1].startswith(message)


def test_a_bad_label_exits_1_naming_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"parent": "a", "reply": "b", "label": "yes"}\n')
    code, _, err = run(capsys, "eval", "stance", str(path), "--engine", "extractive")
    assert code == 1 and err.startswith("error: p.jsonl:1: label 'yes'")


# --- the LLM engine ----------------------------------------------------------------------------


def _llm(tmp_path: Path, cache: str = "use") -> Settings:
    return Settings(engine="llm", model="fake-model", cache=cache, cache_dir=tmp_path / "cache")


def test_llm_stance_asks_once_per_pair_validates_and_caches(
    tmp_path: Path, pairs_csv: Path
) -> None:
    settings = _llm(tmp_path)
    answer = '{"stance": "disagree", "confidence": 0.9}'
    fake = FakeModel(script=["not json at all", answer, answer, answer])
    choice = EngineChoice("llm", "--engine llm")

    async def go() -> tuple[StanceReport, StanceReport]:
        async with Runtime(settings, model=fake) as runtime:
            first = await stance_report(
                pairs_csv, settings, runtime, engine=choice,
                labels={"0": "disagree", "1": "other", "2": "agree"},
            )  # fmt: skip
            again = await stance_report(
                pairs_csv, settings, runtime, engine=choice,
                labels={"0": "disagree", "1": "other", "2": "agree"},
            )  # fmt: skip
        return first, again

    first, again = asyncio.run(go())
    assert len(fake.calls) == 4  # three pairs, one re-ask of the answer that was not JSON
    # The pairs are asked at once (larger prompts first): find the one of the pair shown here.
    prompts = [call[-1]["content"] for call in fake.calls]
    assert any("<pair_data>" in p and "  No, C is still better." in p for p in prompts)
    assert sum(any("not valid JSON" in m["content"] for m in call) for call in fake.calls) == 1
    assert first.scores.per_class[1].recall == 1.0
    assert first.invalid == 0 and first.model_calls == 4
    assert again.model_calls == 0  # all three answers come from the cache


def test_llm_stance_with_no_valid_answer_counts_the_pair_as_invalid(
    tmp_path: Path, pairs_csv: Path
) -> None:
    settings = _llm(tmp_path, cache="off").override({"max_reasks": 0})
    bad = '{"stance": "agree", "confidence": 7}'
    fake = FakeModel(script=[bad, bad, bad])

    async def go() -> StanceReport:
        async with Runtime(settings, model=fake) as runtime:
            return await stance_report(
                pairs_csv, settings, runtime, engine=EngineChoice("llm", "test"),
                labels={"0": "disagree", "1": "other", "2": "agree"},
            )  # fmt: skip

    report = asyncio.run(go())
    assert report.invalid == 3


def test_the_mock_answers_stance_prompts_from_the_stance_component() -> None:
    prompt = load_stance_prompts()["stance"]
    messages = prompt.render(**render_pair("Rust is best.", "No, that's not true at all."))
    answer = json.loads(stance_answer(messages) or "{}")
    assert answer["stance"] == "disagree" and 0.0 <= answer["confidence"] <= 1.0
    assert stance_answer([{"role": "user", "content": "hello"}]) is None


def test_eval_stance_on_mock_llm_end_to_end(
    capsys: pytest.CaptureFixture[str], pairs_csv: Path
) -> None:
    with running(MockConfig()) as url:
        code, out, err = run(
            capsys, "eval", "stance", str(pairs_csv), "--labels", "0=disagree,1=other,2=agree",
            "--engine", "llm", "--base-url", url, "--model", "threadsum-mock", "--cache", "off",
            "--json", "--repeat", "2",
        )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    _, component_out, _ = run(
        capsys, "eval", "stance", str(pairs_csv), "--labels", "0=disagree,1=other,2=agree",
        "--engine", "extractive", "--json",
    )  # fmt: skip
    component = json.loads(component_out)
    assert doc["engine"] == "llm (threadsum-mock)" and doc["invalid"] == 0
    # The mock answers stance prompts from the stance component, so the two agree exactly.
    assert doc["confusion"] == component["confusion"] and doc["model_calls"] == 6
    assert doc["repeat"]["identical"] is True
