from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from service.text.tokens import SAFETY_MARGIN, estimate_tokens

_REFERENCE_PIECE = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")


def reference(text: str) -> int:
    # The estimator as its docstring states it, one piece at a time.
    if not text:
        return 0
    total = 0
    for m in _REFERENCE_PIECE.finditer(text):
        piece = m.group(0)
        c = piece[0]
        if c.isascii() and c.isalpha():
            total += 1 + (len(piece) - 1) // 5
        elif c.isdigit():
            total += (len(piece) + 2) // 3
        else:
            total += 1
    return int(total * SAFETY_MARGIN) + 1


def test_counts_words_digit_groups_and_symbols() -> None:
    # "tokenizer" 2, "is" 1, "1234567" 3, "," "!" 1 each, "é" 1: 9 pieces, ×1.1 → 9, + 1.
    assert estimate_tokens("tokenizer, is 1234567! é") == 10
    assert estimate_tokens("") == 0
    assert estimate_tokens("   \n") == 1


@given(
    st.text(
        alphabet=st.sampled_from("abcdefghijKLMNOP0123456789 \n\t.,!?-é日本語٣²\u00a0\u2003"),
        max_size=200,
    )
)
def test_matches_the_piecewise_definition(text: str) -> None:
    assert estimate_tokens(text) == reference(text)


@given(st.text(max_size=300))
def test_matches_the_piecewise_definition_on_any_text(text: str) -> None:
    assert estimate_tokens(text) == reference(text)
