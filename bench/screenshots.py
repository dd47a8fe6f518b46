"""Screenshots of the web page for review: desktop and 390 px wide, in a real headless Chromium.

    python bench/screenshots.py [OUT_DIR]     (default: screenshots/)

Starts ``threadsum serve --engine extractive`` (a real process on loopback, its state in a
temporary folder), then in Debian's ``chromium`` under Playwright (``apt-get install chromium``;
``pip install -e ".[test]"``): the empty form; the example page pasted and mapped (its top,
then the whole page with its first rebuttal open); one quote's comment shown in context; a
generated 1,000-comment thread with its table of contents; and ``/docs``. Each at 1280 and at
390 px wide. Prints each file written and the page's height, so a change that makes the map a
wall shows as a number too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from service.devtools.browser import chromium
from service.devtools.servers import LOOPBACK, base_url, free_port, stop_process, wait_healthy
from service.devtools.synthetic import synthetic_thread

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fixtures" / "threads" / "hn-comment-page.txt"
WIDTHS = {"desktop": (1280, 900), "390px": (390, 844)}


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    big = json.dumps(synthetic_thread(1000, seed=7, thread_id="big"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "THREADSUM_STATE_DIR": f"{tmp}/state",
            "THREADSUM_CACHE_DIR": f"{tmp}/cache",
        }
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--engine", "extractive",
             "--host", LOOPBACK, "--port", str(port)],
            env=env,
            cwd=ROOT,
        )  # fmt: skip
        try:
            base = base_url(LOOPBACK, port)
            if not wait_healthy(f"{base}/healthz", timeout=30, alive=lambda: proc.poll() is None):
                print("threadsum serve did not start", file=sys.stderr)
                return 1
            shoot(base, out, big)
        finally:
            stop_process(proc)
    return 0


def shoot(base: str, out: Path, big: str) -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    with chromium() as browser:
        for name, (width, height) in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{base}/")
            save(page, out / f"form-{name}.png")
            page.fill("#text", example)
            page.click("button[type=submit]")
            page.wait_for_selector("#result .map article.claim")
            page.locator("#result h1").scroll_into_view_if_needed()
            save(page, out / f"top-{name}.png")
            rebuttal = page.locator("details.rebuttal").first
            if rebuttal.count():
                rebuttal.locator("summary").click()
            save(page, out / f"map-{name}.png", full=True)
            page.locator("a.ctx").first.click()
            page.wait_for_selector("#panel:not([hidden])")
            save(page, out / f"context-{name}.png")
            page.click("#panel-close")
            page.fill("#text", big)
            page.click("button[type=submit]")
            page.wait_for_selector("#result .toc-claims li:nth-child(12)")  # the example has 3
            save(page, out / f"large-{name}.png", full=True)
            page.goto(f"{base}/docs")
            page.wait_for_selector(".swagger-ui .opblock")
            save(page, out / f"docs-{name}.png")
            page.close()


def save(page: object, path: Path, *, full: bool = False) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.screenshot(path=str(path), full_page=full)
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"{path}  ({height} px tall)")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
