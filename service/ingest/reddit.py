"""Parse Reddit's ``/comments/ID.json``: a two-element array of Listings.

The first Listing holds the ``t3`` post (``id``, ``title``, ``selftext``, ``permalink``, …), the
second the ``t1`` comments, each with ``replies`` (``""`` or a nested Listing). Bodies are
Markdown and are kept as text, with the HTML escaping Reddit applies without ``raw_json=1``
(``&amp;``, ``&lt;``, ``&gt;``) undone. Parents are taken from the nesting, so the comments at
the top of the second Listing are top-level even when they answer a comment that is not in the
response (a comment permalink).

``[deleted]`` and ``[removed]`` bodies become placeholders (status deleted / removed, no author,
no text); an author ``[deleted]`` with a real body keeps its text with no author. ``more`` stubs
are never silently dropped: each adds ``max(count, len(children))`` to ``unloaded``; a
"continue this thread" stub (count 0, no children, id ``_``) counts as one and is also named in
a warning. A ``t1`` with no ``body`` is refused: every Reddit comment has one, and reading it
as an empty comment would hide that the input is something else.
"""

from __future__ import annotations

from html import unescape

from ..models import CommentStatus, RawComment, RawThread
from ._fields import Fields, JSONObject, clean_text, kind
from ._shape import names

__all__ = ["FORMAT", "parse"]

FORMAT = "reddit"
BASE_URL = "https://www.reddit.com"
_F = Fields(FORMAT)
_PLACEHOLDERS: dict[str, CommentStatus] = {"[deleted]": "deleted", "[removed]": "removed"}


def parse(data: object) -> RawThread:
    """Read a decoded ``/comments/ID.json`` response into a :class:`RawThread`."""
    if not isinstance(data, list):
        _F.fail(f"expected the two-Listing array of /comments/ID.json, got {kind(data)}")
    if len(data) < 2:
        _F.fail(f"expected two Listings (the post, then its comments), got {len(data)}")
    post = _post(_listing(data[0], "the first Listing"))
    post_id = _F.ident(post, "id", "the t3 post")
    what = f"post {post_id}"
    selftext = _markdown(_F.opt_str(post, "selftext", what))

    comments: list[RawComment] = []
    unloaded = 0
    cut_off = 0
    top = _listing(data[1], "the second Listing")
    pending: list[tuple[object, str | None, str]] = [
        (t, None, f"comment #{n} of the second Listing") for n, t in enumerate(top, 1)
    ]
    pending.reverse()
    while pending:  # iterative pre-order: threads can nest deeper than the recursion limit
        value, parent_id, name = pending.pop()
        thing = _F.obj(value, name)
        thing_kind = _F.opt_str(thing, "kind", name)
        fields = _F.obj(thing.get("data"), f"'data' of {name}")
        if thing_kind == "more":
            count = max(0, _F.opt_int(fields, "count", f"'more' stub {name}") or 0)
            ids = _F.opt_list(fields, "children", f"'more' stub {name}")
            if fields.get("id") == "_" or (count == 0 and not ids):
                cut_off += 1  # "continue this thread": a deep chain Reddit did not send
            else:
                unloaded += max(count, len(ids))
            continue
        if thing_kind != "t1":
            _F.fail(f"{name} is of kind {thing_kind!r}, not a t1 comment or a 'more' stub")
        cid = _F.ident(fields, "id", name)
        comments.append(_comment(fields, cid, parent_id))
        replies = fields.get("replies")
        if replies not in (None, ""):
            children = _listing(replies, f"'replies' of comment {cid}")
            pending.extend(
                (t, cid, f"reply #{n} of comment {cid}")
                for n, t in reversed(list(enumerate(children, 1)))
            )

    warnings: list[str] = []
    if cut_off:
        chains, were, are = ("chains", "were", "are") if cut_off != 1 else ("chain", "was", "is")
        warnings.append(
            f"{cut_off} deep reply {chains} {were} cut off by Reddit ('continue this thread') "
            f"and {are} not included"
        )
    return RawThread(
        id=post_id,
        source="reddit",
        format=FORMAT,
        title=_F.opt_str(post, "title", what),
        url=_url(_F.opt_str(post, "permalink", what)),
        text=None if selftext in ("", *_PLACEHOLDERS) else selftext,
        comments=comments,
        warnings=warnings,
        unloaded=unloaded + cut_off,
    )


def _listing(value: object, what: str) -> list[object]:
    """The ``children`` of a Listing."""
    listing = _F.obj(value, what)
    listing_kind = listing.get("kind")
    if listing_kind is not None and listing_kind != "Listing":
        _F.fail(f"{what} is of kind {listing_kind!r}, not a Listing")
    fields = _F.obj(listing.get("data"), f"'data' of {what}")
    if "children" not in fields:
        _F.fail(f"{what} has no 'children'")
    return _F.array(fields["children"], f"'children' of {what}")


def _post(things: list[object]) -> JSONObject:
    for n, value in enumerate(things, start=1):
        thing = _F.obj(value, f"item #{n} of the first Listing")
        if thing.get("kind") == "t3":
            return _F.obj(thing.get("data"), "'data' of the t3 post")
    _F.fail("the first Listing has no t3 post")


def _comment(fields: JSONObject, cid: str, parent_id: str | None) -> RawComment:
    what = f"comment {cid}"
    if "body" not in fields:
        _F.fail(f"{what} has no 'body' (its fields: {names(sorted(fields))})")
    body = _markdown(_F.opt_str(fields, "body", what))
    author = _F.opt_str(fields, "author", what)
    status = _PLACEHOLDERS.get(body, "ok")
    ok = status == "ok"
    return RawComment(
        id=cid,
        parent_id=parent_id,
        author=author if ok and author != "[deleted]" else None,
        text=body if ok else "",
        created_at=_F.opt_time(fields, "created_utc", what),
        score=_F.opt_int(fields, "score", what),
        status=status,
        url=_url(_F.opt_str(fields, "permalink", what)),
    )


def _markdown(text: str | None) -> str:
    """A body as Reddit wrote it: entities decoded, CRLF → LF, stripped."""
    return clean_text(unescape(text or ""))


def _url(permalink: str | None) -> str | None:
    if not permalink:
        return None
    return permalink if permalink.startswith(("http://", "https://")) else BASE_URL + permalink
