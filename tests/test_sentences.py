from __future__ import annotations

from typing import SupportsIndex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.text.sentences import MAX_INLINE_CHARS, MAX_SENTENCE_CHARS, split_sentences


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),
        ("E.g. Mr. Smith left. Then he came back.", ["E.g. Mr. Smith left.", "Then he came back."]),
        (
            "See https://example.com/a.b.c?x=1. Next one.",
            ["See https://example.com/a.b.c?x=1.", "Next one."],
        ),
        ("It grew 3.5 percent. Fine.", ["It grew 3.5 percent.", "Fine."]),
        ("Wait... what? No.", ["Wait... what?", "No."]),
        ("Ask J. R. Smith. He knows.", ["Ask J. R. Smith.", "He knows."]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("The U.S. and the U.K. agree. Rarely.", ["The U.S. and the U.K. agree.", "Rarely."]),
        ("no punctuation at all", ["no punctuation at all"]),
        ("Line one\nstill line one. New.", ["Line one\nstill line one.", "New."]),
        ("No. That is wrong.", ["No.", "That is wrong."]),
        ("I said no. Then I left.", ["I said no.", "Then I left."]),
        ('"No." That settled it.', ['"No."', "That settled it."]),
        ("See No. 5 and No. #6 here. Next.", ["See No. 5 and No. #6 here.", "Next."]),
        ("No.5 is fine. So is (no. 7).", ["No.5 is fine.", "So is (no. 7)."]),
    ],
)
def test_prose(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it works. then it broke.", ["it works.", "then it broke."]),
        ("ok! that was fast? yes.", ["ok!", "that was fast?", "yes."]),
        ("wow. i did not know", ["wow.", "i did not know"]),
        ("It grew 3.5 percent. then fell.", ["It grew 3.5 percent.", "then fell."]),
        ("See https://ex.com/a.b?c=1. then go.", ["See https://ex.com/a.b?c=1.", "then go."]),
        ("I use Yahoo! mail daily.", ["I use Yahoo! mail daily."]),
        ("So do I. Then we left.", ["So do I.", "Then we left."]),
        ("Ask I. M. Pei. He knows.", ["Ask I. M. Pei.", "He knows."]),
        ("from N.C. yet they won.", ["from N.C. yet they won."]),
        ("1. first point. 2. second point", ["1. first point.", "2. second point"]),
        ("In 2030. Most agree.", ["In 2030.", "Most agree."]),
    ],
)
def test_lowercase_starts_after_terminal_punctuation(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Take e.g. this one.",
        "Take i.e. that one.",
        "Fruit, etc. and more.",
        "Us vs. them again.",
        "It costs approx. five.",
        "Meet at 5 p.m. today.",
        "wait... what",
        "wait… what",
    ],
)
def test_abbreviations_and_trailing_ellipses_stay_inside_the_sentence(text: str) -> None:
    assert sentences(text) == [text]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I see... Then it was.", ["I see...", "Then it was."]),
        ("I see… Then it was.", ["I see…", "Then it was."]),
    ],
)
def test_an_ellipsis_before_a_capital_ends_the_sentence(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'He said "No. Stop it." and left.',
        "He said “No. Stop it.” and left.",
        "He said (No. Stop it.) and left.",
        '"No. Stop it." he said.',
        'He said "Why? Stop!" and left.',
    ],
)
def test_no_split_inside_an_inline_quotation(text: str) -> None:
    assert sentences(text) == [text]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('He said "No. Stop it." Then left.', ['He said "No. Stop it."', "Then left."]),
        # an aside that is sentences of its own is split like any
        ("Fine. (And riots. And fires.) I see.", ["Fine.", "(And riots.", "And fires.)", "I see."]),
        # a stray inch mark or an emoticon shelters nothing
        ('My 5" screen. it broke.', ['My 5" screen.', "it broke."]),
        ("sad :( it broke. then (ok) fine.", ["sad :( it broke.", "then (ok) fine."]),
        ("ok. :) Then more.", ["ok.", ":) Then more."]),
    ],
)
def test_quotation_edges(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_an_overlong_quotation_is_split_as_usual() -> None:
    long_inner = " ".join(["Word here."] * (MAX_INLINE_CHARS // 10))
    assert len(sentences(f'He said "{long_inner}" and left.')) > 1
    short_inner = " ".join(["Word here."] * 3)
    assert len(sentences(f'He said "{short_inner}" and left.')) == 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["No.", "stop it.", "Why?", "e.g. this", "wait...", "Fine!", "it is"]),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([('"', '"'), ("“", "”"), ("(", ")")]),
    st.sampled_from(["and left.", "she said.", "for sure."]),
)
def test_an_inline_quotation_is_one_sentence_with_its_frame(
    inner: list[str], marks: tuple[str, str], after: str
) -> None:
    opening, closing = marks
    text = f"He said {opening}{' '.join(inner)}{closing} {after}"
    assert sentences(text) == [text]


def test_blocks_quotes_lists_code() -> None:
    text = (
        "> quoted. Still the quote.\n> more quote\n\n"
        "My answer. Second.\n\n"
        "- first item. With two sentences\n"
        "- second item\n"
        "1. numbered\n\n"
        "    indented code. not split\n    more code\n\n"
        "```\nfenced\n\ncode. here\n```\n"
        "After."
    )
    assert sentences(text) == [
        "> quoted. Still the quote.\n> more quote",
        "My answer.",
        "Second.",
        "- first item.",
        "With two sentences",
        "- second item",
        "1. numbered",
        "indented code. not split\n    more code",
        "```\nfenced\n\ncode. here\n```",
        "After.",
    ]


def test_unclosed_fence_runs_to_end() -> None:
    text = "Intro.\n\n```\ncode. more\n\nstill code"
    assert sentences(text) == ["Intro.", "```\ncode. more\n\nstill code"]


def test_long_run_is_capped_at_word_boundaries() -> None:
    text = " ".join(["word"] * 1000)
    parts = sentences(text)
    assert len(parts) > 1
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in parts)
    assert " ".join(parts) == text


class CountingText(str):
    """A text that counts the characters read out of it by indexing and slicing."""

    read = 0

    def __getitem__(self, key: SupportsIndex | slice) -> str:
        piece = super().__getitem__(key)
        self.read += len(piece)
        return piece


def characters_read(text: str) -> int:
    counting = CountingText(text)
    split_sentences(counting)
    return counting.read


LONG_PARAGRAPH = (
    "Dr. Smith said the U.S. grew 3.5 percent, e.g. in Jan. and Feb. No. That is wrong! "
    'Why? Because... it is not. Ask J. R. Smith (see No. 5). He said "stop." Then left. '
)


@pytest.mark.parametrize(
    "unit",
    [
        LONG_PARAGRAPH,
        "word ",
        "J. ",
        "no. ",
        "你好。",
        "x" * 50 + "; ",
        'He said "No. Stop it." and left. ',
        "(x. y.) ",
        "( a. ",
        '5" x. ',
        "ok Yahoo! is ",
        "wow. then ",
        "wait... what ",
    ],
)
def test_work_grows_linearly_with_paragraph_length(unit: str) -> None:
    # Work measured as characters copied out of the text: copying the rest of the paragraph
    # once per candidate sentence end made a 90 KB paragraph take seconds.
    small, large = unit * 500, unit * 2000
    assert characters_read(large) <= 4.5 * max(characters_read(small), len(small))
    assert characters_read(large) <= 5 * len(large)


def test_doubled_paragraph_splits_as_twice_the_paragraph() -> None:
    text = LONG_PARAGRAPH * 200
    once = split_sentences(text)
    twice = split_sentences(text + text)
    assert twice == once + [(s + len(text), e + len(text)) for s, e in once]


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("ab Z.?!\n>-*`'\"()1:/ “”…;")) | st.characters(codec="utf-8"),
        max_size=400,
    )
)
def test_spans_are_verbatim_ordered_and_cover_everything(text: str) -> None:
    spans = split_sentences(text)
    last = 0
    covered = []
    for s, e in spans:
        assert last <= s < e <= len(text)
        piece = text[s:e]
        assert piece == piece.strip() and piece
        covered.append((s, e))
        last = e
    # every non-whitespace character belongs to exactly one sentence
    inside = [False] * len(text)
    for s, e in covered:
        for i in range(s, e):
            inside[i] = True
    assert all(inside[i] or text[i].isspace() for i in range(len(text)))


@given(st.text(alphabet=st.sampled_from(" \t>`~-*•1.)&gt;ab"), max_size=12))
def test_one_line_blocks_are_the_line_by_line_blocks(text: str) -> None:
    from service.text.sentences import _blocks, _line_blocks

    line = text.replace("\n", " ")
    assert list(_blocks(line)) == list(_line_blocks(line))


@pytest.mark.parametrize("space", [" ", "\t", "\u00a0", "\u2003", "\x1c", "\n"])
def test_the_word_before_a_full_stop_ends_at_any_whitespace(space: str) -> None:
    # "J" is an initial, and "vs" an abbreviation, whatever whitespace comes before them.
    assert sentences(f"Ask{space}J. Smith left. Then") == [f"Ask{space}J. Smith left.", "Then"]
    assert sentences(f"Cats{space}vs. dogs. Fine") == [f"Cats{space}vs. dogs.", "Fine"]
