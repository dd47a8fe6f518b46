"""Synthetic threads with realistic shape, for benchmarks, demos and tests.

Shape: about a fifth of comments are top-level; the rest reply to an earlier comment chosen with
a bias toward recent and popular ones, which gives the long-tailed depth and fan-out of real HN
and Reddit threads. Text is drawn from a bank of opinionated sentences so replies agree, disagree
and answer in recognisable ways. Output is the ``native`` JSON format. Same seed, same thread.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

_TOPICS = [
    ("open models", "Open-weight models are a way to commoditise the layer your rivals sell"),
    ("state funding", "This is state-funded infrastructure, not a product"),
    ("pricing", "Cheap inference will matter more than benchmark scores"),
    ("moats", "There is no moat in model training once the recipes are public"),
    ("regulation", "Regulation will arrive after the market has already consolidated"),
    ("hardware", "The real bottleneck is hardware supply, not algorithms"),
    ("open source", "Releasing weights is marketing more than it is open source"),
    ("talent", "The labs compete on talent, and releases are recruiting"),
]
_CLAIM_TAILS = [
    "Look at how {x} played out last time.",
    "The incentives around {x} make this almost inevitable.",
    "Everyone I know working on {x} says the same thing.",
    "The numbers on {x} have been moving this way for years.",
    "It is the only reading of {x} that explains the timing.",
]
_DISAGREE = [
    "I don't think that's right.",
    "No, that misreads what happened with {x}.",
    "That's not true, and the history of {x} shows it.",
    "I disagree: {x} works the other way around.",
    "This is wrong on the facts about {x}.",
    "Not really. The evidence on {x} points elsewhere.",
]
_AGREE = [
    "Exactly, and {x} is the clearest example.",
    "Agreed, this matches what I've seen with {x}.",
    "This is spot on about {x}.",
    "Yes, and it goes further than {x}.",
]
_NEUTRAL = [
    "Do you have a source for the part about {x}?",
    "What would change your mind about {x}?",
    "I wonder how {x} looks from outside the US.",
    "Interesting point about {x}, I hadn't considered it.",
]
_FILLER = [
    "Companies have done the same with operating systems and browsers.",
    "The cost of serving is falling faster than the cost of training.",
    "Most users never see the difference between the top models anyway.",
    "See https://example.com/report-2025.html for the numbers.",
    "It took about 3.5 years for the last cycle to play out, e.g. with cloud storage.",
    "Mindshare is worth more than margins at this stage.",
    "Investors seem happy to fund this for now.",
    "That said, the details matter a lot here.",
]
_AUTHORS = [f"user{n}" for n in range(1, 400)]


def _sentence(rng: random.Random, bank: list[str], topic: str) -> str:
    return rng.choice(bank).format(x=topic)


def synthetic_thread(
    n_comments: int, seed: int = 0, *, thread_id: str = "synthetic"
) -> dict[str, Any]:
    """A ``native``-format thread of ``n_comments`` comments."""
    rng = random.Random(seed)
    t0 = datetime(2025, 11, 6, 12, 0, tzinfo=UTC)
    comments: list[dict[str, Any]] = []
    topic_of: list[int] = []
    replies: list[int] = []
    for i in range(n_comments):
        top = i == 0 or rng.random() < 0.2
        if top:
            parent = None
            t = rng.randrange(len(_TOPICS))
            name, thesis = _TOPICS[t]
            body = [thesis + ".", _sentence(rng, _CLAIM_TAILS, name)]
        else:
            # Recent comments and comments that already drew replies attract more replies.
            k = len(comments)
            j = k - 1 - int(k * rng.random() ** 3)
            if replies[j] and rng.random() < 0.3:
                j = max(range(max(0, j - 20), j + 1), key=lambda m: replies[m])
            parent = j
            t = topic_of[j]
            name = _TOPICS[t][0]
            roll = rng.random()
            bank = _DISAGREE if roll < 0.4 else _AGREE if roll < 0.65 else _NEUTRAL
            body = [_sentence(rng, bank, name)]
            replies[j] += 1
        body += [rng.choice(_FILLER) for _ in range(rng.randrange(0, 4))]
        paragraphs = [
            " ".join(body[: 2 + rng.randrange(2)]),
            " ".join(body[2 + rng.randrange(2) :]),
        ]
        text = "\n\n".join(p for p in paragraphs if p)
        comments.append(
            {
                "id": f"{thread_id}-{i + 1}",
                "parent_id": None if parent is None else comments[parent]["id"],
                "author": rng.choice(_AUTHORS),
                "text": text,
                "created_at": (t0 + timedelta(minutes=3 * i)).isoformat(),
                "score": rng.randrange(-2, 60),
            }
        )
        topic_of.append(t)
        replies.append(0)
    return {
        "id": thread_id,
        "title": f"Synthetic discussion ({n_comments} comments)",
        "url": f"https://example.com/threads/{thread_id}",
        "source": "native",
        "comments": comments,
    }
