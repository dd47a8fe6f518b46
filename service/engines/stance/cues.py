"""General discourse cues of agreement and disagreement in the opening of a reply.

People in threads signal agreement and disagreement in the first words of a reply ("No,",
"Exactly", "I don't think", "Yes, but", "I completely disagree", "Can relate", quoting the parent
and asking a question back). Each cue is a named pattern with a side and a weight; patterns
anchored with ``^`` only fire at the start of the opening. Contrast after agreement ("Yes, but",
"True, however") counts as disagreement.

The cues are general English discourse markers, not phrases of any one thread. They are features
of the trained model (:mod:`.features`); :func:`classify` is the cue-only baseline the model is
measured against (``bench/train_stance.py``), kept so the comparison stays reproducible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Side = Literal["agree", "disagree"]
Stance = Literal["agree", "disagree", "neutral", "question"]

_FLAGS = re.IGNORECASE


@dataclass(frozen=True)
class Cue:
    """One discourse cue: a name (a model feature), the side it signals, a weight."""

    name: str
    side: Side
    pattern: re.Pattern[str]
    weight: float


def _cue(name: str, side: Side, pattern: str, weight: float) -> Cue:
    return Cue(name, side, re.compile(pattern, _FLAGS), weight)


CUES: tuple[Cue, ...] = (
    # "No" as an answer, not the determiner of an idiom that opens a sentence ("No doubt …",
    # "No one …", "No idea why you were downvoted").
    _cue(
        "no",
        "disagree",
        r"^((no|nope|nah)\b(?![ -](doubt|question|kidding|wonder|joke|idea|worries|problem|"
        r"matter|one|body|longer|more|need|offen[cs]e|surprise)\b)|(wrong|false|incorrect|untrue)\b)",
        2.0,
    ),
    _cue(
        "yes-but",
        "disagree",
        r"^(yes|yeah|true|sure|agreed|fair|granted|maybe|perhaps|ok|okay)\b[^.!?]{0,40}?\b(but|however|though)\b",
        2.0,
    ),
    _cue(
        "i-disagree",
        "disagree",
        r"\bi (\w+ )?(strongly |completely |totally |entirely |respectfully |fully |really |have to |must |would |'d |kind of |kinda )?disagree\b",
        2.5,
    ),
    _cue("disagree-with", "disagree", r"\bdisagree (with|on|about)\b", 1.5),
    _cue("of-course-not", "disagree", r"^(absolutely|certainly|definitely|of course) not\b", 2.0),
    _cue(
        "i-dont-think",
        "disagree",
        r"\bi (don'?t|do not|doubt|can'?t|cannot) (really )?(think|agree|buy|see|believe)\b",
        2.0,
    ),
    _cue(
        "not-true",
        "disagree",
        r"\b(that'?s|this is|that is|it'?s|it is) (just |simply )?(not|simply not) (true|right|correct|accurate|how|what|the case)\b",
        2.5,
    ),
    _cue(
        "thats-wrong",
        "disagree",
        r"\b(that'?s|this is|that is) (wrong|false|incorrect|nonsense|absurd|ridiculous|a stretch|misleading|bs|bullshit)\b",
        2.5,
    ),
    _cue("not-really", "disagree", r"\bnot (really|quite|true|necessarily|at all|so sure)\b", 1.5),
    _cue(
        "youre-wrong",
        "disagree",
        r"\b(you'?re|you are) (\w+ )?(wrong|mistaken|missing|confusing|conflating|ignoring)\b",
        2.5,
    ),
    _cue("citation-needed", "disagree", r"\b(citation needed|source\?|sources\?)", 1.5),
    _cue("on-the-contrary", "disagree", r"\bon the contrary\b", 2.0),
    _cue(
        "doesnt-follow",
        "disagree",
        r"\b(doesn'?t|does not|don'?t|do not) (follow|hold|change|mean|make sense|work that way)\b",
        1.5,
    ),
    _cue(
        "fallacy",
        "disagree",
        r"\b(misread|misreading|misunderstand|misunderstanding|strawman|straw man|whataboutism|false equivalence)\b",
        2.0,
    ),
    _cue("contrast-start", "disagree", r"^(but|however|actually|except)\b", 1.2),
    _cue("hedge-start", "disagree", r"^(well|um+|uh+|hm+|erm)\b", 1.0),
    _cue(
        "doubt",
        "disagree",
        r"\b(hardly|unlikely|i doubt|doubtful|not convinced|not sure that|not sure about)\b",
        1.0,
    ),
    _cue(
        "beside-the-point",
        "disagree",
        r"\b(ignores|overlooks|misses the point|beside the point|irrelevant)\b",
        1.2,
    ),
    _cue("thats-not-how", "disagree", r"\bthat'?s not (how|why|what)\b", 2.0),
    _cue(
        "exactly",
        "agree",
        r"^(exactly|agreed|absolutely|indeed|precisely|correct|yep|yup|this|same|ditto|amen|100%|\+1)(?:[.!,:;—-]|\s*$)",
        2.0,
    ),
    _cue("yes", "agree", r"^(yes|yeah|true|right|yea)\b[.!,]", 1.5),
    _cue("no-doubt", "agree", r"^(no doubt|no question|no kidding)\b", 1.5),
    _cue(
        "i-agree",
        "agree",
        r"\bi (\w+ )?(fully |completely |totally |entirely |absolutely |wholeheartedly |100% |do |really )?agree\b(?! (to|that it'?s not))",
        2.5,
    ),
    _cue(
        "well-said",
        "agree",
        r"\b(spot on|well said|well put|good point|great point|fair point|couldn'?t agree more|so true|this is true|you'?re right|you are right|makes sense|can confirm|seconded|amen|hear, hear|hear hear|nailed it)\b",
        2.0,
    ),
    _cue("can-relate", "agree", r"^(i )?can (totally |definitely )?relate\b", 2.0),
    _cue(
        "adding", "agree", r"^(and|also|plus|to add|adding to|not to mention|on top of that)\b", 0.8
    ),
    _cue(
        "same-here",
        "agree",
        r"\b(same here|same experience|my experience too|this matches|me too|same with me)\b",
        1.5,
    ),
)
_CONTRAST = next(c.pattern for c in CUES if c.name == "yes-but")
_QUOTE_LINE = re.compile(r"^\s*(>|&gt;)")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_CHALLENGE = re.compile(r"^(so|and so|then|wait|really|seriously)\b", _FLAGS)


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


def hits(head: str) -> list[tuple[Cue, bool]]:
    """The cues that fire in an opening ``head``, each with whether it fired at its start."""
    contrast = _CONTRAST.search(head) is not None
    out: list[tuple[Cue, bool]] = []
    for cue in CUES:
        m = cue.pattern.search(head)
        if m is None:
            continue
        if cue.side == "agree" and contrast and m.start() == 0:
            continue  # "Yes, but" is contrast, not agreement
        out.append((cue, m.start() == 0))
    return out


def first_sentence(head: str) -> str:
    """The first sentence of an opening."""
    first = _SENTENCE.match(head)
    return first.group(0).strip() if first else head


def is_challenge(sentence: str) -> bool:
    """A question that challenges: "So they are charities now?", "Really?"."""
    return sentence.endswith("?") and _CHALLENGE.match(sentence) is not None


def score(text: str) -> tuple[float, float, bool, bool]:
    """``(disagreement, agreement, led by a quote, opening is a question)`` cue scores."""
    head, quoted = opening(text)
    first = first_sentence(head)
    dis = agr = 0.0
    for cue, at_start in hits(head):
        w = cue.weight * (1.25 if at_start else 1.0)
        if cue.side == "disagree":
            dis += w
        else:
            agr += w
    question = first.endswith("?")
    if quoted and question:
        dis += 1.5  # quoting the parent and asking back: "> X / So they agree with Y?"
    if is_challenge(first):
        dis += 1.0
    return dis, agr, quoted, question


def classify(text: str) -> tuple[Stance, float]:
    """The cue-only stance of a reply ``text`` toward its parent, with a margin (higher is surer)."""
    dis, agr, _, question = score(text)
    margin = dis - agr
    if margin >= 1.0:
        return "disagree", margin
    if margin <= -1.0:
        return "agree", -margin
    if question:
        return "question", 0.0
    return "neutral", abs(margin)
