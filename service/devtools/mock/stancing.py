"""The mock's answer to stance prompts (``prompts/stance.toml``): the extractive stance component.

The pair is read back from the ``<pair_data>`` block with
:func:`~service.engines.llm.stance.parse_pair` and classified by the same component
``threadsum eval stance --engine extractive`` measures, so the LLM engine on mock-llm scores what
the extractive engine scores, through the whole model path (prompt, mode, cache, validation).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from ...engines.llm.stance import parse_pair
from ...eval.stance import PairStance, pair_classifier
from ..prompt_data import content_text, data_block

__all__ = ["stance_answer"]


@cache
def _classifier() -> Callable[[str, str], PairStance]:
    return pair_classifier()


def stance_answer(messages: list[dict[str, Any]]) -> str | None:
    """The JSON answer to a stance prompt in ``messages``, or None when there is none."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        data = data_block(content_text(message.get("content")), "pair_data")
        pair = parse_pair(data) if data is not None else None
        if pair is not None:
            found = _classifier()(*pair)
            return json.dumps({"stance": found.label, "confidence": round(found.confidence, 3)})
    return None
