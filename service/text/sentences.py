"""Split comment text into sentences whose text is always a verbatim slice of the comment.

The splitter works on blocks first (paragraphs, fenced or indented code, ``>`` quotes, list
items), then on sentence punctuation inside prose. It knows URLs, decimals, common
abbreviations, initials and ellipses. Code blocks and quote blocks are one unit each: a quote is
someone else's words and code has no sentences. Over-long runs without punctuation are cut at a
clause or word boundary so no sentence exceeds :data:`MAX_SENTENCE_CHARS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .tokens import estimate_tokens

MAX_SENTENCE_CHARS = 1200
#: No sentence is estimated above this many tokens (dense scripts are cut shorter).
MAX_SENTENCE_TOKENS = 400

_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+\S")
_QUOTE = re.compile(r"^[ \t]*(?:>|&gt;)")
_INDENTED = re.compile(r"^(?: {4}|\t)")

# A candidate end: terminal punctuation, optional closers, then whitespace. A match only starts
# where a run of punctuation starts: a run that fails from its first mark fails from every later
# one, and trying each would rescan the run once per mark (quadratic in "!!!!…x").
_END = re.compile(
    r"""(?<![.!?])(?:[.!?]+["'”’)\]]*(?=\s)|[.!?]+["'”’)\]]*$)|[。！？]+[」』”’）]*"""
)
_NEXT = re.compile(r"\s*(\S)")
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st vs etc al e.g i.e cf approx dept est fig inc ltd co corp jan
    feb mar apr jun jul aug sep sept oct nov dec vol p pp ca viz resp incl govt u.s u.k
    u.n e.u a.m p.m ph.d
    """.split()
)
#: Abbreviations only before a number: "No. 5", "No. #5"; elsewhere "No." is the word "no".
_NUMBER_ABBREVIATIONS = frozenset({"no"})


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of the sentences of ``text``, in order, never empty.

    Every span is stripped of surrounding whitespace, spans do not overlap, and together they
    cover every non-whitespace character of ``text``.
    """
    spans: list[tuple[int, int]] = []
    for kind, start, end in _blocks(text):
        if kind == "prose":
            spans.extend(_split_prose(text, start, end))
        else:
            spans.extend(_cap(text, start, end))
    return spans


def _blocks(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield ``(kind, start, end)`` blocks: prose, code or quote; list items start new prose."""
    lines: list[tuple[int, int]] = []  # (start, end) of each line without its newline
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, pos + len(line)))
        pos += len(line) + 1

    i = 0
    n = len(lines)
    prev_blank = True
    while i < n:
        s, e = lines[i]
        line = text[s:e]
        if not line.strip():
            prev_blank = True
            i += 1
            continue
        fence_match = _FENCE.match(line)
        if fence_match:
            fence = fence_match.group(1)
            j = i + 1
            while j < n and not text[lines[j][0] : lines[j][1]].lstrip().startswith(fence):
                j += 1
            last = min(j, n - 1)
            yield "code", s, lines[last][1]
            i = last + 1
            prev_blank = False
            continue
        if prev_blank and _INDENTED.match(line) and not _LIST_ITEM.match(line):
            j = i
            while j < n:
                ln = text[lines[j][0] : lines[j][1]]
                if ln.strip() and not _INDENTED.match(ln):
                    break
                j += 1
            while j > i and not text[lines[j - 1][0] : lines[j - 1][1]].strip():
                j -= 1
            yield "code", s, lines[j - 1][1]
            i = j
            prev_blank = False
            continue
        if _QUOTE.match(line):
            j = i
            while j < n and _QUOTE.match(text[lines[j][0] : lines[j][1]]):
                j += 1
            yield "quote", s, lines[j - 1][1]
            i = j
            prev_blank = False
            continue
        # Prose: runs until a blank line, a fence, a quote or the next list item.
        j = i + 1
        while j < n:
            ln = text[lines[j][0] : lines[j][1]]
            if not ln.strip() or _FENCE.match(ln) or _QUOTE.match(ln) or _LIST_ITEM.match(ln):
                break
            j += 1
        yield "prose", s, lines[j - 1][1]
        i = j
        prev_blank = False


def _word_before(text: str, block_start: int, punct_start: int) -> str:
    """The run of non-space characters that ends at ``punct_start`` (not before ``block_start``).

    Scanned backwards, so the cost is the word's length: a candidate end is followed by
    whitespace, so the words scanned for successive candidates do not overlap.
    """
    i = punct_start
    while i > block_start and not text[i - 1].isspace():
        i -= 1
    return text[i:punct_start]


def _is_boundary(text: str, block_start: int, block_end: int, end_match: re.Match[str]) -> bool:
    """Decide whether the punctuation run in ``end_match`` really ends a sentence.

    Only ``text[block_start:block_end]`` is looked at, in place: slicing the text per candidate
    would copy the rest of the block each time.
    """
    punct_start = end_match.start()
    # What follows: end of block, or whitespace then the next character.
    nxt_match = _NEXT.match(text, end_match.end(), block_end)
    if nxt_match is None:
        return True
    nxt = nxt_match.group(1)
    run = end_match.group(0)
    if run[0] in "。！？":
        return True
    if run.startswith("..") and nxt.islower():
        return False  # an ellipsis inside a sentence
    if run[0] == "." and len(run.rstrip("\"'”’)]")) == 1:
        word = _word_before(text, block_start, punct_start).lower().lstrip("(\"'“‘[")
        if word in _ABBREVIATIONS:
            return nxt.isupper() and word in {"etc"}
        if word in _NUMBER_ABBREVIATIONS and (nxt.isdigit() or nxt == "#"):
            return False
        if len(word) == 1 and word.isalpha() and nxt.isupper():
            return False  # an initial: "J. Smith"
        if nxt.islower() or nxt in ",;:":
            return False
    if nxt.islower() and run[0] in "!?":
        return False  # "Why? because" is rare; "Yahoo! is" is not
    return True


def _split_prose(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    cur = start
    for m in _END.finditer(text, start, end):
        if _is_boundary(text, start, end, m):
            yield from _cap(text, cur, m.end())
            cur = m.end()
    if cur < end:
        yield from _cap(text, cur, end)


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _cap(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield the stripped span, cut at clause or word boundaries when it is too long."""
    start, end = _strip(text, start, end)
    limit = MAX_SENTENCE_CHARS
    if end - start > MAX_SENTENCE_TOKENS:
        tokens = estimate_tokens(text[start:end])
        if tokens > MAX_SENTENCE_TOKENS:
            limit = max(50, min(limit, (end - start) * MAX_SENTENCE_TOKENS // tokens))
    while end - start > limit:
        window = text[start : start + limit]
        cut = max(window.rfind("; "), window.rfind(", "), window.rfind("\n"), window.rfind("，"))
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit - 1
        s2, e2 = _strip(text, start, start + cut + 1)
        if e2 > s2:
            yield s2, e2
        start, end = _strip(text, start + cut + 1, end)
    if end > start:
        yield start, end
