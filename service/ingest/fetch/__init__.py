"""Live fetching of threads by URL or id: Hacker News and Reddit.

:func:`parse_target` recognises what can be fetched (``targets``); :func:`fetch_thread` fetches
it and hands the JSON to the format's parser, returning its :class:`~service.models.RawThread`.
This package is the only code that talks to HN (``hn``: Algolia, checked against and backed by
Firebase) and Reddit (``reddit``), all through one getter (``getter``: retries, size cap, error
mapping). Every failure leaves it as a :class:`~service.errors.FetchError`
(:class:`~service.errors.NotFoundError` when the item does not exist) or a
:class:`~service.errors.LimitError`, with a one-line message naming the URL and the problem; no
httpx exception escapes.

Retries follow the caller's :class:`~service.retrying.RetryPolicy` (default
:data:`DEFAULT_RETRY`). Tests pass ``RetryPolicy(wait=tenacity.wait_none())`` and never sleep.
``python -m service.ingest.fetch --record URL_OR_ID OUT_DIR`` (``record``) re-records the HTTP
fixtures of the tests.
"""

from __future__ import annotations

import contextlib

import httpx

from ...models import RawThread
from ...retrying import RetryPolicy
from ...settings import Settings
from .getter import ATTEMPTS, DEFAULT_RETRY, RETRY_AFTER_CAP, Fetcher, new_client
from .hn import fetch_hn
from .reddit import fetch_reddit
from .targets import FetchTarget, parse_target

__all__ = [
    "ATTEMPTS",
    "DEFAULT_RETRY",
    "RETRY_AFTER_CAP",
    "FetchTarget",
    "fetch_thread",
    "parse_target",
]


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
            client = await stack.enter_async_context(new_client(settings))
        fetcher = Fetcher(client, settings, retry or DEFAULT_RETRY)
        if target.source == "hn":
            return await fetch_hn(fetcher, target.id)
        return await fetch_reddit(fetcher, target)
