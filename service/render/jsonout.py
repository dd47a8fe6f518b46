"""A :class:`~service.models.ThreadSummary` as JSON: the contract form, byte-stable."""

from __future__ import annotations

import json

from ..models import ThreadSummary


def render_json(summary: ThreadSummary) -> str:
    """The summary as indented JSON in model field order, ending in a newline.

    Equal summaries give byte-identical output, and the output validates back into an equal
    :class:`ThreadSummary`. A non-finite float (which JSON cannot hold) raises ``ValueError``.
    """
    # pydantic writes the indented text (the stdlib's indenting encoder is pure Python: 80 ms
    # for a 5,000-comment thread's map); the stdlib's C encoder, compact, only checks that
    # every float is finite, which pydantic would write as null.
    json.dumps(summary.model_dump(mode="json"), allow_nan=False, check_circular=False)
    return summary.model_dump_json(indent=2) + "\n"
