"""The baseline threadsum's benchmarks measure their model calls against: a bare SDK call.

:func:`bare_map_call` sends one map call straight through ``openai.AsyncOpenAI`` with the same
request threadsum's client makes for it in ``json_schema`` mode (messages, schema, token cap,
sampling settings) and nothing else: no cache, no retries, no validation.
"""

from __future__ import annotations

from typing import Any

import openai

from ..engines.llm.map import MAP
from ..model.modes import mode_fields
from ..settings import Settings

__all__ = ["bare_map_call"]

_FIELDS = mode_fields("json_schema", MAP.schema_name, MAP.schema)


async def bare_map_call(
    client: openai.AsyncOpenAI, messages: list[dict[str, Any]], settings: Settings
) -> str:
    """The answer's text to one map call sent by ``client`` as threadsum would send it."""
    r = await client.chat.completions.create(
        model=settings.model or "threadsum-mock",  # the mock's own name when none is set
        messages=messages,  # type: ignore[arg-type]
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        seed=settings.seed,
        **_FIELDS,
    )
    return r.choices[0].message.content or ""
