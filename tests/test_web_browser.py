"""The web page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The app is served for real on loopback (as ``threadsum serve`` serves it); the HN URL is
answered from fixtures/http/ through respx, so nothing leaves the machine, and every request
the browser makes is checked to go to the server itself. ``.ci/run`` installs chromium; the
tests skip, saying why, only where it (or Playwright) is missing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import respx

from service.devtools.browser import chromium, chromium_path
from service.settings import Settings

from .conftest import EXAMPLE_PAGE
from .http_live import serving
from .many_claims import many_claims_thread
from .test_web import HN_URL, replay_hn

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (test extra)")
if chromium_path() is None:
    pytest.skip("no chromium here: apt-get install -y chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def base() -> Iterator[str]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        replay_hn(router)
        with serving(Settings(engine="extractive")) as url:
            yield url


class Watched:
    """A page whose console errors, page errors and off-server requests are recorded."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        own = (base + "/", "blob:" + base + "/")  # a blob: URL is the page's own
        page.on("request", lambda r: None if r.url.startswith(own) else self.outside.append(r.url))

    def clean(self) -> None:
        assert self.errors == []
        assert self.outside == []


def _open(browser: Browser, base: str, **options: Any) -> Watched:
    page = browser.new_page(**options)
    watched = Watched(page, base)
    page.goto(base + "/")
    return watched


def test_paste_watch_and_read_the_map(browser: Browser, base: str) -> None:
    w = _open(browser, base, viewport={"width": 1280, "height": 900})
    page = w.page
    page.evaluate("window.samePage = true")
    page.fill("#text", EXAMPLE_PAGE.read_text(encoding="utf-8"))
    page.click("#run button[type=submit]")
    page.wait_for_selector("#result .map article.claim")
    assert page.evaluate("window.samePage") is True  # the events path, not a page load
    assert page.locator("#progress").is_hidden()  # shown while it ran, hidden once done
    assert page.locator("#filters").is_visible()

    # Expand a rebuttal (collapsed at first).
    rebuttal = page.locator("details.rebuttal").first
    assert rebuttal.get_attribute("open") is None
    rebuttal.locator("summary").click()
    assert rebuttal.get_attribute("open") == ""
    assert rebuttal.locator("blockquote").first.is_visible()

    # Follow a quote to its comment: the panel shows it in its reply context.
    quote = page.locator("article.claim blockquote.quote").first
    text = quote.locator("p").first.inner_text().strip()
    link = quote.locator("a.ctx")
    target = link.get_attribute("href")
    assert target and target.startswith("#ctx-c")
    link.click()
    panel = page.locator("#panel")
    assert panel.is_visible()
    assert text[:40] in panel.locator("mark").first.inner_text()
    assert page.evaluate("location.hash") == target
    page.click("#panel-close")
    assert panel.is_hidden()

    # The table of contents jumps to a claim.
    second = page.locator(".toc-claims a").nth(1)
    anchor = second.get_attribute("data-claim")
    second.click()
    assert page.evaluate("location.hash") == f"#{anchor}"
    assert page.locator(f"#{anchor}").is_visible()

    # Filters: a minimum prevalence above every claim's hides them all.
    page.fill("#filters input[name=min]", "1000")
    assert page.locator("article.claim:visible").count() == 0
    assert "0 of" in page.locator("#filters output").inner_text()
    page.fill("#filters input[name=min]", "0")
    assert page.locator("article.claim:visible").count() >= 2

    # Copy as Markdown puts the map's Markdown on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.click("#filters button.copy")
    clip = page.evaluate("navigator.clipboard.readText()")
    assert clip.startswith("# Thread text-") and re.search(r"\n#{2,3} K[0-9a-z]{6} · ", clip)
    w.clean()


def test_an_hn_url_answered_from_recorded_responses(browser: Browser, base: str) -> None:
    w = _open(browser, base)
    w.page.fill("#url", HN_URL)
    w.page.click("#run button[type=submit]")
    w.page.wait_for_selector("#result .map h1")
    assert "My YC app: Dropbox" in w.page.locator("#result h1").inner_text()
    assert w.page.locator("#result h1 a").get_attribute("href") == HN_URL
    # A permalink of a quoted comment goes to HN itself.
    cite = w.page.locator("#result blockquote cite a").first
    assert (cite.get_attribute("href") or "").startswith("https://news.ycombinator.com/item?id=")
    w.clean()


def test_a_bad_url_shows_the_error(browser: Browser, base: str) -> None:
    w = _open(browser, base)
    w.page.fill("#url", "http://127.0.0.1:1/item?id=1")
    w.page.click("#run button[type=submit]")
    w.page.wait_for_selector("#error:not([hidden])")
    assert "unsupported URL" in w.page.locator("#error").inner_text()
    w.errors = [e for e in w.errors if "400" not in e]  # the failed POST itself is logged
    w.clean()


def test_a_thousand_comment_thread_and_its_table_of_contents(browser: Browser, base: str) -> None:
    w = _open(browser, base, viewport={"width": 390, "height": 844})
    page = w.page
    page.fill("#text", json.dumps(many_claims_thread(1000, seed=7, thread_id="big")))
    page.click("#run button[type=submit]")
    page.wait_for_selector("#result .toc-claims")
    assert "1,000 comments" in page.locator("#result .meta").inner_text()
    links = page.locator("#result .toc-claims li a")
    assert links.count() >= 20
    # A claim behind "show N more" (if any is; else the last claim) is reached from its TOC
    # entry, which opens the way to it.
    anchors = [links.nth(i).get_attribute("data-claim") or "" for i in range(links.count())]
    hidden = [a for a in anchors if not page.locator(f"#{a}").is_visible()]
    anchor = (hidden or anchors)[-1]
    assert re.fullmatch(r"claim-K[0-9a-z]{6}(-\d+)?", anchor)
    claim = page.locator(f"#{anchor}")
    page.locator(f".toc-claims a[data-claim='{anchor}']").click()
    assert claim.is_visible()
    assert page.evaluate("location.hash") == f"#{anchor}"
    top = page.evaluate(f"document.getElementById('{anchor}').getBoundingClientRect().top")
    assert 0 <= top < 844
    # Usable at 390 px: nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    w.clean()


def test_readable_with_javascript_off(browser: Browser, base: str) -> None:
    w = _open(browser, base, java_script_enabled=False)
    w.page.fill("#text", EXAMPLE_PAGE.read_text(encoding="utf-8"))
    w.page.click("#run button[type=submit]")
    w.page.wait_for_selector("#result .map article.claim")
    assert w.page.locator("#filters").is_hidden()  # the filters need the script
    w.page.locator("a.ctx").first.click()  # a plain anchor: the comment in context
    target = w.page.url.rpartition("#")[2]
    assert target.startswith("ctx-c")
    assert w.page.locator(f"#{target}").is_visible()
    w.clean()


def test_docs_render_offline(browser: Browser, base: str) -> None:
    w = _open(browser, base)
    w.page.goto(base + "/docs")
    w.page.wait_for_selector(".swagger-ui .opblock")
    assert w.page.locator(".opblock").count() >= 8
    w.page.goto(base + "/redoc")
    heading = w.page.locator("redoc h1").first
    heading.wait_for()
    assert heading.inner_text().startswith("threadsum")
    assert w.page.get_by_text("Create Summary").count() >= 1
    # ReDoc always tries its attribution logo from its CDN; the policy blocks it, which is the
    # point (nothing is loaded from outside), and Chromium says so on the console.
    blocked = [e for e in w.errors if "cdn.redoc.ly" in e and "Content Security Policy" in e]
    assert len(blocked) <= 1
    w.errors = [e for e in w.errors if e not in blocked]
    w.outside = [u for u in w.outside if u != "https://cdn.redoc.ly/redoc/logo-mini.svg"]
    w.clean()
