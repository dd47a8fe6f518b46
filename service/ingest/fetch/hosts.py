"""Where live fetching may send a request: the API hosts, checked on every hop of a redirect.

A thread is fetched from three API hosts only (:data:`API_HOSTS`), over https on the default
port. Redirects are followed by hand (never by httpx) so that each ``Location`` is checked here
before anything is sent to it: a redirect to any other host, to http, to another port, to an
address (``127.0.0.1``, a private network) or to another scheme (``file:``) is refused, as is a
chain longer than :data:`MAX_REDIRECTS`. Pure: nothing here does I/O.
"""

from __future__ import annotations

from typing import Final

import httpx

__all__ = ["API_HOSTS", "MAX_REDIRECTS", "refusal", "shown"]

API_HOSTS: Final = frozenset({"hn.algolia.com", "hacker-news.firebaseio.com", "www.reddit.com"})
"""The only hosts a live fetch talks to (HN Algolia, HN Firebase, Reddit)."""
MAX_REDIRECTS: Final = 5
"""Most redirects followed for one request."""
_SHOWN_CHARS: Final = 200


def refusal(url: httpx.URL) -> str | None:
    """Why no request may go to ``url``, or ``None`` when it is an https URL on an API host."""
    if url.scheme != "https":
        return f"scheme {url.scheme or 'missing'}, not https"
    if url.host not in API_HOSTS:
        return "not an API host threadsum fetches from"
    if url.port not in (None, 443):
        return f"port {url.port}, not 443"
    if url.userinfo:
        return "a URL with credentials"
    return None


def shown(url: httpx.URL | str) -> str:
    """``url`` for a message: without credentials, and cut short when long."""
    text = str(url)
    if isinstance(url, httpx.URL) and url.userinfo:
        text = str(url.copy_with(username=None, password=None))
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"
