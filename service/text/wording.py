"""Small wording helpers written once: one-line excerpts, counted nouns, URLs safe to show."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` with every run of whitespace folded to one space, cut to ``limit`` characters.

    A cut text ends in ``…`` and is ``limit`` characters long in all.
    """
    flat = " ".join(text.split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: max(0, limit - 1)] + "…"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``"1 claim"``, ``"3 claims"``; ``plural`` for nouns that do not take an ``s``."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def public_url(url: str | None) -> str | None:
    """``url`` without user info, query or fragment: what may be logged, stored or shown."""
    if url is None:
        return None
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc, query="", fragment=""))
