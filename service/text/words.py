"""Content words: the words the extractive engine and the topic grouping compare texts by.

:data:`WORD` finds lowercase words of three or more letters (apostrophes and hyphens inside);
:data:`STOP_WORDS` are the function words and fillers that say nothing about a point.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["STOP_WORDS", "WORD"]

WORD: Final = re.compile(r"[a-z][a-z'’-]{2,}")
STOP_WORDS: Final = frozenset(
    """
    the and for are but not you your with that this have has had was were been being from
    they them their there then than what when where which who whom why how all any can could
    would should will just also very into about over under more most some such only own same
    other its it's i'm don't doesn't didn't isn't aren't wasn't weren't can't won't i've
    you're they're that's there's here what's let's our ours out off one two yes yeah not
    nor too may might must shall does did doing because while though although even still yet
    get got like really much many well way make made lot lots thing things people think know
    see say said going want need use used using
    """.split()
)
