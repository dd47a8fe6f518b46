"""Reading threadsum's rendered prompts back, for the fakes that answer them.

The map prompt carries a chunk between ``<thread_data>`` lines, the reduce and overview prompts
claim lines between ``<claims_data>`` lines (:data:`~service.prompts.DATA_TAGS`; the overview
prompt asks for the shape :data:`~service.answer_format.OVERVIEW_SHAPE`), and all carry the
thread's title on the line :func:`~service.prompts.parse_title` reads. The mock model server
(:mod:`service.devtools.mock`) and :class:`~service.devtools.fake.FakeModel` both read prompts
through this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..answer_format import OVERVIEW_SHAPE
from ..prompts import DATA_TAGS, parse_title

PromptKind = Literal["map", "reduce", "overview", "other"]
"""Which of threadsum's prompts a conversation holds (``other``: none of them)."""

_KIND_TAGS: tuple[tuple[PromptKind, str], ...] = (("map", "thread_data"), ("reduce", "claims_data"))
_OVERVIEW = re.compile(rf"^JSON {re.escape(OVERVIEW_SHAPE)}$", re.MULTILINE)
_BLOCKS = {
    tag: re.compile(rf"^<{tag}>\n(.*?)\n?^</{tag}>$", re.MULTILINE | re.DOTALL) for tag in DATA_TAGS
}


def content_text(content: Any) -> str:
    """The text of a chat message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def data_block(text: str, tag: str) -> str | None:
    """What ``text`` holds between a ``<tag>`` line and the ``</tag>`` line after it, if any."""
    found = _BLOCKS[tag].search(text)
    return found.group(1) if found else None


@dataclass(frozen=True)
class PromptData:
    """The data a conversation asks about: its kind, the data block and the thread's title."""

    kind: PromptKind
    data: str = ""
    title: str = ""


def read_prompt(messages: Sequence[Mapping[str, Any]]) -> PromptData:
    """The data of the last user message holding a data block; kind ``other`` if none does.

    A re-ask (a later user message without data) is thereby read as the prompt it re-asks.
    """
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        text = content_text(message.get("content"))
        for kind, tag in _KIND_TAGS:
            data = data_block(text, tag)
            if data is not None:
                if kind == "reduce" and _OVERVIEW.search(text):
                    kind = "overview"  # the same claim lines, asked for an overview
                return PromptData(kind, data, parse_title(text) or "")
    return PromptData("other")
