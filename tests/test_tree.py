from __future__ import annotations

import pytest

from service.errors import EmptyThreadError, FormatError, LimitError, ThreadStructureError
from service.ingest.tree import build_thread
from service.models import Comment, RawComment, RawThread, Sentence, Thread


def raw(*pairs: tuple[str, str | None], **kw: object) -> RawThread:
    comments = [
        RawComment(id=i, parent_id=p, author=f"a{i}", text=f"Text of {i}. More.") for i, p in pairs
    ]
    return RawThread(id="T", source="native", format="native", comments=comments, **kw)  # type: ignore[arg-type]


def build(r: RawThread, **kw: object) -> object:
    opts: dict[str, object] = {"max_comments": 1000, "max_depth": 100, **kw}
    return build_thread(r, **opts)  # type: ignore[arg-type]


def test_depth_first_order_keys_and_sentence_ids() -> None:
    t = build_thread(
        raw(("1", None), ("2", None), ("3", "1"), ("4", "3"), ("5", "1")),
        max_comments=100,
        max_depth=10,
    )
    assert [(c.id, c.key, c.depth) for c in t.comments] == [
        ("1", "c1", 1),
        ("3", "c2", 2),
        ("4", "c3", 3),
        ("5", "c4", 2),
        ("2", "c5", 1),
    ]
    c = t.by_id["4"]
    assert [s.id for s in c.sentences] == ["c3.1", "c3.2"]
    assert all(c.text[s.start : s.end] == s.text for s in c.sentences)
    assert t.by_id["1"].children == ("3", "5")
    assert t.roots == ("1", "2")
    assert t.max_depth == 3


def test_parent_equal_to_thread_id_is_top_level() -> None:
    t = build_thread(raw(("1", "T"), ("2", "1")), max_comments=10, max_depth=10)
    assert t.by_id["1"].parent_id is None and t.by_id["1"].depth == 1


def test_empty_thread() -> None:
    with pytest.raises(EmptyThreadError, match="empty thread"):
        build(raw())


def test_duplicate_ids() -> None:
    with pytest.raises(ThreadStructureError, match="duplicate comment id: 2"):
        build(raw(("1", None), ("2", "1"), ("2", None)))


def test_cycle_is_named() -> None:
    with pytest.raises(ThreadStructureError, match=r"reply cycle: (2 → 3 → 2|3 → 2 → 3)"):
        build(raw(("1", None), ("2", "3"), ("3", "2")))


def test_self_parent_is_a_cycle() -> None:
    with pytest.raises(ThreadStructureError, match="reply cycle: 2 → 2"):
        build(raw(("1", None), ("2", "2")))


def test_unknown_parent_attached_with_warning() -> None:
    t = build_thread(raw(("1", None), ("2", "missing")), max_comments=10, max_depth=10)
    assert t.by_id["2"].parent_id is None
    assert any("2 (parent missing)" in w for w in t.warnings)


def test_unknown_parent_rejected_when_strict() -> None:
    with pytest.raises(
        ThreadStructureError, match=r"unknown parent for comment 2 \(parent missing\)"
    ):
        build(raw(("1", None), ("2", "missing")), parent_policy="reject")


def test_limits() -> None:
    with pytest.raises(LimitError, match="3 comments, over the limit of 2"):
        build(raw(("1", None), ("2", None), ("3", None)), max_comments=2)
    chain = [("0", None)] + [(str(i), str(i - 1)) for i in range(1, 6)]
    with pytest.raises(LimitError, match="over the limit of 4"):
        build(raw(*chain), max_depth=4)


def test_very_deep_chain_has_no_recursion_limit() -> None:
    chain = [("0", None)] + [(str(i), str(i - 1)) for i in range(1, 5000)]
    t = build_thread(raw(*chain), max_comments=10_000, max_depth=10_000)
    assert t.max_depth == 5000


def test_placeholders_have_no_sentences() -> None:
    r = raw(("1", None), ("2", "1"))
    r.comments[0].status = "deleted"
    r.comments[0].text = ""
    t = build_thread(r, max_comments=10, max_depth=10)
    assert t.by_id["1"].sentences == () and t.by_id["2"].parent_id == "1"


def test_unloaded_comments_are_reported() -> None:
    t = build_thread(raw(("1", None), unloaded=7), max_comments=10, max_depth=10)
    assert t.unloaded == 7
    assert any("7 comment(s) were not loaded" in w for w in t.warnings)


@pytest.mark.parametrize(
    ("field", "named"),
    [
        ("id", "the thread's id"),
        ("title", "the thread's title"),
        ("url", "the thread's url"),
        ("text", "the thread's text"),
        ("comments.0.id", "comment #1's id"),
        ("comments.1.parent_id", "comment #2's parent_id"),
        ("comments.1.author", "comment #2's author"),
        ("comments.0.text", "comment #1's text"),
        ("comments.1.url", "comment #2's url"),
        ("warnings", "a warning"),
    ],
)
def test_a_lone_surrogate_in_any_field_is_refused(field: str, named: str) -> None:
    # A RawThread built by hand (not by a parser, which refuses these as it reads) holds the line.
    r = raw(("1", None), ("2", "1"), title="T", url="https://x.org", text="Post.", warnings=["w"])
    *where, name = field.split(".")
    record: object = r.comments[int(where[1])] if where else r
    value = getattr(record, name)
    setattr(record, name, ["w\udfff"] if name == "warnings" else (value or "") + "\ud800")
    with pytest.raises(FormatError, match=f"native: {named} is not valid Unicode") as caught:
        build(r)
    str(caught.value).encode("utf-8")


def test_built_models_equal_validated_ones() -> None:
    # Comments and sentences are built without re-validation; they must be what validation gives.
    t = build_thread(raw(("1", None), ("2", "1"), ("3", "2")), max_comments=10, max_depth=10)
    assert Thread.model_validate(t.model_dump()) == t
    for c in t.comments:
        assert Comment.model_validate(c.model_dump()) == c
        assert c.model_fields_set == set(Comment.model_fields)
        for s in c.sentences:
            assert isinstance(s, Sentence) and s.text == c.text[s.start : s.end]
    copied = t.comments[0].model_copy(update={"author": "z"})
    assert (copied.author, t.comments[0].author) == ("z", "a1")


def test_consume_lets_the_raw_comments_go() -> None:
    pairs = (("1", None), ("2", "1"), ("3", None))
    kept, given = raw(*pairs), raw(*pairs)
    expected = build_thread(kept, max_comments=10, max_depth=10)
    assert build_thread(given, max_comments=10, max_depth=10, consume=True) == expected
    assert len(kept.comments) == 3 and given.comments == []


def test_sentences_are_made_from_offsets_and_read_like_a_tuple() -> None:
    t = build_thread(raw(("1", None), ("2", "1")), max_comments=10, max_depth=10)
    c = t.by_id["2"]
    expected = (Sentence("c2.1", "Text of 2.", 0, 10), Sentence("c2.2", "More.", 11, 16))
    assert c.sentences == expected and tuple(c.sentences) == expected
    assert len(c.sentences) == 2 and c.sentences[-1] == expected[1]
    assert c.sentences[1:] == expected[1:] and list(reversed(c.sentences)) == list(expected[::-1])
    with pytest.raises(IndexError):
        c.sentences[2]
    assert hash(c.sentences) == hash(expected)
    assert repr(c.sentences) == repr(expected)
    # Serialised and validated as the tuple of sentences it stands for, in either mode.
    assert c.model_dump()["sentences"] == tuple(
        {"id": s.id, "text": s.text, "start": s.start, "end": s.end} for s in expected
    )
    again = Comment.model_validate_json(c.model_dump_json())
    assert again == c and again.sentences == expected
    assert Comment.model_validate({**c.model_dump(), "sentences": list(expected)}) == c


def test_comments_share_their_parent_id_and_author_strings() -> None:
    r = raw(("10", None), ("20", "10"), ("30", "10"))
    for rc in r.comments:
        rc.author = "".join(["same", "author"])  # equal strings, distinct objects
        rc.parent_id = None if rc.parent_id is None else "".join(["1", "0"])
    assert r.comments[1].parent_id is not r.comments[0].id
    t = build_thread(r, max_comments=10, max_depth=10)
    first, second, third = (t.by_id[i] for i in ("10", "20", "30"))
    assert second.parent_id is first.id and third.parent_id is first.id
    assert first.author is second.author is third.author == "sameauthor"
    assert list(second.__dict__) == list(Comment.model_fields)
