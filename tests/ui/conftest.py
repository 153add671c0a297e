"""The web UI in a real browser: Debian's headless Chromium driven by Playwright, against a
real evalledger server (uvicorn in a thread) on the test's fresh database.

One browser per module, a new browser context (cookies, storage) and page per test. Every
page a test visits is photographed into the test's tmp_path and copied to
build/screenshots/, so a person can look at them. A missing Chromium fails the tests; it
never skips them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright
from ui_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, Ui, new_ui, ui_server

# the machine is shared: wait as long for an assertion as for an action
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, once per test module."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium); "
            "it is missing, so they fail rather than skip"
        )
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def server_url(db_url: str) -> Iterator[str]:
    """An evalledger server (no authentication) on this test's fresh database."""
    with ui_server(db_url) as url:
        yield url


@pytest.fixture
def ui(
    browser: Browser, server_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Ui]:
    """A browser page on the test's server."""
    with new_ui(browser, server_url, request, tmp_path) as ui:
        yield ui
