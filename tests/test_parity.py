"""The same thread in four input forms parses to the same tree.

A seeded generator builds a random thread as structure (comments made of paragraphs, italics,
links and code blocks), renders it as native JSON (clean text), an HN Algolia response (nested,
HTML), HN Firebase items (HTML, ``kids`` order, shuffled) and a Reddit ``/comments`` response
(Markdown escaped the way Reddit escapes it), parses all four and checks that every comment
comes out identical — and equal to what the generator meant.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from service.ingest import hn_algolia, hn_firebase, native, reddit
from service.ingest.tree import build_thread
from service.models import RawThread, Thread

SEEDS = range(40)
MAX_DEPTH = 15

_WORDS = (
    "the model is open weights argue because cost cheaper than training data license Taiwan "
    "market share GPU cluster state funded infrastructure product benchmark latency quantized "
    "inference server users evidence claim rebut source paper I think you're wrong here"
).split()
_ODD_WORDS = [
    "AT&T", "a<b", "x>y", '"quoted"', "it's", "C++", "50%", "&amp;", "&lt;tag&gt;", "café",
    "—", "O'Brien", "<3", "don't", "1.5", "e.g.", "->", "/r/python", "&", "<", ">", "'", '"',
    "(parens)", "[brackets]", "#hash", "~tilde", "naïve", "emoji🙂",
]  # fmt: skip
_URLS = [
    "https://example.com/",
    "https://www.example.org/2024/01/a-rather-long-article-title-about-open-models.html",
    "https://github.com/example/project/blob/main/docs/design.md#section-2",
    "https://news.ycombinator.com/item?id=38001000",
    "https://en.wikipedia.org/wiki/Tiananmen_Square_(disambiguation)",
    "https://search.example.net/q?a=1&b=2&c=%22x%22",
    "http://old.example.com/~user/page",
]
_LABELS = ["this article", "the docs", "a paper & notes", "source", "<here>", "Bob's post"]
_CODE = [
    "if a < b && c > d:",
    '    print("x" + \'y\')',
    "  return a &amp; b",
    "for (int i = 0; i < n; i++) { x[i] = i >> 1; }",
    "\tindented_with_tab()",
    "<div class=\"x\">&nbsp;</div>",
    "SELECT * FROM t WHERE a <> 'b';",
    "$ curl -s 'https://x.org/?a=1&b=2' | jq .",
    "    deeply    spaced    code",
]  # fmt: skip
_AUTHORS = [f"user{n}" for n in range(25)] + ["pg", "dang", "a_b-c"]


# --- the structured thread -------------------------------------------------------------------


@dataclass
class Span:
    kind: str  # text | italic | link
    text: str = ""
    url: str = ""
    display: str = ""  # for links: label | url | truncated | bare-truncated


@dataclass
class Code:
    lines: list[str]


Block = list[Span] | Code


@dataclass
class Node:
    id: int
    parent: int | None
    author: str
    time: int
    blocks: list[Block]
    deleted: bool = False
    children: list[int] = field(default_factory=list)


@dataclass
class Story:
    id: int
    title: str
    author: str
    time: int
    blocks: list[Block]
    nodes: dict[int, Node]
    top: list[int]

    def preorder(self) -> list[tuple[Node, int]]:
        out: list[tuple[Node, int]] = []
        stack = [(cid, 1) for cid in reversed(self.top)]
        while stack:
            cid, depth = stack.pop()
            out.append((self.nodes[cid], depth))
            stack.extend((k, depth + 1) for k in reversed(self.nodes[cid].children))
        return out


def _words(rng: random.Random, lo: int, hi: int) -> str:
    pool = _WORDS * 3 + _ODD_WORDS
    return " ".join(rng.choice(pool) for _ in range(rng.randint(lo, hi)))


def _paragraph(rng: random.Random) -> list[Span]:
    spans: list[Span] = []
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.55:
            spans.append(Span("text", _words(rng, 1, 12)))
        elif roll < 0.75:
            spans.append(Span("italic", _words(rng, 1, 4)))
        else:
            url = rng.choice(_URLS)
            display = rng.choice(["label", "url", "truncated", "bare-truncated"])
            spans.append(Span("link", rng.choice(_LABELS), url, display))
    return spans


def _code(rng: random.Random) -> Code:
    lines = [rng.choice(_CODE) for _ in range(rng.randint(1, 5))]
    if len(lines) > 2 and rng.random() < 0.5:
        lines.insert(rng.randint(1, len(lines) - 1), "")  # a blank line inside the code
        if rng.random() < 0.3:
            lines.insert(rng.randint(1, len(lines) - 1), "")
    return Code(lines)


def _blocks(rng: random.Random, most: int = 4) -> list[Block]:
    return [
        _code(rng) if rng.random() < 0.2 else _paragraph(rng) for _ in range(rng.randint(1, most))
    ]


def make_story(seed: int) -> Story:
    rng = random.Random(seed)
    count = rng.randint(20, 200)
    ids = rng.sample(range(10_000_000, 99_999_999), count + 1)
    start = rng.randint(1_300_000_000, 1_750_000_000)
    story = Story(
        id=ids[0],
        title=_words(rng, 3, 10),
        author=rng.choice(_AUTHORS),
        time=start,
        blocks=_blocks(rng, 2) if rng.random() < 0.5 else [],
        nodes={},
        top=[],
    )
    depth: dict[int, int] = {}
    order: list[int] = []
    for n, cid in enumerate(ids[1:]):
        roll = rng.random()
        open_parents = [c for c in order[-6:] if depth[c] < MAX_DEPTH]
        if n == 0 or roll < 0.12 or not open_parents:
            parent = None
        elif roll < 0.6:
            parent = open_parents[-1]
        else:
            parent = rng.choice([c for c in order if depth[c] < MAX_DEPTH])
        blocks = _blocks(rng)
        if n == 1:
            blocks.append(_code(rng))  # every thread has code
        node = Node(
            id=cid,
            parent=parent,
            author=rng.choice(_AUTHORS),
            time=start + rng.randint(1, 200_000),
            blocks=blocks,
            deleted=n == 2 or rng.random() < 0.08,  # every thread has a deleted comment
        )
        story.nodes[cid] = node
        (story.top if parent is None else story.nodes[parent].children).append(cid)
        depth[cid] = 1 if parent is None else depth[parent] + 1
        order.append(cid)
    return story


# --- rendering into the four forms -----------------------------------------------------------


def _bare(url: str) -> str:
    return url.split("://", 1)[1]


def clean_text(blocks: list[Block]) -> str:
    """The expected text: the house conventions (links as ``TEXT (URL)`` or ``URL``)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Code):
            out.append("```\n" + "\n".join(block.lines) + "\n```")
            continue
        parts: list[str] = []
        for span in block:
            if span.kind == "text":
                parts.append(span.text)
            elif span.kind == "italic":
                parts.append(f"*{span.text}*")
            elif span.display == "label":
                parts.append(f"{span.text} ({span.url})")
            else:
                parts.append(span.url)
        out.append(" ".join(parts))
    return "\n\n".join(out)


def _hn_escape(text: str) -> str:
    """Escape text the way HN does in its API."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
        .replace("/", "&#x2F;")
    )


def hn_html(blocks: list[Block], rng: random.Random) -> str:
    """HN comment HTML: ``<p>`` separators (unclosed, or closed in the newer style)."""
    closed = rng.random() < 0.3
    out: list[str] = []
    for n, block in enumerate(blocks):
        if isinstance(block, Code):
            code = _hn_escape("\n".join(block.lines)) + "\n"
            out.append(
                ("<p>" if n and rng.random() < 0.5 else "") + f"<pre><code>{code}</code></pre>"
            )
            continue
        parts: list[str] = []
        for span in block:
            if span.kind == "text":
                parts.append(_hn_escape(span.text))
            elif span.kind == "italic":
                parts.append(f"<i>{_hn_escape(span.text)}</i>")
            else:
                shown = {
                    "label": span.text,
                    "url": span.url,
                    "truncated": span.url[: rng.randint(12, len(span.url) - 1)] + "...",
                    "bare-truncated": _bare(span.url)[: rng.randint(6, len(_bare(span.url)) - 1)]
                    + "...",
                }[span.display]
                href = _hn_escape(span.url)
                parts.append(f'<a href="{href}" rel="nofollow">{_hn_escape(shown)}</a>')
        text = " ".join(parts)
        out.append(f"<p>{text}</p>" if closed else (f"<p>{text}" if n else text))
    return "".join(out)


def _reddit_escape(text: str) -> str:
    """Reddit's JSON (without raw_json=1) escapes these three in Markdown bodies."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _iso(ts: int, rng: random.Random) -> str:
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return stamp + rng.choice([".000Z", "Z", "+00:00"])


def render_native(story: Story, rng: random.Random) -> object:
    nodes = [node for node, _ in story.preorder()]
    if rng.random() < 0.5:  # breadth-first: still siblings in order, parents by id
        queue, nodes = list(story.top), []
        while queue:
            node = story.nodes[queue.pop(0)]
            nodes.append(node)
            queue.extend(node.children)

    def ident(value: int | None) -> object:
        return value if value is None or rng.random() < 0.5 else str(value)

    comments: list[dict[str, Any]] = []
    for node in nodes:
        entry: dict[str, Any] = {
            "id": ident(node.id),
            "parent_id": ident(node.parent),
            "author": None if node.deleted else node.author,
            "text": "" if node.deleted else clean_text(node.blocks),
            "created_at": node.time if rng.random() < 0.5 else _iso(node.time, rng),
            "score": None,
        }
        if node.deleted:
            entry.update({"status": "deleted"} if rng.random() < 0.5 else {"deleted": True})
        comments.append(entry)
    doc: dict[str, Any] = {
        "id": story.id,
        "title": story.title,
        "url": f"https://news.ycombinator.com/item?id={story.id}",
        "source": "hn",
        "comments": comments,
    }
    if story.blocks:
        doc["text"] = clean_text(story.blocks)
    return doc


def render_algolia(story: Story, rng: random.Random) -> object:
    def item(node: Node) -> dict[str, Any]:
        return {
            "author": None if node.deleted else node.author,
            "children": [item(story.nodes[k]) for k in node.children],
            "created_at": _iso(node.time, rng),
            "created_at_i": node.time,
            "id": node.id,
            "options": [],
            "parent_id": node.parent or story.id,
            "points": None,
            "story_id": story.id,
            "text": None if node.deleted else hn_html(node.blocks, rng),
            "title": None,
            "type": "comment",
            "url": None,
        }

    return {
        "author": story.author,
        "children": [item(story.nodes[k]) for k in story.top],
        "created_at": _iso(story.time, rng),
        "created_at_i": story.time,
        "id": story.id,
        "options": [],
        "parent_id": None,
        "points": rng.randint(1, 900),
        "story_id": story.id,
        "text": hn_html(story.blocks, rng) if story.blocks else None,
        "title": story.title,
        "type": "story",
        "url": "https://example.com/",
    }


def render_firebase(story: Story, rng: random.Random) -> object:
    items: list[dict[str, Any]] = [
        {
            "by": story.author,
            "descendants": len(story.nodes),
            "id": story.id,
            "kids": list(story.top),
            "score": 10,
            "time": story.time,
            "title": story.title,
            "type": "story",
            **({"text": hn_html(story.blocks, rng)} if story.blocks else {}),
        }
    ]
    for node in story.nodes.values():
        item: dict[str, Any] = {
            "id": node.id,
            "parent": node.parent or story.id,
            "time": node.time,
            "type": "comment",
        }
        if node.children:
            item["kids"] = list(node.children)
        if node.deleted:
            item["deleted"] = True
        else:
            item.update(by=node.author, text=hn_html(node.blocks, rng))
        items.append(item)
    rng.shuffle(items)
    if rng.random() < 0.3:
        return {str(item["id"]): item for item in items}
    return items


def render_reddit(story: Story, rng: random.Random) -> object:
    slug = f"/r/test/comments/{story.id}/a_title/"

    def t1(node: Node, depth: int) -> dict[str, Any]:
        replies = [t1(story.nodes[k], depth + 1) for k in node.children]
        body = "[deleted]" if node.deleted else _reddit_escape(clean_text(node.blocks))
        return {
            "kind": "t1",
            "data": {
                "id": str(node.id),
                "name": f"t1_{node.id}",
                "parent_id": f"t1_{node.parent}" if node.parent else f"t3_{story.id}",
                "author": "[deleted]" if node.deleted else node.author,
                "body": body,
                "created_utc": float(node.time),
                "score": rng.randint(-5, 500),
                "depth": depth,
                "permalink": f"{slug}{node.id}/",
                "replies": {"kind": "Listing", "data": {"children": replies}} if replies else "",
            },
        }

    post = {
        "id": str(story.id),
        "name": f"t3_{story.id}",
        "title": story.title,
        "author": story.author,
        "selftext": _reddit_escape(clean_text(story.blocks)),
        "permalink": slug,
        "url": f"https://www.reddit.com{slug}",
        "created_utc": float(story.time),
        "score": 10,
    }
    return [
        {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": post}]}},
        {"kind": "Listing", "data": {"children": [t1(story.nodes[k], 0) for k in story.top]}},
    ]


Render = Callable[[Story, random.Random], object]
Parse = Callable[[object], RawThread]
RENDERERS: dict[str, tuple[Render, Parse]] = {
    "native": (render_native, native.parse),
    "hn-algolia": (render_algolia, hn_algolia.parse),
    "hn-firebase": (render_firebase, hn_firebase.parse),
    "reddit": (render_reddit, reddit.parse),
}


# --- the checks ------------------------------------------------------------------------------


def _shape(thread: Thread) -> list[tuple[object, ...]]:
    return [
        (c.id, c.parent_id, c.author, c.depth, c.text, c.status, c.key, c.created_at)
        for c in thread.comments
    ]


def _expected(story: Story) -> list[tuple[object, ...]]:
    return [
        (
            str(node.id),
            None if node.parent is None else str(node.parent),
            None if node.deleted else node.author,
            depth,
            "" if node.deleted else clean_text(node.blocks),
            "deleted" if node.deleted else "ok",
            f"c{n}",
            datetime.fromtimestamp(node.time, UTC),
        )
        for n, (node, depth) in enumerate(story.preorder(), start=1)
    ]


def _parse_all(seed: int) -> tuple[Story, dict[str, RawThread]]:
    story = make_story(seed)
    raws: dict[str, RawThread] = {}
    for fmt, (render, parse) in RENDERERS.items():
        rng = random.Random(f"{seed}-{fmt}")
        data = json.loads(json.dumps(render(story, rng)))  # exactly what a file would hold
        raws[fmt] = parse(data)
    return story, raws


@pytest.mark.parametrize("seed", SEEDS)
def test_four_forms_parse_to_the_same_tree(seed: int) -> None:
    story, raws = _parse_all(seed)
    expected = _expected(story)
    story_text = clean_text(story.blocks) or None
    for fmt, raw in raws.items():
        thread = build_thread(raw, max_comments=100_000, max_depth=1_000)
        assert (thread.id, thread.title, thread.text) == (str(story.id), story.title, story_text)
        assert thread.warnings == ()
        got = _shape(thread)
        for want, have in zip(expected, got, strict=True):
            assert have == want, fmt


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_firebase_gives_the_algolia_raw_thread(seed: int) -> None:
    _, raws = _parse_all(seed)
    firebase = raws["hn-firebase"].model_copy(update={"format": "hn-algolia"})
    assert firebase == raws["hn-algolia"]


def test_generator_covers_the_hard_cases() -> None:
    stories = [make_story(seed) for seed in SEEDS]
    depths = [max(d for _, d in s.preorder()) for s in stories]
    assert max(depths) >= MAX_DEPTH - 2
    assert all(20 <= len(s.nodes) <= 200 for s in stories)
    assert any(len(s.nodes) > 150 for s in stories)
    texts = [clean_text(node.blocks) for s in stories for node in s.nodes.values()]
    for needle in ("```", "\n\n", "*", " (https://", "&amp;", "<", '"', "'", "\n\n\n"):
        assert any(needle in text for text in texts), needle
    assert all(any(n.deleted for n in s.nodes.values()) for s in stories)
    assert any(s.blocks for s in stories)
    assert any(not s.blocks for s in stories)
