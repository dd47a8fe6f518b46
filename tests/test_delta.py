"""The LLM engine's incremental path: only new comments go to the model, merged by claim id."""

from __future__ import annotations

import asyncio
import json

import pytest

from service import Settings, read_thread, summarize
from service.devtools.fake import FakeModel, data_block
from service.devtools.mock.mapping import delta_answer
from service.devtools.synthetic import synthetic_thread
from service.engines.llm.delta import check_delta
from service.errors import ModelOutputError
from service.models import Thread, ThreadSummary
from service.prompts import parse_chunk
from service.runtime import Runtime

SETTINGS = Settings(engine="llm", model="fake-model", cache="off", max_claims=0, max_reasks=1)


def _thread(n: int) -> Thread:
    doc = synthetic_thread(n, seed=3)
    doc["title"] = "A growing thread"
    return read_thread(json.dumps(doc).encode(), "auto", Settings())


def _run(
    thread: Thread, fake: FakeModel, since: ThreadSummary | None = None, **overrides: object
) -> ThreadSummary:
    settings = SETTINGS.model_copy(update=overrides)

    async def go() -> ThreadSummary:
        async with Runtime(settings, model=fake) as runtime:
            return await summarize(thread, settings, runtime=runtime, since=since)

    return asyncio.run(go())


def _is_delta(messages: list[dict[str, str]]) -> bool:
    return data_block(messages, "claims_data") is not None and (
        data_block(messages, "thread_data") is not None
    )


def test_only_new_comments_are_sent_and_earlier_claims_keep_their_ids() -> None:
    first = _run(_thread(80), FakeModel())
    assert first.thread.seen is not None and len(first.thread.seen.ids) == 80
    grown = _thread(90)
    new_ids = {c.id for c in grown.comments[80:]}
    fake = FakeModel()
    summary = _run(grown, fake, since=first)
    assert fake.calls and all(_is_delta(m) for m in fake.calls)
    sent = 0
    for messages in fake.calls:
        block = data_block(messages, "thread_data") or ""
        sent += sum(not c.context for c in parse_chunk(block))
    assert sent == len(new_ids)  # every new comment once; earlier ones only as context
    assert first.stats.prompt_tokens == 0 or summary.stats.llm_calls < first.stats.llm_calls
    ids = {c.id for c in summary.claims}
    assert {c.id for c in first.claims} <= ids
    cited = {
        cit.comment_id
        for c in summary.claims
        for cit in [*c.evidence, *c.supporters, *(e for r in c.rebuttals for e in r.evidence)]
    } | {
        e.comment_id
        for c in summary.claims
        for r in c.rebuttals
        for k in r.counters
        for e in k.evidence
    }
    assert cited & new_ids  # what the new comments say is in the map
    assert summary.thread.seen is not None and len(summary.thread.seen.ids) == 90
    assert summary.changes is not None


def test_a_summary_without_seen_falls_back_to_a_cold_run() -> None:
    first = _run(_thread(40), FakeModel())
    older = first.model_copy(update={"thread": first.thread.model_copy(update={"seen": None})})
    fake = FakeModel()
    summary = _run(_thread(44), fake, since=older)
    assert not any(_is_delta(m) for m in fake.calls)
    assert any("summarized in full" in w and "thread.seen" in w for w in summary.warnings)
    assert summary.changes is not None


def test_a_changed_comment_falls_back_to_a_cold_run() -> None:
    first = _run(_thread(40), FakeModel())
    doc = synthetic_thread(44, seed=3)
    doc["title"] = "A growing thread"
    doc["comments"][5]["text"] += " Edited."
    fake = FakeModel()
    summary = _run(read_thread(json.dumps(doc).encode(), "auto", Settings()), fake, since=first)
    assert not any(_is_delta(m) for m in fake.calls)
    assert any("has changed" in w for w in summary.warnings)


def test_nothing_new_asks_nothing() -> None:
    thread = _thread(40)
    first = _run(thread, FakeModel())
    fake = FakeModel()
    again = _run(thread, fake, since=first)
    assert fake.calls == []
    assert {c.id for c in again.claims} == {c.id for c in first.claims}


def test_a_garbage_delta_answer_is_reasked() -> None:
    first = _run(_thread(80), FakeModel())
    fake = FakeModel(script=["this is not JSON"])
    summary = _run(_thread(81), fake, since=first)
    assert summary.stats.reasks == 1
    assert len(fake.calls) == 2 and "not JSON" in fake.calls[1][-2]["content"]


def test_garbage_delta_answers_are_refused_after_the_reasks() -> None:
    first = _run(_thread(80), FakeModel())
    fake = FakeModel(script=['{"k": [{"t": "no ids"}]}', '{"a": [{"i": "Knope00", "p": "c1.1"}]}'])
    with pytest.raises(ModelOutputError):
        _run(_thread(81), fake, since=first, max_failed_share=0.0)


def test_check_delta_keeps_only_grounded_additions_to_listed_ids() -> None:
    value = {
        "k": [{"t": "c1.1 A new point"}],
        "a": [
            {"i": "Kaaaaaa", "p": "c1.2 c9.1", "r": [{"t": "c2.1 It is wrong"}]},
            {"i": "Kaaaaaa.Rbbbb", "c": ["c2.2 But it holds"], "p": "c2.1"},
            {"i": "Kinvent", "p": "c1.1"},
        ],
    }
    valid = {"c1.1", "c1.2", "c2.1", "c2.2"}
    checked = check_delta(value, valid, {"Kaaaaaa"}, {"Kaaaaaa.Rbbbb"})
    reply = checked.reply
    assert [c.evidence for c in reply.claims] == [["c1.1"]]
    assert [t.target for t in reply.touches] == ["Kaaaaaa", "Kaaaaaa.Rbbbb"]
    assert reply.touches[0].supporters == ["c1.2"]
    assert reply.touches[1].counters[0].evidence == ["c2.2"]
    assert any("c9.1" in e for e in checked.errors)
    assert any("Kinvent" in e for e in checked.errors)
    assert any("only c" in e for e in checked.errors)


def test_the_mock_answers_delta_prompts_deterministically_and_grounded() -> None:
    data = (
        "context:\np1: Rust is safer than C for systems work.\ncomments:\n"
        "c1 >p1\n1 I disagree, C is fine.\n2 It is fast."
    )
    claims = "Kaaaaaa [p1] Rust is safer than C for systems work."
    one = delta_answer(data, claims)
    assert one == delta_answer(data, claims)
    valid = {"c1.1", "c1.2"}
    checked = check_delta(one, valid, {"Kaaaaaa"}, set())
    assert not checked.errors
    assert checked.reply.claims or checked.reply.touches
