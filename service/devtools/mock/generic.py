"""The mock's answer to any prompt that is not threadsum's (:attr:`MockConfig.answer_any`).

Benchmarks run other pipelines (a one-shot prompt, LangChain's map_reduce) against the same
server; they get a deterministic plain-text answer of realistic length.
"""

from __future__ import annotations

from typing import Any

from ...text.sentences import split_sentences
from ...text.tokens import estimate_tokens
from ...text.wording import one_line
from ..prompt_data import content_text
from .protocol import message_text, truncate

GENERIC_TOKENS = 200
"""The most tokens of a generic answer: a paragraph, as hosted models write."""


def generic_answer(messages: list[dict[str, Any]], limit: int = GENERIC_TOKENS) -> str:
    """A plain-text answer to a prompt that is not threadsum's, as a summarizing model might give.

    It is the last user message's first distinct sentences (lines ending in ``:`` — headings and
    instructions such as ``CONCISE SUMMARY:`` — and surrounding quotes left out), as many as fit
    in ``limit`` tokens by the offline estimator; a first sentence longer than that is cut.
    Deterministic, and never longer than ``limit`` (empty when ``limit`` holds no text at all).
    """
    user = [m for m in messages if m["role"] == "user"]
    text = content_text(user[-1].get("content")) if user else ""
    if not text.strip():
        text = "\n".join(message_text(m) for m in messages)
    lines = [line.strip().strip('"“”').strip() for line in text.splitlines()]
    sentences = (
        one_line(line[start:end])
        for line in lines
        if line and not line.endswith(":")
        for start, end in split_sentences(line)
    )
    picked: list[str] = []
    seen: set[str] = set()
    used = 0
    for sentence in sentences:
        if not sentence or sentence in seen:
            continue
        cost = estimate_tokens(sentence if not picked else " " + sentence)
        if used + cost > limit:
            return " ".join(picked) if picked else truncate(sentence, limit)
        picked.append(sentence)
        seen.add(sentence)
        used += cost
    return " ".join(picked) if picked else truncate("There is nothing here to summarise.", limit)
