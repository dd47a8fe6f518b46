"""Topics named by the LLM engine's reduce: validated, re-asked, placed, carried up the tree."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from service import Runtime, Settings, read_thread, summarize
from service.devtools.fake import FakeCompletion, FakeModel
from service.devtools.mock.reducing import name_topics, reduce_answer
from service.devtools.mockllm import MockConfig, running
from service.devtools.prompt_data import read_prompt
from service.devtools.synthetic import synthetic_thread
from service.grounding import check_summary
from service.models import Thread, ThreadSummary
from service.validation import (
    ReduceClaim,
    ReduceReply,
    ReduceTopic,
    check_reduce,
    encode_reduce,
)

INPUTS = {f"m{n}": f"Claim {n}." for n in range(1, 7)}


def topics_of(value: dict[str, Any]) -> list[tuple[str, list[str]]]:
    reply = check_reduce(value, INPUTS)
    return [(t.title, t.members) for t in reply.reply.topics]


# --- validation -----------------------------------------------------------------------------


def test_valid_topics_are_kept_in_input_order() -> None:
    checked = check_reduce(
        {"g": ["Costs: m4 m1", " Open\nweights : m2-3"]},
        INPUTS,
    )
    assert checked.errors == []
    assert [(t.title, t.members) for t in checked.reply.topics] == [
        ("Costs", ["m1", "m4"]),
        ("Open weights", ["m2", "m3"]),
    ]


@pytest.mark.parametrize(
    ("topic", "error"),
    [
        ("Costs: m1 m9", "'m9' is not an input ID"),
        (": m1", "a topic needs a title"),
        ("  : m1", "a topic needs a title"),
        ("Costs: ", "a topic lists the IDs"),
        ("Costs: c1.2", "is not a claim id"),
        ("Costs m1", "a topic is its title, a colon and its IDs"),
    ],
)
def test_a_bad_topic_is_reported_and_its_valid_part_kept(topic: str, error: str) -> None:
    checked = check_reduce({"g": [topic, "Other: m2"]}, INPUTS)
    assert any(error in e for e in checked.errors), checked.errors
    titles = [t.title for t in checked.reply.topics]
    assert "Other" in titles and all(t.strip() for t in titles)
    assert all("m9" not in t.members for t in checked.reply.topics)


def test_an_id_in_two_topics_stays_in_the_first() -> None:
    checked = check_reduce({"g": ["A: m1-2", "B: m2 m3"]}, INPUTS)
    assert checked.errors == ["g[2]: 'm2' is already in another topic"]
    assert [(t.title, t.members) for t in checked.reply.topics] == [
        ("A", ["m1", "m2"]),
        ("B", ["m3"]),
    ]


def test_a_long_title_is_reported_and_cut() -> None:
    long = " ".join(f"word{n}" for n in range(20))
    checked = check_reduce({"g": [f"{long}: m1"]}, INPUTS)
    assert checked.errors == ["g[1]: a title is at most 6 words, not 20"]
    (topic,) = checked.reply.topics
    assert len(topic.title.split()) == 8 and topic.members == ["m1"]


def test_a_merged_claim_follows_its_first_member_into_one_topic() -> None:
    checked = check_reduce(
        {
            "k": [{"m": "m5 m1"}, {"m": "m3 m6"}],
            "g": ["A: m1 m2", "B: m5", "C: m6"],
        },
        INPUTS,
    )
    assert checked.errors == []
    # m5 leads the claim (m5 m1): both in B; m3 is in none, so (m3 m6) goes to C with m6
    assert [(t.title, t.members) for t in checked.reply.topics] == [
        ("A", ["m2"]),
        ("B", ["m1", "m5"]),
        ("C", ["m3", "m6"]),
    ]


def test_same_titles_are_one_topic_and_unlisted_ids_are_in_none() -> None:
    assert topics_of({"g": ["Costs: m1", "costs: m3"]}) == [("Costs", ["m1", "m3"])]
    assert topics_of({}) == []


def test_encode_reduce_round_trips_topics() -> None:
    reply = ReduceReply(
        claims=[
            ReduceClaim(statement="Claim 1.", merges=["m1", "m2"]),
            *(ReduceClaim(statement=f"Claim {n}.", merges=[f"m{n}"]) for n in range(3, 7)),
        ],
        topics=[
            ReduceTopic(title="A", members=["m1", "m2", "m3", "m5"]),
            ReduceTopic(title="B", members=["m4"]),
        ],
    )
    wire = encode_reduce(reply, INPUTS)
    assert wire["g"] == ["A: m1-3 m5", "B: m4"]
    assert check_reduce(wire, INPUTS).reply == reply


# --- the devtools' answers --------------------------------------------------------------------


def test_name_topics_groups_claims_by_shared_words() -> None:
    claims = [
        ("Open weights help researchers.", ["m1"]),
        ("GPU prices keep rising.", ["m2"]),
        ("Researchers need open weights to audit models.", ["m3", "m4"]),
        ("Rising prices of GPU hurt small labs.", ["m5"]),
        ("Cats are nice.", ["m6"]),
    ]
    topics = name_topics(claims)
    assert [ids for _, ids in topics] == [["m1", "m3", "m4"], ["m2", "m5"], ["m6"]]
    assert all(0 < len(title.split()) <= 6 for title, _ in topics)
    assert set(topics[0][0].split()) <= {"open", "weights", "researchers"}
    assert name_topics(claims) == topics  # deterministic


def test_the_mock_reduce_puts_every_input_in_one_topic() -> None:
    lines = "\n".join(f"{mid} {s}" for mid, s in INPUTS.items()) + "\nm7 [2] Claim 1."
    reply = reduce_answer(lines)
    inputs = {**INPUTS, "m7": "Claim 1."}
    checked = check_reduce(encode_reduce(reply, inputs), inputs)
    assert checked.errors == []
    listed = [mid for t in checked.reply.topics for mid in t.members]
    assert sorted(listed) == sorted(inputs)
    home = {mid: t.title for t in checked.reply.topics for mid in t.members}
    assert home["m1"] == home["m7"]  # merged claims share a topic


# --- the engine -------------------------------------------------------------------------------


def settings(tmp_path: Path, **kw: Any) -> Settings:
    opts: dict[str, Any] = {
        "engine": "llm",
        "model": "fake-model",
        "cache_dir": tmp_path / "cache",
        "chunk_tokens": 1000,
        **kw,
    }
    return Settings(**opts)


def summarize_with(thread: Thread, s: Settings, model: FakeModel) -> ThreadSummary:
    async def go() -> ThreadSummary:
        async with Runtime(s, model=model) as runtime:
            return await summarize(thread, s, runtime=runtime)

    return asyncio.run(go())


def one_topic_each(summary: ThreadSummary) -> list[str]:
    """The topic title of every shown claim, checking each is in exactly one topic."""
    listed = [cid for t in summary.topics for cid in t.claim_ids]
    assert sorted(listed) == sorted(c.id for c in summary.claims)
    assert len(listed) == len(set(listed))
    home = {cid: t.title for t in summary.topics for cid in t.claim_ids}
    return [home[c.id] for c in summary.claims]


def is_reduce(messages: list[dict[str, str]]) -> bool:
    return read_prompt(messages).kind == "reduce"  # the overview's claims are not a reduce


def named(prefix: str) -> Any:
    """A transform titling every reduce answer's topics ``prefix N``."""

    def rename(value: dict[str, Any]) -> dict[str, Any]:
        if "g" not in value:
            return value
        value["g"] = [
            f"{prefix} {n}: {topic.rpartition(':')[2].strip()}"
            for n, topic in enumerate(value.get("g", []), start=1)
        ]
        return value

    return rename


@pytest.fixture(scope="module")
def grown() -> Thread:
    return read_thread(json.dumps(synthetic_thread(600, 8)))


def test_topics_from_the_reduce_reach_the_summary(grown: Thread, tmp_path: Path) -> None:
    model = FakeModel(transform=named("Named"))
    summary = summarize_with(grown, settings(tmp_path), model)
    assert any(is_reduce(m) for m in model.calls) and summary.stats.reasks == 0
    titles = one_topic_each(summary)
    assert titles and all(t.startswith("Named ") for t in titles)
    assert {t.id for t in summary.topics} == {f"T{n}" for n in range(1, len(summary.topics) + 1)}
    # claim ids in topics are the summary's stable ids, not ranks
    assert all(not cid[1:].isdigit() for t in summary.topics for cid in t.claim_ids)
    assert check_summary(summary, grown) == []


def test_claims_in_no_topic_are_grouped_lexically(grown: Thread, tmp_path: Path) -> None:
    def leave_out_half(value: dict[str, Any]) -> dict[str, Any]:
        if "g" in value:
            value["g"] = [
                f"Named {n}:{t.rpartition(':')[2]}" for n, t in enumerate(value["g"]) if n % 2
            ]
        return value

    summary = summarize_with(grown, settings(tmp_path), FakeModel(transform=leave_out_half))
    titles = one_topic_each(summary)
    assert summary.stats.reasks == 0  # leaving a claim out is not a fault
    assert any(t.startswith("Named ") for t in titles)
    assert any(not t.startswith("Named ") for t in titles)  # lexical ones for the rest


def test_a_reduce_that_names_no_topics_gives_lexical_ones(grown: Thread, tmp_path: Path) -> None:
    def none(value: dict[str, Any]) -> dict[str, Any]:
        value.pop("g", None)
        return value

    lexical = summarize_with(grown, settings(tmp_path), FakeModel(transform=none))
    assert one_topic_each(lexical) and all("Named" not in t.title for t in lexical.topics)


class BadTopicsFirst(FakeModel):
    """Answers like FakeModel, but a reduce's first answer carries ``fault`` in its topics."""

    def __init__(self, fault: str) -> None:
        super().__init__(transform=named("Named"))
        self.fault = fault

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> FakeCompletion:
        answer = await super().complete(messages, **kwargs)
        if is_reduce(messages) and not any(m["role"] == "assistant" for m in messages):
            value = json.loads(answer.content)
            value["g"] = [self.fault, *value["g"]]
            answer.content = json.dumps(value)
        return answer


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("Made up: m999", "'m999' is not an input ID"),
        ("Twice: m1", "already in another topic"),
        (": m1", "a topic needs a title"),
    ],
)
def test_invalid_topics_are_reasked(grown: Thread, tmp_path: Path, fault: str, error: str) -> None:
    if fault.startswith("Twice"):
        fault = "Twice: m1"  # m1 is in the model's own topics too: listed twice

        class Doubled(BadTopicsFirst):
            async def complete(
                self, messages: list[dict[str, str]], **kwargs: Any
            ) -> FakeCompletion:
                answer = await super().complete(messages, **kwargs)
                if is_reduce(messages) and not any(m["role"] == "assistant" for m in messages):
                    value = json.loads(answer.content)
                    value["g"] = [*value["g"][1:], value["g"][0]]  # the copy of m1 comes last
                    answer.content = json.dumps(value)
                return answer

        model: FakeModel = Doubled(fault)
    else:
        model = BadTopicsFirst(fault)
    summary = summarize_with(grown, settings(tmp_path), model)
    reasks = [m for m in model.calls if is_reduce(m) and m[-1]["role"] == "user" and len(m) > 2]
    assert reasks and summary.stats.reasks >= 1
    assert error in reasks[0][-1]["content"]
    titles = one_topic_each(summary)
    assert all(t.startswith("Named ") for t in titles)  # the re-asked answer's topics
    assert not any(w.startswith("reduce ") for w in summary.warnings)


class Levels(FakeModel):
    """Titles every reduce call's topics ``Call N: …`` (N counting reduce calls); ``top`` False
    makes the last call, the top of the tree, name none."""

    def __init__(self, top: bool = True, last: int | None = None) -> None:
        super().__init__()
        self.top, self.last, self.reduces = top, last, 0

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> FakeCompletion:
        answer = await super().complete(messages, **kwargs)
        if is_reduce(messages):
            self.reduces += 1
            value = json.loads(answer.content)
            if not self.top and self.reduces == self.last:
                value["g"] = []
            value["g"] = [f"Call {self.reduces}: {t}" for t in value["g"]]
            answer.content = json.dumps(value)
        return answer


@pytest.fixture(scope="module")
def large() -> Thread:
    return read_thread(json.dumps(synthetic_thread(600, 8)))


def test_a_reduce_tree_takes_its_topics_from_the_top(large: Thread, tmp_path: Path) -> None:
    model = Levels()
    summary = summarize_with(large, settings(tmp_path, chunk_tokens=2000, concurrency=1), model)
    # every lower level's answers are in before the level above is asked: the last call is the top
    assert model.reduces >= 2 and not any("into one call" in w for w in summary.warnings)
    titles = one_topic_each(summary)
    assert len(set(titles)) > 1 and all(t.startswith(f"Call {model.reduces}: ") for t in titles)
    assert check_summary(summary, large) == []
    # the top of the tree naming no topics: each claim keeps the one the level below gave it
    lower = Levels(top=False, last=model.reduces)
    kept = one_topic_each(
        summarize_with(large, settings(tmp_path / "b", chunk_tokens=2000, concurrency=1), lower)
    )
    assert lower.reduces == model.reduces
    assert len(set(kept)) > 1 and all(t.startswith("Call ") for t in kept)
    assert not any(t.startswith(f"Call {model.reduces}: ") for t in kept)


def test_one_chunk_has_no_reduce_and_lexical_topics(tmp_path: Path) -> None:
    thread = read_thread(json.dumps(synthetic_thread(30, 3)))
    model = FakeModel(transform=named("Named"))
    summary = summarize_with(thread, settings(tmp_path, chunk_tokens=6000), model)
    assert not any(is_reduce(m) for m in model.calls)
    assert one_topic_each(summary) and all("Named" not in t.title for t in summary.topics)


# --- every output mode, against the mock model server ----------------------------------------


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "tools", "text"])
def test_the_reduce_names_topics_in_every_output_mode(
    large: Thread, tmp_path: Path, mode: str
) -> None:
    with running(MockConfig()) as url:
        s = Settings(
            engine="llm",
            base_url=url,
            model="threadsum-mock",
            output_mode=mode,
            chunk_tokens=2000,
            cache="off",
            cache_dir=tmp_path,
        )

        async def go() -> ThreadSummary:
            async with Runtime(s) as runtime:
                return await summarize(large, s, runtime=runtime)

        summary = asyncio.run(go())
    assert summary.engine.output_mode == mode and summary.stats.reasks == 0
    assert summary.stats.chunks > 1 and summary.stats.failed_reduces == 0
    assert not any(w.startswith("reduce") for w in summary.warnings)
    titles = one_topic_each(summary)
    # the mock names topics by shared words, space-separated; lexical titles are comma lists
    assert titles and not any(", " in t for t in titles)
