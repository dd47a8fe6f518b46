"""What can be fetched live: :class:`FetchTarget` and :func:`parse_target`, the host allow-list.

Pure: recognising a target does no I/O. An http(s) URL on a host or path threadsum cannot fetch
is a :class:`~service.errors.UsageError` whose message never echoes credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ...errors import UsageError

__all__ = ["FetchTarget", "parse_target"]

_UNSUPPORTED: Final = "(supported: news.ycombinator.com item URLs, reddit comment URLs)"
_DIGITS: Final = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also takes other scripts' digits
_URL: Final = re.compile(r"https?://", re.IGNORECASE)
_USER_INFO: Final = re.compile(r"(?<=://)[^/?#]*@")
_HN_HOSTS: Final = frozenset({"news.ycombinator.com", "www.news.ycombinator.com"})
_REDDIT_PATH: Final = re.compile(
    r"/(?:(?:r|u|user)/[^/]+/)?comments/(?P<post>[a-z0-9]+)"
    r"(?:/[^/]*(?:/(?P<comment>[a-z0-9]+))?)?/?",
    re.IGNORECASE,
)
_REDD_IT_PATH: Final = re.compile(r"/(?P<post>[a-z0-9]+)/?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FetchTarget:
    """A thread that can be fetched live.

    ``source`` is ``"hn"`` (``id`` an HN item id: a story, or a comment for its subtree) or
    ``"reddit"`` (``id`` a post id; ``comment``, when set, narrows the fetch to that comment's
    subtree).
    """

    source: Literal["hn", "reddit"]
    id: str
    comment: str | None = None

    @property
    def url(self) -> str:
        """The thread's page on its site."""
        if self.source == "hn":
            return f"https://news.ycombinator.com/item?id={self.id}"
        focus = f"_/{self.comment}/" if self.comment else ""
        return f"https://www.reddit.com/comments/{self.id}/{focus}"


def parse_target(target: str) -> FetchTarget | None:
    """Recognise an HN item URL or id, or a reddit comments URL, as a :class:`FetchTarget`.

    Returns ``None`` when ``target`` is not a URL or an id (callers then treat it as a file
    path). Raises :class:`UsageError` for an http(s) URL that threadsum cannot fetch.
    """
    text = target.strip()
    if _DIGITS.fullmatch(text):
        return FetchTarget("hn", str(int(text)))
    if not _URL.match(text):
        return None
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:  # e.g. an unclosed IPv6 bracket
        shown = _USER_INFO.sub("", text, count=1)
        raise UsageError(f"unsupported URL: {shown} {_UNSUPPORTED}") from None
    if "@" in parts.netloc:  # never echo credentials given in a URL
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    unsupported = UsageError(f"unsupported URL: {urlunsplit(parts)} {_UNSUPPORTED}")
    found: FetchTarget | None = None
    if host in _HN_HOSTS and parts.path in ("/item", "/item/"):
        ids = parse_qs(parts.query).get("id", [])
        if len(ids) == 1 and _DIGITS.fullmatch(ids[0]):
            found = FetchTarget("hn", str(int(ids[0])))
    elif host == "reddit.com" or host.endswith(".reddit.com"):
        m = _REDDIT_PATH.fullmatch(parts.path)
        if m:
            comment = m["comment"].lower() if m["comment"] else None
            found = FetchTarget("reddit", m["post"].lower(), comment)
    elif host == "redd.it":
        m = _REDD_IT_PATH.fullmatch(parts.path)
        if m:
            found = FetchTarget("reddit", m["post"].lower())
    if found is None:
        raise unsupported
    return found
