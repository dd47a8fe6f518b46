"""The extractive engine re-reads only new reply pairs of a grown thread (stances in the cache)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from service.devtools.synthetic import synthetic_thread
from service.engines.stance import StanceResult
from service.engines.stance import memo as memo_module
from service.engines.stance.memo import StanceMemo, memo_key
from service.ingest import read_thread
from service.models import ThreadSummary
from service.runtime import Runtime
from service.settings import Settings
from service.summarizer import summarize


def _doc(n: int) -> dict[str, Any]:
    return synthetic_thread(n, seed=5, thread_id="grow")


def _grown(n: int, k: int) -> dict[str, Any]:
    """The thread of ``n`` comments and ``k`` later replies to its busiest comments."""
    doc = _doc(n)
    for i in range(k):
        parent = doc["comments"][i * 7 % n]["id"]
        doc["comments"].append(
            {
                "id": f"grow-new-{i}",
                "parent_id": parent,
                "author": f"late{i}",
                "text": f"No, that is not what the numbers on reply {i} show at all.",
            }
        )
    return doc


def _map(summary: ThreadSummary) -> dict[str, Any]:
    return summary.model_dump(mode="json", exclude={"stats"})


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = memo_module.classify_pair

    def classify(parent: str, reply: str) -> StanceResult:
        calls[0] += 1
        return real(parent, reply)

    monkeypatch.setattr(memo_module, "classify_pair", classify)
    return calls


def _run(doc: dict[str, Any], settings: Settings) -> ThreadSummary:
    async def go() -> ThreadSummary:
        async with Runtime(settings) as runtime:
            return await summarize(
                read_thread(json.dumps(doc), "native"), settings, runtime=runtime
            )

    return asyncio.run(go())


def test_a_grown_thread_reads_only_its_new_pairs_and_maps_as_a_cold_run(
    tmp_path: Path, counted: list[int]
) -> None:
    settings = Settings(engine="extractive", cache_dir=tmp_path)
    first = _run(_doc(300), settings)
    assert counted[0] == 299 - sum(1 for c in _doc(300)["comments"] if c["parent_id"] is None) + 1
    counted[0] = 0
    grown = _run(_grown(300, 12), settings)
    assert counted[0] == 12  # the new replies only
    cold = _run(_grown(300, 12), Settings(engine="extractive", cache="off"))
    assert _map(grown) == _map(cold)
    assert _map(first) != _map(grown)


def test_with_the_cache_off_every_pair_is_read_every_time(
    tmp_path: Path, counted: list[int]
) -> None:
    settings = Settings(engine="extractive", cache="off", cache_dir=tmp_path)
    _run(_doc(120), settings)
    once = counted[0]
    _run(_doc(120), settings)
    assert counted[0] == 2 * once > 0


def test_a_memo_ignores_what_it_cannot_read_and_keeps_only_the_pairs_used(
    counted: list[int],
) -> None:
    good = StanceMemo()
    good("a parent", "a reply")
    stored = good.value()
    key = next(iter(stored["pairs"]))
    stored["pairs"]["junk"] = ["maybe", "high"]
    memo = StanceMemo(stored)
    counted[0] = 0
    assert memo("a parent", "a reply") == good("a parent", "a reply")
    assert counted[0] == 1  # only the second call on ``good`` read the model
    assert list(memo.value()["pairs"]) == [key]
    assert memo.changed  # the junk entry is dropped from what is stored


def test_the_memo_key_names_no_text_and_moves_with_the_thread() -> None:
    key = memo_key("hn", "4242")
    assert key.startswith("stances:") and "4242" not in key
    assert key != memo_key("reddit", "4242") != memo_key("hn", "4243")


def test_a_memo_keeps_what_the_thread_prior_decides_from(counted: list[int]) -> None:
    """A stored stance carries the model's probabilities and cue reading; an entry without them
    (a label and confidence only) cannot be decided again in its thread, so it is read anew."""
    first = StanceMemo()
    result = first("Cars are the future.", "No, trains are much better.")
    assert result.probabilities is not None and result.cue is not None
    stored = json.loads(json.dumps(first.value()))  # as the cache keeps it
    counted[0] = 0
    assert StanceMemo(stored)("Cars are the future.", "No, trains are much better.") == result
    assert counted[0] == 0
    key = next(iter(stored["pairs"]))
    stored["pairs"][key] = [result.label, result.confidence]
    assert StanceMemo(stored)("Cars are the future.", "No, trains are much better.") == result
    assert counted[0] == 1
    stored["pairs"][key] = [result.label, result.confidence, [0.5, 0.5], "other", 0.0]
    assert StanceMemo(stored)("Cars are the future.", "No, trains are much better.") == result
    assert counted[0] == 2  # two probabilities for three sides: not a stored result
