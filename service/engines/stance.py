"""Stance of a reply toward the comment it answers, from discourse cues.

Method: people in threads signal agreement and disagreement in the first words of a reply
("No,", "Exactly", "I don't think", "Yes, but", quoting the parent and asking a question back).
Cue phrases are matched in the reply's opening (the first two sentences after any quote of the
parent), each with a weight; opening-position cues weigh more. Contrast after agreement ("Yes,
but", "True, however") counts as disagreement. The score is disagreement minus agreement.

Limits: sarcasm without a cue, disagreement argued only on content ("Actually the data says
the opposite" is caught; "The data says the opposite" is not), and languages other than English
read as neutral. A reply that answers a rebuttal without agreeing is a counter by default; the
engine, not this module, applies that rule.
"""

from __future__ import annotations

import re
from typing import Literal

Stance = Literal["agree", "disagree", "neutral", "question"]

_FLAGS = re.IGNORECASE

# (pattern, weight). Patterns anchored with ^ only fire at the start of the opening.
_DISAGREE: list[tuple[re.Pattern[str], float]] = [
    (re.compile(p, _FLAGS), w)
    for p, w in [
        (r"^(no|nope|nah|wrong|false|incorrect|untrue)\b", 2.0),
        (
            r"^(yes|yeah|true|sure|agreed|fair|granted|maybe|perhaps)\b[^.!?]{0,40}?\b(but|however|though)\b",
            2.0,
        ),
        (r"\bi (strongly )?disagree\b", 2.5),
        (r"^(absolutely|certainly|definitely|of course) not\b", 2.0),
        (r"\bi (don'?t|do not|doubt|can'?t|cannot) (think|agree|buy|see|believe)\b", 2.0),
        (
            r"\b(that'?s|this is|that is|it'?s|it is) (just )?(not|simply not) (true|right|correct|accurate|how|what|the case)\b",
            2.5,
        ),
        (
            r"\b(that'?s|this is|that is) (wrong|false|incorrect|nonsense|absurd|ridiculous|a stretch|misleading)\b",
            2.5,
        ),
        (r"\bnot (really|quite|true|necessarily|at all|so sure)\b", 1.5),
        (r"\b(you'?re|you are) (wrong|mistaken|missing|confusing|conflating)\b", 2.5),
        (r"\b(citation needed|\[citation needed\])", 1.5),
        (r"\bon the contrary\b", 2.0),
        (
            r"\b(doesn'?t|does not|don'?t|do not) (follow|hold|change|mean|make sense|work that way)\b",
            1.5,
        ),
        (
            r"\b(misread|misreading|misunderstand|misunderstanding|strawman|straw man|whataboutism|false equivalence)\b",
            2.0,
        ),
        (r"^the (difference|problem|issue|thing) is\b", 1.5),
        (r"^i love how\b", 1.5),
        (r"\bas (though|if) (western|the|our|you|they|we)\b", 1.0),
        (r"\b(naive|naivety|naïve|naïveté)\b", 1.0),
        (r"^(but|however|actually|except|well,|um+,?|uh+,?|hmm+,?)\b", 1.2),
        (r"\b(hardly|unlikely|i doubt|doubtful|not convinced|not sure that|not sure about)\b", 1.0),
        (r"\b(ignores|overlooks|misses the point|beside the point|irrelevant)\b", 1.2),
        (r"\bthat'?s not (how|why|what)\b", 2.0),
    ]
]
_AGREE: list[tuple[re.Pattern[str], float]] = [
    (re.compile(p, _FLAGS), w)
    for p, w in [
        (
            r"^(exactly|agreed|absolutely|indeed|precisely|correct|yep|yup|this|same|ditto|100%|\+1)(?:[.!,:;—-]|\s*$)",
            2.0,
        ),
        (r"^(yes|yeah|true|right)\b[.!,]", 1.5),
        (r"\bi (fully |completely |totally )?agree\b", 2.5),
        (
            r"\b(spot on|well said|well put|good point|great point|fair point|couldn'?t agree more|so true|this is true|you'?re right|you are right|makes sense|can confirm|seconded)\b",
            2.0,
        ),
        (r"^(and|also|plus|to add|adding to)\b", 0.8),
        (r"\b(same here|same experience|my experience too|this matches)\b", 1.5),
    ]
]
_CONTRAST = _DISAGREE[1][0]
_QUOTE_LINE = re.compile(r"^\s*(>|&gt;)")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def opening(text: str, sentences: int = 2) -> tuple[str, bool]:
    """The first ``sentences`` sentences after any leading quote, and whether a quote led."""
    lines = text.strip().split("\n")
    quoted = False
    while lines and (not lines[0].strip() or _QUOTE_LINE.match(lines[0])):
        quoted = quoted or bool(lines[0].strip())
        lines.pop(0)
    rest = " ".join(line.strip() for line in lines if line.strip())
    parts = _SENTENCE.findall(rest)
    return " ".join(p.strip() for p in parts[:sentences]), quoted


def score(text: str) -> tuple[float, float, bool, bool]:
    """``(disagreement, agreement, led by a quote, opening is a question)`` cue scores."""
    head, quoted = opening(text)
    first = _SENTENCE.match(head)
    first_text = first.group(0).strip() if first else head
    dis = 0.0
    for pat, w in _DISAGREE:
        m = pat.search(head)
        if m:
            dis += w * (1.25 if m.start() == 0 else 1.0)
    contrast = _CONTRAST.search(head) is not None
    agr = 0.0
    for pat, w in _AGREE:
        m = pat.search(head)
        if m and not (contrast and m.start() == 0):
            agr += w * (1.25 if m.start() == 0 else 1.0)
    question = first_text.endswith("?")
    if quoted and question:
        dis += 1.5  # quoting the parent and asking back: "> X / So they agree with Y?"
    if question and re.match(r"^(so|and so|then|wait|really|seriously)\b", first_text, _FLAGS):
        dis += 1.0  # rhetorical challenge
    return dis, agr, quoted, question


def classify(text: str) -> tuple[Stance, float]:
    """Stance of a reply ``text`` toward its parent, with a margin (higher is surer)."""
    dis, agr, _, question = score(text)
    margin = dis - agr
    if margin >= 1.0:
        return "disagree", margin
    if margin <= -1.0:
        return "agree", -margin
    if question:
        return "question", 0.0
    return "neutral", abs(margin)
