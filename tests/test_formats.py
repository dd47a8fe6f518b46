"""Per-format parsing: native, hn-algolia, hn-firebase, reddit — real shapes and malformed ones."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.errors import EmptyThreadError, FormatError
from service.ingest import hn_algolia, hn_firebase, native, reddit
from service.ingest.tree import build_thread
from service.models import RawThread, Thread

FORMATS_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "formats"
PARSERS: dict[str, Callable[[object], RawThread]] = {
    "native": native.parse,
    "hn-algolia": hn_algolia.parse,
    "hn-firebase": hn_firebase.parse,
    "reddit": reddit.parse,
}
STORY = "38001000"
PREORDER = [
    "38001101",
    "38001150",
    "38001190",
    "38001222",
    "38001163",
    "38001120",
    "38001140",
    "38001130",
]


def load(name: str) -> Any:
    return json.loads((FORMATS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def build(raw: RawThread) -> Thread:
    return build_thread(raw, max_comments=10_000, max_depth=1_000)


def ids(raw: RawThread) -> list[str]:
    return [c.id for c in raw.comments]


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# --- the shared fixtures: one thread in four forms ---------------------------------------------


@pytest.mark.parametrize("fmt", list(PARSERS))
def test_fixture_parses(fmt: str) -> None:
    raw = PARSERS[fmt](load(fmt))
    assert raw.format == fmt
    assert raw.id == STORY
    assert raw.title == "Show HN: jdiff – structural diffs for JSON files"
    assert raw.text == (
        "I built this after fighting with noisy diffs of API fixtures & config files.\n\n"
        "Feedback welcome!"
    )
    assert sorted(ids(raw)) == sorted(PREORDER)
    assert raw.unloaded == 0
    assert raw.warnings == []
    thread = build(raw)
    assert [c.id for c in thread.comments] == PREORDER
    deleted = thread.by_id["38001190"]
    assert (deleted.status, deleted.author, deleted.text, deleted.depth) == ("deleted", None, "", 3)
    assert thread.by_id["38001222"].parent_id == "38001190"
    code = thread.by_id["38001150"].text
    assert "```\n  jdiff --key id old.json new.json\n\n  # prints: moved [3] -> [0] & " in code
    assert thread.by_id["38001163"].text == (
        "See also https://github.com/example/json-patch-notes/blob/main/docs/"
        'rfc6902-move-semantics.md for the "move" op in RFC 6902.'
    )


def test_fixtures_are_the_same_thread() -> None:
    def shape(thread: Thread) -> list[tuple[object, ...]]:
        return [
            (c.id, c.parent_id, c.author, c.depth, c.text, c.status, c.key, c.created_at)
            for c in thread.comments
        ]

    shapes = {fmt: shape(build(parse(load(fmt)))) for fmt, parse in PARSERS.items()}
    for fmt, got in shapes.items():
        assert got == shapes["native"], fmt


# --- native ----------------------------------------------------------------------------------


def native_doc(*comments: Any, **thread: Any) -> dict[str, Any]:
    return {"id": 7, "title": "T", "url": None, "comments": list(comments), **thread}


class TestNative:
    def test_fields(self) -> None:
        raw = native.parse(
            native_doc(
                {
                    "id": 1,
                    "parent_id": None,
                    "author": "a",
                    "text": "  hi\r\nthere\r\n ",
                    "created_at": "2024-01-02T03:04:05Z",
                    "score": 3,
                    "url": "https://x.org/1",
                },
                {"id": "2", "parent_id": 1, "author": "b", "text": "ok", "created_at": 1700000000},
                {
                    "id": 3,
                    "parent_id": "1",
                    "text": None,
                    "created_at": "2024-01-02T03:04:05+02:00",
                },
                {"id": 4, "parent_id": "1", "text": "", "created_at": "2024-01-02T03:04:05"},
                source="reddit",
            )
        )
        assert (raw.id, raw.source, raw.format, raw.title, raw.url) == (
            "7",
            "reddit",
            "native",
            "T",
            None,
        )
        c1, c2, c3, c4 = raw.comments
        assert (c1.id, c1.parent_id, c1.author, c1.text, c1.score) == (
            "1",
            None,
            "a",
            "hi\nthere",
            3,
        )
        assert c1.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert c1.url == "https://x.org/1"
        assert (c2.id, c2.parent_id, c2.created_at) == ("2", "1", at(1700000000))
        assert (c3.text, c3.author, c3.status) == ("", None, "ok")
        assert c3.created_at == datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)
        assert c4.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)  # naive is UTC

    @pytest.mark.parametrize(
        ("extra", "status"),
        [
            ({"status": "deleted"}, "deleted"),
            ({"status": "dead"}, "dead"),
            ({"status": "removed"}, "removed"),
            ({"deleted": True}, "deleted"),
            ({"status": "ok"}, "ok"),
            ({"deleted": False}, "ok"),
        ],
    )
    def test_status(self, extra: dict[str, Any], status: str) -> None:
        raw = native.parse(native_doc({"id": 1, "author": "a", "text": "words", **extra}))
        comment = raw.comments[0]
        assert comment.status == status
        expected = ("a", "words") if status == "ok" else (None, "")
        assert (comment.author, comment.text) == expected

    @pytest.mark.parametrize("source", ["native", "hn", "reddit", "text"])
    def test_known_sources(self, source: str) -> None:
        assert native.parse(native_doc(source=source)).source == source

    @pytest.mark.parametrize("source", [None, "slashdot", 3])
    def test_other_sources_are_native(self, source: object) -> None:
        assert native.parse(native_doc(source=source)).source == "native"

    def test_empty_comments_is_left_to_the_tree(self) -> None:
        raw = native.parse(native_doc())
        with pytest.raises(EmptyThreadError):
            build(raw)

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ([], "native: the document should be a JSON object, got an array"),
            ({"comments": []}, "native: the thread has no 'id'"),
            ({"id": 1}, "native: the thread has no 'comments' list"),
            ({"id": 1, "comments": {}}, "native: 'comments' should be a JSON array, got an object"),
            (native_doc(5), "native: comment #1 should be a JSON object, got a number"),
            (native_doc({"id": 1, "text": "x"}, {"text": "x"}), "native: comment #2 has no 'id'"),
            (
                native_doc({"id": True}),
                "native: 'id' of comment #1 should be a string or an integer id, got a boolean",
            ),
            (
                native_doc({"id": 1, "text": ["x"]}),
                "native: 'text' of comment 1 should be a string, got an array",
            ),
            (
                native_doc({"id": 1, "author": 5}),
                "native: 'author' of comment 1 should be a string, got a number",
            ),
            (
                native_doc({"id": 1, "parent_id": 1.5}),
                "native: 'parent_id' of comment 1 should be a string or an integer id, got a "
                "number",
            ),
            (
                native_doc({"id": 1, "score": "high"}),
                "native: 'score' of comment 1 should be an integer, got a string",
            ),
            (
                native_doc({"id": 1, "status": "gone"}),
                "native: 'status' of comment 1 is 'gone', not one of ok, deleted, dead, removed",
            ),
            (
                native_doc({"id": 1, "deleted": "yes"}),
                "native: 'deleted' of comment 1 should be true or false, got a string",
            ),
            (
                native_doc({"id": 1, "created_at": "yesterday"}),
                "native: 'created_at' of comment 1 is not an ISO-8601 time: 'yesterday'",
            ),
            (
                native_doc({"id": 1, "created_at": 1e30}),
                "native: 'created_at' of comment 1 is out of range: 1e+30",
            ),
            (
                native_doc({"id": 1, "created_at": [1]}),
                "native: 'created_at' of comment 1 should be an ISO-8601 string or unix seconds, "
                "got an array",
            ),
            (
                native_doc(title=["x"]),
                "native: 'title' of the thread should be a string, got an array",
            ),
        ],
    )
    def test_malformed(self, data: object, message: str) -> None:
        with pytest.raises(FormatError) as info:
            native.parse(data)
        assert str(info.value) == message


# --- hn-algolia ------------------------------------------------------------------------------


def alg(iid: int, *children: Any, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": iid,
        "type": "comment",
        "author": f"u{iid}",
        "text": f"<p>text {iid}</p>",
        "created_at": "2024-05-01T10:00:00.000Z",
        "created_at_i": 1714557600,
        "points": None,
        "children": list(children),
    }
    item.update(fields)
    return item


def alg_story(*children: Any, **fields: Any) -> dict[str, Any]:
    story = {
        "type": "story",
        "title": "A story",
        "url": "https://ex.org",
        "points": 50,
        "text": None,
    }
    return alg(1, *children, **{**story, **fields})


class TestHnAlgolia:
    def test_story(self) -> None:
        raw = hn_algolia.parse(alg_story(alg(2, alg(4), alg(5, alg(6))), alg(3)))
        assert (raw.id, raw.source, raw.format, raw.title) == ("1", "hn", "hn-algolia", "A story")
        assert raw.url == "https://news.ycombinator.com/item?id=1"
        assert raw.text is None
        assert ids(raw) == ["2", "4", "5", "6", "3"]
        assert [c.parent_id for c in raw.comments] == [None, "2", "2", "5", None]
        c = raw.comments[0]
        assert (c.author, c.text, c.score, c.status) == ("u2", "text 2", None, "ok")
        assert c.url == "https://news.ycombinator.com/item?id=2"
        assert c.created_at == at(1714557600)

    def test_ask_hn_text(self) -> None:
        raw = hn_algolia.parse(alg_story(alg(2), text="Why &amp; how?<p>Details <i>here</i>."))
        assert raw.text == "Why & how?\n\nDetails *here*."

    def test_created_at_without_unix_time(self) -> None:
        raw = hn_algolia.parse(
            alg_story(alg(2, created_at_i=None, created_at="2024-05-01T10:00:00Z"))
        )
        assert raw.comments[0].created_at == at(1714557600)

    def test_comment_root(self) -> None:
        raw = hn_algolia.parse(alg(10, alg(11, alg(12)), alg(13), parent_id=9, story_id=1))
        assert (raw.id, raw.title, raw.text) == ("10", None, None)
        assert raw.url == "https://news.ycombinator.com/item?id=10"
        assert ids(raw) == ["10", "11", "12", "13"]
        assert [c.parent_id for c in raw.comments] == [None, "10", "11", "10"]
        thread = build(raw)
        assert thread.roots == ("10",)
        assert [c.depth for c in thread.comments] == [1, 2, 3, 2]

    @pytest.mark.parametrize(
        "fields",
        [{"author": None, "text": None}, {"deleted": True}],
    )
    def test_deleted(self, fields: dict[str, Any]) -> None:
        raw = hn_algolia.parse(alg_story(alg(2, alg(3), **fields)))
        c = raw.comments[0]
        assert (c.status, c.author, c.text) == ("deleted", None, "")
        assert raw.comments[1].parent_id == "2"

    def test_dead_flag_and_partial_fields(self) -> None:
        raw = hn_algolia.parse(alg_story(alg(2, dead=True), alg(3, author=None), alg(4, text=None)))
        assert [(c.status, c.author, c.text) for c in raw.comments] == [
            ("dead", None, ""),
            ("ok", None, "text 3"),
            ("ok", "u4", ""),
        ]

    def test_poll_options_are_skipped(self) -> None:
        raw = hn_algolia.parse(alg_story(alg(2, type="pollopt"), alg(3), type="poll"))
        assert ids(raw) == ["3"]

    def test_story_without_comments(self) -> None:
        raw = hn_algolia.parse(alg_story(type="job"))
        assert raw.comments == []
        with pytest.raises(EmptyThreadError):
            build(raw)

    def test_deep_thread(self) -> None:
        item = alg(5000)
        for iid in range(4999, 1, -1):
            item = alg(iid, item)
        raw = hn_algolia.parse(alg_story(item))
        assert len(raw.comments) == 4999
        assert raw.comments[-1].parent_id == "4999"

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ("{}", "hn-algolia: the response (an item) should be a JSON object, got a string"),
            ({"title": "x"}, "hn-algolia: the root item has no 'id'"),
            (alg_story(alg(2, {"text": "x"})), "hn-algolia: child #1 of item 2 has no 'id'"),
            (
                alg_story(alg(2), 7),
                "hn-algolia: child #2 of item 1 should be a JSON object, got a number",
            ),
            (
                alg_story(children={"a": 1}),
                "hn-algolia: 'children' of item 1 should be a JSON array, got an object",
            ),
            (
                alg_story(alg(2, text=5)),
                "hn-algolia: 'text' of item 2 should be a string, got a number",
            ),
            (
                alg_story(alg(2, created_at_i="soon")),
                "hn-algolia: 'created_at_i' of item 2 is not an ISO-8601 time: 'soon'",
            ),
            (alg(2, type="pollopt"), "hn-algolia: item 2 is a 'pollopt', not a story or a comment"),
        ],
    )
    def test_malformed(self, data: object, message: str) -> None:
        with pytest.raises(FormatError) as info:
            hn_algolia.parse(data)
        assert str(info.value) == message


# --- hn-firebase -----------------------------------------------------------------------------


def fb(iid: int, parent: int | None = None, kids: Any = None, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": iid,
        "type": "comment",
        "by": f"u{iid}",
        "text": f"text {iid}",
        "time": 1714557600,
    }
    if parent is not None:
        item["parent"] = parent
    if kids:
        item["kids"] = kids
    item.update(fields)
    return item


def fb_story(kids: Any, **fields: Any) -> dict[str, Any]:
    story = {
        "type": "story",
        "title": "A story",
        "url": "https://ex.org",
        "score": 50,
        "text": None,
    }
    return fb(1, None, kids, **{**story, **fields})


class TestHnFirebase:
    def test_fixture_matches_algolia(self) -> None:
        from_algolia = hn_algolia.parse(load("hn-algolia"))
        from_firebase = hn_firebase.parse(load("hn-firebase"))
        assert from_firebase.model_copy(update={"format": "hn-algolia"}) == from_algolia

    def test_input_order_does_not_matter(self) -> None:
        items = load("hn-firebase")
        expected = hn_firebase.parse(items)
        rng = random.Random(7)
        for _ in range(5):
            rng.shuffle(items)
            assert hn_firebase.parse(items) == expected
        as_map = {str(item["id"]): item for item in items}
        assert hn_firebase.parse(as_map) == expected

    def test_kids_order(self) -> None:
        items = [fb(4, 1), fb(5, 1), fb(2, 1, [6]), fb(3, 1), fb(6, 2), fb_story([3, 2, 99])]
        raw = hn_firebase.parse(items)
        # listed kids first in kids order (99 is missing: just absent), then unlisted in input order
        assert ids(raw) == ["3", "2", "6", "4", "5"]
        assert [c.parent_id for c in raw.comments] == [None, None, "2", None, None]
        assert (raw.id, raw.title, raw.url) == (
            "1",
            "A story",
            "https://news.ycombinator.com/item?id=1",
        )

    def test_placeholders(self) -> None:
        items = [
            fb_story([2, 3, 4]),
            {
                "id": 2,
                "parent": 1,
                "deleted": True,
                "time": 1714557600,
                "type": "comment",
                "kids": [5],
            },
            fb(3, 1, dead=True, text="[flagged] spam"),
            fb(4, 1, dead=True, deleted=True),
            fb(5, 2),
        ]
        raw = hn_firebase.parse(items)
        assert [(c.id, c.status, c.author, c.text) for c in raw.comments] == [
            ("2", "deleted", None, ""),
            ("5", "ok", "u5", "text 5"),
            ("3", "dead", None, ""),
            ("4", "deleted", None, ""),
        ]

    def test_comment_subtree(self) -> None:
        items = [fb(12, 11), fb(11, 10, [13, 12]), fb(13, 11, [14]), fb(14, 13)]
        raw = hn_firebase.parse(items)
        assert (raw.id, raw.title, raw.text) == ("11", None, None)
        assert raw.url == "https://news.ycombinator.com/item?id=11"
        assert ids(raw) == ["11", "13", "14", "12"]
        assert [c.parent_id for c in raw.comments] == [None, "11", "13", "11"]

    def test_comment_subtree_matches_algolia(self) -> None:
        algolia = alg(11, alg(13, alg(14)), alg(12), parent_id=10, created_at_i=1714557600)
        items = [fb(12, 11), fb(11, 10, [13, 12]), fb(13, 11, [14]), fb(14, 13)]
        for item in items:
            item["text"] = f"<p>text {item['id']}</p>"
        from_firebase = hn_firebase.parse(items)
        assert from_firebase.model_copy(update={"format": "hn-algolia"}) == hn_algolia.parse(
            algolia
        )

    def test_unreachable_items_are_kept_for_the_tree(self) -> None:
        items = [fb_story([2]), fb(2, 1), fb(3, 77), fb(4, None)]
        raw = hn_firebase.parse(items)
        assert [(c.id, c.parent_id) for c in raw.comments] == [
            ("2", None),
            ("3", "77"),
            ("4", None),
        ]
        thread = build(raw)
        assert thread.roots == ("2", "3", "4")
        assert any("reply to a parent not in the thread" in w for w in thread.warnings)

    def test_parent_from_kids_when_missing(self) -> None:
        raw = hn_firebase.parse([fb_story([2]), fb(2, 1, [3]), fb(3, None)])
        assert [(c.id, c.parent_id) for c in raw.comments] == [("2", None), ("3", "2")]

    def test_nulls_and_poll_options_are_skipped(self) -> None:
        items = [
            fb_story([2], type="poll", parts=[8]),
            None,
            fb(2, 1),
            {"id": 8, "poll": 1, "type": "pollopt", "text": "Yes"},
        ]
        assert ids(hn_firebase.parse(items)) == ["2"]

    def test_single_item(self) -> None:
        raw = hn_firebase.parse(fb_story([]))
        assert (raw.id, raw.comments) == ("1", [])

    def test_cycle_is_left_to_the_tree(self) -> None:
        raw = hn_firebase.parse([fb(2, 3), fb(3, 2)])
        assert [(c.id, c.parent_id) for c in raw.comments] == [("2", "3"), ("3", "2")]

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (
                "x",
                "hn-firebase: expected an array of items or an object mapping ids to items, got a "
                "string",
            ),
            ([], "hn-firebase: the input has no items"),
            ([None], "hn-firebase: the input has no items"),
            ([fb_story([2]), {"parent": 1, "by": "x"}], "hn-firebase: item #2 has no 'id'"),
            ({"5": {"by": "x"}}, "hn-firebase: item '5' has no 'id'"),
            ([fb_story([2]), [2]], "hn-firebase: item #2 should be a JSON object, got an array"),
            (
                [fb_story([]), fb(2, 1, kids="3")],
                "hn-firebase: 'kids' of item 2 should be a JSON array, got a string",
            ),
            (
                [fb_story([2, {}])],
                "hn-firebase: kid #2 of item 1 should be a string or an integer id, got an object",
            ),
            (
                [fb_story([]), fb(2, 1, time="noon")],
                "hn-firebase: 'time' of item 2 is not an ISO-8601 time: 'noon'",
            ),
            (
                [fb_story([]), fb(2, 1, dead=1)],
                "hn-firebase: 'dead' of item 2 should be true or false, got a number",
            ),
            (
                [fb_story([]), fb(2, None, type="story")],
                "hn-firebase: the input has more than one story (items 1, 2)",
            ),
        ],
    )
    def test_malformed(self, data: object, message: str) -> None:
        with pytest.raises(FormatError) as info:
            hn_firebase.parse(data)
        assert str(info.value) == message


# --- reddit ----------------------------------------------------------------------------------


def t1(
    cid: str, body: Any = "", *replies: dict[str, Any], author: str = "", **fields: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": cid,
        "author": author or f"u_{cid}",
        "body": body or f"body {cid}",
        "created_utc": 1714557600.0,
        "score": 5,
        "permalink": f"/r/sub/comments/p1/title/{cid}/",
        "replies": {"kind": "Listing", "data": {"children": list(replies)}} if replies else "",
    }
    data.update(fields)
    return {"kind": "t1", "data": data}


def more(count: int, children: Any, mid: str = "m1") -> dict[str, Any]:
    return {
        "kind": "more",
        "data": {
            "count": count,
            "children": children,
            "id": mid,
            "name": f"t1_{mid}",
            "parent_id": "t1_x",
            "depth": 1,
        },
    }


def listing(*things: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Listing", "data": {"after": None, "before": None, "children": list(things)}}


def post(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "p1",
        "title": "A post",
        "selftext": "",
        "permalink": "/r/sub/comments/p1/title/",
        "url": "https://example.com/article",
        "author": "op",
        "score": 10,
        "created_utc": 1714550000.0,
    }
    data.update(fields)
    return listing({"kind": "t3", "data": data})


def doc(*comments: dict[str, Any], **post_fields: Any) -> list[Any]:
    return [post(**post_fields), listing(*comments)]


class TestReddit:
    def test_post_and_comments(self) -> None:
        raw = reddit.parse(doc(t1("a", "", t1("b"), t1("c", "", t1("d"))), t1("e")))
        assert (raw.id, raw.source, raw.format, raw.title, raw.text) == (
            "p1",
            "reddit",
            "reddit",
            "A post",
            None,
        )
        assert raw.url == "https://www.reddit.com/r/sub/comments/p1/title/"
        assert ids(raw) == ["a", "b", "c", "d", "e"]
        assert [c.parent_id for c in raw.comments] == [None, "a", "a", "c", None]
        c = raw.comments[0]
        assert (c.author, c.text, c.score, c.created_at) == ("u_a", "body a", 5, at(1714557600))
        assert c.url == "https://www.reddit.com/r/sub/comments/p1/title/a/"

    def test_bodies_are_unescaped_markdown(self) -> None:
        body = "  I &lt;3 *this* &amp; [that](https://x.org/?a=1&amp;b=2)\r\n\r\n&gt; quoted  \r\n"
        raw = reddit.parse(doc(t1("a", body), selftext="Self &amp;\r\ntext"))
        assert raw.comments[0].text == "I <3 *this* & [that](https://x.org/?a=1&b=2)\n\n> quoted"
        assert raw.text == "Self &\ntext"

    def test_placeholders(self) -> None:
        raw = reddit.parse(
            doc(
                t1("a", "[deleted]", t1("b"), author="[deleted]"),
                t1("c", "[removed]", author="someone"),
                t1("d", "still here", author="[deleted]"),
            )
        )
        assert [(c.id, c.status, c.author, c.text) for c in raw.comments] == [
            ("a", "deleted", None, ""),
            ("b", "ok", "u_b", "body b"),
            ("c", "removed", None, ""),
            ("d", "ok", None, "still here"),
        ]

    @pytest.mark.parametrize("selftext", ["[deleted]", "[removed]", "  "])
    def test_no_post_text(self, selftext: str) -> None:
        assert reddit.parse(doc(t1("a"), selftext=selftext)).text is None

    def test_more_stubs_are_counted(self) -> None:
        raw = reddit.parse(
            doc(t1("a", "", t1("b"), more(7, ["x", "y"])), more(1, ["z", "w", "v"], "m2"))
        )
        assert ids(raw) == ["a", "b"]
        assert raw.unloaded == 10
        assert raw.warnings == []
        thread = build(raw)
        assert thread.unloaded == 10
        assert any("10 comment(s) were not loaded" in w for w in thread.warnings)

    def test_continue_this_thread(self) -> None:
        stub = more(0, [], "_")
        raw = reddit.parse(doc(t1("a", "", t1("b", "", stub)), t1("c", "", more(0, [], "_"))))
        assert raw.unloaded == 2
        assert raw.warnings == [
            "2 deep reply chains were cut off by Reddit ('continue this thread') and are not "
            "included"
        ]
        one = reddit.parse(doc(t1("a", "", stub), more(3, ["q"])))
        assert one.unloaded == 4
        assert one.warnings == [
            "1 deep reply chain was cut off by Reddit ('continue this thread') and is not included"
        ]

    def test_comment_permalink_response(self) -> None:
        focused = t1("f", "", t1("g"), parent_id="t1_outside")
        raw = reddit.parse(doc(focused))
        assert [(c.id, c.parent_id) for c in raw.comments] == [("f", None), ("g", "f")]
        assert build(raw).warnings == ()

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (
                {"kind": "Listing"},
                "reddit: expected the two-Listing array of /comments/ID.json, got an object",
            ),
            ([post()], "reddit: expected two Listings (the post, then its comments), got 1"),
            ([listing(), listing()], "reddit: the first Listing has no t3 post"),
            (
                [post(), {"kind": "t1", "data": {}}],
                "reddit: the second Listing is of kind 't1', not a Listing",
            ),
            (
                [post(), {"kind": "Listing"}],
                "reddit: 'data' of the second Listing should be a JSON object, got null",
            ),
            (
                [post(), {"kind": "Listing", "data": {}}],
                "reddit: the second Listing has no 'children'",
            ),
            ([post(id=None), listing()], "reddit: the t3 post has no 'id'"),
            (
                doc({"kind": "t3", "data": {"id": "q"}}),
                "reddit: comment #1 of the second Listing is of kind 't3', not a t1 comment or a "
                "'more' stub",
            ),
            (
                doc({"kind": "t1"}),
                "reddit: 'data' of comment #1 of the second Listing should be a JSON object, got "
                "null",
            ),
            (
                doc(t1("a", "", t1("b", body=7))),
                "reddit: 'body' of comment b should be a string, got a number",
            ),
            (
                doc(t1("a", replies=[])),
                "reddit: 'replies' of comment a should be a JSON object, got an array",
            ),
            (
                doc(t1("a", "", {"kind": "t1", "data": {"body": "x"}})),
                "reddit: reply #1 of comment a has no 'id'",
            ),
            (
                doc(more(2, "ab")),
                "reddit: 'children' of 'more' stub comment #1 of the second Listing should be a "
                "JSON array, got a string",
            ),
        ],
    )
    def test_malformed(self, data: object, message: str) -> None:
        with pytest.raises(FormatError) as info:
            reddit.parse(data)
        assert str(info.value) == message


@pytest.mark.parametrize("fmt", list(PARSERS))
@pytest.mark.parametrize("data", [None, 3, "text", True, 2.5])
def test_scalars_are_format_errors(fmt: str, data: object) -> None:
    with pytest.raises(FormatError, match=f"^{fmt}: "):
        PARSERS[fmt](data)


# --- exactness: an item holding what its parser would not read is refused -----------------------


def refused(fmt: str, data: object) -> str:
    with pytest.raises(FormatError) as info:
        PARSERS[fmt](data)
    return str(info.value)


def test_native_comment_without_text_is_an_error_not_an_empty_comment() -> None:
    assert refused("native", native_doc({"id": 1, "author": "a"})) == (
        "native: comment 1 has no 'text' and is not marked deleted"
    )


def test_native_placeholders_need_no_text() -> None:
    raw = native.parse(native_doc({"id": 1, "status": "removed"}, {"id": 2, "deleted": True}))
    assert [c.status for c in raw.comments] == ["removed", "deleted"]


@pytest.mark.parametrize(
    ("comment", "fields"),
    [
        ({"id": 1, "text": "x", "replies": [{"id": 2, "text": "y"}]}, "replies"),
        ({"id": 1, "content": "x"}, "content"),
        ({"id": 1, "text": "x", "parent": 3}, "parent"),
    ],
)
def test_native_comment_with_a_field_native_does_not_read(
    comment: dict[str, Any], fields: str
) -> None:
    message = refused("native", native_doc(comment))
    assert message.startswith(
        f"native: not a native thread: comment #1 has fields native does not read: {fields} "
    )


def test_algolia_item_with_replies_nested_elsewhere() -> None:
    item = alg(2, replies=[{"id": 3, "text": "lost"}])
    assert refused("hn-algolia", alg_story(item)) == (
        "hn-algolia: item 2 holds items under 'replies', which hn-algolia does not read (its "
        "replies are under 'children'): not an hn-algolia response"
    )


def test_algolia_item_with_its_text_elsewhere() -> None:
    item = {"id": 2, "user": "ann", "content": "<p>lost</p>", "children": []}
    assert refused("hn-algolia", alg_story(item)) == (
        "hn-algolia: item 2 has no 'author' or 'text' but has content, user, which hn-algolia "
        "does not read: not an hn-algolia response"
    )


def test_firebase_item_with_replies_nested_elsewhere() -> None:
    item = fb(2, 1, comments=[fb(3, 2)])
    assert refused("hn-firebase", [fb_story([2]), item]) == (
        "hn-firebase: item 2 holds items under 'comments', which hn-firebase does not read (its "
        "replies are ids in 'kids'): not HN Firebase items"
    )


def test_firebase_comment_with_its_text_elsewhere() -> None:
    item = {"id": 2, "parent": 1, "by": "ann", "content": "lost", "type": "comment"}
    assert refused("hn-firebase", [fb_story([2]), item]) == (
        "hn-firebase: item 2 has no 'text' but has content, which hn-firebase does not read: "
        "not HN Firebase items"
    )


def test_firebase_items_without_text_are_fine_when_nothing_else_holds_it() -> None:
    raw = hn_firebase.parse([fb_story([2, 3]), fb(2, 1, deleted=True), {"id": 3, "parent": 1}])
    assert [c.status for c in raw.comments] == ["deleted", "ok"]


def test_reddit_comment_without_a_body() -> None:
    thing = {"kind": "t1", "data": {"id": "a", "author": "x", "content": "lost"}}
    assert refused("reddit", doc(thing)) == (
        "reddit: comment a has no 'body' (its fields: author, content, id)"
    )
