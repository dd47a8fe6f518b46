"""The claim model: whether a comment argues a point (the extractive map's veto on claims)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from service.engines.argues import CLASSES, decode, encode, load, not_a_claim_confidence
from service.errors import ClaimModelError

from .conftest import ROOT


def test_the_shipped_model_is_package_data_and_loads() -> None:
    path = ROOT / "service/engines/argues/model.json"
    assert path.is_file()
    assert len(path.read_bytes()) < 3_000_000  # a few MB at most
    assert set(load().classes) == set(CLASSES)
    assert 0.5 <= not_a_claim_confidence() < 1  # the grid the training script searches
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "engines/argues/model.json" in package_data["package-data"]["service"]


def test_on_its_held_out_split_the_veto_improves_on_the_rules_and_is_mostly_right() -> None:
    meta = load().meta
    held = meta["held_out"]
    assert held["rules_and_veto"]["macro_f1"] > held["rules"]["macro_f1"] + 0.1
    assert held["model"]["macro_f1"] > held["majority"]["macro_f1"]
    claim = held["rules_and_veto"]["per_class"]["claim"]
    assert claim["precision"] > held["rules"]["per_class"]["claim"]["precision"]
    # What the veto removes is mostly what argues nothing, and far more often than among all
    # that the rules pass (their false claims' share of what they call claims).
    vetoes = meta["vetoes_held_out"]
    passed_none = 1 - held["rules"]["per_class"]["claim"]["precision"]
    assert vetoes["precision"] > 0.5 and vetoes["precision"] >= 2 * passed_none
    assert vetoes["claims_vetoed"] <= 0.25
    assert load().not_a_claim_confidence >= 0.5  # it vetoes only what it reads as no point


def test_a_malformed_model_file_is_a_clear_error() -> None:
    good = encode(["claim", "none"], [0.0, 0.0], [[0.0], [0.0]], 0.7, {})
    with pytest.raises(ClaimModelError, match="do not match"):
        decode(good)  # one weight per class: not one per feature slot
    with pytest.raises(ClaimModelError, match="format"):
        decode({**good, "format": 99})
    with pytest.raises(ClaimModelError, match="classes"):
        decode({**good, "classes": ["yes", "no"]})


def _jsonl(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_the_labelled_comments_are_well_formed_and_apart_from_the_gold_set() -> None:
    rows = [row for f in sorted((ROOT / "bench/data/claims").glob("*.jsonl")) for row in _jsonl(f)]
    assert len(rows) >= 1000
    assert len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        assert row["label"] in CLASSES, row["id"]
        assert row["source"] in ("hn", "reddit") and row["thread"], row["id"]
        assert row["text"].strip(), row["id"]
    gold_threads = {g["thread"] for g in _jsonl(ROOT / "fixtures/eval/pairs.jsonl")}
    for path in (ROOT / "fixtures/eval/threads").glob("*.json"):
        gold_threads.add(json.loads(path.read_text(encoding="utf-8"))["id"].split("-")[1])
    assert gold_threads.isdisjoint(row["thread"] for row in rows)
