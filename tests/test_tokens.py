"""The offline token estimator counts what its definition says, piece by piece."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from service.text.tokens import SAFETY_MARGIN, estimate_tokens

_RUNS = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")


def _by_definition(text: str) -> int:
    """A word of n ASCII letters is ceil(n/5) tokens, n digits ceil(n/3), any other symbol 1."""
    if not text:
        return 0
    total = 0
    for piece in _RUNS.findall(text):
        if piece[0].isascii() and piece[0].isalpha():
            total += -(-len(piece) // 5)
        elif piece[0].isdigit():
            total += -(-len(piece) // 3)
        else:
            total += 1
    return int(total * SAFETY_MARGIN) + 1


_CHARS = "abcdeXYZ0123 \n\t.,;'\"<>-_éß漢かな١٢٣\u00a0"
_TEXT = st.text(alphabet=st.sampled_from(_CHARS), max_size=80)


@given(_TEXT)
def test_estimate_follows_the_definition(text: str) -> None:
    assert estimate_tokens(text) == _by_definition(text)


def test_examples() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("hello") == int(1 * SAFETY_MARGIN) + 1
    # 12 letters: 3 tokens; 7 digits: 3 tokens; "!" 1; two non-ASCII letters 1 each
    assert estimate_tokens("abcdefghijkl 1234567 ! éé") == int(9 * SAFETY_MARGIN) + 1
    assert estimate_tokens("漢字かな") == int(4 * SAFETY_MARGIN) + 1
