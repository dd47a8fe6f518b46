"""Features of a (parent, reply) pair for the stance model: hashed, sparse, pure Python.

A pair becomes a few hundred named features, each hashed (CRC-32) into one of
:data:`BUCKETS` slots with a value:

* the reply's **opening** (its first words after any quote of the parent): the first one, two
  and three tokens, and character 3–5-grams of its first :data:`OPENING_CHARS` characters;
* the **whole reply**: words and word pairs, scaled so long replies do not outweigh short ones;
* **discourse cues** (:mod:`.cues`): each cue that fires, and whether it opens the reply;
* **form**: the reply quotes the parent, asks a question (first sentence, anywhere), exclaims,
  shouts, its length, how many negations it holds, how much of its vocabulary it shares with the
  parent, and whether the parent itself asks (a reply to a question answers, rarely agrees).

Training (``bench/train_stance.py``) and inference call the same :func:`features`, so the two
cannot drift apart. Everything here is deterministic: no randomised hashing.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from functools import lru_cache

from .cues import first_sentence, hits, is_challenge

#: Number of hashed feature slots (2**18).
BUCKETS = 1 << 18
#: Words of the reply read as its opening.
OPENING_WORDS = 25
#: Characters of the opening whose character n-grams are features.
OPENING_CHARS = 60

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[?!]+|[^\sa-z0-9]")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_QUOTE_MARK = re.compile(r"^\s*(?:>|&gt;)\s*")
_NEGATION = re.compile(
    r"\b(not|no|never|nothing|nobody|none|neither|nor|cannot|\w+n't)\b", re.IGNORECASE
)
_STOP = frozenset(
    """
    a an the and or but of to in on at for with by from as is are was were be been being it its
    this that these those i you he she we they me him her us them my your his our their what
    which who whom whose when where why how all any both each few more most other some such no
    nor not only own same so than too very can will just do does did have has had would should
    could there here if then because about into over under again further once
    """.split()
)


def normalise(text: str) -> str:
    """Lower case, curly quotes straightened, whitespace folded to single spaces."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.lower().split())


def split_quote(parent: str, reply: str) -> tuple[str, bool]:
    """The reply without a leading quote of the parent, and whether it led with one.

    Quotes come on their own lines (``> line``) or, where a source flattened the text, inline
    (``>the parent's words The reply…``): then the longest run of leading words found verbatim
    in the parent is the quote.
    """
    lines = reply.strip().split("\n")
    quoted = False
    while lines and (not lines[0].strip() or _QUOTE_MARK.match(lines[0])):
        if lines[0].strip():
            quoted = True
            if len(lines) == 1:
                break
        lines.pop(0)
    rest = "\n".join(lines).strip()
    if rest and _QUOTE_MARK.match(rest):
        quoted = True
        words = _QUOTE_MARK.sub("", rest, count=1).split()
        source = normalise(parent)
        taken = 0
        for n in range(1, len(words) + 1):
            if normalise(" ".join(words[:n])) in source:
                taken = n
            else:
                break
        rest = " ".join(words[taken:]) if taken >= 2 else " ".join(words)
    return rest, quoted


@lru_cache(maxsize=1 << 17)
def bucket(name: str) -> int:
    """The feature slot of a named feature (CRC-32: the same in every process)."""
    return zlib.crc32(name.encode("utf-8")) % BUCKETS


def _length_band(n: int) -> str:
    for limit, band in ((3, "1-3"), (8, "4-8"), (20, "9-20"), (50, "21-50")):
        if n <= limit:
            return band
    return "51+"


def _overlap_band(reply_words: set[str], parent_words: set[str]) -> str:
    if not reply_words or not parent_words:
        return "none"
    share = len(reply_words & parent_words) / len(reply_words)
    for limit, band in ((0.0, "0"), (0.1, "<.1"), (0.25, "<.25"), (0.5, "<.5")):
        if share <= limit:
            return band
    return ">=.5"


def named_features(parent: str, reply: str) -> dict[str, float]:
    """The pair's features by name (before hashing): what the model sees."""
    body, quoted = split_quote(parent, reply)
    text = normalise(body)
    tokens = _TOKEN.findall(text)
    head = tokens[:OPENING_WORDS]
    out: dict[str, float] = {}

    def add(name: str, value: float = 1.0) -> None:
        out[name] = out.get(name, 0.0) + value

    add("bias")
    for n in (1, 2, 3):
        add(f"o{n}:" + " ".join(head[:n]) if head else f"o{n}:<empty>")
    chars = f" {text[:OPENING_CHARS]}"
    grams = {chars[i : i + k] for k in (3, 4, 5) for i in range(len(chars) - k + 1)}
    scale = 1.0 / math.sqrt(len(grams)) if grams else 0.0
    out.update(dict.fromkeys(["c:" + g for g in grams], scale))  # each gram once

    words = [t for t in tokens if _WORD.fullmatch(t)]
    bag = set(words)
    bag.update(f"{a} {b}" for a, b in itertools.pairwise(tokens))
    scale = 1.0 / math.sqrt(len(bag)) if bag else 0.0
    out.update(dict.fromkeys(["w:" + w for w in bag], scale))

    raw_head = " ".join(body.split()[:OPENING_WORDS])
    for cue, at_start in hits(raw_head):
        add(f"cue:{cue.name}")
        if at_start:
            add(f"cue-start:{cue.name}")
    first = first_sentence(raw_head)
    if first.endswith("?"):
        add("first-question")
        if quoted:
            add("quote-and-question")
    if is_challenge(first):
        add("challenge")
    if "?" in body:
        add("question-anywhere")
    if "!" in body:
        add("exclaims")
    letters = [ch for ch in body if ch.isalpha()]
    if len(letters) >= 4 and sum(ch.isupper() for ch in letters) / len(letters) > 0.7:
        add("shouts")
    if quoted:
        add("quotes-parent")
    add("len:" + _length_band(len(words)))
    negations = len(_NEGATION.findall(body))
    add("neg:" + ("0" if negations == 0 else "1" if negations == 1 else "2+"))
    reply_content = {w for w in words if w not in _STOP}
    parent_content = {w for w in _WORD.findall(normalise(parent)) if w not in _STOP}
    add("overlap:" + _overlap_band(reply_content, parent_content))
    if parent.rstrip().endswith("?"):
        add("parent-asks")
        add("parent-asks&" + (f"o1:{head[0]}" if head else "o1:<empty>"))
    return out


def features(parent: str, reply: str) -> dict[int, float]:
    """The pair's hashed features: slot → value."""
    return hashed(named_features(parent, reply))


def hashed(named: dict[str, float]) -> dict[int, float]:
    """Named features hashed into their slots (values of names sharing a slot add up)."""
    out: dict[int, float] = {}
    for name, value in named.items():
        slot = bucket(name)
        out[slot] = out.get(slot, 0.0) + value
    return out
