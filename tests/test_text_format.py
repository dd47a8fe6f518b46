"""The ``text`` format: threads copied from web pages as plain text."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.errors import EmptyThreadError
from service.ingest.text import parse
from service.ingest.tree import build_thread
from service.models import RawThread, Thread

from .conftest import EXAMPLE_PAGE

BULLET = re.compile(r"^[•◦▪‣]\s+(?=\S)")


def build(raw: RawThread) -> Thread:
    return build_thread(raw, max_comments=10000, max_depth=100)


def comment_lines(raw: RawThread) -> list[str]:
    """Every non-blank line of every comment, stripped."""
    return [ln.strip() for c in raw.comments for ln in c.text.split("\n") if ln.strip()]


def check_shape(raw: RawThread) -> None:
    """Invariants of any parse: ids in order, no empty comments, clean paragraph joins."""
    assert [c.id for c in raw.comments] == [f"t{k}" for k in range(1, len(raw.comments) + 1)]
    for c in raw.comments:
        assert c.text.strip(), c
        assert c.text == c.text.rstrip() and not c.text.startswith("\n")
        assert "\n\n\n" not in c.text
        assert all(ln == ln.rstrip() for ln in c.text.split("\n"))
    if raw.comments:
        build(raw)


# --- the real example ------------------------------------------------------------------------

EXAMPLE = EXAMPLE_PAGE.read_text(encoding="utf-8")
METADATA = {"← Back to context", "Comment by motoboi", "2 days ago", "1 reply →"}


def example_paragraphs() -> list[str]:
    """The example's content paragraphs in order, bullets and indentation removed."""
    paras = []
    for block in EXAMPLE.split("\n\n"):
        text = block.strip()
        if text and text not in METADATA:
            paras.append(BULLET.sub("", text))
    return paras


def test_example_pins_the_tree() -> None:
    p = example_paragraphs()
    assert len(p) == 29
    starts = {
        0: "What amazes me",
        1: "Chinese state",
        6: "Once things blows up",
        7: "I love how Tiananmen",
        8: "The difference is",
        9: "You can't with Tiananmen",
        10: "> Taiwan belongs to China",
        11: "So they are on the same page",
        12: "The One China policy refers",
        13: "https://en.wikipedia.org/wiki/One_China",
        14: "The One China policy is a fiction",
        15: "Existence of an independent",
        16: "Speculating",
        20: "China has decided",
        21: "In some way, the US won",
        22: "> What amazes me",
        28: "If you look at past state projects",
    }
    for i, start in starts.items():
        assert p[i].startswith(start), (i, p[i][:40])

    def join(a: int, b: int) -> str:
        return "\n\n".join(p[a:b])

    # (id, parent, depth, author, text)
    expected = [
        ("t1", None, 1, "motoboi", join(0, 1)),
        ("t2", "t1", 2, None, join(1, 7)),
        ("t3", "t2", 3, None, join(7, 8)),
        ("t4", "t3", 4, None, join(8, 10)),
        ("t5", "t2", 3, None, join(10, 14)),
        ("t6", "t5", 4, None, join(14, 15)),
        ("t7", "t5", 4, None, join(15, 16)),
        ("t8", "t1", 2, None, join(16, 21)),
        ("t9", "t8", 3, None, join(21, 22)),
        ("t10", "t1", 2, None, join(22, 29)),
    ]
    raw = parse(EXAMPLE)
    thread = build(raw)
    got = [(c.id, c.parent_id, c.depth, c.author, c.text) for c in thread.comments]
    assert got == expected
    assert thread.roots == ("t1",)
    assert thread.by_id["t2"].children == ("t3", "t5")
    assert thread.by_id["t5"].children == ("t6", "t7")
    assert thread.max_depth == 4


def test_example_thread_fields_warnings_and_unloaded() -> None:
    raw = parse(EXAMPLE)
    assert raw.id == "text-" + hashlib.sha256(EXAMPLE.strip().encode()).hexdigest()[:12]
    assert parse(EXAMPLE.replace("\n", "\r\n") + "\r\n").id == raw.id
    assert (raw.source, raw.format, raw.title, raw.url) == ("text", "text", None, None)
    assert raw.unloaded == 1  # "1 reply →"
    assert len(raw.warnings) == 2
    grouped, focus = raw.warnings
    assert grouped.startswith("text: guessed where 3 outer-level comment(s) begin and end")
    assert "Comment by motoboi" in focus and "3 outer-level comment(s)" in focus
    assert any("not loaded" in w for w in build(raw).warnings)  # build_thread reports unloaded


def test_example_nothing_lost_verbatim() -> None:
    content = [
        BULLET.sub("", ln.strip())
        for ln in EXAMPLE.split("\n")
        if ln.strip() and ln.strip() not in METADATA
    ]
    raw = parse(EXAMPLE)
    # No extra indentation in the example, so comment lines are exactly the content lines.
    lines = [ln for c in raw.comments for ln in c.text.split("\n") if ln]
    assert Counter(lines) == Counter(content)
    check_shape(raw)


def test_example_with_crlf_and_tabs_gives_the_same_tree() -> None:
    def tabbed(line: str) -> str:
        body = line.lstrip(" ")
        return "\t" * ((len(line) - len(body)) // 2) + body

    variant = "\r\n".join(tabbed(ln) for ln in EXAMPLE.split("\n"))
    a, b = parse(EXAMPLE), parse(variant)
    assert [c.model_dump() for c in a.comments] == [c.model_dump() for c in b.comments]
    assert a.unloaded == b.unloaded and a.warnings == b.warnings
    assert a.id != b.id  # the id is a digest of the input as given


def test_example_under_a_uniform_indent_is_unchanged() -> None:
    shifted = "\n".join("    " + ln if ln.strip() else ln for ln in EXAMPLE.split("\n"))
    assert [c.text for c in parse(shifted).comments] == [c.text for c in parse(EXAMPLE).comments]


# --- rules, one at a time --------------------------------------------------------------------


def tree(raw: RawThread) -> list[tuple[str, str | None, str]]:
    return [(c.id, c.parent_id, c.text) for c in raw.comments]


def test_no_metadata_paragraphs_group_into_one_comment_with_a_warning() -> None:
    raw = parse("First paragraph.\nStill first.\n\nSecond paragraph.\n\nThird.\n")
    assert tree(raw) == [
        ("t1", None, "First paragraph.\nStill first.\n\nSecond paragraph.\n\nThird.")
    ]
    assert len(raw.warnings) == 1 and "guessed where 1 outer-level" in raw.warnings[0]


def test_a_single_paragraph_needs_no_guess() -> None:
    raw = parse("Just one thought here.")
    assert tree(raw) == [("t1", None, "Just one thought here.")]
    assert raw.warnings == []


def test_reply_block_ends_an_outer_comment_without_a_header() -> None:
    page = "A one.\n\nA two.\n\n  • reply to A\n\nB one.\n\n  • reply to B\n\nC one.\n"
    assert tree(parse(page)) == [
        ("t1", None, "A one.\n\nA two."),
        ("t2", "t1", "reply to A"),
        ("t3", None, "B one."),
        ("t4", "t3", "reply to B"),
        ("t5", None, "C one."),
    ]


def test_replies_marker_ends_an_outer_comment_and_counts_as_unloaded() -> None:
    page = "Comment by ann\n\nFocus.\n\nA.\n\n3 replies →\n\nB.\n\n  • b1\n\n    1 reply →\n\nC.\n"
    raw = parse(page)
    assert tree(raw) == [
        ("t1", None, "Focus."),
        ("t2", "t1", "A."),
        ("t3", "t1", "B."),
        ("t4", "t3", "b1"),
        ("t5", "t1", "C."),
    ]
    assert raw.unloaded == 4
    assert [c.author for c in raw.comments] == ["ann", None, None, None, None]


@pytest.mark.parametrize(
    "line", ["1 reply →", "12 replies →", "2 replies ->", "View 5 more replies", "7 replies"]
)
def test_replies_markers(line: str) -> None:
    raw = parse(f"Text.\n\n{line}\n")
    assert tree(raw) == [("t1", None, "Text.")]
    assert raw.unloaded == int(re.findall(r"\d+", line)[0])


@pytest.mark.parametrize(
    "line",
    [
        "← Back to context",
        "<- Back to context",
        "2 days ago",
        "1 hour ago",
        "an hour ago",
        "just now",
        "[–]",
        "[-]",
        "[+]",
        "Guidelines | FAQ | Lists | API | Security | Legal | Apply to YC | Contact",
    ],
)
def test_metadata_lines_are_dropped(line: str) -> None:
    raw = parse(f"{line}\n\nText.\n\n{line}\n")
    assert tree(raw) == [("t1", None, "Text.")]


def test_comment_by_names_the_author_and_starts_a_new_top_level_comment() -> None:
    page = "Comment by ann\n\nAnn's text.\n\nComment by bob\n2 hours ago\nBob's text.\n"
    raw = parse(page)
    assert [(c.id, c.parent_id, c.author, c.text) for c in raw.comments] == [
        ("t1", None, "ann", "Ann's text."),
        ("t2", None, "bob", "Bob's text."),
    ]


def test_header_without_text_is_dropped_with_a_warning() -> None:
    raw = parse("Comment by ann\n\n2 days ago\n\nComment by bob\n\nBob's text.\n\nComment by cy\n")
    assert [(c.id, c.author, c.text) for c in raw.comments] == [("t1", "bob", "Bob's text.")]
    assert any(
        "dropped 2 header(s)" in w and "Comment by ann" in w and "Comment by cy" in w
        for w in raw.warnings
    )


def test_comment_by_followed_by_a_bullet_takes_it_as_its_text() -> None:
    raw = parse("Comment by ann\n\n• Ann's text.\n\n  • A reply.\n")
    assert [(c.id, c.parent_id, c.author, c.text) for c in raw.comments] == [
        ("t1", None, "ann", "Ann's text."),
        ("t2", "t1", None, "A reply."),
    ]


@pytest.mark.parametrize(
    "text", ["", "\n\n", "   \n\t\n", "← Back to context\n\n2 days ago\n\n1 reply →\n"]
)
def test_no_content_gives_no_comments(text: str) -> None:
    raw = parse(text)
    assert raw.comments == []
    with pytest.raises(EmptyThreadError):
        build(raw)


def test_deeper_bullet_attaches_to_the_nearest_shallower_comment_with_a_warning() -> None:
    page = "Top.\n\n  • one\n\n          • jumped\n\n    • two\n"
    raw = parse(page)
    assert tree(raw) == [
        ("t1", None, "Top."),
        ("t2", "t1", "one"),
        ("t3", "t2", "jumped"),
        ("t4", "t2", "two"),
    ]
    assert any("1 bullet(s) were indented deeper" in w for w in raw.warnings)


def test_other_nesting_bullets_and_markdown_lists() -> None:
    page = (
        "Top with a list:\n- first item\n* second item\n\n"
        "  ◦ reply\n    - list in the reply\n\n"
        "    ▪ deeper\n\n      ‣ deepest\n"
    )
    raw = parse(page)
    assert tree(raw) == [
        ("t1", None, "Top with a list:\n- first item\n* second item"),
        ("t2", "t1", "reply\n- list in the reply"),
        ("t3", "t2", "deeper"),
        ("t4", "t3", "deepest"),
    ]
    assert raw.warnings == []


def test_dash_bullets_are_never_nesting() -> None:
    raw = parse("Top.\n\n  - not a reply\n\n- nor this\n")
    assert len(raw.comments) == 1
    assert raw.comments[0].text == "Top.\n\n  - not a reply\n\n- nor this"


def test_deeper_unbulleted_lines_keep_their_extra_indentation() -> None:
    page = "Look at this:\n\n    def f():\n        return 1\n\nNeat.\n"
    raw = parse(page)
    assert tree(raw) == [("t1", None, "Look at this:\n\n    def f():\n        return 1\n\nNeat.")]
    assert any("2 un-bulleted line(s) were indented deeper" in w for w in raw.warnings)


def test_paragraph_after_replies_of_a_bullet_stays_with_it_with_a_warning() -> None:
    page = "Top.\n\n  • reply\n\n    • reply to reply\n\n    more of reply\n"
    raw = parse(page)
    assert tree(raw) == [
        ("t1", None, "Top."),
        ("t2", "t1", "reply\n\nmore of reply"),
        ("t3", "t2", "reply to reply"),
    ]
    assert any("1 un-bulleted paragraph(s) came after the replies" in w for w in raw.warnings)


def test_leading_bullets_without_outer_text_are_top_level() -> None:
    raw = parse("• first\n\n  • reply\n\n• second\n")
    assert tree(raw) == [("t1", None, "first"), ("t2", "t1", "reply"), ("t3", None, "second")]


def test_placeholders_set_the_status() -> None:
    raw = parse("Top.\n\n  • [deleted]\n\n    • reply to a deleted comment\n")
    assert [c.status for c in raw.comments] == ["ok", "deleted", "ok"]
    assert build(raw).by_id["t3"].parent_id == "t2"


def test_inner_whitespace_is_verbatim() -> None:
    raw = parse("  • a\ttab  and  spaces   \n")
    assert raw.comments[0].text == "a\ttab  and  spaces"


# --- pages copied from news.ycombinator.com --------------------------------------------------

HN_STORY = """\
Hacker News new | past | comments | ask | show | jobs | submit\tlogin
\t
Kimi K2 Thinking (moonshotai.github.io)
900 points by nekofneko 2 days ago | hide | past | favorite | 380 comments
\t
motoboi 2 days ago | next [–]

What amazes me is why.
What is the business here?

reply

\t
jychang 2 days ago | parent | next [–]

Chinese state.

• not a nesting bullet here

reply

\t
other 1 day ago | root | parent | next [–]

Deep reply.
reply

\t
third 1 day ago | root | parent | prev | next [–]

Sibling of the deep reply.
reply

\t
second on July 20, 2017 | prev | next [–]

Top two.

  code stays indented

reply

\t
1 point by me 3 hours ago | parent | edit | delete | next [–]

My own reply.
reply

Guidelines | FAQ | Lists | API | Security | Legal | Apply to YC | Contact

Search:
"""


def test_hn_story_page() -> None:
    raw = parse(HN_STORY)
    assert [(c.id, c.parent_id, c.author, c.text) for c in raw.comments] == [
        ("t1", None, None, "Kimi K2 Thinking (moonshotai.github.io)"),
        ("t2", None, "motoboi", "What amazes me is why.\nWhat is the business here?"),
        ("t3", "t2", "jychang", "Chinese state.\n\n• not a nesting bullet here"),
        ("t4", "t3", "other", "Deep reply."),
        ("t5", "t3", "third", "Sibling of the deep reply."),
        ("t6", None, "second", "Top two.\n\n  code stays indented"),
        ("t7", "t6", "me", "My own reply."),
    ]
    assert len(raw.warnings) == 1
    assert "1 line(s) before the first comment header" in raw.warnings[0]


def test_hn_links_place_replies_exactly_when_they_can() -> None:
    # The shape of a real HN copy: replies to top-level comments and first replies are certain.
    page = "\n\n".join(
        f"{user} 1 hour ago | {links} [–]\n\n{text}\nreply"
        for user, links, text in [
            ("a", "next", "A."),
            ("b", "parent | next", "B replies to A."),
            ("c", "root | parent | next", "C replies to B."),
            ("d", "root | parent | next", "D replies to C."),
            ("e", "parent | prev | next", "E replies to A too."),
            ("f", "prev | next", "F is top level."),
        ]
    )
    raw = parse(page)
    assert [(c.author, c.parent_id) for c in raw.comments] == [
        ("a", None),
        ("b", "t1"),
        ("c", "t2"),
        ("d", "t3"),
        ("e", "t1"),
        ("f", None),
    ]
    assert raw.warnings == []


def test_hn_ambiguous_later_sibling_goes_under_a_certain_ancestor_with_a_warning() -> None:
    page = "\n\n".join(
        f"{user} 1 hour ago | {links} [–]\n\n{user} says.\n\nreply"
        for user, links in [
            ("a", "next"),
            ("b", "parent | next"),
            ("c", "root | parent | next"),
            ("d", "root | parent | next"),
            ("e", "root | parent | prev | next"),  # a sibling of c or of d: unknown
        ]
    )
    raw = parse(page)
    assert [(c.author, c.parent_id) for c in raw.comments] == [
        ("a", None),
        ("b", "t1"),
        ("c", "t2"),
        ("d", "t3"),
        ("e", "t2"),
    ]
    assert len(raw.warnings) == 1 and "guessed from HN's 'parent'" in raw.warnings[0]


def test_hn_indented_headers_give_depth() -> None:
    page = (
        "alice 3 hours ago | next [–]\n  Alice.\nreply\n"
        "    bob 2 hours ago | parent | next [–]\n      Bob.\n    reply\n"
        "        cy 1 hour ago | root | parent | next [–]\n          Cy.\n"
        "    dee 1 hour ago | parent | prev [–]\n      Dee.\n"
        "erin 1 hour ago | prev [–]\n  Erin.\n"
    )
    raw = parse(page)
    assert [(c.author, c.parent_id, c.text) for c in raw.comments] == [
        ("alice", None, "Alice."),
        ("bob", "t1", "Bob."),
        ("cy", "t2", "Cy."),
        ("dee", "t1", "Dee."),
        ("erin", None, "Erin."),
    ]


def test_hn_collapsed_header_is_dropped_and_its_replies_reattached() -> None:
    page = (
        "a 1 hour ago | next [–]\n\nA.\n\n"
        "b 1 hour ago | parent | next [3 more]\n\n"  # collapsed: no text on the page
        "c 1 hour ago | prev [–]\n\nC.\n"
    )
    raw = parse(page)
    assert [(c.author, c.parent_id) for c in raw.comments] == [("a", None), ("c", None)]
    assert any("dropped 1 header(s)" in w and "b 1 hour ago" in w for w in raw.warnings)


@pytest.mark.parametrize(
    "line",
    [
        "pg 5 hours ago | parent | next [–]",
        "dang on Jan 5, 2020 | root | parent | next [–]",
        "x 1 minute ago [–]",
        "y_1 2 days ago [flagged] | prev | next [–]",
        "z 3 days ago | parent | context | next [–] | on: Show HN: A | B",
        "u 1 hour ago | unvote | next [–]",
    ],
)
def test_hn_header_forms(line: str) -> None:
    raw = parse(f"{line}\n\nText.\n")
    assert len(raw.comments) == 1
    assert raw.comments[0].author == re.split(r" ", line)[0]


@pytest.mark.parametrize(
    "line",
    ["Posted 3 days ago and still true", "someone 2 days ago said so", "pg 5 hours ago | a b"],
)
def test_not_hn_headers(line: str) -> None:
    raw = parse(f"{line}\n")
    assert [c.text for c in raw.comments] == [line]


# --- where a comment ends: split at the page's own signs, warn where it must guess -----------

TWO_PEOPLE = (
    "ann 3 hours ago\n"
    "Open weights are a gift. Nobody pays for them.\n"
    "bob 2 hours ago\n"
    "They are not a gift. The state pays.\n"
    "ann 1 hour ago\n"
    "That is a stretch.\n"
    "bob 5 minutes ago\n"
    "It is not."
)


def test_headers_without_links_split_a_page_with_no_blank_lines() -> None:
    # No bullets, indentation or blank lines: four comments by two people, not one by ann.
    raw = parse(TWO_PEOPLE)
    assert [(c.author, c.parent_id, c.text) for c in raw.comments] == [
        ("ann", None, "Open weights are a gift. Nobody pays for them."),
        ("bob", None, "They are not a gift. The state pays."),
        ("ann", None, "That is a stretch."),
        ("bob", None, "It is not."),
    ]
    assert len(raw.warnings) == 1
    assert raw.warnings[0].startswith("text: 4 line(s) looked like comment headers without HN")
    assert "'ann 3 hours ago'" in raw.warnings[0] and "top level" in raw.warnings[0]


@pytest.mark.parametrize(
    ("line", "user"),
    [
        ("bob 2 hours ago", "bob"),
        ("[–] bob 5 points 3 hours ago", "bob"),
        ("[–]bob_2 -1 points 3 hours ago*", "bob_2"),
        ("bob 1 point 2 hours ago (edited 1 hour ago)", "bob"),
        ("bob · 3h", "bob"),
        ("u/bob OP · 3 hr. ago", "bob"),
        ("bob on Jan 5, 2020", "bob"),
    ],
)
def test_header_forms_without_links(line: str, user: str) -> None:
    raw = parse(f"ann 3 hours ago\nFirst.\n{line}\nSecond.")
    assert [(c.author, c.text) for c in raw.comments] == [("ann", "First."), (user, "Second.")]


@pytest.mark.parametrize(
    "line",
    ["Posted 3 hours ago", "Edited 2 days ago", "About 2 hours ago", "I 3 hours ago"],
)
def test_age_lines_that_are_not_headers(line: str) -> None:
    raw = parse(f"Text.\n{line}\nMore.")
    assert len(raw.comments) == 1 and line in raw.comments[0].text


def test_indented_headers_without_links_are_placed_by_indentation() -> None:
    page = "ann 3 hours ago\n  A.\n  bob 2 hours ago\n    B.\nann 1 hour ago\n  C."
    raw = parse(page)
    assert [(c.author, c.parent_id) for c in raw.comments] == [
        ("ann", None),
        ("bob", "t1"),
        ("ann", None),
    ]
    assert len(raw.warnings) == 1 and "placed by their indentation" in raw.warnings[0]


def test_on_a_bullet_page_a_header_without_links_stays_text_and_is_named() -> None:
    page = "Top.\n\n  • reply one\n    bob 2 hours ago\n    more of it\n\n  • reply two\n"
    raw = parse(page)
    assert tree(raw) == [
        ("t1", None, "Top."),
        ("t2", "t1", "reply one\nbob 2 hours ago\nmore of it"),
        ("t3", "t1", "reply two"),
    ]
    assert raw.warnings == [
        "text: 1 comment(s) hold text that looks like a comment header: t2 ('bob 2 hours ago'); "
        "several comments may have run together there"
    ]


def test_text_after_a_comments_last_line_starts_another_comment() -> None:
    page = "ann 1 hour ago | next [–]\nFirst.\nreply\nSecond, its header lost.\nreply"
    raw = parse(page)
    assert [(c.author, c.parent_id, c.text) for c in raw.comments] == [
        ("ann", None, "First."),
        (None, None, "Second, its header lost."),
    ]
    assert len(raw.warnings) == 1
    assert "1 comment(s) began after a comment's last line" in raw.warnings[0]


@pytest.mark.parametrize("chrome", ["reply", "Reply", "permalink embed save report reply"])
def test_action_links_end_an_outer_comment_on_a_page_without_headers(chrome: str) -> None:
    raw = parse(f"A one.\n{chrome}\nB one.")
    assert tree(raw) == [("t1", None, "A one."), ("t2", None, "B one.")]
    assert any("guessed where 1 outer-level" in w for w in raw.warnings)


def test_run_on_sentence_lines_are_reported_with_the_comment_and_its_size() -> None:
    page = "A gift.\nNot a gift, the state pays.\nA stretch.\nIt is not."
    raw = parse(page)
    assert len(raw.comments) == 1
    assert raw.warnings == [
        "text: 1 comment(s) run three or more sentence-lines on with no blank line, bullet or "
        f"header between them: t1 ({len(page)} characters); if one holds several comments, the "
        "page does not show where they split"
    ]


@pytest.mark.parametrize(
    "page",
    [
        "One line.\nAnother line.",  # one soft break is an ordinary line break
        "A list:\n- one.\n- Two.\n- Three.",  # list items mark their own lines
        "it wraps here\nand goes on\nand on.",  # no sentence ends at the breaks
    ],
)
def test_ordinary_line_breaks_are_not_reported(page: str) -> None:
    assert parse(page).warnings == []


def test_header_like_text_inside_a_comment_is_reported() -> None:
    raw = parse("ann 1 hour ago | next [–]\nFirst. bob 2 hours ago | parent | next [–] Second.")
    assert len(raw.comments) == 1
    assert raw.warnings == [
        "text: 1 comment(s) hold text that looks like a comment header: t1 ('bob 2 hours ago | "
        "parent'); several comments may have run together there"
    ]


# --- properties ------------------------------------------------------------------------------

WORDS = [
    "alpha",
    "beta",
    "claims",
    "China",
    "open",
    "weights",
    "is",
    "not",
    "free",
    "42",
    "x-ray",
    "(note)",
    "—",
    "naïve",
    "https://example.com/a?b=1",
    "“quoted”",
    "a\tb",
    "•",
    "-",
]
LINE = st.builds(
    lambda prefix, words: prefix + " ".join(words),
    st.sampled_from(["", "", "", "> ", "- ", "* ", "1. "]),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6),
).filter(lambda line: not BULLET.match(line))  # a content line never starts with a bullet
PARAS = st.lists(st.lists(LINE, min_size=1, max_size=3), min_size=1, max_size=3)


@dataclass(frozen=True)
class Node:
    paras: list[list[str]]
    marker: int  # "N replies →" shown under a leaf
    children: tuple[Node, ...]


NODES = st.recursive(
    st.builds(Node, PARAS, st.integers(0, 3), st.just(())),
    lambda kids: st.builds(Node, PARAS, st.integers(0, 3), st.lists(kids, max_size=3).map(tuple)),
    max_leaves=12,
)


@dataclass
class Page:
    lines: list[str]
    expected: list[tuple[int | None, str]]  # (parent index, text) per comment, in order
    unloaded: int = 0

    def comment(self, node: Node, bullet_at: int | None, col: int, parent: int | None) -> None:
        me = len(self.expected)
        self.expected.append((parent, "\n\n".join("\n".join(p) for p in node.paras)))
        for i, para in enumerate(node.paras):
            for j, line in enumerate(para):
                first = i == 0 and j == 0 and bullet_at is not None
                self.lines.append(" " * bullet_at + "• " + line if first else " " * col + line)
            self.lines.append("")
        if node.children:
            child_bullet = col + 2 if bullet_at is None else col
            for child in node.children:
                self.comment(child, child_bullet, child_bullet + 2, me)
        elif node.marker:
            self.lines += [
                " " * col + f"{node.marker} repl{'y' if node.marker == 1 else 'ies'} →",
                "",
            ]
            self.unloaded += node.marker


@given(
    focus=st.one_of(st.none(), st.lists(LINE, min_size=1, max_size=3)),
    outer=st.lists(NODES, max_size=4),
)
@settings(max_examples=150, deadline=None)
def test_well_formed_pages_round_trip(focus: list[str] | None, outer: list[Node]) -> None:
    if focus is None and not outer:
        outer = [Node([["only"]], 0, ())]
    page = Page(lines=[], expected=[])
    parent: int | None = None
    if focus is not None:
        page.lines += ["← Back to context", "", "Comment by someone", "", "2 days ago", ""]
        page.comment(Node([focus], 0, ()), None, 0, None)
        parent = 0
    for k, node in enumerate(outer):
        if k < len(outer) - 1 and not node.children and not node.marker:
            node = Node(node.paras, 1, ())  # a boundary the reader can see
        page.comment(node, None, 0, parent)
    raw = parse("\n".join(page.lines))
    check_shape(raw)
    ids = {k: f"t{k + 1}" for k in range(len(page.expected))}
    got = [(c.parent_id, c.text) for c in raw.comments]
    want = [(None if p is None else ids[p], text) for p, text in page.expected]
    assert got == want
    assert raw.unloaded == page.unloaded
    assert not any("indented deeper" in w or "after the replies" in w for w in raw.warnings)


METADATA_LINES = [
    "← Back to context",
    "Comment by someone",
    "2 days ago",
    "1 hour ago",
    "just now",
    "1 reply →",
    "4 replies →",
    "[–]",
]
ITEMS = st.one_of(
    st.tuples(
        st.just("content"), st.integers(0, 9), st.sampled_from(["", "• ", "◦ ", "‣\t"]), LINE
    ),
    st.tuples(st.just("meta"), st.integers(0, 6), st.just(""), st.sampled_from(METADATA_LINES)),
    st.tuples(st.just("blank"), st.integers(0, 3), st.just(""), st.just("")),
)


@given(
    items=st.lists(ITEMS, max_size=40),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    tabs=st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_nothing_is_lost_on_messy_pages(
    items: list[tuple[str, int, str, str]], newline: str, tabs: bool
) -> None:
    lines = []
    for _kind, indent, bullet, text in items:
        lead = "\t" * (indent // 2) + " " * (indent % 2) if tabs else " " * indent
        lines.append(lead + bullet + text)
    raw = parse(newline.join(lines))
    check_shape(raw)
    content = [text.strip() for kind, _, _, text in items if kind == "content"]
    assert Counter(comment_lines(raw)) == Counter(content)


@given(
    items=st.lists(
        st.one_of(
            ITEMS,
            st.tuples(
                st.just("hn"),
                st.integers(0, 4),
                st.just(""),
                st.sampled_from(
                    [
                        "ann 1 hour ago | next [–]",
                        "bob 2 hours ago | parent | next [–]",
                        "cy on Jan 5, 2020 | root | parent | prev | next [–]",
                        "dee 3 hours ago",
                        "[–] eve 5 points 2 hours ago",
                    ]
                ),
            ),
        ),
        max_size=40,
    ),
)
@settings(max_examples=150, deadline=None)
def test_nothing_is_lost_on_hn_pages(items: list[tuple[str, int, str, str]]) -> None:
    items = [*items, ("hn", 0, "", "zed 1 hour ago | prev [–]")]
    raw = parse("\n".join(" " * indent + bullet + text for _, indent, bullet, text in items))
    check_shape(raw)
    # On HN pages headers delimit comments, so bullets are text and stay.
    content = [(bullet + text).strip() for kind, _, bullet, text in items if kind == "content"]
    assert Counter(comment_lines(raw)) == Counter(content)


@given(
    st.text(alphabet=st.sampled_from(" \t\n\r•◦-*>a1|[]–→"), max_size=200) | st.text(max_size=200)
)
@settings(max_examples=300, deadline=None)
def test_any_text_parses_and_only_input_lines_come_out(text: str) -> None:
    raw = parse(text)
    check_shape(raw)
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    allowed = set(lines) | {BULLET.sub("", ln) for ln in lines}
    out = comment_lines(raw)
    assert set(out) <= allowed
    assert len(out) <= sum(1 for ln in lines if ln)
