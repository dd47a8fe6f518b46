"""FakeModel: the in-memory ChatModel that users test their own code against."""

from __future__ import annotations

import asyncio
import json

import pytest

from service import Settings, read_thread, summarize
from service.devtools import FakeModel
from service.devtools.fake import FakeCompletion, data_block
from service.errors import TruncatedError
from service.grounding import check_summary
from service.models import ThreadSummary
from service.prompts import load_prompt
from service.runtime import Runtime

from .conftest import EXAMPLE_PAGE


def test_script_comes_first_then_computed_answers() -> None:
    fake = FakeModel(script=['{"k": []}', TruncatedError("cut off")])
    messages = load_prompt("reduce").render(title="T", claims="m1 A.\nm2 [1] a!", schema="{}")

    async def three() -> list[FakeCompletion | Exception]:
        out: list[FakeCompletion | Exception] = []
        for _ in range(3):
            try:
                out.append(await fake.complete(messages, schema_name="s", schema={}, max_tokens=10))
            except TruncatedError as e:
                out.append(e)
        return out

    first, second, third = asyncio.run(three())
    assert isinstance(first, FakeCompletion) and first.content == '{"k": []}'
    assert isinstance(second, TruncatedError)
    assert isinstance(third, FakeCompletion)
    assert json.loads(third.content)["k"] == [{"m": "m1 m2"}]
    assert len(fake.calls) == 3


def test_data_block_reads_the_last_message_holding_one() -> None:
    first = load_prompt("reduce").render(title="T", claims="m1 A.", schema="{}")
    later = load_prompt("reduce").render(title="T", claims="m2 B.", schema="{}")
    assert data_block([*first, {"role": "assistant", "content": "?"}, *later], "claims_data") == (
        "m2 B."
    )
    assert data_block(first, "thread_data") is None


@pytest.mark.parametrize("context", [None, 4096])
def test_context_length_is_what_it_was_given(context: int | None) -> None:
    assert asyncio.run(FakeModel(context=context).context_length()) == context


def test_documented_usage_with_a_runtime() -> None:
    """What FakeModel's docstring shows: ``Runtime(settings, model=fake)`` and the LLM engine."""
    fake = FakeModel()
    settings = Settings(engine="llm", model="fake-model", cache="off")
    thread = read_thread(EXAMPLE_PAGE.read_bytes())

    async def go() -> ThreadSummary:
        async with Runtime(settings, model=fake) as runtime:
            return await summarize(thread, settings, runtime=runtime)

    summary = asyncio.run(go())
    assert summary.engine.kind == "llm" and summary.claims
    assert check_summary(summary, thread) == []
    assert len(fake.calls) == summary.stats.llm_calls >= 1
