"""Reading a thread for the extractive engine: content words, sentence vectors, thesis choice.

:class:`Reader` computes a thread's word statistics (TF-IDF over content words) and every
reply's stance toward its parent once (read against the thread's own mix of sides,
:func:`..stance.in_thread`), then answers what the claim map needs to know about a
comment: the side it takes (a stance below the model's role confidence takes none), whether it
argues something, its thesis sentence, the sentence that takes its stance, the parent sentence
it quotes, whether it asks.

What argues (:func:`argues`): a sentence that can stand as a statement (not a quote, code or a
bare link; at most :data:`MAX_STATEMENT_WORDS` words and :data:`MAX_STATEMENT_CHARS`
characters, so merged run-on text never becomes one) and is not a question, a greeting, thanks or
condolences, a joke, or framing and background (the writer's own past activity, "I just noticed
…", or a sentence told only in the past tense: a report of what happened, not a point). A
comment argues when one of its sentences does, unless the claim model
(:mod:`~service.engines.argues`) is sure the comment as a whole argues nothing (a joke, kind
words, an anecdote with no point): that veto is what the rules cannot tell from the words of
one sentence.
"""

from __future__ import annotations

import math
import re
from collections import Counter as TallyCounter
from collections.abc import Callable, Iterable
from typing import Literal

from ...models import Comment, Thread
from ...text.wording import one_line
from ...text.words import STOP_WORDS, WORD
from ..argues import claim_probability, not_a_claim_confidence
from ..stance import Label, StanceResult, classify_pair, in_thread, role_confidence

StanceFn = Callable[[str, str], StanceResult]
ClaimFn = Callable[[str], float]  # a comment's text → the probability that it argues a point

#: A reply's side toward its parent as the map reads it: a confident label, or ``unknown`` when
#: the stance is below the role confidence (the reply may well take a side; it cannot be told).
Side = Label | Literal["unknown"]

_URL_ONLY = re.compile(r"^(\[\d+\]\s*)?(https?://\S+\s*)+$")

#: Longest sentence that can be a statement, in words and in characters.
MAX_STATEMENT_WORDS = 60
MAX_STATEMENT_CHARS = 320
#: Shortest, in words.
MIN_STATEMENT_WORDS = 3

_I = re.IGNORECASE
# Social formulas, meta lines and laughter: never a point argued.
_SOCIAL = re.compile(
    r"^\W*(thanks|thank you|thx|ty|sorry|so sorry|condolences|my condolences|rip|rest in peace|"
    r"congrat\w*|hello|hi|hey|welcome|good luck|best wishes|hugs|sending|praying|prayers|"
    r"thoughts and prayers|my thoughts|take care|stay strong|hang in there|happy birthday|"
    r"cheers|wow|omg|lol|lmao|haha\w*|edit|update|ps|p\.s|tl;?dr|source|link)\b",
    _I,
)
_SOCIAL_ANYWHERE = re.compile(
    r"\b(sorry for your loss|for your loss|condolences|rest in peace|thoughts and prayers|"
    r"thank you|thanks(?! to)|lol|lmao|rofl|haha\w*|hehe\w*)\b|(^|\s)/s\b|[😂🤣😆😅]",
    _I,
)
# Framing: the writer's own activity ("I just noticed …", "We tried …").
_FRAMING = re.compile(
    r"^\W*(i|we)\s+(just\s+|recently\s+|finally\s+|also\s+|once\s+)?(noticed|saw|read|found|"
    r"watched|came across|stumbled|tried|went|got|bought|visited|heard|listened|remember|"
    r"was reading|was watching|was looking|have been reading|had a look|looked)\b",
    _I,
)
# Present, general or modal: what a point is argued in.
_ARGUING = re.compile(
    r"\b(is|are|isn't|aren't|am|be|will|won't|would|wouldn't|should|shouldn't|must|can|can't|"
    r"cannot|could|couldn't|may|might|need|needs|has to|have to|ought|do|does|don't|doesn't|"
    r"never|always|think|believe|feel|seems?|because|means?)\b|\w('s|'re|'ll|'d)\b",
    _I,
)
# Contrast: what turns a comment that opens socially ("Thanks for posting.") into an argument.
_CONTRAST = re.compile(r"\b(but|however|although|though|that said|i disagree|i think)\b", _I)
# Questions that push back rather than ask: "So …?", "Really?", "Isn't it …?".
_CHALLENGE = re.compile(
    r"^\W*(so|and so|then|wait|really|seriously|isn't|aren't|don't|doesn't|wouldn't|"
    r"shouldn't|can't|how is that|how does that|since when|why would)\b",
    _I,
)
_PAST = re.compile(
    r"\b(was|were|had|did|went|saw|got|came|said|told|made|took|found|thought|knew|gave|left|"
    r"bought|wrote|ran)\b"
    # An -ed word is a past verb, not an adjective: not after a determiner, a possessive or an
    # intensifier ("their most dedicated users", "a biased source", "so tired").
    r"|(?<!\bthe )(?<!\ba )(?<!\ban )(?<!\bmost )(?<!\bmore )(?<!\bless )(?<!\bvery )"
    r"(?<!\bso )(?<!\btoo )(?<!\bmy )(?<!\byour )(?<!\bhis )(?<!\bher )(?<!\bits )"
    r"(?<!\bour )(?<!\btheir )(?<!\bthis )(?<!\bthat )(?<!\bbe )(?<!\bget )(?<!\bgets )"
    r"\b\w{3,}ed\b",
    _I,
)
# What opens a question that asks (an interrogative word or an auxiliary put first); a
# statement with a question mark ("I think I got smarter?") is rhetorical, not a prompt.
_ASKING = re.compile(
    r"^\W*(what|which|who|whom|whose|why|how|when|where|is|are|was|were|am|do|does|did|can|"
    r"could|would|will|should|shall|may|might|have|has|had|any|anyone|anybody|someone|"
    r"somebody|isn't|aren't|don't|doesn't|didn't|can't|won't|wouldn't|shouldn't|ever|eli5|"
    r"thoughts|opinions|ideas|suggestions|recommendations)\b",
    _I,
)


def can_state(text: str) -> bool:
    """Whether a sentence can stand as a statement: prose, and neither a fragment nor a run-on."""
    t = text.strip()
    words = len(t.split())
    return (
        _eligible(text)
        and MIN_STATEMENT_WORDS <= words <= MAX_STATEMENT_WORDS
        and len(t) <= MAX_STATEMENT_CHARS
    )


def argues(text: str) -> bool:
    """Whether a sentence argues something (see the module docstring)."""
    t = one_line(text)
    if not can_state(text) or t.rstrip().endswith("?"):
        return False
    if _SOCIAL.match(t) or _SOCIAL_ANYWHERE.search(t) or _FRAMING.match(t):
        return False
    return not (_PAST.search(t) and not _ARGUING.search(t))


def _asks(sentence: str) -> bool:
    """A question that asks: it opens with an interrogative word or an auxiliary ("What …?",
    "Does anyone …?"); a statement that ends in a question mark does not."""
    t = one_line(sentence).rstrip()
    return t.endswith("?") and bool(_ASKING.match(t))


def _eligible(text: str) -> bool:
    """Not a quote, code or a bare link."""
    t = text.lstrip()
    return not (
        t.startswith((">", "```", "~~~", "&gt;"))
        or _URL_ONLY.match(t)
        or text.startswith(("    ", "\t"))
    )


def content_words(text: str) -> list[str]:
    """The content words of ``text``: lower case, stop words out, a plural ``s`` dropped."""
    out = []
    for w in WORD.findall(text.lower()):
        w = w.strip("'’-")
        if len(w) < 3 or w in STOP_WORDS:
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

    def __init__(
        self,
        thread: Thread,
        stance: StanceFn = classify_pair,
        threshold: float | None = None,
        argues: ClaimFn | None = None,
    ) -> None:
        self.thread = thread
        self._claim_probability = claim_probability if argues is None else argues
        self.threshold = role_confidence() if threshold is None else threshold
        # Word statistics are counted in one pass and the words let go: a large thread's words,
        # a tuple per sentence, were the biggest thing the engine held. The comments whose
        # thesis is asked for (about a fifth) read theirs and their replies' again.
        df: TallyCounter[str] = TallyCounter()
        for c in thread.comments:
            df.update({w for s in c.sentences for w in content_words(s.text)})
        n = max(1, len(thread.comments))
        self.idf = {w: math.log((n + 1) / (f + 0.5)) for w, f in df.items()}
        del df
        # Each reply's stance toward the comment it answers (never toward the claim), read
        # against the thread's own mix of sides.
        read: dict[str, StanceResult] = {}
        for c in thread.comments:
            parent = thread.by_id.get(c.parent_id or "")
            if parent is not None and self.ok(c.id) and self.ok(parent.id):
                read[c.id] = stance(parent.text, c.text)
        self._stances = dict(zip(read, in_thread(list(read.values())), strict=True))
        self._thesis: dict[str, int] = {}
        self._veto = not_a_claim_confidence()
        self._argues_nothing: dict[str, bool] = {}

    def argues_nothing(self, comment: Comment) -> bool:
        """Whether the claim model is sure the comment argues no point (see the module)."""
        known = self._argues_nothing.get(comment.id)
        if known is None:
            known = 1.0 - self._claim_probability(comment.text) >= self._veto
            self._argues_nothing[comment.id] = known
        return known

    def side(self, cid: str) -> Side:
        """The side a reply takes toward its parent; ``unknown`` below the role confidence.

        A reply that only asks ("Which framework do you use?") takes no side (``other``): a
        question that pushes back quotes the parent or challenges it ("So …?", "Isn't it …?").
        A comment with no readable parent, or no text, takes none either.
        """
        result = self._stances.get(cid)
        if result is None or self.only_asks(self.thread.by_id[cid]):
            return "other"
        return result.label if result.confidence >= self.threshold else "unknown"

    def confidence(self, cid: str) -> float:
        """How sure the stance model is of the reply's side (1.0 for a reply that only asks)."""
        result = self._stances.get(cid)
        if result is None or self.only_asks(self.thread.by_id[cid]):
            return 1.0
        return result.confidence

    def argues(self, comment: Comment) -> bool:
        """Whether the comment argues something: one of its sentences does.

        A comment that opens with a social formula (thanks, sympathy, a greeting) argues only
        where it turns to a point with a contrast ("Thanks. But …"): the kind words that
        follow condolences are not a claim. Nor is a comment the claim model is sure argues
        nothing (:meth:`argues_nothing`).
        """
        if not self.ok(comment.id):
            return False
        sents = [s for s in comment.sentences if _eligible(s.text)]
        if not any(argues(s.text) for s in sents):
            return False
        first = one_line(sents[0].text)
        social = bool(_SOCIAL.match(first) or _SOCIAL_ANYWHERE.search(first))
        if social and not any(_CONTRAST.search(s.text) and argues(s.text) for s in sents[1:]):
            return False
        return not self.argues_nothing(comment)

    def draws_pushback(self, comment: Comment) -> bool:
        """Whether a reply confidently disagrees with the comment, which then makes a point even
        where no sentence of it reads as one ("Shows how little they care.").

        Not for a comment that opens socially or only asks, nor for one with nothing that can
        stand as a statement; agreement is not enough (people thank a story or a kind word).
        """
        if not self.ok(comment.id):
            return False
        sents = [one_line(s.text) for s in comment.sentences if _eligible(s.text)]
        if not sents or _SOCIAL.match(sents[0]) or _SOCIAL_ANYWHERE.search(sents[0]):
            return False
        stated = [t for t in sents if can_state(t) and not t.rstrip().endswith("?")]
        return bool(stated) and any(self.side(k) == "disagree" for k in comment.children)

    def only_asks(self, comment: Comment) -> bool:
        """A reply made only of questions that ask rather than push back (no quote, no "So…?")."""
        sents = [s for s in comment.sentences if s.text.strip()]
        if not sents or any(s.text.lstrip().startswith((">", "&gt;")) for s in sents):
            return False
        asks = all(s.text.rstrip().endswith("?") for s in sents if _eligible(s.text))
        return asks and not _CHALLENGE.match(one_line(sents[0].text))

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
        sents = tuple(comment.sentences)
        best, best_score = 0, -math.inf
        if len(sents) > 1:
            words = [content_words(s.text) for s in sents]
            vecs = [self._vector(ws) for ws in words]
            by_id = self.thread.by_id
            replies = [
                w
                for k in comment.children
                for s in by_id[k].sentences
                for w in content_words(s.text)
            ]
            reply_vec = self._vector(replies)
            whole = self._vector(w for ws in words for w in ws)
            eligible = (
                [i for i, s in enumerate(sents) if argues(s.text)]
                or [i for i, s in enumerate(sents) if can_state(s.text)]
                or [i for i, s in enumerate(sents) if _eligible(s.text)]
                or list(range(len(sents)))
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

    def thesis_id(self, comment: Comment) -> str:
        """The sentence id of the comment's thesis."""
        return comment.sentences[self.thesis(comment)].id

    def opening_id(self, comment: Comment) -> str | None:
        """A reply's stance-bearing sentence: the first substantive one after any quote.

        ``None`` when no sentence can stand as a statement (run-on text, fragments only).
        """
        stated = [s for s in comment.sentences if can_state(s.text)]
        if not stated:
            return None
        for s in stated[:2]:
            if len(s.text.split()) >= 5:
                return s.id
        return stated[0].id

    def leading_quote(self, comment: Comment, sid: str) -> list[str]:
        """The quote sentence right before ``sid``, when the reply answers a quoted line."""
        k = int(sid.partition(".")[2])
        if k >= 2 and comment.sentences[k - 2].text.lstrip().startswith((">", "&gt;")):
            return [comment.sentences[k - 2].id]
        return []

    def is_question(self, comment: Comment) -> bool:
        """A comment that mainly asks: short, and its last sentence a question that asks
        (:func:`_asks`)."""
        sents = [s for s in comment.sentences if _eligible(s.text)]
        return 0 < len(sents) <= 3 and _asks(sents[-1].text)

    def asks(self, comment: Comment) -> bool:
        """Whether any sentence of the comment is a question that asks ("How does it …?")."""
        return any(_eligible(s.text) and _asks(s.text) for s in comment.sentences)

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
