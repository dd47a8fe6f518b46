"""Signs that one comment read from a pasted page holds several, for the text format's warnings.

Where a page shows no boundary (no blank line, bullet, indentation or header), the lines are one
comment: nothing is split on a guess. These checks say when that comment looks like several:

* **run-on lines**: within one paragraph, a line that ends a sentence followed by a line that
  starts one, at the same indentation and not a list item or quote. One such break is a soft
  line break; :data:`RUN_ON_BREAKS` or more (three sentence-lines in a row with nothing between)
  is what a page that lost its blank lines looks like;
* **header-like text**: a line that is a header without links ("bob 2 hours ago") on a page
  whose bullets make it text, or a run inside a line ("bob 2 hours ago | parent", "bob 5 points
  3 hours ago") that a copy which joined lines carries in the middle of a comment.
"""

from __future__ import annotations

import re
from itertools import pairwise

from .lines import inline_header, soft_header

RUN_ON_BREAKS = 2
"""Unmarked sentence-line breaks in one comment from which it is reported as possibly several."""

_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_SENTENCE_START = re.compile(r"[\"“'(]?[A-Z0-9]")
_MARKED = re.compile(r"(?:[-*+>•]|\d{1,3}[.)])\s")

Paragraphs = list[list[tuple[int, str]]]


def unmarked_breaks(paras: Paragraphs) -> int:
    """How many line breaks inside ``paras`` fall between sentences with nothing to mark them."""
    count = 0
    for para in paras:
        for (indent_a, a), (indent_b, b) in pairwise(para):
            if (
                indent_a == indent_b
                and _SENTENCE_END.search(a)
                and _SENTENCE_START.match(b)
                and not _MARKED.match(a)
                and not _MARKED.match(b)
            ):
                count += 1
    return count


def header_inside(paras: Paragraphs) -> str | None:
    """The first header-like line, or run inside a line, of ``paras``, if any."""
    for para in paras:
        for _, line in para:
            if soft_header(line) is not None:
                return line
            found = inline_header(line)
            if found is not None:
                return found
    return None
