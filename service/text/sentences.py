"""Split comment text into sentences whose text is always a verbatim slice of the comment.

The splitter works on blocks first (paragraphs, fenced or indented code, ``>`` quotes, list
items), then on sentence punctuation inside prose. A full stop, ``!`` or ``?`` followed by
whitespace ends a sentence whatever the case of the next word ("it works. then it broke." is
two), except where the full stop belongs to an abbreviation ("e.g.", "vs.", "approx.", "etc."
before a lowercase word), an initial ("J. Smith"), or "No." before a number; decimals and URLs
hold no whitespace, so they are never candidates. An ellipsis ("...", "…") before a lowercase
word trails off inside the sentence ("wait... what"); before anything else it ends one. An
inline quotation or parenthesis is never split ("He said "No. Stop it." and left." is one
sentence, with straight or curly quotes or brackets), and a quotation that closes after its own
full stop continues the sentence when a lowercase word follows. Code blocks and quote blocks
are one unit each: a quote is someone else's words and code has no sentences. Over-long runs
without punctuation are cut at a clause or word boundary so no sentence exceeds
:data:`MAX_SENTENCE_CHARS`.
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
_CLOSERS = "\"'”’)]"
_END = re.compile(
    r"""(?<![.!?…])(?:[.!?…]+["'”’)\]]*(?=\s)|[.!?…]+["'”’)\]]*$)|[。！？]+[」』”’）]*"""
)
_NEXT = re.compile(r"\s*(\S)")
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st vs etc al e.g i.e eg ie cf approx esp dept est fig inc ltd co
    corp jan feb mar apr jun jul aug sep sept oct nov dec vol p pp ca viz resp incl govt u.s
    u.k u.n e.u a.m p.m ph.d a.k.a
    """.split()
)
#: Abbreviations only before a number: "No. 5", "No. #5"; elsewhere "No." is the word "no".
_NUMBER_ABBREVIATIONS = frozenset({"no"})
#: Dotted initials: "n.c", "d.c", "u.s.a" (the last full stop is the candidate end).
_INITIALISM = re.compile(r"(?:[a-z]\.)+[a-z]")
#: Marks that open or close an inline quotation or parenthesis.
_ENCLOSERS = re.compile(r"[\"“”()]")
#: An inline quotation or parenthesis is at most this long; a longer "one" is a stray mark
#: (inches, an emoticon, a quote that never closes) paired with a far one, and is split as usual.
MAX_INLINE_CHARS = 300


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
    if "\n" in text:
        yield from _line_blocks(text)
    elif text.strip():  # one line, most comments: what _line_blocks finds, without its set-up
        if _FENCE.match(text) or (_INDENTED.match(text) and not _LIST_ITEM.match(text)):
            yield "code", 0, len(text)
        elif _QUOTE.match(text):
            yield "quote", 0, len(text)
        else:
            yield "prose", 0, len(text)


def _line_blocks(text: str) -> Iterator[tuple[str, int, int]]:
    """:func:`_blocks` line by line."""
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


def _is_boundary(
    text: str, block_start: int, block_end: int, end_match: re.Match[str], first: int
) -> bool:
    """Decide whether the punctuation run in ``end_match`` really ends a sentence.

    ``first`` is where the current sentence starts. Only ``text[block_start:block_end]`` is
    looked at, in place: slicing the text per candidate would copy the rest of the block each
    time.
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
    marks = run.rstrip(_CLOSERS)
    lower = nxt.islower()
    if marks.startswith("..") or "…" in marks:
        return not lower  # "wait... what" trails off; "I see... Then" ends
    if lower and len(marks) < len(run):
        return False  # 'He said "Stop." and left': the quotation ends, the sentence goes on
    word_start = punct_start
    while word_start > block_start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:punct_start]
    if marks == ".":
        if nxt in ",;" or (nxt == ":" and not _emoticon(text, nxt_match.start(1), block_end)):
            return False
        bare = word.lower().lstrip("(\"'“‘[")
        if bare in _ABBREVIATIONS:
            return nxt.isupper() and bare == "etc"
        if bare in _NUMBER_ABBREVIATIONS and (nxt.isdigit() or nxt == "#"):
            return False
        if bare.isdigit() and len(bare) <= 2 and word_start == first:
            return False  # a numbered point: "1. numbered", "2. The next"
        if lower and _INITIALISM.fullmatch(bare):
            return False  # "from N.C. yet"
        if len(bare) == 1 and bare.isalpha() and nxt.isupper():
            # An initial ("J. Smith"), except the pronoun before anything but another initial.
            return bare == "i" and not _initial_follows(text, nxt_match.start(1), block_end)
        return True
    if lower and marks.strip("!") == "" and word[:1].isupper() and word_start > first:
        return False  # "Yahoo! is": a name with its mark, inside the sentence
    return True


def _emoticon(text: str, at: int, block_end: int) -> bool:
    """Whether the ``:`` at ``at`` begins an emoticon (":)", ":(", ":D", ":P")."""
    return at + 1 < block_end and text[at + 1] in ")(DPp/|"


def _initial_follows(text: str, at: int, block_end: int) -> bool:
    """Whether ``text`` holds another initial ("M." then whitespace or the end) at ``at``."""
    if at + 1 >= block_end or text[at + 1] != ".":
        return False
    return at + 2 == block_end or text[at + 2].isspace()


def _sheltered(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``(open, close)`` positions of the inline quotations and parentheses in the block.

    Straight quotes open after whitespace or a bracket and close after a non-space; curly quotes
    and brackets pair as they nest; emoticons (":(" ";)") are not brackets. Pairs longer than
    :data:`MAX_INLINE_CHARS` are dropped; overlapping pairs are merged. One pass, no copies.
    """
    pairs: list[tuple[int, int]] = []
    if _ENCLOSERS.search(text, start, end) is None:
        return pairs
    straight = -1
    curly: list[int] = []
    brackets: list[int] = []
    for m in _ENCLOSERS.finditer(text, start, end):
        i = m.start()
        mark = text[i]
        before = text[i - 1] if i > start else " "
        if mark == '"':
            after = text[i + 1] if i + 1 < end else " "
            if (before.isspace() or before in "([{—–-") and not after.isspace():
                straight = i
            elif not before.isspace() and straight >= 0:
                pairs.append((straight, i))
                straight = -1
        elif mark == "“":
            curly.append(i)
        elif mark == "”":
            if curly:
                pairs.append((curly.pop(), i))
        elif before in ":;=":
            continue  # an emoticon
        elif mark == "(":
            brackets.append(i)
        elif brackets:
            pairs.append((brackets.pop(), i))
    merged: list[tuple[int, int]] = []
    inline = (
        (s, c)
        for s, c in pairs
        if c - s <= MAX_INLINE_CHARS and not _standalone(text, start, end, s, c)
    )
    for s, c in sorted(inline):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(c, merged[-1][1]))
        else:
            merged.append((s, c))
    return merged


def _standalone(text: str, start: int, end: int, open_at: int, close_at: int) -> bool:
    """Whether a pair is sentences of its own, not part of one: it starts where a sentence
    starts, its last mark is terminal, and no lowercase word goes on after it.

    "(And riots. And lootings.) I think" holds two sentences; "He said "No. Stop it." and
    left." and ""No. Stop." he said." hold one each.
    """
    if text[close_at - 1] not in ".!?…":
        return False
    i = open_at
    while i > start and text[i - 1].isspace():
        i -= 1
    while i > start and text[i - 1] in _CLOSERS:
        i -= 1
    if i > start and text[i - 1] not in ".!?…":
        return False
    j = close_at + 1
    while j < end and text[j].isspace():
        j += 1
    return j == end or not text[j].islower()


def _split_prose(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    cur = first = _skip_space(text, start, end)
    sheltered = _sheltered(text, start, end)
    k = 0
    for m in _END.finditer(text, start, end):
        # A run whose closers stop short of a pair's closing mark is inside the pair.
        while k < len(sheltered) and sheltered[k][1] < m.end():
            k += 1
        if k < len(sheltered) and sheltered[k][0] < m.start():
            continue
        if _is_boundary(text, start, end, m, first):
            s, e = _strip(text, cur, m.end())
            if e - s <= MAX_SENTENCE_TOKENS:  # the common case: too short to need a cut
                if e > s:
                    yield s, e
            else:
                yield from _cap(text, s, e)
            cur = m.end()
            first = _skip_space(text, cur, end)
    if cur < end:
        yield from _cap(text, cur, end)


def _skip_space(text: str, start: int, end: int) -> int:
    while start < end and text[start].isspace():
        start += 1
    return start


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
