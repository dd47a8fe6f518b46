"""Conventions shared by the two Hacker News parsers, so both build the same thread."""

from __future__ import annotations

from datetime import datetime

from ..models import CommentStatus, RawComment
from .html import html_to_text

ITEM_URL = "https://news.ycombinator.com/item?id={id}"
# Item types that head a thread; a "comment" can head one too (a comment subtree).
STORY_TYPES = frozenset({"story", "poll", "job"})


def item_url(item_id: str) -> str:
    """The public HN page of an item."""
    return ITEM_URL.format(id=item_id)


def story_text(html: str | None) -> str | None:
    """The cleaned text of a story (Ask HN and the like), or None when it has none."""
    return html_to_text(html or "") or None


def comment(
    cid: str,
    parent_id: str | None,
    *,
    author: str | None,
    html: str | None,
    created_at: datetime | None,
    score: int | None,
    deleted: bool,
    dead: bool,
) -> RawComment:
    """A comment; deleted and dead ones are placeholders with no author and no text."""
    status: CommentStatus = "deleted" if deleted else "dead" if dead else "ok"
    ok = status == "ok"
    return RawComment(
        id=cid,
        parent_id=parent_id,
        author=author if ok else None,
        text=html_to_text(html or "") if ok else "",
        created_at=created_at,
        score=score,
        status=status,
        url=item_url(cid),
    )
