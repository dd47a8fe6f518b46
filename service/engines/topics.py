"""Topics: the shown claims grouped by what they are about, each claim in exactly one topic.

Engine-independent: it reads finished :class:`~service.models.Claim` objects (statement and
evidence quotes) and the thread they came from, so the extractive and the LLM engine share it.

* **Terms**: content words (lower case, stop words out, a plural ``s`` dropped) of a claim's
  statement and evidence quotes, weighted by sublinear TF-IDF, where a word's IDF comes from the
  thread's comments: a word most comments use tells claims apart as little as a stop word.
* **Clustering**: agglomerative, average linkage over cosine similarity. Two groups merge while
  their average similarity is above the thread's own chance level: the
  :data:`CHANCE_QUANTILE` quantile of the similarity of random pairs of its comments
  (:data:`NULL_PAIRS` pairs, a fixed seed; copies of a comment left out). Claims join only when
  they are more alike than 99 in 100 pairs of comments of the same discussion are; the bar
  adapts to how homogeneous a thread is and is never fitted to an example.
* **Titles**: the group's most distinctive terms: those most of its claims share, then the
  largest weights of its summed vectors, ties in reading order; spelled as the claims spell
  them most often. A group with no terms is titled by its first claim.
* **Prevalence** of a topic: the comments cited as making or backing its claims (copies counted
  once, see :mod:`.duplicates`) and their distinct authors.

Topics are numbered ``T1…`` in the order of their best-ranked claim; claim ids inside a topic
keep the claims' rank order. Everything is deterministic.

:func:`topics_from_titles` takes topics a model named instead (the LLM engine's reduce): claims
with one title (case aside) are one topic, titled so, and the claims it gave no title are
grouped lexically as above, among themselves, so every claim is still in exactly one topic.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence

from ..models import Claim, Prevalence, Thread, Topic
from ..text.wording import one_line
from ..text.words import STOP_WORDS, WORD
from .controversy import author_keys
from .duplicates import Duplicates

__all__ = [
    "CHANCE_QUANTILE",
    "NULL_PAIRS",
    "TITLE_TERMS",
    "build_topics",
    "terms",
    "topics_from_titles",
]

#: Quantile of random comment pairs' similarity that two claim groups must exceed to merge.
CHANCE_QUANTILE = 0.99
#: Random comment pairs drawn to estimate the chance level.
NULL_PAIRS = 2000
#: Terms in a topic's title.
TITLE_TERMS = 3
#: Longest title taken from a claim's statement (when a topic has no terms).
TITLE_CHARS = 80

#: Words that say nothing about what a topic is, on top of the stop words.
_STOP = STOP_WORDS | frozenset(
    """
    something anything everything nothing someone anyone everyone actually probably maybe sure
    pretty quite rather every each both either neither these those his her him she he we us me
    my mine it him ever never always often sometimes agree disagree point comment post thread
    right wrong true false good bad better worse best worst lol usually sees seem seems seen
    basically literally simply already perhaps likely instead speculating honestly clearly
    obviously totally completely definitely certainly especially generally mostly kind sort bit
    """.split()
)

Vector = dict[str, float]


def terms(text: str) -> list[str]:
    """The content words of ``text`` as topics compare them."""
    out = []
    for w in WORD.findall(text.lower()):
        w = w.strip("'’-").replace("’", "'")
        if w.endswith("'s"):
            w = w[:-2]
        if len(w) < 3 or w in _STOP:
            continue
        if w.endswith("s") and not w.endswith("ss") and len(w) > 4:
            w = w[:-1]
        out.append(w)
    return out


def _spellings(text: str, into: dict[str, Counter[str]]) -> None:
    for raw in WORD.findall(text.lower()):
        raw = raw.strip("'’-")
        for t in terms(raw):
            into.setdefault(t, Counter())[raw] += 1


def _vector(words: Iterable[str], idf: dict[str, float], default_idf: float) -> Vector:
    tf = Counter(words)
    v = {w: (1 + math.log(k)) * idf.get(w, default_idf) for w, k in tf.items()}
    norm = math.sqrt(sum(x * x for x in v.values()))
    return {w: x / norm for w, x in v.items() if x} if norm else {}


def _cos(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(w, 0.0) for w, x in a.items())


def _chance_level(docs: list[Vector]) -> float:
    """The :data:`CHANCE_QUANTILE` quantile of the similarity of random pairs of ``docs``."""
    n = len(docs)
    if n < 2:
        return 0.0
    rng = random.Random(n)
    if n * (n - 1) // 2 <= NULL_PAIRS:
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    else:
        pairs = []
        while len(pairs) < NULL_PAIRS:
            i, j = rng.randrange(n), rng.randrange(n)
            if i != j:
                pairs.append((i, j))
    sims = sorted(_cos(docs[i], docs[j]) for i, j in pairs)
    return sims[min(len(sims) - 1, int(CHANCE_QUANTILE * (len(sims) - 1)))]


def _pair_sums(vectors: list[Vector]) -> dict[int, dict[int, float]]:
    """Cosine of every pair of ``vectors`` that shares a term, both ways."""
    postings: dict[str, list[tuple[int, float]]] = {}
    for i, v in enumerate(vectors):
        for w, x in v.items():
            postings.setdefault(w, []).append((i, x))
    sums: dict[int, dict[int, float]] = {i: {} for i in range(len(vectors))}
    for entries in postings.values():
        for a in range(len(entries)):
            i, x = entries[a]
            for j, y in entries[a + 1 :]:
                sums[i][j] = sums[i].get(j, 0.0) + x * y
                sums[j][i] = sums[j].get(i, 0.0) + x * y
    return sums


def cluster(vectors: list[Vector], threshold: float) -> list[list[int]]:
    """Average-linkage groups of ``vectors``: merged while the average cosine is above
    ``threshold``. Each group lists its members in index order; groups by their first member."""
    sums = _pair_sums(vectors)  # cluster id -> cluster id -> sum of member-pair similarities
    members: dict[int, list[int]] = {i: [i] for i in range(len(vectors))}
    heap: list[tuple[float, int, int]] = []
    for i, row in sums.items():
        for j, s in row.items():
            if i < j and s > threshold:
                heapq.heappush(heap, (-s, i, j))
    next_id = len(vectors)
    while heap:
        neg, i, j = heapq.heappop(heap)
        if i not in members or j not in members:
            continue  # merged away since
        avg = sums[i].get(j, 0.0) / (len(members[i]) * len(members[j]))
        if avg != -neg:
            continue  # stale
        k, next_id = next_id, next_id + 1
        members[k] = sorted(members.pop(i) + members.pop(j))
        row_i, row_j = sums.pop(i), sums.pop(j)
        merged: dict[int, float] = {}
        for other in (set(row_i) | set(row_j)) - {i, j}:
            s = row_i.get(other, 0.0) + row_j.get(other, 0.0)
            merged[other] = s
            del_i = sums[other]
            del_i.pop(i, None)
            del_i.pop(j, None)
            del_i[k] = s
            average = s / (len(members[k]) * len(members[other]))
            if average > threshold:
                heapq.heappush(heap, (-average, min(k, other), max(k, other)))
        sums[k] = merged
    return sorted(members.values(), key=lambda m: m[0])


def _claim_text(claim: Claim) -> str:
    return " ".join([claim.statement, *(c.quote for c in claim.evidence)])


def build_topics(
    claims: Sequence[Claim], thread: Thread, duplicates: Duplicates | None = None
) -> list[Topic]:
    """The topics of ``claims`` (in rank order): every claim in exactly one."""
    if not claims:
        return []
    # Copies of a comment (see .duplicates) are left out: a copy says nothing about how often
    # words co-occur by chance, and a flood of them would make every pair look alike.
    background = [
        terms(c.text)
        for c in thread.comments
        if c.status == "ok"
        and c.text
        and (duplicates is None or duplicates.canonical(c.id) == c.id)
    ]
    df: Counter[str] = Counter()
    for words in background:
        df.update(set(words))
    n = len(background)
    idf = {w: math.log((n + 1) / (f + 1)) for w, f in df.items()}
    unseen = math.log(n + 1)  # a word no comment uses (a model's paraphrase) is distinctive
    texts = [_claim_text(c) for c in claims]
    vectors = [_vector(terms(t), idf, unseen) for t in texts]
    null_docs = [v for v in (_vector(ws, idf, unseen) for ws in background) if v]
    groups = cluster(vectors, _chance_level(null_docs))
    spellings: dict[str, Counter[str]] = {}
    for t in texts:
        _spellings(t, spellings)
    return [
        _topic(
            f"T{n}", [claims[i] for i in g], [vectors[i] for i in g], spellings, thread, duplicates
        )
        for n, g in enumerate(groups, start=1)
    ]


def _topic(
    topic_id: str,
    claims: list[Claim],
    vectors: list[Vector],
    spellings: dict[str, Counter[str]],
    thread: Thread,
    duplicates: Duplicates | None,
) -> Topic:
    weight: Counter[str] = Counter()
    support: Counter[str] = Counter()
    for v in vectors:
        weight.update(v)
        support.update(v.keys())
    position: dict[str, int] = {}
    for claim in claims:
        for w in terms(_claim_text(claim)):
            position.setdefault(w, len(position))
    # Terms several of its claims share first, then by weight; ties in reading order.
    top = sorted(weight, key=lambda w: (-support[w], -round(weight[w], 9), position.get(w, 0)))
    top = top[:TITLE_TERMS]
    named = [spellings[w].most_common(1)[0][0] if w in spellings else w for w in top]
    title = ", ".join(named) or one_line(claims[0].statement, TITLE_CHARS)
    return _named(topic_id, title, claims, thread, duplicates)


def _named(
    topic_id: str,
    title: str,
    claims: list[Claim],
    thread: Thread,
    duplicates: Duplicates | None,
) -> Topic:
    """The topic ``topic_id`` of ``claims`` (in rank order), titled ``title``."""
    cited = {
        c.comment_id
        for claim in claims
        for c in (*claim.evidence, *claim.supporters)
        if c.comment_id in thread.by_id
    }
    comments = [thread.by_id[cid] for cid in cited]
    canonical = {duplicates.canonical(cid) if duplicates else cid for cid in cited}
    return Topic(
        id=topic_id,
        title=title,
        claim_ids=[c.id for c in claims],
        prevalence=Prevalence(
            comments=len(canonical), authors=len(author_keys(comments, duplicates, thread))
        ),
    )


def topics_from_titles(
    claims: Sequence[Claim],
    titles: Sequence[str],
    thread: Thread,
    duplicates: Duplicates | None = None,
) -> list[Topic]:
    """The topics of ``claims`` (in rank order) as a model named them: ``titles[i]`` is the
    title of claim ``i``'s topic, ``""`` for a claim it put in none.

    Claims of one title (case aside; the first spelling is kept) are a topic; those with none
    are grouped by :func:`build_topics` among themselves. Every claim lands in exactly one
    topic, and topics are numbered ``T1…`` by their best-ranked claim.
    """
    if len(titles) != len(claims):
        raise ValueError("one title per claim")
    rank = {c.id: n for n, c in enumerate(claims)}
    named: dict[str, tuple[str, list[Claim]]] = {}
    rest: list[Claim] = []
    for claim, title in zip(claims, titles, strict=True):
        title = one_line(title)
        if title:
            named.setdefault(title.casefold(), (title, []))[1].append(claim)
        else:
            rest.append(claim)
    if not named:
        return build_topics(claims, thread, duplicates)
    by_claim = {c.id: c for c in claims}
    groups = list(named.values())
    groups += [
        (t.title, [by_claim[cid] for cid in t.claim_ids])
        for t in build_topics(rest, thread, duplicates)
    ]
    groups.sort(key=lambda g: rank[g[1][0].id])
    return [
        _named(f"T{n}", title, members, thread, duplicates)
        for n, (title, members) in enumerate(groups, start=1)
    ]
