"""A fake model above the HTTP client: answers threadsum's prompts from the data it is sent."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from service.errors import TruncatedError
from service.prompts import parse_chunk


@dataclass
class FakeCompletion:
    content: str
    finish_reason: str = "stop"
    prompt_tokens: int = 0  # unreported, as some servers do; set it to test the truncation check
    completion_tokens: int = 20
    mode: str = "json_schema"
    model: str = "fake-model"


def _data(messages: list[dict[str, str]], tag: str) -> str | None:
    for m in reversed(messages):
        found = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", m["content"], re.DOTALL)
        if found:
            return found.group(1)
    return None


def answer_map(data: str) -> dict[str, Any]:
    """One claim per top-level comment of the chunk; replies to it become rebuttals."""
    comments = [c for c in parse_chunk(data) if not c.context and c.sentences]
    keys = {c.key for c in comments}
    claims: list[dict[str, Any]] = []
    by_key: dict[str, dict[str, Any]] = {}
    for c in comments:
        sid = f"{c.key}.{c.sentences[0][0]}"
        if c.parent in by_key:
            by_key[c.parent]["rebuttals"].append(
                {"statement": f"Pushback from {c.key}", "evidence": [sid], "counters": []}
            )
            continue
        if c.parent in keys:
            continue
        claim = {
            "statement": c.sentences[0][1][:80],
            "evidence": [sid],
            "supporters": [],
            "rebuttals": [],
        }
        by_key[c.key] = claim
        claims.append(claim)
    return {"claims": claims}


def answer_reduce(data: str) -> dict[str, Any]:
    """Merge lines whose statements are equal; keep the rest apart."""
    groups: dict[str, list[str]] = {}
    for line in data.split("\n"):
        mid, _, rest = line.partition(" ")
        statement = rest.split("] ", 1)[-1]
        groups.setdefault(statement.lower().strip(" .!"), []).append(mid)
    return {
        "overview": f"The discussion has {len(groups)} distinct claims.",
        "claims": [{"statement": s, "merges": ids} for s, ids in groups.items()],
    }


@dataclass
class FakeModel:
    """Answers map and reduce prompts; ``script`` can override answers call by call."""

    script: list[str | Exception] = field(default_factory=list)
    calls: list[list[dict[str, str]]] = field(default_factory=list)
    truncate_over: int | None = None  # raise TruncatedError for chunks with more comments
    truncate_sentences_over: int | None = None  # … or with more sentences
    truncate_reduce_over: int | None = None  # … and for reduce calls with more claims
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    context: int | None = None  # what context_length() reports; None: not reported

    async def context_length(self) -> int | None:
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
        self.calls.append(messages)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            return FakeCompletion(step)
        data = _data(messages, "thread_data")
        if data is not None:
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
        else:
            claims = _data(messages, "claims_data") or ""
            if self.truncate_reduce_over is not None and (
                len(claims.split("\n")) > self.truncate_reduce_over
            ):
                raise TruncatedError("cut off")
            value = answer_reduce(claims)
        if self.transform is not None:
            value = self.transform(value)
        return FakeCompletion(json.dumps(value))
