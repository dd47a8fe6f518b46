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
"""

from __future__ import annotations

from typing import get_args

from ..models import CommentStatus, RawComment, RawThread, Source
from ._fields import Fields, JSONObject, clean_text

__all__ = ["FORMAT", "parse"]

FORMAT = "native"
_SOURCES: dict[str, Source] = {name: name for name in get_args(Source)}
_STATUSES: dict[str, CommentStatus] = {name: name for name in get_args(CommentStatus)}
_F = Fields(FORMAT)


def parse(data: object) -> RawThread:
    """Read a native JSON document (already decoded) into a :class:`RawThread`."""
    thread = _F.obj(data, "the document")
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
    ok = status == "ok"
    return RawComment(
        id=cid,
        parent_id=_F.opt_ident(item, "parent_id", what),
        author=author if ok else None,
        text=clean_text(text) if ok else "",
        created_at=_F.opt_time(item, "created_at", what),
        score=_F.opt_int(item, "score", what),
        status=status,
        url=_F.opt_str(item, "url", what),
    )


def _status(item: JSONObject, what: str) -> CommentStatus:
    status = _F.opt_str(item, "status", what)
    if status is None:
        return "deleted" if _F.flag(item, "deleted", what) else "ok"
    if status not in _STATUSES:
        _F.fail(f"'status' of {what} is {status!r}, not one of {', '.join(_STATUSES)}")
    return _STATUSES[status]
