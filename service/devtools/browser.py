"""A headless Chromium for tests and screenshots: Debian's ``chromium``, driven by Playwright.

Playwright's own browser download is not reachable where threadsum is built, so Playwright is
pointed at the system browser (``apt-get install chromium``; ``.ci/run`` installs it) with
flags that keep it off the network: no QUIC, no background networking, no component updates,
no sync. Playwright is a test extra (``pip install -e ".[test]"``); this module imports it only
when a browser is launched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["CHROMIUM_ARGS", "chromium", "chromium_path"]

CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_CANDIDATES: Final = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str | None:
    """The system Chromium, or ``None`` when there is none."""
    for path in _CANDIDATES:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """A headless system Chromium under Playwright, closed at the end of the block."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise RuntimeError("no chromium found: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()
