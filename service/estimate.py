"""What the LLM engine would spend on a thread, worked out without calling the model.

:func:`estimate_llm` follows the engine's plan: the thread is chunked as the engine chunks it,
and each chunk's map prompt is rendered exactly as the engine renders it, so the map calls and
their prompt tokens are what a run sends (as the offline estimator counts tokens: it errs about
10% high, like the budgets). The rest is an estimate, and says so:

- **Completion tokens** of a map answer: the JSON the answer format asks for, written out for
  the chunk, as if it found one claim per :data:`COMMENTS_PER_CLAIM` comments with text, cited
  every such comment once, and stated each claim and rebuttal in one sentence of
  :data:`STATEMENT_WORDS` words. Real answers vary with the model and the discussion; they can
  never be longer than ``max_tokens``, so the ceiling is given too.
- **Reduce calls** (only when there are several chunks) pack those claims into groups as the
  engine does, and assume each group merges to :data:`REDUCE_KEEP` of its claims, level by
  level, until one call holds them all.
- Not counted: re-asks of invalid answers (each at most ``max_reasks`` more calls), chunks
  split again because an answer was cut off, and answers already in the cache (a re-run costs
  less). A model whose context the server reports as smaller than the chunk budget gets smaller
  chunks at run time (more calls); the estimate asks the server nothing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Final

from .chunker import chunk_thread
from .cost import Cost, price
from .models import Thread
from .prompts import Prompt, one_line, render_chunk
from .settings import Settings
from .text.tokens import estimate_tokens

__all__ = ["COMMENTS_PER_CLAIM", "REDUCE_KEEP", "STATEMENT_WORDS", "Estimate", "estimate_llm"]

COMMENTS_PER_CLAIM: Final = 6
"""Assumed: one claim (with its rebuttals and counters) per this many comments with text."""
STATEMENT_WORDS: Final = 18
"""Assumed length of one model-written statement (claim, rebuttal, counter), in words."""
REDUCE_KEEP: Final = 0.5
"""Assumed share of a reduce group's claims that remain after it merges them."""
OVERVIEW_WORDS: Final = 120
"""The overview's length the overview prompt asks for, at most."""
MESSAGE_OVERHEAD: Final = 4
"""Tokens each chat message adds besides its content (as the engine counts them)."""
_STATEMENT: Final = " ".join(["word"] * STATEMENT_WORDS)


@dataclass(frozen=True)
class Estimate:
    """The calls, tokens and cost a summary would take (see the module docstring)."""

    model: str
    chunks: int
    map_calls: int
    reduce_calls: int
    prompt_tokens: int
    completion_tokens: int
    max_completion_tokens: int
    cost: Cost
    max_cost: Cost
    max_reasks: int

    @property
    def calls(self) -> int:
        """Model calls, re-asks not counted."""
        return self.map_calls + self.reduce_calls

    def as_dict(self) -> dict[str, Any]:
        """The estimate as JSON-ready data."""
        return {
            "model": self.model,
            "chunks": self.chunks,
            "calls": self.calls,
            "map_calls": self.map_calls,
            "reduce_calls": self.reduce_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens_estimate": self.completion_tokens,
            "completion_tokens_max": self.max_completion_tokens,
            "cost_usd_estimate": self.cost.usd,
            "cost_usd_max": self.max_cost.usd,
            "cost_note": self.cost.note or None,
            "max_reasks": self.max_reasks,
        }


def _tokens(messages: list[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)


def _item(ids: list[str], statement: str) -> str:
    """One item of the compact answer format: its sentence ids, then its statement."""
    return " ".join([*ids, statement])


def _map_answer(ids: list[str]) -> str:
    """The map answer the estimate assumes for a chunk whose commented sentences start ``ids``.

    It is written in the engine's compact answer format (:mod:`service.answer_format`).
    """
    claims: list[dict[str, Any]] = []
    n_claims = math.ceil(len(ids) / COMMENTS_PER_CLAIM) if ids else 0
    for k in range(n_claims):
        group = ids[k * COMMENTS_PER_CLAIM : (k + 1) * COMMENTS_PER_CLAIM]
        # The claim's own comment, one supporter, one rebuttal answered by one counter: the
        # comments left over are split between them, one citation each.
        head, rest = group[:1], group[1:]
        half = len(rest) // 2
        claim: dict[str, Any] = {"t": _item(head, _STATEMENT)}
        if rest[:half][:1]:
            claim["p"] = " ".join(rest[:half][:1])
        if rest:
            rebuttal: dict[str, Any] = {"t": _item(rest[half:] or rest, _STATEMENT)}
            if rest[:half][1:]:
                rebuttal["c"] = [_item(rest[:half][1:], _STATEMENT)]
            claim["r"] = [rebuttal]
        claims.append(claim)
    return json.dumps({"k": claims})


def _reduce_calls(
    claims: int, prompts: dict[str, Prompt], title: str, room: int
) -> tuple[int, int, int]:
    """Reduce calls (the overview's, beside the last, included), their prompt tokens and
    completion tokens, for ``claims`` chunk claims."""
    from .answer_format import OVERVIEW_SHAPE, REDUCE_SHAPE

    line = f"m1 [1 rebuttals] {_STATEMENT}"
    per_claim = estimate_tokens(_STATEMENT) + 8  # what the engine's packing counts per claim
    calls = prompt_tokens = completion_tokens = 0
    items = claims
    while True:
        per_group = max(1, room // per_claim)
        groups = math.ceil(items / per_group)
        for g in range(groups):
            size = min(per_group, items - g * per_group)
            lines = "\n".join([line] * size)
            messages = prompts["reduce"].render(title=title, claims=lines, schema=REDUCE_SHAPE)
            prompt_tokens += _tokens(messages)
            kept = max(1, round(size * REDUCE_KEEP)) if groups > 1 else max(1, size)
            answer = {"k": [{"m": "m1-2", "s": _STATEMENT}] * kept}
            completion_tokens += estimate_tokens(json.dumps(answer))
        calls += groups
        if groups <= 1:
            messages = prompts["overview"].render(title=title, claims=lines, schema=OVERVIEW_SHAPE)
            prompt_tokens += _tokens(messages)
            completion_tokens += estimate_tokens(
                json.dumps({"o": " ".join(["word"] * OVERVIEW_WORDS)})
            )
            return calls + 1, prompt_tokens, completion_tokens
        items = max(1, round(items * REDUCE_KEEP))


def estimate_llm(thread: Thread, settings: Settings, prompts: dict[str, Prompt]) -> Estimate:
    """What summarizing ``thread`` with the LLM engine and ``settings`` would spend."""
    from .answer_format import MAP_SHAPE
    from .engines.llm.reduce import MIN_ROOM, REDUCE_OVERHEAD

    title = one_line(thread.title or "(untitled)")
    chunks = chunk_thread(thread, settings.chunk_tokens, slots=settings.concurrency)
    map_calls = prompt_tokens = completion_tokens = claims = 0
    for chunk in chunks:
        view = render_chunk(thread, chunk, implied_first=True)  # as the map renders it
        ids = [
            f"{key}.{first}"
            for key, (first, _last) in view.sentences.items()
            if thread.by_key[view.local_to_global[key]].sentences
        ]
        if not ids:
            continue  # nothing to cite: the engine asks nothing for it
        messages = prompts["map"].render(title=title, comments=view.text, schema=MAP_SHAPE)
        map_calls += 1
        prompt_tokens += _tokens(messages)
        completion_tokens += estimate_tokens(_map_answer(ids))
        claims += math.ceil(len(ids) / COMMENTS_PER_CLAIM)
    reduce_calls = 0
    if len(chunks) > 1 and claims > 1:
        # The engine's group budget (engines.llm.reduce): a reduce answer restates its claims.
        budget = min(settings.chunk_tokens - REDUCE_OVERHEAD, int(settings.max_tokens * 0.6))
        reduce_calls, reduce_prompt_tokens, reduce_completion = _reduce_calls(
            claims, prompts, title, max(MIN_ROOM, budget)
        )
        prompt_tokens += reduce_prompt_tokens
        completion_tokens += reduce_completion
    calls = map_calls + reduce_calls
    model = settings.model or ""
    ceiling = calls * settings.max_tokens
    return Estimate(
        model=model,
        chunks=len(chunks),
        map_calls=map_calls,
        reduce_calls=reduce_calls,
        prompt_tokens=prompt_tokens,
        completion_tokens=min(completion_tokens, ceiling),
        max_completion_tokens=ceiling,
        cost=price(model, settings.base_url, prompt_tokens, min(completion_tokens, ceiling)),
        max_cost=price(model, settings.base_url, prompt_tokens, ceiling),
        max_reasks=settings.max_reasks,
    )
