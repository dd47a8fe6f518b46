"""Fetching a Reddit thread: one request to the post's ``.json`` endpoint."""

from __future__ import annotations

from typing import Final

from ...models import RawThread
from .. import reddit as reddit_format
from .getter import Fetcher, parse_fetched
from .targets import FetchTarget

__all__ = ["REDDIT_COMMENTS_URL", "REDDIT_LIMIT", "fetch_reddit", "reddit_url"]

REDDIT_COMMENTS_URL: Final = "https://www.reddit.com/comments/{id}.json"
REDDIT_LIMIT: Final = 500
_FORBIDDEN: Final = "private or banned subreddit, or reddit refused the user agent"


def reddit_url(target: FetchTarget) -> str:
    """The ``.json`` URL of ``target``'s comments (narrowed to its comment, when it has one)."""
    # Without raw_json=1 Reddit escapes &, < and > in bodies, as in saved pages; the parser
    # unescapes exactly once.
    url = f"{REDDIT_COMMENTS_URL.format(id=target.id)}?limit={REDDIT_LIMIT}"
    return url + (f"&comment={target.comment}" if target.comment else "")


async def fetch_reddit(fetcher: Fetcher, target: FetchTarget) -> RawThread:
    """The thread of reddit post ``target``."""
    url = reddit_url(target)
    data = await fetcher.get_json(url, what=f"reddit post {target.id}", forbidden=_FORBIDDEN)
    return parse_fetched(reddit_format.parse, data, url)
