"""The HTTP getter of live fetching: GET JSON with retries, a size cap and error mapping.

:class:`Fetcher` holds one httpx client and one semaphore for a fetch. Every failure leaves it
as a project error with a one-line message naming the URL: :class:`~service.errors.NotFoundError`
for a 404, :class:`~service.errors.TooLargeError` for a body over ``settings.max_bytes`` (read as
a stream, so an endless or gzip-bombed body stops at the cap), else
:class:`~service.errors.FetchError`; no httpx exception escapes.

Redirects are followed here, hop by hop, never by httpx: each ``Location`` is checked against
the API hosts (:mod:`.hosts`) before a request goes there, and one that is refused, or a chain of
more than :data:`~.hosts.MAX_REDIRECTS`, is a :class:`~service.errors.FetchError`.

Retries: connection errors, timeouts, 408, 429 and 5xx are retried as the caller's
:class:`~service.retrying.RetryPolicy` says (default :data:`DEFAULT_RETRY`: :data:`ATTEMPTS`
tries, the server's ``Retry-After`` capped at :data:`RETRY_AFTER_CAP` seconds, else jittered
exponential backoff), through :func:`~service.retrying.call_with_retries`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Final

import httpx

from ...errors import FetchError, FormatError, NotFoundError, TooLargeError, Transient
from ...models import RawThread
from ...retrying import RetryPolicy, call_with_retries, retry_after
from ...settings import Settings
from ...text.wording import one_line
from .hosts import API_HOSTS, MAX_REDIRECTS, refusal, shown

__all__ = ["ATTEMPTS", "DEFAULT_RETRY", "RETRY_AFTER_CAP", "Fetcher", "new_client", "parse_fetched"]

log = logging.getLogger(__name__)

ATTEMPTS: Final = 3
"""Tries per request, the first included."""
RETRY_AFTER_CAP: Final = 5.0
"""Longest wait, in seconds, that a server's ``Retry-After`` can ask for."""
DEFAULT_RETRY: Final = RetryPolicy(attempts=ATTEMPTS, max_wait=RETRY_AFTER_CAP)
"""How live fetches are retried unless the caller says otherwise."""

_RETRY_STATUSES: Final = frozenset({408, 429})


def new_client(settings: Settings) -> httpx.AsyncClient:
    """An httpx client for live fetching with the settings' User-Agent, timeout and pool size.

    It does not follow redirects: :class:`Fetcher` does, checking every hop.
    """
    return httpx.AsyncClient(
        headers={"User-Agent": settings.user_agent},
        timeout=httpx.Timeout(settings.fetch_timeout),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=settings.fetch_concurrency + 2),
    )


class Fetcher:
    """GETs JSON with retries, a size cap and error mapping, over one client and one semaphore.

    ``semaphore`` (``settings.fetch_concurrency`` slots) is for callers that fan out.
    """

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

        def exhausted(last: Transient, tries: int) -> FetchError:
            suffix = f" ({tries} attempts)" if tries > 1 else ""
            return FetchError(f"GET {url} failed: {last.problem}{suffix}")

        body = await call_with_retries(
            lambda: self._get_once(url, what, forbidden),
            self.retry,
            target=f"GET {url}",
            log=log,
            on_exhausted=exhausted,
        )
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
            raise Transient(f"connection failed ({_describe(exc)})") from None
        except httpx.HTTPError as exc:  # bad URL, too many redirects, protocol errors …
            raise FetchError(f"GET {url} failed: {_describe(exc)}") from None

    async def _stream(self, url: str, what: str, forbidden: str) -> bytes:
        hop = httpx.URL(url)
        for _ in range(MAX_REDIRECTS + 1):
            _check_hop(url, hop)
            async with self.client.stream(
                "GET",
                hop,
                headers=self.headers,
                timeout=httpx.Timeout(self.settings.fetch_timeout),
                follow_redirects=False,
            ) as response:
                if response.next_request is None:  # httpx sets it for a redirect it can follow
                    return await self._read(response, url, what, forbidden)
                hop = response.next_request.url
        raise FetchError(f"GET {url} failed: more than {MAX_REDIRECTS} redirects")

    async def _read(self, response: httpx.Response, url: str, what: str, forbidden: str) -> bytes:
        max_bytes = self.settings.max_bytes
        too_big = f"GET {url}: response is over the limit of {max_bytes} bytes"
        status = response.status_code
        if status != 200:
            problem = f"HTTP {status} {response.reason_phrase}".rstrip()
            if status in _RETRY_STATUSES or status >= 500:
                raise Transient(problem, retry_after(response.headers))
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


def _check_hop(url: str, hop: httpx.URL) -> None:
    reason = refusal(hop)
    if reason is None:
        return
    hosts = ", ".join(f"https://{host}" for host in sorted(API_HOSTS))
    where = "" if str(hop) == url else f": redirected to {shown(hop)}"
    raise FetchError(
        f"GET {shown(url)} refused{where} ({reason}; threadsum fetches only from {hosts})"
    )


def parse_fetched(parse: Callable[[object], RawThread], data: object, url: str) -> RawThread:
    """Run a format parser on fetched data; a shape it cannot read is the upstream's fault."""
    try:
        return parse(data)
    except FormatError as exc:
        raise FetchError(f"GET {url} failed: unexpected response ({exc})") from None


def _describe(exc: BaseException) -> str:
    text = one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
