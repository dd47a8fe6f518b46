"""Parse threadsum's own JSON format.

::

    {"id": "…", "title": "…", "url": "…", "source": "hn",
     "comments": [{"id": "…", "parent_id": null, "author": "…", "text": "…",
                   "created_at": "2024-01-01T00:00:00Z", "score": 3}]}

Comments are a flat list in source order; root comments have ``parent_id`` null. Ids may be
strings or integers. ``text`` is clean plain text and is kept as is (CRLF → LF, stripped).
Optional per comment: ``status`` (ok, deleted, dead, removed) or ``"deleted": true``, and
``url``. ``created_at`` is an ISO-8601 string or unix seconds. A thread-level ``text`` (the
post's own text) is read when present. Structure (duplicates, parents, cycles) is checked later,
by :func:`service.ingest.tree.build_thread`.

The shape is exact: a field native does not read makes the document another format, not a
native thread with holes (:func:`mismatch`), and a comment with no ``text`` that is not a
deleted placeholder is an error, not an empty comment. A ``comments`` list is not enough: a
real HN client's export has one too, with ``content`` and nested ``kids`` fields, and read as
native it gave empty comments and lost every reply.
"""

from __future__ import annotations

from typing import get_args

from ..models import CommentStatus, RawComment, RawThread, Source
from ._fields import Fields, JSONObject, clean_text
from ._shape import names

__all__ = ["COMMENT_FIELDS", "FORMAT", "THREAD_FIELDS", "mismatch", "parse"]

FORMAT = "native"
THREAD_FIELDS = ("id", "title", "url", "source", "text", "comments")
COMMENT_FIELDS = (
    "id",
    "parent_id",
    "author",
    "text",
    "created_at",
    "score",
    "status",
    "deleted",
    "url",
)
_THREAD_KEYS = frozenset(THREAD_FIELDS)
_COMMENT_KEYS = frozenset(COMMENT_FIELDS)
_SOURCES: dict[str, Source] = {name: name for name in get_args(Source)}
_STATUSES: dict[str, CommentStatus] = {name: name for name in get_args(CommentStatus)}
_F = Fields(FORMAT)


def mismatch(data: object) -> str | None:
    """Say why ``data`` is not a native thread in shape, or return None when it is one.

    Only the keys of the thread and of each comment object are judged here: a field native does
    not read is a sign of another format, whose content reading it as native would silently
    lose. Values of the wrong type, entries that are not objects and a live comment with no
    ``text`` are native mistakes, which :func:`parse` names.
    """
    if not isinstance(data, dict):
        return None
    extra = sorted(str(k) for k in data.keys() - _THREAD_KEYS)
    if extra:
        return (
            f"the thread has fields native does not read: {names(extra)} "
            f"(a native thread has {', '.join(THREAD_FIELDS)})"
        )
    entries = data.get("comments")
    if not isinstance(entries, list):
        return None
    known = _COMMENT_KEYS.issuperset  # no set built per comment for the usual exact shape
    odd = [
        (n, entry)
        for n, entry in enumerate(entries, start=1)
        if isinstance(entry, dict) and not known(entry) and _comment_mismatch(entry)
    ]
    if not odd:
        return None
    n, entry = odd[0]
    more = f" (and {len(odd) - 1} more like it)" if len(odd) > 1 else ""
    optional = ", ".join(k for k in COMMENT_FIELDS if k not in ("id", "text"))
    return (
        f"comment #{n}{more} {_comment_mismatch(entry)} (a native comment has id and text, "
        f"and may have {optional})"
    )


def _comment_mismatch(entry: dict[object, object]) -> str | None:
    extra = sorted(str(k) for k in entry.keys() - _COMMENT_KEYS)
    return f"has fields native does not read: {names(extra)}" if extra else None


def parse(data: object) -> RawThread:
    """Read a native JSON document (already decoded) into a :class:`RawThread`."""
    thread = _F.obj(data, "the document")
    problem = mismatch(thread)
    if problem is not None:
        _F.fail(f"not a native thread: {problem}")
    thread_id = _F.ident(thread, "id", "the thread")
    if "comments" not in thread:
        _F.fail("the thread has no 'comments' list")
    entries = _F.array(thread["comments"], "'comments'")
    source = thread.get("source")
    text = clean_text(_F.opt_str(thread, "text", "the thread") or "")
    return RawThread(
        id=thread_id,
        source=_SOURCES.get(source, "native") if isinstance(source, str) else "native",
        format=FORMAT,
        title=_F.opt_str(thread, "title", "the thread"),
        url=_F.opt_str(thread, "url", "the thread"),
        text=text or None,
        comments=[_comment(entry, n) for n, entry in enumerate(entries, start=1)],
    )


def _comment(entry: object, n: int) -> RawComment:
    item = _F.obj(entry, f"comment #{n}")
    what = f"comment #{n}"
    cid = _F.ident(item, "id", what)
    what = f"comment {cid}"
    status = _status(item, what)
    author = _F.opt_str(item, "author", what)
    text = _F.opt_str(item, "text", what) or ""
    comment = RawComment(
        id=cid,
        parent_id=_F.opt_ident(item, "parent_id", what),
        author=author if status == "ok" else None,
        text=clean_text(text) if status == "ok" else "",
        created_at=_F.opt_time(item, "created_at", what),
        score=_F.opt_int(item, "score", what),
        status=status,
        url=_F.opt_str(item, "url", what),
    )
    if status == "ok" and "text" not in item:
        _F.fail(f"{what} has no 'text' and is not marked deleted")
    return comment


def _status(item: JSONObject, what: str) -> CommentStatus:
    status = _F.opt_str(item, "status", what)
    if status is None:
        return "deleted" if _F.flag(item, "deleted", what) else "ok"
    if status not in _STATUSES:
        _F.fail(f"'status' of {what} is {status!r}, not one of {', '.join(_STATUSES)}")
    return _STATUSES[status]
