"""Fetching a Hacker News thread: Algolia's whole tree, checked against and backed by Firebase.

Algolia's items endpoint returns the whole reply tree in one request, but its index lags behind
the site. The item is fetched from the Firebase API alongside it; when Algolia fails, or holds
fewer live comments than the story's ``descendants``, the tree is crawled from Firebase instead
(breadth-first by ``kids``, ``fetch_concurrency`` requests at a time) and the thread gets a
warning saying so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

from ...errors import FetchError, LimitError, NotFoundError
from ...models import RawThread
from .. import hn_algolia, hn_firebase
from .getter import Fetcher, parse_fetched

__all__ = ["ALGOLIA_ITEM_URL", "FIREBASE_ITEM_URL", "crawl_firebase", "fetch_hn", "firebase_item"]

log = logging.getLogger(__name__)

T = TypeVar("T")

ALGOLIA_ITEM_URL: Final = "https://hn.algolia.com/api/v1/items/{id}"
FIREBASE_ITEM_URL: Final = "https://hacker-news.firebaseio.com/v0/item/{id}.json"


async def fetch_hn(fetcher: Fetcher, item_id: str) -> RawThread:
    """The thread under HN item ``item_id``, from Algolia when its copy is complete."""
    algolia_url = ALGOLIA_ITEM_URL.format(id=item_id)
    try:
        async with asyncio.TaskGroup() as group:
            algolia_task = group.create_task(
                attempt(fetcher.get_json(algolia_url, what=f"HN item {item_id} on Algolia"))
            )
            story_task = group.create_task(attempt(firebase_item(fetcher, item_id)))
    except BaseExceptionGroup as failed:
        raise _first(failed) from None
    algolia, story = algolia_task.result(), story_task.result()
    if story is None:
        url = FIREBASE_ITEM_URL.format(id=item_id)
        raise NotFoundError(f"HN item {item_id} not found ({url} returned null)")
    if isinstance(algolia, FetchError):
        if isinstance(story, FetchError):
            raise FetchError(f"{story} (and Algolia: {algolia})")
        return await _from_firebase(fetcher, story, f"Algolia failed: {algolia}")
    if isinstance(story, FetchError):
        raw = parse_fetched(hn_algolia.parse, algolia, algolia_url)
        return _warn(raw, f"could not check Algolia's copy against HN Firebase ({story})")
    live = _algolia_live_comments(algolia)
    descendants = story.get("descendants")
    if isinstance(descendants, int) and live < descendants:
        reason = f"Algolia has {live} of the {descendants} comments (its index lags)"
        return await _from_firebase(fetcher, story, reason)
    return parse_fetched(hn_algolia.parse, algolia, algolia_url)


async def firebase_item(fetcher: Fetcher, item_id: int | str) -> dict[str, Any] | None:
    """One Firebase item, or ``None`` when Firebase does not know the id."""
    url = FIREBASE_ITEM_URL.format(id=item_id)
    async with fetcher.semaphore:
        item = await fetcher.get_json(url, what=f"HN item {item_id}")
    if item is None:
        return None
    if not isinstance(item, dict):
        raise FetchError(f"GET {url} failed: expected an item object, got {type(item).__name__}")
    return item


async def crawl_firebase(fetcher: Fetcher, root: dict[str, Any]) -> tuple[list[object], int]:
    """Every item under ``root``, breadth-first (root first), and how many kids were missing."""
    limit = fetcher.settings.max_comments
    items: list[object] = [root]
    seen = {root.get("id")}
    missing = 0
    level = _kids(root)
    while level:
        level = [k for k in dict.fromkeys(level) if k not in seen]
        seen.update(level)
        if len(items) - 1 + len(level) > limit:
            raise LimitError(
                f"HN item {root.get('id')} has more than the limit of {limit} comments"
            )
        fetched = await _gather([firebase_item(fetcher, k) for k in level])
        level = []
        for item in fetched:
            if item is None:
                missing += 1
                continue
            items.append(item)
            level.extend(_kids(item))
    return items, missing


async def attempt(coro: Coroutine[Any, Any, T]) -> T | FetchError:
    """Await ``coro``, returning a :class:`FetchError` instead of raising it."""
    try:
        return await coro
    except FetchError as exc:
        return exc


async def _from_firebase(fetcher: Fetcher, story: dict[str, Any], reason: str) -> RawThread:
    log.info("HN item %s: crawling Firebase because %s", story.get("id"), reason)
    items, missing = await crawl_firebase(fetcher, story)
    url = FIREBASE_ITEM_URL.format(id=story.get("id"))
    raw = _warn(
        parse_fetched(hn_firebase.parse, items, url),
        f"fetched from the HN Firebase API ({len(items)} items) because {reason}",
    )
    if missing:
        raw = _warn(raw, f"{missing} reply id(s) listed by HN Firebase returned no item")
    return raw


def _algolia_live_comments(item: object) -> int:
    """Comments in an Algolia tree that are not deleted (deleted ones have no author)."""
    count = 0
    stack = [item]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        children = node.get("children")
        if isinstance(children, list):
            stack.extend(children)
            count += sum(1 for c in children if isinstance(c, dict) and c.get("author"))
    return count


def _kids(item: dict[str, Any]) -> list[int]:
    kids = item.get("kids")
    return [k for k in kids if isinstance(k, int)] if isinstance(kids, list) else []


def _warn(raw: RawThread, warning: str) -> RawThread:
    return raw.model_copy(update={"warnings": [*raw.warnings, warning]})


def _first(failed: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first leaf of a task group's exception group: the error to report."""
    first: BaseException = failed
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first


async def _gather(coros: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Run ``coros`` concurrently; the first failure cancels the others and is raised as is."""
    tasks: list[asyncio.Task[T]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as failed:
        raise _first(failed) from None
    return [t.result() for t in tasks]
