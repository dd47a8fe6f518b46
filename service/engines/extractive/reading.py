"""Reading a thread for the extractive engine: content words, sentence vectors, thesis choice.

:class:`Reader` computes a thread's word statistics (TF-IDF over content words) and every
reply's stance once, then answers what the claim map needs to know about a comment: its thesis
sentence, the sentence that takes its stance, the parent sentence it quotes, whether it asks.
"""

from __future__ import annotations

import math
import re
from collections import Counter as TallyCounter
from collections.abc import Iterable

from ...models import Comment, Thread
from ...text.wording import one_line
from ..stance import Stance, classify

_WORD = re.compile(r"[a-z][a-z'’-]{2,}")
_STOP = frozenset(
    """
    the and for are but not you your with that this have has had was were been being from
    they them their there then than what when where which who whom why how all any can could
    would should will just also very into about over under more most some such only own same
    other its it's i'm don't doesn't didn't isn't aren't wasn't weren't can't won't i've
    you're they're that's there's here what's let's our ours out off one two yes yeah not
    nor too may might must shall does did doing because while though although even still yet
    get got like really much many well way make made lot lots thing things people think know
    see say said going want need use used using
    """.split()
)
_URL_ONLY = re.compile(r"^(\[\d+\]\s*)?(https?://\S+\s*)+$")


def content_words(text: str) -> list[str]:
    """The content words of ``text``: lower case, stop words out, a plural ``s`` dropped."""
    out = []
    for w in _WORD.findall(text.lower()):
        w = w.strip("'’-")
        if len(w) < 3 or w in _STOP:
            continue
        if w.endswith("s") and not w.endswith("ss") and len(w) > 4:
            w = w[:-1]
        out.append(w)
    return out


def statement(thread: Thread, sid: str) -> str:
    """The text of sentence ``sid`` (``c12.3``) as one line: how it reads as a statement."""
    key, _, k = sid.partition(".")
    return one_line(thread.by_key[key].sentences[int(k) - 1].text)


class Reader:
    """Per-thread state: word statistics, stances and theses, computed once."""

    def __init__(self, thread: Thread) -> None:
        self.thread = thread
        # Each distinct word is kept once: a large thread repeats a few thousand words millions
        # of times, and a string per occurrence was most of the engine's memory.
        vocabulary: dict[str, str] = {}
        known = vocabulary.setdefault
        self.words: dict[str, list[tuple[str, ...]]] = {
            c.id: [tuple(known(w, w) for w in content_words(s.text)) for s in c.sentences]
            for c in thread.comments
        }
        df: TallyCounter[str] = TallyCounter()
        for sents in self.words.values():
            df.update({w for ws in sents for w in ws})
        n = max(1, len(thread.comments))
        self.idf = {w: math.log((n + 1) / (f + 0.5)) for w, f in df.items()}
        self.stance: dict[str, Stance] = {}
        for c in thread.comments:
            if c.parent_id is not None and c.status == "ok":
                self.stance[c.id] = classify(c.text)[0]
        self._thesis: dict[str, int] = {}

    def ok(self, cid: str) -> bool:
        """Whether the comment has text to cite (not deleted, not empty)."""
        c = self.thread.by_id[cid]
        return c.status == "ok" and bool(c.sentences)

    def _vector(self, words: Iterable[str]) -> dict[str, float]:
        tf = TallyCounter(words)
        return {w: k * self.idf.get(w, 0.0) for w, k in tf.items()}

    @staticmethod
    def _cos(a: dict[str, float], b: dict[str, float]) -> float:
        if not a or not b:
            return 0.0
        dot = sum(v * b.get(w, 0.0) for w, v in a.items())
        na = math.sqrt(sum(v * v for v in a.values()))
        nb = math.sqrt(sum(v * v for v in b.values()))
        return dot / (na * nb) if na and nb else 0.0

    def thesis(self, comment: Comment) -> int:
        """Index (0-based) of the comment's thesis sentence."""
        if comment.id in self._thesis:
            return self._thesis[comment.id]
        sents = comment.sentences
        words = self.words[comment.id]
        best, best_score = 0, -math.inf
        if len(sents) > 1:
            vecs = [self._vector(ws) for ws in words]
            replies: list[str] = []
            for k in comment.children:
                for ws in self.words.get(k, ()):
                    replies.extend(ws)
            reply_vec = self._vector(replies)
            whole = self._vector(w for ws in words for w in ws)
            eligible = [i for i, s in enumerate(sents) if self._eligible(s.text)] or list(
                range(len(sents))
            )
            rank = {i: r for r, i in enumerate(eligible)}
            all_questions = all(sents[i].text.rstrip().endswith("?") for i in eligible)
            for i in eligible:
                text = sents[i].text
                n_words = len(text.split())
                score = self._cos(vecs[i], whole) + 0.5 * self._cos(vecs[i], reply_vec)
                score += (0.5, 0.2)[rank[i]] if rank[i] < 2 else 0.0
                if text.rstrip().endswith("?") and not all_questions:
                    score -= 0.5
                if n_words < 5:
                    score -= 0.4
                elif n_words > 60:
                    score -= 0.2
                if score > best_score:
                    best, best_score = i, score
        self._thesis[comment.id] = best
        return best

    @staticmethod
    def _eligible(text: str) -> bool:
        t = text.lstrip()
        return not (
            t.startswith((">", "```", "~~~", "&gt;"))
            or _URL_ONLY.match(t)
            or text.startswith(("    ", "\t"))
        )

    def thesis_id(self, comment: Comment) -> str:
        """The sentence id of the comment's thesis."""
        return comment.sentences[self.thesis(comment)].id

    def opening_id(self, comment: Comment) -> str:
        """A reply's stance-bearing sentence: the first substantive one after any quote."""
        eligible = [s for s in comment.sentences if self._eligible(s.text)]
        for s in eligible[:2]:
            if len(s.text.split()) >= 5:
                return s.id
        return eligible[0].id if eligible else comment.sentences[0].id

    def leading_quote(self, comment: Comment, sid: str) -> list[str]:
        """The quote sentence right before ``sid``, when the reply answers a quoted line."""
        k = int(sid.partition(".")[2])
        if k >= 2 and comment.sentences[k - 2].text.lstrip().startswith((">", "&gt;")):
            return [comment.sentences[k - 2].id]
        return []

    def is_question(self, comment: Comment) -> bool:
        """A comment that mainly asks: its last sentence is a question and it is short."""
        sents = [s for s in comment.sentences if self._eligible(s.text)]
        return bool(sents) and sents[-1].text.rstrip().endswith("?") and len(sents) <= 3

    def quoted_sentence(self, reply: Comment, parent: Comment) -> str | None:
        """The parent's sentence a reply quotes (``> …``), if any."""
        for s in reply.sentences:
            t = s.text.lstrip()
            if not t.startswith((">", "&gt;")):
                continue
            quoted = " ".join(line.lstrip().lstrip(">").strip() for line in t.split("\n")).strip()
            if len(quoted) < 8:
                continue
            norm = one_line(quoted).lower()
            for ps in parent.sentences:
                pt = one_line(ps.text).lower()
                if norm in pt or (len(pt) > 12 and pt in norm):
                    return ps.id
        return None
