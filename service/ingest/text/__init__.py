"""Parse the ``text`` format: a thread copied from a web page as plain text.

Two page shapes are read. Which one a page is decides how comments are delimited:

* **Bullet pages** (``fixtures/threads/hn-comment-page.txt``): nesting is shown by indentation
  and the bullets ``•``, ``◦``, ``▪``, ``‣``. A bullet at indentation *i* starts a comment whose
  text column is where its text begins (normally *i + 2*); un-bulleted lines at that column
  continue it. The bullet replies to the nearest open comment whose text column is at most *i*.
  Un-bulleted comments at the outer level have no visible boundaries, so they are guessed:
  ``Comment by X`` starts a focused comment that is its first paragraph only (the outer-level
  paragraphs after it are its replies); after that, outer-level paragraphs are grouped into one
  comment until a reply block or a ``N replies →`` marker has followed it.
* **Header pages** (copied from news.ycombinator.com, Reddit and the like): each comment
  starts with a header and owns every line up to the next one; bullets there are text. HN's
  header is ``user 3 hours ago | parent | next [–]``; shorter ones without links (``bob 2 hours
  ago``, ``[–] bob 5 points 3 hours ago``, ``bob · 3h``) start a comment too. Depth comes from
  the headers' indentation when it varies. Copies usually have none, so it comes from HN's
  links instead: no ``parent`` is top level; no ``prev`` means the first reply to the comment
  just above; ``prev`` means a later sibling of a comment on the path above (exact for replies
  to top-level comments; deeper ones go under the nearest ancestor that is certain). A header
  without links puts its comment at the top level; such headers make a header page only where
  no nesting bullet shows (on a bullet page they stay text, named in a warning). Text after a
  comment's action links (``reply``, ``permalink … reply``) and before the next header is a
  comment whose header was lost: it starts a comment beside the one above.

Metadata lines (``Comment by X``, ``2 days ago``, ``3 replies →``, headers, HN links, action
links and page chrome) are used and dropped. Every other non-blank line ends up in exactly one
comment: stripped, less its nesting bullet, with any indentation deeper than its comment's text
column kept. Every guess is reported in :attr:`RawThread.warnings`, one line per kind of guess,
and so is a comment that looks like several run together (:mod:`.signals`): nothing is split
where the page shows no sign.
"""

from __future__ import annotations

import hashlib

from ...models import RawThread
from .builder import Builder
from .lines import classify, hn_header, is_nesting_bullet, soft_header
from .pages import BulletBuilder, HnBuilder

__all__ = ["parse"]


def parse(text: str) -> RawThread:
    """Read a thread copied from a web page as plain text (format ``text``).

    Pure and total: any string gives a :class:`RawThread` (one with no comments when the text
    has no content lines; :func:`~service.ingest.tree.build_thread` rejects that). Comment ids
    are ``t1, t2, …`` in order of appearance; the thread id is ``text-`` and 12 hex digits of
    the SHA-256 of ``text``.
    """
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    stripped = [line.strip() for line in raw_lines]
    # HN's own headers make a header page; shorter ones only where no bullet shows nesting (on
    # a bullet page they stay text, and the comment holding one is named in a warning).
    headed = any(hn_header(s) is not None for s in stripped) or (
        any(soft_header(s) is not None for s in stripped)
        and not any(is_nesting_bullet(s) for s in stripped)
    )
    lines = [classify(line, headed) for line in raw_lines]
    builder: Builder
    if headed:
        indents = {line.indent for line in lines if line.kind == "hn"}
        builder = HnBuilder(indented=len(indents) > 1)
    else:
        base = min((line.indent for line in lines if line.kind == "content"), default=0)
        builder = BulletBuilder(base)
    for line in lines:
        builder.feed(line)
    comments, warnings = builder.finish()
    # The id hashes the normalised text, so the same page pasted with CRLF keeps its id.
    normalised = "\n".join(
        line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ).strip()
    digest = hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return RawThread(
        id=f"text-{digest}",
        source="text",
        format="text",
        comments=comments,
        warnings=warnings,
        unloaded=builder.unloaded,
    )
