"""Live fetching of threads by URL or id: Hacker News and Reddit.

:func:`parse_target` recognises what can be fetched; :func:`fetch_thread` fetches it and hands
the JSON to the format's parser, returning its :class:`~service.models.RawThread`. This is the
only module that talks to HN and Reddit. Every failure leaves it as a :class:`FetchError`
(:class:`NotFoundError` when the item does not exist) or a :class:`LimitError`, with a one-line
message naming the URL and the problem; no httpx exception escapes.

Hacker News: Algolia's items endpoint returns the whole reply tree in one request, but its index
lags behind the site. The item is fetched from the Firebase API alongside it; when Algolia fails,
or holds fewer live comments than the story's ``descendants``, the tree is crawled from Firebase
instead (breadth-first by ``kids``, ``fetch_concurrency`` requests at a time) and the thread gets
a warning saying so. Reddit: one request to the post's ``.json`` endpoint.

Retries: connection errors, timeouts, 408, 429 and 5xx are retried as the caller's
:class:`~service.retrying.RetryPolicy` says (default :data:`DEFAULT_RETRY`: ``ATTEMPTS`` tries,
the server's ``Retry-After`` capped at ``RETRY_AFTER_CAP`` seconds, else jittered exponential
backoff). Tests pass ``RetryPolicy(wait=tenacity.wait_none())`` and never sleep.

Re-record the HTTP fixtures of the tests (``fixtures/http/``) against the live APIs with::

    python -m service.ingest.fetch --record URL_OR_ID OUT_DIR
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import tenacity

from ...errors import (
    FetchError,
    FormatError,
    LimitError,
    NotFoundError,
    TooLargeError,
    Transient,
    UsageError,
)
from ...models import RawThread
from ...retrying import RetryPolicy, retry_after
from ...settings import Settings
from .. import hn_algolia, hn_firebase, reddit

__all__ = [
    "ATTEMPTS",
    "DEFAULT_RETRY",
    "RETRY_AFTER_CAP",
    "FetchTarget",
    "RetryAfterWait",
    "fetch_thread",
    "parse_target",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

ALGOLIA_ITEM_URL: Final = "https://hn.algolia.com/api/v1/items/{id}"
FIREBASE_ITEM_URL: Final = "https://hacker-news.firebaseio.com/v0/item/{id}.json"
REDDIT_COMMENTS_URL: Final = "https://www.reddit.com/comments/{id}.json"
REDDIT_LIMIT: Final = 500

ATTEMPTS: Final = 3
"""Tries per request, the first included."""
RETRY_AFTER_CAP: Final = 5.0
"""Longest wait, in seconds, that a server's ``Retry-After`` can ask for."""

_UNSUPPORTED = "(supported: news.ycombinator.com item URLs, reddit comment URLs)"
_REDDIT_403 = "private or banned subreddit, or reddit refused the user agent"
_RETRY_STATUSES = frozenset({408, 429})
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also takes other scripts' digits
_URL = re.compile(r"https?://", re.IGNORECASE)
_HN_HOSTS = frozenset({"news.ycombinator.com", "www.news.ycombinator.com"})
_REDDIT_PATH = re.compile(
    r"/(?:(?:r|u|user)/[^/]+/)?comments/(?P<post>[a-z0-9]+)"
    r"(?:/[^/]*(?:/(?P<comment>[a-z0-9]+))?)?/?",
    re.IGNORECASE,
)
_REDD_IT_PATH = re.compile(r"/(?P<post>[a-z0-9]+)/?", re.IGNORECASE)


# --- targets -----------------------------------------------------------------------------------


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
        raise UsageError(f"unsupported URL: {text} {_UNSUPPORTED}") from None
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


# --- retries -----------------------------------------------------------------------------------


DEFAULT_RETRY: Final = RetryPolicy(attempts=ATTEMPTS, max_wait=RETRY_AFTER_CAP)
"""How live fetches are retried unless the caller says otherwise."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- HTTP --------------------------------------------------------------------------------------


class _Fetcher:
    """GETs JSON with retries, a size cap and error mapping, over one client and one semaphore."""

    def __init__(
        self, client: httpx.AsyncClient, settings: Settings, retry: RetryPolicy = DEFAULT_RETRY
    ) -> None:
        self.client = client
        self.settings = settings
        self.retry = retry
        self.headers = {"User-Agent": settings.user_agent, "Accept": "application/json"}
        self.semaphore = asyncio.Semaphore(settings.fetch_concurrency)

    async def get_json(self, url: str, *, what: str, forbidden: str = "") -> object:
        """GET ``url`` and decode its JSON body.

        ``what`` names the requested thing in a 404's message; ``forbidden`` explains a 403.
        """

        def log_retry(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            log.info(
                "retrying GET %s in %.1fs after attempt %d: %s",
                url,
                state.upcoming_sleep,
                state.attempt_number,
                exc,
            )

        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(max(1, self.retry.attempts)),
            wait=self.retry.wait_strategy(),
            retry=tenacity.retry_if_exception_type(Transient),
            before_sleep=log_retry,
            reraise=True,
        )
        body = b""
        try:
            async for attempt in retrying:
                with attempt:
                    body = await self._get_once(url, what, forbidden)
        except Transient as exc:
            tries = retrying.statistics.get("attempt_number", 1)
            suffix = f" ({tries} attempts)" if tries > 1 else ""
            raise FetchError(f"GET {url} failed: {exc.problem}{suffix}") from None
        try:
            return json.loads(body)
        except UnicodeDecodeError:
            raise FetchError(f"GET {url} failed: invalid JSON (not UTF-8 text)") from None
        except json.JSONDecodeError as exc:
            raise FetchError(
                f"GET {url} failed: invalid JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno})"
            ) from None

    async def _get_once(self, url: str, what: str, forbidden: str) -> bytes:
        timeout = self.settings.fetch_timeout
        try:
            async with asyncio.timeout(timeout):  # a whole-request deadline, slow drips included
                return await self._stream(url, what, forbidden)
        except (httpx.TimeoutException, TimeoutError):
            raise Transient(f"timed out after {timeout:g}s") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise Transient(f"connection failed ({_one_line(exc)})") from None
        except httpx.HTTPError as exc:  # bad URL, too many redirects, protocol errors …
            raise FetchError(f"GET {url} failed: {_one_line(exc)}") from None

    async def _stream(self, url: str, what: str, forbidden: str) -> bytes:
        max_bytes = self.settings.max_bytes
        too_big = f"GET {url}: response is over the limit of {max_bytes} bytes"
        async with self.client.stream(
            "GET",
            url,
            headers=self.headers,
            timeout=httpx.Timeout(self.settings.fetch_timeout),
            follow_redirects=True,
        ) as response:
            status = response.status_code
            if status != 200:
                problem = f"HTTP {status} {response.reason_phrase}".rstrip()
                if status in _RETRY_STATUSES or status >= 500:
                    after = retry_after(response.headers)
                    raise Transient(problem, after)
                if status == 404:
                    raise NotFoundError(f"{what} not found (GET {url}: HTTP 404)")
                if status == 403 and forbidden:
                    problem += f" ({forbidden})"
                raise FetchError(f"GET {url} failed: {problem}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise TooLargeError(too_big)
            body = bytearray()
            async for chunk in response.aiter_bytes():  # decoded: gzip bombs count in full
                body += chunk
                if len(body) > max_bytes:
                    raise TooLargeError(too_big)
            return bytes(body)


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


async def _attempt(coro: Coroutine[Any, Any, T]) -> T | FetchError:
    """Await ``coro``, returning a :class:`FetchError` instead of raising it."""
    try:
        return await coro
    except FetchError as exc:
        return exc


# --- Hacker News -------------------------------------------------------------------------------


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


async def _firebase_item(fetcher: _Fetcher, item_id: int | str) -> dict[str, Any] | None:
    """One Firebase item, or ``None`` when Firebase does not know the id."""
    url = FIREBASE_ITEM_URL.format(id=item_id)
    async with fetcher.semaphore:
        item = await fetcher.get_json(url, what=f"HN item {item_id}")
    if item is None:
        return None
    if not isinstance(item, dict):
        raise FetchError(f"GET {url} failed: expected an item object, got {type(item).__name__}")
    return item


async def _crawl_firebase(fetcher: _Fetcher, root: dict[str, Any]) -> tuple[list[object], int]:
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
        fetched = await _gather([_firebase_item(fetcher, k) for k in level])
        level = []
        for item in fetched:
            if item is None:
                missing += 1
                continue
            items.append(item)
            level.extend(_kids(item))
    return items, missing


async def _fetch_hn(fetcher: _Fetcher, item_id: str) -> RawThread:
    algolia_url = ALGOLIA_ITEM_URL.format(id=item_id)
    try:
        async with asyncio.TaskGroup() as group:
            algolia_task = group.create_task(
                _attempt(fetcher.get_json(algolia_url, what=f"HN item {item_id} on Algolia"))
            )
            story_task = group.create_task(_attempt(_firebase_item(fetcher, item_id)))
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
        raw = _parse(hn_algolia.parse, algolia, algolia_url)
        return _warn(raw, f"could not check Algolia's copy against HN Firebase ({story})")
    live = _algolia_live_comments(algolia)
    descendants = story.get("descendants")
    if isinstance(descendants, int) and live < descendants:
        reason = f"Algolia has {live} of the {descendants} comments (its index lags)"
        return await _from_firebase(fetcher, story, reason)
    return _parse(hn_algolia.parse, algolia, algolia_url)


async def _from_firebase(fetcher: _Fetcher, story: dict[str, Any], reason: str) -> RawThread:
    log.info("HN item %s: crawling Firebase because %s", story.get("id"), reason)
    items, missing = await _crawl_firebase(fetcher, story)
    url = FIREBASE_ITEM_URL.format(id=story.get("id"))
    raw = _warn(
        _parse(hn_firebase.parse, items, url),
        f"fetched from the HN Firebase API ({len(items)} items) because {reason}",
    )
    if missing:
        raw = _warn(raw, f"{missing} reply id(s) listed by HN Firebase returned no item")
    return raw


# --- Reddit ------------------------------------------------------------------------------------


def _reddit_url(target: FetchTarget) -> str:
    # Without raw_json=1 Reddit escapes &, < and > in bodies, as in saved pages; the parser
    # unescapes exactly once.
    url = f"{REDDIT_COMMENTS_URL.format(id=target.id)}?limit={REDDIT_LIMIT}"
    return url + (f"&comment={target.comment}" if target.comment else "")


async def _fetch_reddit(fetcher: _Fetcher, target: FetchTarget) -> RawThread:
    url = _reddit_url(target)
    data = await fetcher.get_json(url, what=f"reddit post {target.id}", forbidden=_REDDIT_403)
    return _parse(reddit.parse, data, url)


# --- shared ------------------------------------------------------------------------------------


def _parse(parse: Callable[[object], RawThread], data: object, url: str) -> RawThread:
    """Run a format parser on fetched data; a shape it cannot read is the upstream's fault."""
    try:
        return parse(data)
    except FormatError as exc:
        raise FetchError(f"GET {url} failed: unexpected response ({exc})") from None


def _warn(raw: RawThread, warning: str) -> RawThread:
    return raw.model_copy(update={"warnings": [*raw.warnings, warning]})


def _new_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        headers={"User-Agent": settings.user_agent},
        timeout=httpx.Timeout(settings.fetch_timeout),
        follow_redirects=True,
        limits=httpx.Limits(max_connections=settings.fetch_concurrency + 2),
    )


async def fetch_thread(
    target: FetchTarget,
    settings: Settings,
    client: httpx.AsyncClient | None = None,
    *,
    retry: RetryPolicy | None = None,
) -> RawThread:
    """Fetch ``target`` live and parse it into a :class:`RawThread` (not yet checked).

    Uses ``client`` when given (requests still carry the settings' User-Agent and timeout),
    else a client of its own, closed before returning. Raises :class:`NotFoundError` when the
    item does not exist, :class:`FetchError` for any other failure to fetch, and
    :class:`LimitError` when a response is over ``settings.max_bytes`` or an HN crawl over
    ``settings.max_comments``.
    """
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(_new_client(settings))
        fetcher = _Fetcher(client, settings, retry or DEFAULT_RETRY)
        if target.source == "hn":
            return await _fetch_hn(fetcher, target.id)
        return await _fetch_reddit(fetcher, target)


# --- recording fixtures ------------------------------------------------------------------------


async def _record(target: FetchTarget, out_dir: Path, settings: Settings) -> list[Path]:
    """Save the raw API responses for ``target`` as readable JSON files in ``out_dir``."""
    written: dict[Path, object] = {}
    async with _new_client(settings) as client:
        fetcher = _Fetcher(client, settings)
        if target.source == "hn":
            algolia = await _attempt(
                fetcher.get_json(ALGOLIA_ITEM_URL.format(id=target.id), what="Algolia item")
            )
            if not isinstance(algolia, FetchError):
                written[out_dir / f"hn-algolia-{target.id}.json"] = algolia
            story = await _firebase_item(fetcher, target.id)
            if story is None:
                raise NotFoundError(f"HN item {target.id} not found")
            items, _ = await _crawl_firebase(fetcher, story)
            by_id = {str(i["id"]): i for i in items if isinstance(i, dict)}
            written[out_dir / f"hn-firebase-{target.id}.json"] = by_id
        else:
            data = await fetcher.get_json(_reddit_url(target), what=f"reddit post {target.id}")
            written[out_dir / f"reddit-{target.id}.json"] = data
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, data in written.items():
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return list(written)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service.ingest.fetch",
        description="Record the raw API responses of a live thread as JSON test fixtures.",
    )
    parser.add_argument("--record", metavar="URL", required=True, help="HN/Reddit URL or HN id")
    parser.add_argument("out_dir", type=Path, help="directory for the JSON files")
    args = parser.parse_args(argv)
    try:
        target = parse_target(args.record)
        if target is None:
            raise UsageError(f"not a URL or an HN id: {args.record}")
        for path in asyncio.run(_record(target, args.out_dir, Settings())):
            print(path)
    except (FetchError, LimitError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
