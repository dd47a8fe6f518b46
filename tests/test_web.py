"""The web face without a browser: the page's routes, the summary and batch event streams,
``{"url": …}`` summaries, offline docs, the HTML map (TOC, anchors, collapsing, contexts, topics),
and the progress events of the core and of the CLI.

Live fetches replay fixtures/http/ through respx; the HTTP tests serve the app for real on
loopback (``tests/http_live.py``) and let respx pass loopback traffic through.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
import tenacity

from service.devtools.fake import FakeModel
from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread
from service.ingest import load_thread, read_thread
from service.models import Citation, Prevalence, ThreadSummary, Topic
from service.progress import Progress, counting_retries
from service.render import render, render_html
from service.render.view import SHOWN_CLAIMS
from service.retrying import RetryPolicy, call_with_retries
from service.runtime import Runtime
from service.settings import Settings
from service.summarizer import summarize

from .conftest import EXAMPLE_PAGE, FIXTURES
from .http_live import serving
from .many_claims import many_claims_thread

PROBLEM = "application/problem+json"
HN_URL = "https://news.ycombinator.com/item?id=8863"
ALGOLIA = "https://hn.algolia.com/api/v1/items/8863"
FIREBASE_ITEM = r"https://hacker-news\.firebaseio\.com/v0/item/(?P<item>\d+)\.json"


def replay_hn(router: respx.MockRouter) -> respx.Route:
    """Answer HN story 8863 from fixtures/http/ (Algolia, and Firebase for its check); let
    loopback through. Returns the Algolia route."""
    algolia = json.loads((FIXTURES / "http" / "hn-algolia-8863.json").read_text("utf-8"))
    items = json.loads((FIXTURES / "http" / "hn-firebase-8863.json").read_text("utf-8"))

    def item(request: httpx.Request, item: str) -> httpx.Response:
        return httpx.Response(200, json=items.get(item))

    router.route(host="127.0.0.1").pass_through()
    router.get(url__regex=FIREBASE_ITEM).mock(side_effect=item)
    return router.get(ALGOLIA).mock(return_value=httpx.Response(200, json=algolia))


@pytest.fixture
def hn() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        replay_hn(router)
        yield router


def _settings(**kwargs: Any) -> Settings:
    kwargs.setdefault("engine", "extractive")
    return Settings(**kwargs)


def events_of(body: str) -> list[tuple[str, str]]:
    """The (event, data) pairs of an event stream, comments skipped."""
    out = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln and not ln.startswith(":")]
        if not lines:
            continue
        event = next((ln[6:].strip() for ln in lines if ln.startswith("event:")), "message")
        data = "\n".join(ln[6:] for ln in lines if ln.startswith("data: "))
        out.append((event, data))
    return out


def assert_problem(r: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    doc: dict[str, Any] = r.json()
    assert doc["status"] == status
    for word in words:
        assert word in doc["detail"], doc["detail"]
    return doc


# --- the page ----------------------------------------------------------------------------------


def test_the_page_is_served_under_a_strict_policy() -> None:
    with serving(_settings()) as base:
        r = httpx.get(base + "/")
        js = httpx.get(base + "/static/threadsum.js")
        css = httpx.get(base + "/static/style.css")
        missing = httpx.get(base + "/static/../settings.py")
        unknown = httpx.get(base + "/static/secrets.txt")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert '<form class="run" id="run" method="post" action="/">' in r.text
    # No inline script and nothing from another origin.
    assert re.findall(r"<script[^>]*>", r.text) == ['<script src="/static/threadsum.js" defer>']
    assert not re.search(r"(src|href)=\"(https?:)?//", r.text)
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "text/event-stream" in js.text
    assert css.status_code == 200 and css.text.startswith(":root {")
    assert missing.status_code == 404 and unknown.status_code == 404


def test_the_form_posted_without_javascript_answers_the_rendered_map() -> None:
    with serving(_settings()) as base:
        r = httpx.post(base + "/", data={"text": EXAMPLE_PAGE.read_text("utf-8")})
    assert r.status_code == 200, r.text
    page = r.text
    assert page.count('<article class="claim"') >= 2
    first = re.search(r'id="claim-(K[0-9a-z]{6})"', page)
    assert first is not None
    assert f'href="#claim-{first.group(1)}"' in page  # anchor and its TOC entry
    assert 'class="context" id="ctx-c' in page  # quoted comments in context
    assert "<mark>" in page
    # The pasted text is kept in the form, escaped.
    assert '<textarea id="text" name="text"' in page
    assert "<script>" not in page


def test_the_form_with_a_bad_thread_answers_the_page_with_the_error_and_its_status() -> None:
    with serving(_settings()) as base:
        empty = httpx.post(base + "/", data={"text": "  ", "url": ""})
        bad_json = httpx.post(base + "/", data={"text": '{"comments": [{"id": 1}]}'})
        both = httpx.post(base + "/", data={"text": "x", "url": "8863"})
        engine = httpx.post(base + "/", data={"text": "x", "engine": "gpt"})
    assert empty.status_code == 400 and "paste a thread" in empty.text
    assert bad_json.status_code == 422 and 'role="alert">' in bad_json.text
    assert both.status_code == 400 and "not both" in both.text
    assert engine.status_code == 400 and "engine" in engine.text
    for r in (empty, bad_json, both, engine):
        assert r.headers["content-type"].startswith("text/html")


def test_the_form_as_events_streams_progress_then_the_map_fragment() -> None:
    with serving(_settings()) as base:
        r = httpx.post(
            base + "/",
            data={"text": EXAMPLE_PAGE.read_text("utf-8")},
            headers={"Accept": "text/event-stream"},
        )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = events_of(r.text)
    kinds = [e for e, _ in events]
    assert kinds[-1] == "map" and set(kinds[:-1]) == {"progress"}
    stages = [json.loads(d)["stage"] for e, d in events if e == "progress"]
    # A burst of events is sent as its last one, so a fast run may show "done" alone; the
    # stages that are shown come in order.
    order = ["reading", "mapping", "merging", "building", "done"]
    assert stages[-1] == "done"
    assert [order.index(s) for s in stages] == sorted(order.index(s) for s in stages)
    doc = json.loads(events[-1][1])
    assert doc["html"].startswith('<div class="map" id="map">')
    assert "<!doctype" not in doc["html"]


def test_the_form_requires_the_api_key_when_the_service_does() -> None:
    with serving(_settings(api_keys="k1")) as base:
        page = httpx.get(base + "/")
        refused = httpx.post(base + "/", data={"text": EXAMPLE_PAGE.read_text("utf-8")})
        keyed = httpx.post(
            base + "/", data={"text": EXAMPLE_PAGE.read_text("utf-8"), "api_key": "k1"}
        )
        header = httpx.post(
            base + "/",
            data={"text": EXAMPLE_PAGE.read_text("utf-8")},
            headers={"X-API-Key": "k1", "Accept": "text/event-stream"},
        )
    assert 'name="api_key" type="password"' in page.text
    assert refused.status_code == 401 and "API key" in refused.text
    assert keyed.status_code == 200 and re.search(r'id="claim-K[0-9a-z]{6}"', keyed.text)
    assert header.status_code == 200 and events_of(header.text)[-1][0] == "map"


def test_the_form_fetches_an_hn_url(hn: respx.MockRouter) -> None:
    with serving(_settings()) as base:
        r = httpx.post(base + "/", data={"url": HN_URL})
    assert r.status_code == 200, r.text
    assert "My YC app: Dropbox" in r.text
    assert 'href="https://news.ycombinator.com/item?id=8863"' in r.text


# --- POST /v1/summaries: {"url": …} and event streams --------------------------------------------


def test_a_summary_of_a_url(hn: respx.MockRouter) -> None:
    with serving(_settings()) as base:
        r = httpx.post(base + "/v1/summaries", json={"url": HN_URL})
        by_id = httpx.post(base + "/v1/summaries?output=markdown", json={"url": "8863"})
    assert r.status_code == 200, r.text
    summary = ThreadSummary.model_validate_json(r.content)
    assert summary.thread.id == "8863" and summary.thread.source == "hn"
    assert summary.thread.comments == 9  # Algolia's 9 live and deleted comments
    assert by_id.status_code == 200 and by_id.text.startswith("# [My YC app: Dropbox")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/item?id=1",
        "http://localhost/item?id=1",
        "http://[::1]/item?id=1",
        "http://10.0.0.7/item?id=1",
        "http://192.168.1.1/comments/abc123",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "/etc/passwd",
        "fixtures/threads/hn-comment-page.txt",
        "https://example.com/item?id=8863",
        "https://news.ycombinator.com.evil.example/item?id=8863",
        "https://hn.algolia.com/api/v1/items/8863",
        "ftp://news.ycombinator.com/item?id=8863",
        "gopher://reddit.com/comments/abc123",
    ],
)
def test_a_url_that_is_no_hn_or_reddit_thread_is_refused_before_any_request(url: str) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        outside = router.route().mock(return_value=httpx.Response(599))
        with serving(_settings()) as base:
            r = httpx.post(base + "/v1/summaries", json={"url": url})
            page = httpx.post(base + "/", data={"url": url})
    assert_problem(r, 400)
    assert page.status_code == 400
    assert not outside.called


def test_a_url_that_is_not_a_string_is_refused() -> None:
    with serving(_settings()) as base:
        r = httpx.post(base + "/v1/summaries", json={"url": ["8863"]})
    assert_problem(r, 400, '"url" must be a string')


def test_a_url_with_an_earlier_summary_says_what_changed(hn: respx.MockRouter) -> None:
    earlier = asyncio.run(
        summarize(read_thread(EXAMPLE_PAGE.read_bytes()), Settings(engine="extractive"))
    )
    with serving(_settings()) as base:
        first = httpx.post(base + "/v1/summaries", json={"url": HN_URL})
        since = json.loads(first.text)
        since["thread"]["comments"] = 5  # as if the earlier summary had read fewer comments
        again = httpx.post(base + "/v1/summaries", json={"url": HN_URL, "since": since})
        html = httpx.post(base + "/v1/summaries?output=html", json={"url": HN_URL, "since": since})
        other = httpx.post(
            base + "/v1/summaries", json={"url": HN_URL, "since": earlier.model_dump(mode="json")}
        )
        garbage = httpx.post(base + "/v1/summaries", json={"url": HN_URL, "since": {"a": 1}})
    assert first.status_code == 200 and json.loads(first.text)["changes"] is None
    assert again.status_code == 200, again.text
    changes = json.loads(again.text)["changes"]
    assert changes["since_comments"] == 5 and changes["new_comments"] == 4
    assert html.status_code == 200 and "What changed" in html.text
    assert "4 new comments since the earlier summary" in html.text
    assert_problem(other, 400, "earlier summary is of text thread")
    assert_problem(garbage, 400, '"since" must be an earlier threadsum JSON summary')


def test_a_url_since_a_kept_summary_names_it_by_id(hn: respx.MockRouter) -> None:
    with serving(_settings()) as base:
        first = httpx.post(base + "/v1/summaries", json={"url": HN_URL})
        ident = first.headers["Summary-Id"]
        kept = httpx.get(f"{base}/v1/summaries/{ident}")
        by_body = httpx.post(base + "/v1/summaries", json={"url": HN_URL, "since": ident})
        by_query = httpx.post(f"{base}/v1/summaries?since={ident}", json={"url": HN_URL})
        twice = httpx.post(
            f"{base}/v1/summaries?since={ident}", json={"url": HN_URL, "since": ident}
        )
        unknown = httpx.post(base + "/v1/summaries", json={"url": HN_URL, "since": "f" * 64})
        number = httpx.post(base + "/v1/summaries", json={"url": HN_URL, "since": 5})
    assert kept.status_code == 200 and json.loads(kept.text)["claims"] == first.json()["claims"]
    for r in (by_body, by_query):
        assert r.status_code == 200, r.text
        changes = r.json()["changes"]
        assert changes["since_comments"] == first.json()["thread"]["comments"]
        assert changes["new_comments"] == 0 and not changes["new_claims"]
        assert r.headers["Summary-Id"] not in ("", ident)  # kept anew: it carries changes
    assert_problem(twice, 400, "name the earlier summary once")
    assert_problem(unknown, 404, "no summary of id")
    assert_problem(number, 400, '"since" must be an earlier threadsum JSON summary')


def test_a_native_thread_with_a_url_field_is_still_a_thread() -> None:
    native = json.loads((FIXTURES / "formats" / "native.json").read_text("utf-8"))
    assert "url" in native and "comments" in native
    with serving(_settings()) as base:
        r = httpx.post(base + "/v1/summaries", json=native)
    assert r.status_code == 200, r.text
    assert ThreadSummary.model_validate_json(r.content).thread.format == "native"


def test_a_failed_fetch_is_a_problem_with_its_status() -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.get("https://hn.algolia.com/api/v1/items/999").mock(
            return_value=httpx.Response(404, json={"status": 404})
        )
        router.get(url__regex=FIREBASE_ITEM).mock(return_value=httpx.Response(200, content=b"null"))
        with serving(_settings()) as base:
            r = httpx.post(base + "/v1/summaries", json={"url": "999"})
    assert_problem(r, 404)


def test_a_summary_as_events() -> None:
    with serving(_settings()) as base:
        r = httpx.post(
            base + "/v1/summaries",
            content=EXAMPLE_PAGE.read_bytes(),
            headers={"Content-Type": "text/plain", "Accept": "text/event-stream"},
        )
        md = httpx.post(
            base + "/v1/summaries?output=markdown",
            content=EXAMPLE_PAGE.read_bytes(),
            headers={"Content-Type": "text/plain", "Accept": "text/event-stream"},
        )
        bad = httpx.post(
            base + "/v1/summaries",
            content=b"[]",
            headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
        )
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    events = events_of(r.text)
    assert events[-1][0] == "summary"
    summary = ThreadSummary.model_validate_json(events[-1][1])
    assert summary.claims
    progress = [Progress(**json.loads(d)) for e, d in events if e == "progress"]
    stages = [p.stage for p in progress]  # a burst of events is sent as its last one
    assert stages[-1] == "done"
    order = ["reading", "mapping", "merging", "building", "done"]
    assert [order.index(s) for s in stages] == sorted(order.index(s) for s in stages)
    # A multi-line body travels as data lines and comes back whole.
    assert events_of(md.text)[-1][1].startswith("# Thread text-")
    assert re.search(r"\n#{2,3} K[0-9a-z]{6} · ", events_of(md.text)[-1][1])
    # A thread that cannot be read fails before the stream starts, with its own status.
    assert_problem(bad, 422)


def test_a_failed_run_ends_its_stream_with_a_problem_event() -> None:
    settings = Settings(engine="llm", model="m", cache="replay")  # replay: every call misses
    with serving(settings) as base:
        r = httpx.post(
            base + "/v1/summaries",
            content=EXAMPLE_PAGE.read_bytes(),
            headers={"Content-Type": "text/plain", "Accept": "text/event-stream"},
        )
    events = events_of(r.text)
    assert events[-1][0] == "problem"
    problem = json.loads(events[-1][1])
    assert problem["status"] == 409 and problem["type"].endswith("cache-miss-error")


def test_llm_progress_counts_chunks_calls_tokens_and_cache_hits() -> None:
    settings = Settings(engine="llm", model="fake", cache="use", chunk_tokens=1000)
    thread = read_thread(json.dumps(synthetic_thread(60, seed=3)), "native", settings)

    async def run() -> tuple[list[Progress], list[Progress], ThreadSummary]:
        first: list[Progress] = []
        again: list[Progress] = []
        async with Runtime(settings, model=FakeModel()) as runtime:
            s = await summarize(thread, settings, runtime=runtime, progress=first.append)
            await summarize(thread, settings, runtime=runtime, progress=again.append)
        return first, again, s

    first, again, summary = asyncio.run(run())
    assert summary.stats.chunks > 1
    done = [p for p in first if p.kind == "chunk_done"]
    assert [p.chunks_done for p in done] == list(range(1, summary.stats.chunks + 1))
    assert {p.chunks_total for p in first if p.kind != "stage"} == {summary.stats.chunks}
    calls = [p for p in first if p.kind == "call"]
    assert len(calls) == summary.stats.llm_calls
    assert [p.calls for p in calls] == sorted(p.calls for p in calls)  # running totals
    assert "reducing" in {p.stage for p in first}
    last = first[-1]
    assert last.stage == "done" and last.chunks_done == last.chunks_total
    assert last.completion_tokens == summary.stats.completion_tokens > 0
    # Every answer of the first run (asked, or already cached by an equal call in it) is a hit.
    answers = summary.stats.llm_calls + summary.stats.cache_hits
    assert again[-1].cache_hits == answers and again[-1].calls == 0


def test_llm_progress_counts_the_model_servers_retries() -> None:
    config = MockConfig(fail_rate=0.3, faults=("429", "503"), seed=5)
    with running(config) as url:
        settings = Settings(
            engine="llm", model=config.model, base_url=url, cache="off", chunk_tokens=1000
        )
        thread = read_thread(json.dumps(synthetic_thread(60, seed=3)), "native", settings)

        async def run() -> list[Progress]:
            seen: list[Progress] = []
            async with Runtime(settings, wait=tenacity.wait_none()) as runtime:
                await summarize(thread, settings, runtime=runtime, progress=seen.append)
            return seen

        seen = asyncio.run(run())
        faults = httpx.get(url.removesuffix("/v1") + "/mock/stats").json()["faults"]
    assert faults > 0
    assert [p.retries for p in seen if p.kind == "retry"] == list(range(1, faults + 1))
    assert seen[-1].stage == "done" and seen[-1].retries == faults


def test_retries_are_reported_only_inside_counting_retries() -> None:
    from service.errors import Transient

    tries: list[int] = []
    heard: list[str] = []

    async def flaky() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise Transient("busy")
        return "ok"

    async def run() -> None:
        policy = RetryPolicy(attempts=5, wait=tenacity.wait_none())
        kwargs: dict[str, Any] = {
            "target": "t",
            "log": __import__("logging").getLogger("t"),
            "on_exhausted": lambda e, n: RuntimeError(str(e)),
        }
        await call_with_retries(flaky, policy, **kwargs)  # nobody listening: no error
        tries.clear()
        with counting_retries(lambda: heard.append("retry")):
            await call_with_retries(flaky, policy, **kwargs)

    asyncio.run(run())
    assert heard == ["retry", "retry"]


# --- batches -------------------------------------------------------------------------------------


def test_batches_are_listed_and_their_progress_streams() -> None:
    lines = "\n".join(json.dumps({"text": EXAMPLE_PAGE.read_text("utf-8")}) for _ in range(3))
    with serving(_settings()) as base:
        empty = httpx.get(base + "/v1/batches")
        job = httpx.post(
            base + "/v1/batches",
            content=lines.encode(),
            headers={"Content-Type": "application/x-ndjson"},
        ).json()
        with httpx.stream("GET", base + f"/v1/batches/{job['id']}/events", timeout=60) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            body = "".join(r.iter_text())
        listed = httpx.get(base + "/v1/batches")
        missing = httpx.get(base + "/v1/batches/nope/events")
    assert empty.json() == []
    statuses = [json.loads(d) for e, d in events_of(body)]
    assert {e for e, _ in events_of(body)} == {"status"}
    assert statuses[-1]["status"] == "done" and statuses[-1]["done"] == 3
    assert [s["done"] for s in statuses] == sorted(s["done"] for s in statuses)
    assert [j["id"] for j in listed.json()] == [job["id"]]
    assert listed.json()[0]["status"] == "done"
    assert_problem(missing, 404)


# --- docs and the OpenAPI document ----------------------------------------------------------------


def test_docs_and_redoc_load_only_local_assets() -> None:
    with serving(_settings()) as base:
        docs = httpx.get(base + "/docs")
        redoc = httpx.get(base + "/redoc")
        assets = [
            httpx.get(base + "/static/" + name)
            for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js")
        ]
    for page in (docs, redoc):
        assert page.status_code == 200
        urls = re.findall(r"(?:src|href|url|spec-url)\s*[=:]\s*['\"]([^'\"]+)['\"]", page.text)
        assert urls, page.text
        assert all(u.startswith("/") for u in urls), urls
    assert "/static/swagger-ui-bundle.js" in docs.text
    assert "/static/redoc.standalone.js" in redoc.text
    assert all(a.status_code == 200 and len(a.content) > 100_000 for a in assets)


def test_openapi_has_request_examples_and_error_examples_of_their_own_status() -> None:
    with serving(_settings()) as base:
        doc = httpx.get(base + "/openapi.json").json()
    post = doc["paths"]["/v1/summaries"]["post"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    assert examples["url"]["value"] == {"url": HN_URL}
    assert examples["native"]["value"]["comments"]
    assert "text/event-stream" in post["responses"]["200"]["content"]
    assert "/v1/batches/{job_id}/events" in doc["paths"]
    assert "get" in doc["paths"]["/v1/batches"]
    checked = 0
    for path in doc["paths"].values():
        for operation in path.values():
            for code, response in operation["responses"].items():
                if code[0] in "45":
                    example = response["content"][PROBLEM]["example"]
                    assert example["status"] == int(code), (code, example)
                    checked += 1
    assert checked > 20
    assert "/" not in doc["paths"]  # the page is not part of the API


# --- the HTML map --------------------------------------------------------------------------------


def _big() -> tuple[ThreadSummary, Any]:
    thread = read_thread(json.dumps(many_claims_thread(1000, seed=7)), "native")
    return asyncio.run(summarize(thread, Settings(engine="extractive"))), thread


def test_a_saved_page_of_a_large_thread_is_navigable() -> None:
    summary, thread = _big()
    flat = summary.model_copy(update={"topics": []})
    n = len(summary.claims)
    assert n > SHOWN_CLAIMS
    for shown in (flat, summary):
        page = render_html(shown, thread)
        assert "<script" not in page
        # A table of contents with an entry per claim, each an anchor on the page.
        toc = re.findall(r'<a href="#(claim-K[0-9a-z]{6}(?:-\d+)?)" data-claim="\1">', page)
        assert len(toc) == n
        for anchor in toc:
            assert f'<article class="claim" id="{anchor}"' in page
    page = render_html(flat, thread)
    # Claims beyond the first ten, and quotes beyond the first three, are behind "show more".
    more = n - SHOWN_CLAIMS
    assert f"<summary>Show {more} more claim{'s' if more != 1 else ''}</summary>" in page
    assert re.findall(r"<summary>Show (\d+) more quotes?</summary>", page)
    # Claims the engine left out are counted where the map starts, not only in warnings.
    cut = flat.model_copy(
        update={"claims_omitted": 0, "warnings": ["141 further claim(s) are not shown"]}
    )
    head = render_html(cut, thread)
    assert f"{n} claims · 141 more not shown" in head
    assert f"Contents · {n} claims shown of {n + 141}" in head
    counted = flat.model_copy(update={"claims_omitted": 7})
    assert f"{n} claims · 7 more not shown" in render_html(counted, thread)
    # Every quote's context link lands on a comment shown in context.
    targets = set(re.findall(r'class="ctx" href="#(ctx-c\d+)"', page))
    anchors = set(re.findall(r'<article class="context" id="(ctx-c\d+)"', page))
    assert targets and targets <= anchors


def test_identical_quotes_are_shown_once_with_who_else_said_them() -> None:
    summary, thread = _big()
    claim = max(summary.claims, key=lambda c: len(c.evidence))
    first = claim.evidence[0]
    # The same words from another comment of another author (a copy the engines would not
    # cite twice, but a summary from elsewhere may hold).
    other = next(c for c in thread.comments if c.id != first.comment_id and c.author)
    twice = first.model_copy(update={"comment_id": other.id, "author": other.author})
    shown = claim.model_copy(update={"evidence": [first, twice]})
    page = render_html(summary.model_copy(update={"claims": [shown], "topics": []}), thread)
    assert page.count("also said by") == 1


def test_topics_group_the_claims_when_the_summary_has_them() -> None:
    summary, thread = _big()
    ids = [c.id for c in summary.claims]
    funding = Prevalence(comments=50, authors=2)
    talent = Prevalence(comments=9, authors=4)
    topics = [
        Topic(id="T1", title="Funding", claim_ids=ids[:3], prevalence=funding),
        Topic(id="T2", title="Talent <b>", claim_ids=ids[3:5], prevalence=talent),
    ]
    page = render_html(summary.model_copy(update={"topics": topics}), thread)
    assert '<section class="topic" id="topic-T1">' in page
    assert "Talent &lt;b&gt;" in page
    assert '<section class="topic" id="topic-other">' in page  # the rest
    first = f'id="claim-{ids[0]}"'
    assert page.index('id="topic-T1"') < page.index(first) < page.index('id="topic-T2"')
    assert "50 comments" in page
    flat = render_html(summary.model_copy(update={"topics": []}), thread)
    assert 'class="topic"' not in flat


def test_context_marks_the_cited_sentences_of_the_comment() -> None:
    thread = load_thread(EXAMPLE_PAGE)
    summary = asyncio.run(summarize(thread, Settings(engine="extractive")))
    page = render(summary, "html", thread=thread)
    citation: Citation = summary.claims[0].evidence[0]
    key = citation.sentence_ids[0].split(".")[0]
    start = page.index(f'<article class="context" id="ctx-{key}">')
    block = page[start : page.index("</article>", start)]
    assert "<mark>" in block
    without = render(summary, "html")
    assert 'class="context"' not in without and 'class="ctx"' not in without


# --- the CLI's progress line ---------------------------------------------------------------------


def test_the_cli_progress_line_rewrites_itself_and_ends_the_line_when_done() -> None:
    from service.cli.commands import _SummaryProgress

    out = io.StringIO()
    show = _SummaryProgress(out, interval=0.0)
    show(Progress(kind="chunks", stage="mapping", chunks_total=4))
    show(Progress(kind="retry", stage="mapping", chunks_total=4, chunks_done=1, calls=2, retries=1))
    show(Progress(kind="stage", stage="done", chunks_total=4, chunks_done=4, calls=5, retries=1))
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n")
    assert "mapping · 1/4 chunks · 2 calls · 1 retry · 0 cached" in text
    assert "done · 4/4 chunks · 5 calls" in text


def test_summarize_prints_no_progress_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from service.cli import main

    assert main(["summarize", str(EXAMPLE_PAGE), "--engine", "extractive"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "chunks" not in err
