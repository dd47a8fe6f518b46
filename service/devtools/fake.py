"""A fake model above the HTTP client: answers threadsum's prompts from the data it is sent.

:class:`FakeModel` implements :class:`~service.model.protocol.ChatModel` in memory, so code
built on threadsum can be tested with the LLM engine and no server, no network, no openai::

    from service import Settings, read_thread, summarize
    from service.devtools import FakeModel
    from service.runtime import Runtime

    thread = read_thread(raw)  # raw: a thread in any input format
    fake = FakeModel()
    settings = Settings(engine="llm", model="fake-model", cache="off")
    async with Runtime(settings, model=fake) as runtime:
        summary = await summarize(thread, settings, runtime=runtime)
    assert fake.calls  # the messages of every prompt it was sent

Its answers are simple and grounded: one claim per top-level comment of a chunk, replies to it as
rebuttals (:func:`answer_map`); reduce merges equal statements and groups them into topics by
the words they share (:func:`answer_reduce`); an overview counts the claims listed; a delta
prompt's new replies rebut or counter the listed claims their parents are cited by
(:func:`answer_delta`).
``script`` replaces answers call by call (text to return, or an exception to raise), and the
``truncate_*`` fields make it answer like a model that ran out of tokens.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import TruncatedError
from ..prompts import parse_chunk
from .mock.reducing import name_topics
from .prompt_data import content_text
from .prompt_data import data_block as _block


@dataclass
class FakeCompletion:
    """One answer of :class:`FakeModel` (a :class:`~service.model.protocol.CompletionLike`)."""

    content: str
    finish_reason: str = "stop"
    prompt_tokens: int = 0  # unreported, as some servers do; set it to test the truncation check
    completion_tokens: int = 20
    mode: str = "json_schema"
    model: str = "fake-model"


def data_block(messages: Sequence[Mapping[str, Any]], tag: str) -> str | None:
    """The ``<tag>`` data block of the last message holding one (``thread_data``,
    ``claims_data``), or None."""
    for message in reversed(messages):
        found = _block(content_text(message.get("content")), tag)
        if found is not None:
            return found
    return None


def answer_map(data: str) -> dict[str, Any]:
    """One claim per top-level comment of the chunk; replies to it become rebuttals.

    In the compact answer format (:mod:`service.answer_format`), as a model writes it.
    """
    comments = [c for c in parse_chunk(data) if not c.context and c.sentences]
    keys = {c.key for c in comments}
    claims: list[dict[str, Any]] = []
    by_key: dict[str, dict[str, Any]] = {}
    for c in comments:
        sid = f"{c.key}.{c.sentences[0][0]}"
        if c.parent in by_key:
            by_key[c.parent].setdefault("r", []).append({"t": f"{sid} Pushback from {c.key}"})
            continue
        if c.parent in keys:
            continue
        claim: dict[str, Any] = {"t": f"{sid} {c.sentences[0][1][:80]}"}
        by_key[c.key] = claim
        claims.append(claim)
    return {"k": claims}


def listed_claims(claims: str) -> dict[str, str]:
    """The context comment each listed id of a delta prompt is cited by: ``p1`` → ``K…``
    (a claim citing it wins over a rebuttal)."""
    cited: dict[str, str] = {}
    for line in claims.split("\n"):
        head, _, rest = line.partition(" ")
        refs, _, _ = rest.removeprefix("[").partition("]")
        for ref in refs.split():
            if ".R" in head:
                cited.setdefault(ref, head)
            elif ref not in cited or ".R" in cited[ref]:
                cited[ref] = head
    return cited


def answer_delta(data: str, claims: str) -> dict[str, Any]:
    """What the new comments add: a reply to a context comment a listed claim cites rebuts
    that claim, one to a comment a listed rebuttal cites counters it; replies among the new
    comments rebut the new claim they answer; the rest are new claims."""
    cited = listed_claims(claims)
    parsed = parse_chunk(data)
    comments = [c for c in parsed if not c.context and c.sentences]
    keys = {c.key for c in comments}
    touches: dict[str, dict[str, Any]] = {}
    new: list[dict[str, Any]] = []
    by_key: dict[str, dict[str, Any]] = {}
    for c in comments:
        sid = f"{c.key}.{c.sentences[0][0]}"
        target = cited.get(c.parent or "")
        if target is not None:
            touch = touches.setdefault(target, {"i": target})
            if ".R" in target:
                touch.setdefault("c", []).append(f"{sid} Counter from {c.key}")
            else:
                touch.setdefault("r", []).append({"t": f"{sid} Pushback from {c.key}"})
            continue
        if c.parent in by_key:
            by_key[c.parent].setdefault("r", []).append({"t": f"{sid} Pushback from {c.key}"})
            continue
        if c.parent in keys:
            continue
        claim: dict[str, Any] = {"t": f"{sid} {c.sentences[0][1][:80]}"}
        by_key[c.key] = claim
        new.append(claim)
    return {"k": new, "a": list(touches.values())}


def answer_reduce(data: str) -> dict[str, Any]:
    """Merge lines whose statements are equal (keeping the first one's); keep the rest apart;
    name topics over the merged claims (:func:`~.mock.reducing.name_topics`)."""
    groups: dict[str, tuple[str, list[str]]] = {}
    for line in data.split("\n"):
        mid, _, rest = line.partition(" ")
        statement = rest.split("] ", 1)[-1] if rest.startswith("[") else rest
        groups.setdefault(statement.lower().strip(" .!"), (statement, []))[1].append(mid)
    return {
        "k": [{"m": " ".join(ids)} for _, ids in groups.values() if len(ids) > 1],
        "g": [f"{n}: {' '.join(ids)}" for n, ids in name_topics(list(groups.values()))],
    }


def answer_overview(data: str) -> dict[str, Any]:
    """An overview that counts the claim lines."""
    return {"o": f"The discussion has {len([x for x in data.split(chr(10)) if x])} claims."}


@dataclass
class FakeModel:
    """Answers map, reduce, overview and delta prompts in memory; ``script`` can override
    answers call by call.

    A :class:`~service.model.protocol.ChatModel`: pass it as ``Runtime(settings, model=...)``.
    """

    script: list[str | Exception] = field(default_factory=list)
    """Answers for the next calls, in order: a text to return, or an exception to raise."""
    calls: list[list[dict[str, str]]] = field(default_factory=list)
    """The messages of every call, in order."""
    truncate_over: int | None = None  # raise TruncatedError for chunks with more comments
    truncate_sentences_over: int | None = None  # … or with more sentences
    truncate_reduce_over: int | None = None  # … and for reduce calls with more claims
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Rewrites each computed answer (not scripted ones) before it is returned."""
    context: int | None = None  # what context_length() reports; None: not reported

    async def context_length(self) -> int | None:
        """The context length it was given (``context``), like a server that reports one."""
        return self.context

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema_name: str,
        schema: dict[str, Any],
        max_tokens: int,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> FakeCompletion:
        """The next scripted answer, else the answer to the map or reduce data in ``messages``."""
        self.calls.append(messages)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            return FakeCompletion(step)
        data = data_block(messages, "thread_data")
        listed = data_block(messages, "claims_data")
        if data is not None and listed is not None:  # the delta prompt
            if self.truncate_over is not None and (
                len([c for c in parse_chunk(data) if not c.context]) > self.truncate_over
            ):
                raise TruncatedError("cut off")
            value = answer_delta(data, listed)
        elif data is not None:
            parsed = [c for c in parse_chunk(data) if not c.context]
            if self.truncate_over is not None and len(parsed) > self.truncate_over:
                raise TruncatedError("cut off")
            sentences = sum(len(c.sentences) for c in parsed)
            if (
                self.truncate_sentences_over is not None
                and sentences > self.truncate_sentences_over
            ):
                raise TruncatedError("cut off")
            value = answer_map(data)
        elif schema_name == "overview":
            value = answer_overview(listed or "")
        else:
            claims = listed or ""
            if self.truncate_reduce_over is not None and (
                len(claims.split("\n")) > self.truncate_reduce_over
            ):
                raise TruncatedError("cut off")
            value = answer_reduce(claims)
        if self.transform is not None:
            value = self.transform(value)
        return FakeCompletion(json.dumps(value))
