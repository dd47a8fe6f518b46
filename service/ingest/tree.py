"""Check a parsed thread and build the ordered, keyed reply tree.

Every input format ends here, so every structural check lives here once: empty threads,
size limits, invalid Unicode, duplicate ids, parents that do not exist, cycles, depth. Comments
come out depth-first with siblings in source order, keyed ``c1…cN``, their text split into
sentences ``c<n>.<k>``.
"""

from __future__ import annotations

from typing import Any

from ..errors import EmptyThreadError, FormatError, LimitError, ThreadStructureError
from ..models import NO_SENTENCES, Comment, RawComment, RawThread, Sentences, Thread
from ..settings import ParentPolicy
from ..text.sentences import split_sentences
from ._fields import unicode_problem

_LIST_SHOWN = 5

# Comments are built here from values already checked (every field given, of its type), so
# they skip re-validation and share one set of the names of their fields: pydantic otherwise
# keeps a set per instance, 0.7 kB a comment, a large part of a big thread's memory. The model
# is frozen, so the shared set is never written to. :func:`_comment` does what
# ``Comment.model_construct(_COMMENT_FIELDS, **values)`` does for a model with no aliases,
# extras, private attributes or post-init hook (checked below), without its per-field loop,
# which was a tenth of reading a thread.
_COMMENT_FIELDS: set[str] = set(Comment.model_fields)
_DIRECT = (
    not Comment.__private_attributes__
    and Comment.model_config.get("extra") != "allow"
    and not Comment.__pydantic_post_init__
    and all(f.alias is None and f.validation_alias is None for f in Comment.model_fields.values())
)
_setattr = object.__setattr__


def _comment(values: dict[str, Any]) -> Comment:
    """A :class:`Comment` of checked ``values``, one for every field, without validation."""
    if not _DIRECT:
        return Comment.model_construct(_COMMENT_FIELDS, **values)
    made = Comment.__new__(Comment)
    _setattr(made, "__dict__", values)
    _setattr(made, "__pydantic_fields_set__", _COMMENT_FIELDS)
    _setattr(made, "__pydantic_extra__", None)
    _setattr(made, "__pydantic_private__", None)
    return made


def _some(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_SHOWN])
    more = len(items) - _LIST_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def build_thread(
    raw: RawThread,
    *,
    max_comments: int,
    max_depth: int,
    parent_policy: ParentPolicy = "attach",
    consume: bool = False,
) -> Thread:
    """Check ``raw`` and return the :class:`Thread`, or raise a clear :class:`InputError`.

    With ``consume`` the caller gives ``raw`` up: each raw comment is let go as soon as its
    checked comment is built, so a large thread is not held twice over at the peak, and
    ``raw.comments`` is left empty.
    """
    comments = raw.comments
    if not comments:
        hidden = f" (the source lists {raw.unloaded} it did not send)" if raw.unloaded else ""
        raise EmptyThreadError(f"empty thread: no comments found{hidden}")
    if len(comments) > max_comments:
        raise LimitError(f"thread has {len(comments)} comments, over the limit of {max_comments}")

    _check_unicode(raw)
    warnings = list(raw.warnings)
    by_id: dict[str, int] = {}
    dupes: list[str] = []
    for i, c in enumerate(comments):
        if c.id in by_id:
            dupes.append(c.id)
        else:
            by_id[c.id] = i
    if dupes:
        raise ThreadStructureError(f"duplicate comment id: {_some(sorted(set(dupes)))}")

    parent: dict[str, str | None] = {}
    orphans: list[str] = []
    for c in comments:
        p = c.parent_id
        if p is not None and p == raw.id and p not in by_id:
            p = None
        if p is not None and p not in by_id:
            orphans.append(f"{c.id} (parent {p})")
            p = None
        elif p is not None:
            p = comments[by_id[p]].id  # the parent's own string, not an equal copy of it
        parent[c.id] = p
    if orphans:
        if parent_policy == "reject":
            raise ThreadStructureError(f"unknown parent for comment {_some(orphans)}")
        warnings.append(
            f"{len(orphans)} comment(s) reply to a parent not in the thread and were attached "
            f"at the top level: {_some(orphans)}"
        )

    children: dict[str | None, list[str]] = {}
    for c in comments:
        children.setdefault(parent[c.id], []).append(c.id)

    # Depth-first, iterative (threads can be deep), siblings in source order.
    order: list[tuple[str, int]] = []
    stack: list[tuple[str, int]] = [(cid, 1) for cid in reversed(children.get(None, []))]
    while stack:
        cid, depth = stack.pop()
        if depth > max_depth:
            raise LimitError(f"reply nesting is {depth} deep, over the limit of {max_depth}")
        order.append((cid, depth))
        stack.extend((k, depth + 1) for k in reversed(children.get(cid, [])))

    if len(order) < len(comments):
        raise ThreadStructureError(f"reply cycle: {_describe_cycle(parent, order)}")

    pending: list[RawComment | None] = list(comments)
    if consume:
        raw.comments = []
        del comments
    built: list[Comment] = []
    authors: dict[str, str] = {}  # one string per author, however many comments they wrote
    for n, (cid, depth) in enumerate(order, start=1):
        rc = pending[by_id[cid]]
        pending[by_id[cid]] = None
        assert rc is not None  # each comment is in the order once
        key = f"c{n}"
        text = rc.text
        sentences = NO_SENTENCES
        if rc.status == "ok" and text:
            sentences = Sentences(text, key, split_sentences(text))
        built.append(
            _comment(
                {
                    "id": cid,
                    "key": key,
                    "parent_id": parent[cid],
                    "author": rc.author and authors.setdefault(rc.author, rc.author),
                    "depth": depth,
                    "text": text,
                    "created_at": rc.created_at,
                    "score": rc.score,
                    "status": rc.status,
                    "url": rc.url,
                    "children": tuple(children.get(cid, ())),
                    "sentences": sentences,
                }
            )
        )
    if raw.unloaded:
        warnings.append(
            f"{raw.unloaded} comment(s) were not loaded by the source (collapsed or hidden "
            "replies) and are not in this summary"
        )
    return Thread(
        id=raw.id,
        source=raw.source,
        format=raw.format,
        title=raw.title,
        url=raw.url,
        text=raw.text,
        comments=tuple(built),
        warnings=tuple(warnings),
        unloaded=raw.unloaded,
    )


def _check_unicode(raw: RawThread) -> None:
    """Refuse a thread with a string that is not valid Unicode (a lone surrogate).

    The parsers refuse these as they read each field; this holds the same line for a
    :class:`RawThread` from anywhere else, so a :class:`Thread` can always be encoded.
    """
    # One pass over every string at C speed first; only a thread holding a surrogate somewhere
    # is walked field by field to name it.
    texts = [raw.id, raw.title, raw.url, raw.text, *raw.warnings]
    for c in raw.comments:
        texts += (c.id, c.parent_id, c.author, c.text, c.url)
    if unicode_problem("".join(t for t in texts if t)) is None:
        return
    owners: list[tuple[str, object, tuple[str, ...]]] = [
        ("the thread's", raw, ("id", "title", "url", "text"))
    ]
    owners.extend(
        (f"comment #{n}'s", c, ("id", "parent_id", "author", "text", "url"))
        for n, c in enumerate(raw.comments, start=1)
    )
    for owner, record, names in owners:
        for name in names:
            value = getattr(record, name)
            problem = unicode_problem(value) if value else None
            if problem is not None:
                raise FormatError(f"{raw.format}: {owner} {name} is not valid Unicode: {problem}")
    for warning in raw.warnings:
        problem = unicode_problem(warning)
        if problem is not None:
            raise FormatError(f"{raw.format}: a warning is not valid Unicode: {problem}")


def _describe_cycle(parent: dict[str, str | None], reached: list[tuple[str, int]]) -> str:
    seen = {cid for cid, _ in reached}
    start = next(cid for cid in parent if cid not in seen)
    path: list[str] = []
    index: dict[str, int] = {}
    node: str | None = start
    while node is not None and node not in index:
        index[node] = len(path)
        path.append(node)
        node = parent[node]
    loop = path[index[node] :] if node is not None else path
    return " → ".join([*loop, loop[0]]) if loop else start
