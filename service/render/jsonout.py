"""A :class:`~service.models.ThreadSummary` as JSON: the contract form, byte-stable."""

from __future__ import annotations

import json

from ..models import ThreadSummary


def render_json(summary: ThreadSummary) -> str:
    """The summary as indented JSON in model field order, ending in a newline.

    Equal summaries give byte-identical output, and the output validates back into an equal
    :class:`ThreadSummary`. A non-finite float (which JSON cannot hold) raises ``ValueError``.
    """
    data = summary.model_dump(mode="json")
    return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
