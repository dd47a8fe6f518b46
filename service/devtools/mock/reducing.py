"""The mock's answers to reduce and overview prompts: claims merged by their words, topics, an
overview.

Near-duplicate statements merge (content-word Jaccard ≥
:data:`~service.engines.extractive.MERGE_JACCARD`, exact duplicates always), the first statement
of a group is kept, and the overview is a template naming the thread's title, the counts and the
most rebutted claims. Topics (:func:`name_topics`) group the merged claims by the content words
they share, titled by the words its claims share most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...engines.extractive import MERGE_JACCARD
from ...text.wording import count
from ...validation import ReduceClaim, ReduceReply, ReduceTopic

_CLAIM_LINE = re.compile(r"^(\S+)(?: \[(\d+)\])? (.*)$")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_STOP = frozenset(
    """
    a an the and or but if of to in on at by for from with as is are was were be been being
    it its this that these those there their they them we our you your he she his her i me my
    not no do does did has have had will would can could should may might must so than then
    too very just also all any some such into about over more most only own same which who
    what when where why how
    """.split()
)


@dataclass
class _Group:
    """Claims that make one point: the first one's statement, every member's id."""

    statement: str
    normal: str  # the statement's words, lowercased
    words: set[str]  # its content words
    ids: list[str] = field(default_factory=list)
    rebuttals: int = 0

    def takes(self, normal: str, words: set[str]) -> bool:
        """Whether a statement with these words makes the same point."""
        if normal == self.normal:
            return True
        if not words or not self.words:
            return False
        return len(words & self.words) / len(words | self.words) >= MERGE_JACCARD


def reduce_inputs(data: str) -> dict[str, str]:
    """The claims of a reduce prompt's lines (``ID [n] statement``): id → statement."""
    out: dict[str, str] = {}
    for line in data.split("\n"):
        m = _CLAIM_LINE.match(line.strip())
        if m and m.group(1) not in out:
            out[m.group(1)] = m.group(3).strip()
    return out


def _grouped(data: str) -> tuple[list[_Group], int]:
    """The near-duplicate groups of lines ``ID [n] statement``, and how many ids were read."""
    groups: list[_Group] = []
    seen: set[str] = set()
    for line in data.split("\n"):
        m = _CLAIM_LINE.match(line.strip())
        if not m or m.group(1) in seen:
            continue
        cid, rebuttals, statement = m.group(1), int(m.group(2) or 0), m.group(3).strip()
        seen.add(cid)
        normal, words = _normal(statement), _content_words(statement)
        group = next((g for g in groups if g.takes(normal, words)), None)
        if group is None:
            group = _Group(statement, normal, words)
            groups.append(group)
        group.ids.append(cid)
        group.rebuttals += rebuttals
    return groups, len(seen)


def reduce_answer(data: str) -> ReduceReply:
    """The reduce reply for lines ``ID [n] statement`` (``[n]``: rebuttals, left out at 0)."""
    groups, _ = _grouped(data)
    claims = [ReduceClaim(statement=g.statement, merges=g.ids) for g in groups]
    topics = [
        ReduceTopic(title=name, members=ids)
        for name, ids in name_topics([(g.statement, g.ids) for g in groups])
    ]
    return ReduceReply(claims=claims, topics=topics)


def overview_answer(data: str, title: str = "") -> str:
    """The overview for the same lines: a template naming the title, the counts (the groups
    :func:`reduce_answer` makes of them) and the most rebutted claims."""
    groups, inputs = _grouped(data)
    return _overview(title, inputs, groups)


#: Most words in a topic title the mock writes.
TOPIC_WORDS = 3


def name_topics(claims: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Topics of merged claims (statement, input ids), as (title, input ids), every claim in one.

    A word is topical when at least two claims use it, but not more than half of them (a word
    every claim uses tells none apart). In order, a claim joins the topic it shares the most
    topical words with (the earliest on a tie), else starts one. A title is the topic's words
    used by most of its claims, then in reading order, at most :data:`TOPIC_WORDS`.
    """
    words = [
        [w for w in _WORD.findall(s.lower()) if w not in _STOP and len(w) > 2] for s, _ in claims
    ]
    df: dict[str, int] = {}
    for ws in words:
        for w in set(ws):
            df[w] = df.get(w, 0) + 1
    most = max(2, len(claims) // 2)
    topics: list[tuple[dict[str, int], list[int]]] = []  # word -> claims using it; members
    for n, ws in enumerate(words):
        topical = {w for w in ws if 2 <= df[w] <= most}
        best = max(
            range(len(topics)),
            key=lambda t: (len(topical & topics[t][0].keys()), -t),
            default=None,
        )
        if best is None or not topical & topics[best][0].keys():
            topics.append(({}, []))
            best = len(topics) - 1
        counts, members = topics[best]
        members.append(n)
        for w in dict.fromkeys(ws):
            counts[w] = counts.get(w, 0) + 1
    out = []
    for counts, members in topics:
        order = {w: k for k, w in enumerate(counts)}
        top = sorted(counts, key=lambda w: (-counts[w], order[w]))[:TOPIC_WORDS]
        title = " ".join(top) or _short(claims[members[0]][0], TOPIC_WORDS)
        out.append((title, [i for n in members for i in claims[n][1]]))
    return out


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _normal(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _short(text: str, words: int) -> str:
    """The first ``words`` words of ``text`` (``…`` when more were cut)."""
    parts = text.split()
    return " ".join(parts) if len(parts) <= words else " ".join(parts[:words]) + "…"


def _overview(title: str, inputs: int, groups: list[_Group]) -> str:
    subject = f"The discussion “{_short(title, 12)}”" if title else "The discussion"
    if not groups:
        return f"{subject} yielded no claims."
    points, found = count(len(groups), "distinct claim"), count(inputs, "claim")
    parts = [f"{subject} comes down to {points}, drawn from {found} found in its parts."]
    # The two most rebutted claims, the earlier first on a tie.
    ranked = sorted((g for g in groups if g.rebuttals > 0), key=lambda g: -g.rebuttals)[:2]
    if ranked:
        listed = "; ".join(
            f"“{_short(g.statement, 15)}” ({count(g.rebuttals, 'rebuttal')})" for g in ranked
        )
        parts.append(f"It splits most over {listed}.")
    else:
        parts.append("None of the claims drew a rebuttal.")
    return " ".join(parts)
