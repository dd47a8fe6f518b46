"""Live fetching (service.ingest.fetch) against respx, replaying fixtures/http/.

No test sleeps: the retry policy waits ``wait_none()`` here. No test reaches the network: respx
answers every request, and conftest refuses any real connection.
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import tenacity

from service.errors import FetchError, LimitError, NotFoundError, UsageError
from service.ingest import fetch
from service.ingest.fetch import FetchTarget, fetch_thread, parse_target
from service.ingest.fetch.record import record
from service.models import RawThread
from service.retrying import RetryPolicy
from service.settings import Settings

from .conftest import FIXTURES, ROOT

HTTP = FIXTURES / "http"
UA = "threadsum-tests/1.0 (+https://example.invalid)"
ALGOLIA_URL = "https://hn.algolia.com/api/v1/items/8863"
FIREBASE_ITEM = r"https://hacker-news\.firebaseio\.com/v0/item/(?P<item>\d+)\.json"
REDDIT_URL = "https://www.reddit.com/comments/abc123.json"
HN = FetchTarget("hn", "8863")
REDDIT = FetchTarget("reddit", "abc123")

ALL_HN_COMMENTS = {"8870", "8871", "8872", "8873", "8874", "8880", "8881", "8882", "8883", "8901"}
ALGOLIA_COMMENTS = ALL_HN_COMMENTS - {"8881"}  # Algolia leaves the dead comment out


def _load(name: str) -> Any:
    return json.loads((HTTP / name).read_text(encoding="utf-8"))


NO_WAIT = RetryPolicy(attempts=fetch.ATTEMPTS, wait=tenacity.wait_none())


@pytest.fixture
def settings() -> Settings:
    return Settings(user_agent=UA, fetch_timeout=5.0, fetch_concurrency=3)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def firebase_items() -> dict[str, Any]:
    return dict(_load("hn-firebase-8863.json"))


@pytest.fixture
def firebase(mock: respx.MockRouter, firebase_items: dict[str, Any]) -> respx.Route:
    """Serve the Firebase items of the fixture thread; unknown ids get ``null``, as live."""

    def item(request: httpx.Request, item: str) -> httpx.Response:
        return httpx.Response(200, json=firebase_items.get(item))

    return mock.get(url__regex=FIREBASE_ITEM).mock(side_effect=item)


def _run(
    target: FetchTarget,
    settings: Settings,
    client: httpx.AsyncClient | None = None,
    retry: RetryPolicy = NO_WAIT,
) -> Any:
    return asyncio.run(fetch_thread(target, settings, client, retry=retry))


def _ids(raw: RawThread) -> set[str]:
    return {c.id for c in raw.comments}


def _fetched_items(route: respx.Route) -> list[str]:
    return [call.request.url.path.rsplit("/", 1)[1].removesuffix(".json") for call in route.calls]


# --- recognising targets -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8863", FetchTarget("hn", "8863")),
        ("  8863\n", FetchTarget("hn", "8863")),
        ("https://news.ycombinator.com/item?id=8863", FetchTarget("hn", "8863")),
        ("http://news.ycombinator.com/item?id=8863", FetchTarget("hn", "8863")),
        ("https://www.news.ycombinator.com/item?id=8863", FetchTarget("hn", "8863")),
        ("HTTPS://News.YCombinator.com/item?id=8863", FetchTarget("hn", "8863")),
        ("https://news.ycombinator.com/item?id=8863&p=2#8870", FetchTarget("hn", "8863")),
        ("https://news.ycombinator.com/item?goto=x&id=8870", FetchTarget("hn", "8870")),
        (
            "https://www.reddit.com/r/programming/comments/abc123/is_sqlite_enough/",
            FetchTarget("reddit", "abc123"),
        ),
        ("https://reddit.com/r/programming/comments/abc123", FetchTarget("reddit", "abc123")),
        (
            "https://old.reddit.com/r/programming/comments/abc123/x/",
            FetchTarget("reddit", "abc123"),
        ),
        ("https://www.reddit.com/comments/ABC123/", FetchTarget("reddit", "abc123")),
        ("https://www.reddit.com/user/someone/comments/abc123/x/", FetchTarget("reddit", "abc123")),
        ("https://redd.it/abc123", FetchTarget("reddit", "abc123")),
        (
            "https://old.reddit.com/r/programming/comments/abc123/slug/l7a8p9q/?context=3",
            FetchTarget("reddit", "abc123", "l7a8p9q"),
        ),
        (
            "https://www.reddit.com/r/programming/comments/abc123/comment/l7a8p9q/",
            FetchTarget("reddit", "abc123", "l7a8p9q"),
        ),
        # Not URLs or ids: the caller reads them as paths.
        ("thread.json", None),
        ("fixtures/threads/hn-comment-page.txt", None),
        ("-", None),
        ("12ab", None),
        ("", None),
        ("\u0663\u0664", None),  # Arabic-Indic digits are not an HN id
        ("file:///tmp/thread.json", None),
        ("news.ycombinator.com/item?id=8863", None),  # no scheme: could be a wget mirror's file
    ],
)
def test_parse_target(text: str, expected: FetchTarget | None) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://news.ycombinator.com/news",
        "https://news.ycombinator.com/item?id=abc",
        "https://news.ycombinator.com/item",
        "https://news.ycombinator.com/user?id=pg",
        "https://www.reddit.com/r/programming/",
        "https://www.reddit.com/r/programming/s/AbCdEf12",
        "https://i.redd.it/abc123.png",
        "https://example.com/thread/8863",
        "https://",
        "http://[::1",
    ],
)
def test_unsupported_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError, match="unsupported URL") as info:
        parse_target(url)
    assert "supported: news.ycombinator.com item URLs, reddit comment URLs" in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://me:hunter2@example.com/thread?id=1", "https://example.com/thread?id=1"),
        ("https://me:hunter2@[::1/thread", "https://[::1/thread"),  # not even a valid URL
    ],
)
def test_unsupported_url_message_hides_credentials(url: str, shown: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_target(url)
    assert "hunter2" not in str(info.value)
    assert shown in str(info.value)


def test_target_urls() -> None:
    assert HN.url == "https://news.ycombinator.com/item?id=8863"
    assert REDDIT.url == "https://www.reddit.com/comments/abc123/"
    assert FetchTarget("reddit", "abc123", "l7a8p9q").url.endswith("/abc123/_/l7a8p9q/")


# --- Hacker News -------------------------------------------------------------------------------


def test_hn_from_algolia(mock: respx.MockRouter, firebase: respx.Route, settings: Settings) -> None:
    algolia = mock.get(ALGOLIA_URL).respond(json=_load("hn-algolia-8863.json"))

    raw = _run(HN, settings)

    assert raw.format == "hn-algolia"
    assert raw.id == "8863"
    assert _ids(raw) == ALGOLIA_COMMENTS
    assert not any("Firebase" in w for w in raw.warnings)
    request = algolia.calls.last.request
    assert str(request.url) == ALGOLIA_URL
    assert request.headers["User-Agent"] == UA
    # Only the story itself, for its descendants count: no crawl.
    assert _fetched_items(firebase) == ["8863"]
    assert firebase.calls.last.request.headers["User-Agent"] == UA


def test_hn_with_a_client_of_the_callers(
    mock: respx.MockRouter, firebase: respx.Route, settings: Settings
) -> None:
    algolia = mock.get(ALGOLIA_URL).respond(json=_load("hn-algolia-8863.json"))

    async def go() -> RawThread:
        async with httpx.AsyncClient(headers={"User-Agent": "someone-else"}) as client:
            return await fetch_thread(HN, settings, client, retry=NO_WAIT)

    raw = asyncio.run(go())

    assert raw.format == "hn-algolia"
    assert algolia.calls.last.request.headers["User-Agent"] == UA


@pytest.mark.parametrize(
    "algolia_failure",
    [
        httpx.Response(404, json={"status": 404, "error": "Not Found"}),
        httpx.Response(500, text="Internal Server Error"),
        httpx.Response(200, text="<html>Algolia is down</html>"),
    ],
    ids=["404", "500", "invalid-json"],
)
def test_hn_falls_back_to_firebase_when_algolia_fails(
    mock: respx.MockRouter,
    firebase: respx.Route,
    settings: Settings,
    algolia_failure: httpx.Response,
) -> None:
    mock.get(ALGOLIA_URL).mock(return_value=algolia_failure)

    raw = _run(HN, settings)

    assert raw.format == "hn-firebase"
    assert _ids(raw) == ALL_HN_COMMENTS
    assert any(
        "HN Firebase API" in w and "Algolia failed" in w and ALGOLIA_URL in w for w in raw.warnings
    ), raw.warnings
    fetched = _fetched_items(firebase)
    assert sorted(fetched) == sorted(["8863", *ALL_HN_COMMENTS])  # each item exactly once
    assert fetched[0] == "8863"


def test_hn_falls_back_to_firebase_when_algolia_lags(
    mock: respx.MockRouter, firebase: respx.Route, settings: Settings
) -> None:
    algolia = _load("hn-algolia-8863.json")
    lagging = copy.deepcopy(algolia)
    lagging["children"] = [c for c in lagging["children"] if c["id"] != 8901]
    mock.get(ALGOLIA_URL).respond(json=lagging)

    raw = _run(HN, settings)

    assert raw.format == "hn-firebase"
    assert _ids(raw) == ALL_HN_COMMENTS
    assert any("Algolia has 7 of the 8 comments" in w for w in raw.warnings), raw.warnings


def test_hn_firebase_crawl_is_bounded_and_breadth_first(
    firebase_items: dict[str, Any], settings: Settings
) -> None:
    in_flight = peak = 0
    order: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        if request.url.host == "hn.algolia.com":
            return httpx.Response(404, json={"status": 404, "error": "Not Found"})
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)  # let every other request start, if it may
        in_flight -= 1
        item = request.url.path.rsplit("/", 1)[1].removesuffix(".json")
        order.append(item)
        return httpx.Response(200, json=firebase_items.get(item))

    async def go() -> RawThread:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await fetch_thread(HN, settings, client, retry=NO_WAIT)

    raw = asyncio.run(go())

    assert raw.format == "hn-firebase"
    assert peak <= settings.fetch_concurrency
    depth = {"8863": 0, "8870": 1, "8880": 1, "8901": 1, "8871": 2, "8873": 2, "8881": 2}
    depth |= {"8882": 2, "8872": 3, "8874": 3, "8883": 3}
    levels = [depth[i] for i in order]
    assert levels == sorted(levels)


def test_hn_crawl_over_max_comments_is_a_limit_error(
    mock: respx.MockRouter, firebase: respx.Route
) -> None:
    mock.get(ALGOLIA_URL).respond(404)
    settings = Settings(user_agent=UA, max_comments=5)

    with pytest.raises(LimitError, match="more than the limit of 5 comments"):
        _run(HN, settings)


def test_hn_unknown_item_is_not_found(mock: respx.MockRouter, settings: Settings) -> None:
    mock.get("https://hn.algolia.com/api/v1/items/99999999").respond(
        404, json={"status": 404, "error": "Not Found"}
    )
    mock.get("https://hacker-news.firebaseio.com/v0/item/99999999.json").respond(
        200, content=b"null"
    )

    with pytest.raises(NotFoundError, match=r"^HN item 99999999 not found") as info:
        _run(FetchTarget("hn", "99999999"), settings)
    assert "https://hacker-news.firebaseio.com/v0/item/99999999.json" in str(info.value)


def test_hn_keeps_algolia_when_firebase_fails(mock: respx.MockRouter, settings: Settings) -> None:
    mock.get(ALGOLIA_URL).respond(json=_load("hn-algolia-8863.json"))
    fb = mock.get(url__regex=FIREBASE_ITEM).respond(503)

    raw = _run(HN, settings)

    assert raw.format == "hn-algolia"
    assert fb.call_count == fetch.ATTEMPTS
    assert any("could not check Algolia" in w and "HTTP 503" in w for w in raw.warnings)


def test_hn_both_sources_failing_is_a_fetch_error(
    mock: respx.MockRouter, settings: Settings
) -> None:
    mock.get(ALGOLIA_URL).respond(404)
    mock.get(url__regex=FIREBASE_ITEM).respond(401, json={"error": "Permission denied"})

    with pytest.raises(FetchError) as info:
        _run(HN, settings)
    message = str(info.value)
    assert "HTTP 401" in message
    assert "Algolia" in message
    assert "\n" not in message


def test_hn_firebase_item_of_the_wrong_shape(mock: respx.MockRouter, settings: Settings) -> None:
    mock.get(ALGOLIA_URL).respond(404)
    mock.get(url__regex=FIREBASE_ITEM).respond(json=[1, 2, 3])

    with pytest.raises(FetchError, match="expected an item object"):
        _run(HN, settings)


# --- Reddit ------------------------------------------------------------------------------------


def test_reddit(mock: respx.MockRouter, settings: Settings) -> None:
    route = mock.get(REDDIT_URL).respond(json=_load("reddit-abc123.json"))

    raw = _run(REDDIT, settings)

    assert raw.source == "reddit"
    assert raw.id == "abc123"
    assert len(raw.comments) == 10
    assert raw.unloaded == 4  # two "more" stubs: 3 top-level comments and 1 reply
    request = route.calls.last.request
    assert request.headers["User-Agent"] == UA
    assert dict(request.url.params) == {"limit": "500"}


def test_reddit_comment_focus(mock: respx.MockRouter, settings: Settings) -> None:
    route = mock.get(REDDIT_URL).respond(json=_load("reddit-abc123.json"))

    _run(FetchTarget("reddit", "abc123", "l7a8p9q"), settings)

    assert route.calls.last.request.url.params["comment"] == "l7a8p9q"


def test_reddit_not_found(mock: respx.MockRouter, settings: Settings) -> None:
    route = mock.get(REDDIT_URL).respond(404, json={"message": "Not Found", "error": 404})

    with pytest.raises(NotFoundError, match="reddit post abc123 not found"):
        _run(REDDIT, settings)
    assert route.call_count == 1


def test_reddit_forbidden_is_explained_and_not_retried(
    mock: respx.MockRouter, settings: Settings
) -> None:
    route = mock.get(REDDIT_URL).respond(
        403, json={"reason": "private", "message": "Forbidden", "error": 403}
    )

    with pytest.raises(FetchError, match=r"HTTP 403 Forbidden \(private") as info:
        _run(REDDIT, settings)
    assert not isinstance(info.value, NotFoundError)
    assert route.call_count == 1


def test_reddit_unexpected_shape(mock: respx.MockRouter, settings: Settings) -> None:
    mock.get(REDDIT_URL).respond(json={"kind": "Listing", "data": {"children": "nope"}})

    with pytest.raises(FetchError, match="unexpected response"):
        _run(REDDIT, settings)


# --- retries and failures ----------------------------------------------------------------------


def test_429_then_200_is_retried(mock: respx.MockRouter, settings: Settings) -> None:
    route = mock.get(REDDIT_URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "1"}),
            httpx.Response(200, json=_load("reddit-abc123.json")),
        ]
    )

    raw = _run(REDDIT, settings)

    assert raw.id == "abc123"
    assert route.call_count == 2


def test_retry_after_is_honoured_and_capped(mock: respx.MockRouter, settings: Settings) -> None:
    waits: list[float] = []
    real = fetch.DEFAULT_RETRY.wait_strategy()

    def spy(state: tenacity.RetryCallState) -> float:
        waits.append(float(real(state)))
        return 0.0

    spying = RetryPolicy(attempts=fetch.ATTEMPTS, wait=spy)
    mock.get(REDDIT_URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(503, headers={"Retry-After": "3600"}),
            httpx.Response(200, json=_load("reddit-abc123.json")),
        ]
    )

    _run(REDDIT, settings, retry=spying)

    assert waits == [2.0, fetch.RETRY_AFTER_CAP]


def test_backoff_without_retry_after_stays_under_the_cap(
    mock: respx.MockRouter, settings: Settings
) -> None:
    waits: list[float] = []
    real = fetch.DEFAULT_RETRY.wait_strategy()

    def spy(state: tenacity.RetryCallState) -> float:
        waits.append(float(real(state)))
        return 0.0

    spying = RetryPolicy(attempts=fetch.ATTEMPTS, wait=spy)
    route = mock.get(REDDIT_URL).respond(502)

    with pytest.raises(FetchError):
        _run(REDDIT, settings, retry=spying)
    assert route.call_count == fetch.ATTEMPTS
    assert waits  # tenacity also computes a wait after the last attempt, then stops
    assert all(0 <= w <= fetch.RETRY_AFTER_CAP for w in waits)


def test_500_three_times_is_a_fetch_error(mock: respx.MockRouter, settings: Settings) -> None:
    route = mock.get(REDDIT_URL).respond(500)

    with pytest.raises(FetchError) as info:
        _run(REDDIT, settings)

    assert route.call_count == 3
    message = str(info.value)
    assert REDDIT_URL in message
    assert "HTTP 500 Internal Server Error" in message
    assert "(3 attempts)" in message


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (httpx.ConnectTimeout, "timed out after 5s"),
        (httpx.ReadTimeout, "timed out after 5s"),
        (httpx.ConnectError, "connection failed (ConnectError: Mock Error)"),
        (httpx.RemoteProtocolError, "connection failed"),
    ],
)
def test_transport_failures_are_retried_then_fetch_errors(
    mock: respx.MockRouter, settings: Settings, error: type[Exception], problem: str
) -> None:
    route = mock.get(REDDIT_URL).mock(side_effect=error)

    with pytest.raises(FetchError) as info:
        _run(REDDIT, settings)

    assert route.call_count == 3
    assert REDDIT_URL in str(info.value)
    assert problem in str(info.value)
    assert info.value.__cause__ is None
    assert not isinstance(info.value.__context__, httpx.HTTPError)


def test_timeout_then_success(mock: respx.MockRouter, settings: Settings) -> None:
    route = mock.get(REDDIT_URL).mock(
        side_effect=[
            httpx.ReadTimeout("slow"),
            httpx.Response(200, json=_load("reddit-abc123.json")),
        ]
    )

    assert _run(REDDIT, settings).id == "abc123"
    assert route.call_count == 2


def test_invalid_json_is_a_fetch_error(mock: respx.MockRouter, settings: Settings) -> None:
    route = mock.get(REDDIT_URL).respond(200, text='[{"kind": "Listing", "data": ')

    with pytest.raises(FetchError, match=r"invalid JSON \(Expecting value at line 1") as info:
        _run(REDDIT, settings)

    assert REDDIT_URL in str(info.value)
    assert route.call_count == 1  # not retried


# --- size limit --------------------------------------------------------------------------------


def test_oversize_body_is_a_limit_error(mock: respx.MockRouter) -> None:
    settings = Settings(user_agent=UA, max_bytes=1000)
    mock.get(REDDIT_URL).respond(json=_load("reddit-abc123.json"))  # ~24 kB, Content-Length set

    with pytest.raises(LimitError, match="over the limit of 1000 bytes") as info:
        _run(REDDIT, settings)
    assert REDDIT_URL in str(info.value)


def test_oversize_algolia_body_is_not_a_reason_to_crawl(
    mock: respx.MockRouter, firebase: respx.Route
) -> None:
    settings = Settings(user_agent=UA, max_bytes=1000)
    mock.get(ALGOLIA_URL).respond(json=_load("hn-algolia-8863.json"))

    with pytest.raises(LimitError):
        _run(HN, settings)
    assert firebase.call_count <= 1


def _endless(chunk: bytes, served: list[int]) -> Callable[[httpx.Request], httpx.Response]:
    async def body() -> AsyncIterator[bytes]:
        while True:
            served.append(len(chunk))
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body())  # chunked: no Content-Length

    return handler


def test_oversize_stream_without_length_stops_reading() -> None:
    settings = Settings(user_agent=UA, max_bytes=10_000)
    served: list[int] = []
    transport = httpx.MockTransport(_endless(b"[" * 1024, served))

    async def go() -> RawThread:
        async with httpx.AsyncClient(transport=transport) as client:
            return await fetch_thread(REDDIT, settings, client, retry=NO_WAIT)

    with pytest.raises(LimitError, match="over the limit of 10000 bytes"):
        asyncio.run(go())
    assert sum(served) <= settings.max_bytes + 2 * 1024


def test_a_slow_drip_hits_the_whole_request_deadline() -> None:
    settings = Settings(user_agent=UA, fetch_timeout=0.01)
    requests = 0

    async def drip() -> AsyncIterator[bytes]:
        while True:
            yield b" "
            await asyncio.sleep(0.001)  # each read is quick; the whole response never ends

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal requests
        requests += 1
        return httpx.Response(200, content=drip())

    async def go() -> RawThread:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await fetch_thread(REDDIT, settings, client, retry=NO_WAIT)

    with pytest.raises(FetchError, match=r"timed out after 0\.01s \(3 attempts\)"):
        asyncio.run(go())
    assert requests == fetch.ATTEMPTS


# --- redirects: every hop is checked against the API hosts -------------------------------------


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://127.0.0.1/admin", "scheme http, not https"),
        ("https://127.0.0.1/admin", "not an API host"),
        ("https://[::1]/x", "not an API host"),
        ("https://10.0.0.7/x", "not an API host"),
        ("https://169.254.169.254/latest/meta-data/", "not an API host"),
        ("https://evil.example/", "not an API host"),
        ("https://www.reddit.com.evil.example/x.json", "not an API host"),
        ("http://www.reddit.com/comments/abc123.json", "scheme http, not https"),
        ("https://www.reddit.com:8443/comments/abc123.json", "port 8443, not 443"),
        ("file:///etc/passwd", "scheme file, not https"),
        ("https://user:hunter2@www.reddit.com/x.json", "a URL with credentials"),
    ],
)
def test_a_redirect_off_the_api_hosts_is_refused(
    mock: respx.MockRouter, settings: Settings, location: str, reason: str
) -> None:
    start = mock.get(REDDIT_URL).respond(302, headers={"Location": location})
    elsewhere = mock.route(url__regex=r"^(?!https://www\.reddit\.com/comments/abc123\.json).*")

    with pytest.raises(FetchError, match="refused: redirected to") as info:
        _run(REDDIT, settings)

    message = str(info.value)
    assert reason in message and "threadsum fetches only from https://" in message
    assert "hunter2" not in message
    assert (start.call_count, elsewhere.call_count) == (1, 0)  # refused before it is sent, once


def test_a_redirect_within_the_api_hosts_is_followed(
    mock: respx.MockRouter, settings: Settings
) -> None:
    # Reddit sends /comments/ID.json on to the post's canonical path (here, relative).
    canonical = "/r/sub/comments/abc123/a_title/.json?limit=500"
    mock.get(REDDIT_URL).respond(301, headers={"Location": canonical})
    final = mock.get("https://www.reddit.com" + canonical).respond(json=_load("reddit-abc123.json"))

    raw = _run(REDDIT, settings)

    assert raw.id == "abc123"
    assert final.call_count == 1
    assert final.calls.last.request.headers["User-Agent"] == UA


def test_a_redirect_between_api_hosts_is_followed(
    mock: respx.MockRouter, firebase: respx.Route, settings: Settings
) -> None:
    moved = "https://hn.algolia.com/api/v2/items/8863"
    mock.get(ALGOLIA_URL).respond(307, headers={"Location": moved})
    final = mock.get(moved).respond(json=_load("hn-algolia-8863.json"))

    assert _ids(_run(HN, settings)) == ALGOLIA_COMMENTS
    assert final.call_count == 1


def test_a_redirect_loop_stops(mock: respx.MockRouter, settings: Settings) -> None:
    loop = mock.get(url__startswith="https://www.reddit.com/").respond(
        302, headers={"Location": "/comments/abc123.json?limit=500"}
    )

    with pytest.raises(FetchError, match="more than 5 redirects"):
        _run(REDDIT, settings)
    assert loop.call_count == 6


def test_an_invalid_location_is_a_fetch_error(mock: respx.MockRouter, settings: Settings) -> None:
    route = mock.get(REDDIT_URL).respond(302, headers={"Location": "https://[::1"})

    with pytest.raises(FetchError, match="Invalid URL in location header"):
        _run(REDDIT, settings)
    assert len(mock.calls) == route.call_count  # nothing sent anywhere else


def test_a_callers_client_that_follows_redirects_is_still_checked(
    mock: respx.MockRouter, settings: Settings
) -> None:
    mock.get(REDDIT_URL).respond(302, headers={"Location": "http://127.0.0.1:9/"})
    inner = mock.get("http://127.0.0.1:9/").respond(json=_load("reddit-abc123.json"))

    async def go() -> RawThread:
        async with httpx.AsyncClient(follow_redirects=True) as client:
            return await fetch_thread(REDDIT, settings, client, retry=NO_WAIT)

    with pytest.raises(FetchError, match=r"refused: redirected to http://127\.0\.0\.1:9/"):
        asyncio.run(go())
    assert inner.call_count == 0


def test_the_api_hosts_are_those_of_the_fetch_urls() -> None:
    from service.ingest.fetch import hn, reddit
    from service.ingest.fetch.hosts import API_HOSTS, refusal

    urls = [hn.ALGOLIA_ITEM_URL, hn.FIREBASE_ITEM_URL, reddit.REDDIT_COMMENTS_URL]
    assert {httpx.URL(u.format(id=1)).host for u in urls} == API_HOSTS
    assert all(refusal(httpx.URL(u.format(id=1))) is None for u in urls)


# --- recording fixtures ------------------------------------------------------------------------


def test_record_saves_the_raw_responses(
    mock: respx.MockRouter, firebase: respx.Route, settings: Settings, tmp_path: Path
) -> None:
    mock.get(ALGOLIA_URL).respond(json=_load("hn-algolia-8863.json"))

    written = asyncio.run(record(HN, tmp_path / "out", settings, retry=NO_WAIT))

    assert [p.name for p in written] == ["hn-algolia-8863.json", "hn-firebase-8863.json"]
    assert json.loads(written[0].read_text(encoding="utf-8")) == _load("hn-algolia-8863.json")
    items = json.loads(written[1].read_text(encoding="utf-8"))
    assert set(items) == {"8863", *ALL_HN_COMMENTS}
    assert written[1].read_text(encoding="utf-8").endswith("}\n")


def test_the_recorder_runs_as_a_module(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "service.ingest.fetch", "--record"]
    result = subprocess.run(
        [*command, "https://example.com/thread/1", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("error: unsupported URL: https://example.com/thread/1")
    assert not list(tmp_path.iterdir())
