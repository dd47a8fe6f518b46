"""Parse Hacker News Firebase items (``https://hacker-news.firebaseio.com/v0/item/ID.json``).

The input is a JSON array of items, an object mapping ids to items, or a single item. Items have
``id``, ``by``, ``text`` (HTML), ``parent``, ``kids`` (child ids in display order), ``time``
(unix), ``type``, ``deleted``, ``dead``, ``title``, ``url``, ``score`` and ``descendants``.

The root is the story (type story, poll or job) when there is one; otherwise the first item
whose parent is not in the input heads a comment-subtree thread. Siblings are ordered by their
parent's ``kids``; items a parent does not list follow, in input order. Kids missing from the
input are simply absent, ``null`` entries (what the API answers for a missing item) are skipped,
and poll options are not comments. Items not reached from the root (their parent is missing, or
they form a cycle) are still emitted, after the rest, for
:func:`service.ingest.tree.build_thread` to place or reject. The result is the same
:class:`RawThread` the Algolia parser gives for the same thread, apart from ``format``.

An item is refused, not read with holes, when it holds objects under a key the API does not
send (replies nested, not listed by id in ``kids``), or when a live item has no ``text`` but
fields the API does not send (its text is elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import RawComment, RawThread
from . import _hn
from ._fields import Fields, JSONObject, kind
from ._shape import names, nested, unread

__all__ = ["FIELDS", "FORMAT", "parse"]

FORMAT = "hn-firebase"
#: The fields of an item in the Firebase API (https://github.com/HackerNews/API).
FIELDS = frozenset(
    {
        *("id", "deleted", "type", "by", "time", "text", "dead", "parent", "poll", "kids"),
        *("url", "score", "title", "parts", "descendants"),
    }
)
_F = Fields(FORMAT)


@dataclass(frozen=True)
class _Item:
    id: str
    fields: JSONObject
    parent: str | None
    kids: tuple[str, ...]
    type: str | None


def parse(data: object) -> RawThread:
    """Read decoded Firebase items into a :class:`RawThread`."""
    items = [item for item in _items(data) if item.type != "pollopt"]
    if not items:
        _F.fail("the input has no items")
    parents = _parents(items)

    stories = [i for i, item in enumerate(items) if item.type in _hn.STORY_TYPES]
    if len(stories) > 1:
        ids = ", ".join(items[i].id for i in stories[:5])
        _F.fail(f"the input has more than one story (items {ids})")
    known = {item.id for item in items}
    if stories:
        root = stories[0]
    else:
        heads = [i for i, p in enumerate(parents) if p is None or p not in known]
        root = heads[0] if heads else -1  # no head: every item is in a cycle

    order = _thread_order(items, parents, root, root_is_story=bool(stories))
    story = items[root] if stories else None
    head = items[root] if root >= 0 else items[0]
    comments: list[RawComment] = []
    for i in order:
        parent = parents[i]
        if i == root or (story is not None and parent == story.id):
            parent = None
        comments.append(_comment(items[i], parent))
    title = text = None
    if story is not None:
        title = _F.opt_str(story.fields, "title", f"item {story.id}")
        text = _hn.story_text(_F.opt_str(story.fields, "text", f"item {story.id}"))
    return RawThread(
        id=head.id,
        source="hn",
        format=FORMAT,
        title=title,
        url=_hn.item_url(head.id),
        text=text,
        comments=comments,
    )


def _items(data: object) -> list[_Item]:
    named: list[tuple[str, object]]
    if isinstance(data, list):
        named = [(f"item #{n}", value) for n, value in enumerate(data, start=1)]
    elif isinstance(data, dict):
        if "id" in data and not isinstance(data["id"], dict):
            named = [("the item", data)]  # a single item
        else:
            named = [(f"item {str(key)!r}", value) for key, value in data.items()]
    else:
        _F.fail(f"expected an array of items or an object mapping ids to items, got {kind(data)}")
    items: list[_Item] = []
    for name, value in named:
        if value is None:
            continue
        fields = _F.obj(value, name)
        if fields.get("id") is None:
            _F.fail(f"{name} has no 'id'")
        iid = _F.ident(fields, "id", name)
        what = f"item {iid}"
        _check_shape(fields, what)
        kids = tuple(
            kid
            for k, raw in enumerate(_F.opt_list(fields, "kids", what), start=1)
            if (kid := _F.to_ident(raw, f"kid #{k} of {what}")) is not None
        )
        items.append(
            _Item(
                id=iid,
                fields=fields,
                parent=_F.opt_ident(fields, "parent", what),
                kids=kids,
                type=_F.opt_str(fields, "type", what),
            )
        )
    return items


def _check_shape(fields: JSONObject, what: str) -> None:
    key = nested(fields, FIELDS)
    if key is not None:
        _F.fail(
            f"{what} holds items under {key!r}, which hn-firebase does not read (its replies "
            "are ids in 'kids'): not HN Firebase items"
        )
    extra = unread(fields, FIELDS)
    comment = fields.get("type") in (None, "comment")
    gone = fields.get("deleted") or fields.get("dead")
    if extra and comment and "text" not in fields and not gone:
        _F.fail(
            f"{what} has no 'text' but has {names(extra)}, which hn-firebase does not read: "
            "not HN Firebase items"
        )


def _parents(items: list[_Item]) -> list[str | None]:
    """Each item's parent: its ``parent`` field, else the first item listing it in ``kids``."""
    listed_by: dict[str, str] = {}
    for item in items:
        for kid in item.kids:
            listed_by.setdefault(kid, item.id)
    return [item.parent if item.parent is not None else listed_by.get(item.id) for item in items]


def _thread_order(
    items: list[_Item], parents: list[str | None], root: int, *, root_is_story: bool
) -> list[int]:
    """Indexes of the comments in pre-order from ``root``, then the unreached ones in input order.

    ``root`` is -1 when there is none (every item is in a cycle): then all come in input order.
    """
    children: dict[str, list[int]] = {}
    for i, parent in enumerate(parents):
        if parent is not None and i != root:
            children.setdefault(parent, []).append(i)
    order: list[int] = []
    seen: set[int] = set()
    if root >= 0:
        if root_is_story:  # the story heads the thread but is not a comment
            seen.add(root)
            stack = list(reversed(_ordered(items, children, root)))
        else:
            stack = [root]
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            order.append(i)
            stack.extend(reversed(_ordered(items, children, i)))
    order.extend(i for i in range(len(items)) if i not in seen)
    return order


def _ordered(items: list[_Item], children: dict[str, list[int]], i: int) -> list[int]:
    """Children of item ``i``: in its ``kids`` order, then the unlisted ones in input order."""
    rank: dict[str, int] = {}
    for r, kid in enumerate(items[i].kids):
        rank.setdefault(kid, r)
    return sorted(
        children.get(items[i].id, []), key=lambda c: (rank.get(items[c].id, len(rank)), c)
    )


def _comment(item: _Item, parent_id: str | None) -> RawComment:
    what = f"item {item.id}"
    fields = item.fields
    return _hn.comment(
        item.id,
        parent_id,
        author=_F.opt_str(fields, "by", what),
        html=_F.opt_str(fields, "text", what),
        created_at=_F.opt_time(fields, "time", what),
        score=_F.opt_int(fields, "score", what),
        deleted=_F.flag(fields, "deleted", what),
        dead=_F.flag(fields, "dead", what),
    )
