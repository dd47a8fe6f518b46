"""Parse an HN Algolia items response (``https://hn.algolia.com/api/v1/items/ID``).

The response is one item with its replies nested in ``children``. Items have ``id``,
``created_at`` (ISO) / ``created_at_i`` (unix), ``type`` (story, comment, poll, pollopt, job),
``author``, ``title``, ``url``, ``text`` (HTML), ``points``, ``parent_id`` and ``story_id``.

A story root heads the thread (its id, title and cleaned text; the thread URL is its HN page)
and every descendant is a comment. A comment root heads a comment-subtree thread: the thread id
is the comment's and the comment itself is the single top-level comment. Comments come out in
pre-order with siblings in the given order; parents are taken from the nesting. A comment with
neither author nor text (or an explicit ``deleted`` flag) is a deleted placeholder. Poll options
are not comments and are skipped.

An item is refused, not read with holes, when it holds objects under a key Algolia does not
send (replies nested the way another client nests them) or has neither ``author`` nor ``text``
but fields Algolia does not send (its text is elsewhere).
"""

from __future__ import annotations

from ..models import RawComment, RawThread
from . import _hn
from ._fields import Fields, JSONObject
from ._shape import names, nested, unread

__all__ = ["FIELDS", "FORMAT", "parse"]

FORMAT = "hn-algolia"
#: The fields of an item in Algolia's items API.
FIELDS = frozenset(
    {
        *("id", "created_at", "created_at_i", "type", "author", "title", "url", "text"),
        *("points", "parent_id", "story_id", "children", "options", "deleted", "dead"),
    }
)
_F = Fields(FORMAT)


def parse(data: object) -> RawThread:
    """Read a decoded Algolia items response into a :class:`RawThread`."""
    root = _F.obj(data, "the response (an item)")
    root_id = _F.ident(root, "id", "the root item")
    what = f"item {root_id}"
    kind = _F.opt_str(root, "type", what)
    pending: list[tuple[object, str | None, str]]  # (item, parent id, how to name it if bad)
    if kind in _hn.STORY_TYPES or (kind is None and "title" in root):
        title = _F.opt_str(root, "title", what)
        text = _hn.story_text(_F.opt_str(root, "text", what))
        children = _children(root, what)
        pending = [(c, None, f"child #{n} of {what}") for n, c in enumerate(children, 1)]
    elif kind in (None, "comment"):
        title = text = None
        pending = [(root, None, "the root item")]
    else:
        _F.fail(f"{what} is a {kind!r}, not a story or a comment")

    comments: list[RawComment] = []
    pending.reverse()
    while pending:  # iterative pre-order: threads can nest deeper than the recursion limit
        value, parent_id, name = pending.pop()
        item = _F.obj(value, name)
        cid = _F.ident(item, "id", name)
        what = f"item {cid}"
        _check_shape(item, what)
        children = _children(item, what)
        if _F.opt_str(item, "type", what) == "pollopt":
            continue
        comments.append(_comment(item, cid, parent_id, what))
        pending.extend(
            (c, cid, f"child #{n} of {what}") for n, c in reversed(list(enumerate(children, 1)))
        )
    return RawThread(
        id=root_id,
        source="hn",
        format=FORMAT,
        title=title,
        url=_hn.item_url(root_id),
        text=text,
        comments=comments,
    )


def _check_shape(item: JSONObject, what: str) -> None:
    key = nested(item, FIELDS)
    if key is not None:
        _F.fail(
            f"{what} holds items under {key!r}, which hn-algolia does not read (its replies are "
            "under 'children'): not an hn-algolia response"
        )
    extra = unread(item, FIELDS)
    if extra and "text" not in item and "author" not in item and not item.get("deleted"):
        _F.fail(
            f"{what} has no 'author' or 'text' but has {names(extra)}, which hn-algolia does "
            "not read: not an hn-algolia response"
        )


def _children(item: JSONObject, what: str) -> list[object]:
    return _F.opt_list(item, "children", what)


def _comment(item: JSONObject, cid: str, parent_id: str | None, what: str) -> RawComment:
    author = _F.opt_str(item, "author", what)
    html = _F.opt_str(item, "text", what)
    created = _F.opt_time(item, "created_at_i", what) or _F.opt_time(item, "created_at", what)
    return _hn.comment(
        cid,
        parent_id,
        author=author,
        html=html,
        created_at=created,
        score=_F.opt_int(item, "points", what),
        deleted=_F.flag(item, "deleted", what) or (author is None and html is None),
        dead=_F.flag(item, "dead", what),
    )
