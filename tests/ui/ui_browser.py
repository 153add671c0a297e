"""What the browser tests share: the server they talk to, the browser context and page of
one test, and its camera (screenshots in tmp_path and in build/screenshots/)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from live_server import evalledger_server
from playwright.sync_api import Browser, ConsoleMessage, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
#: How long a page action may wait (the machine is shared: generous, still bounded).
TIMEOUT_MS = 15_000


@contextmanager
def ui_server(uri: str, *, auth: bool = False) -> Iterator[str]:
    """An evalledger server on the ledger at `uri`, on a free port of 127.0.0.1, until the
    block ends; yields its base URL."""
    with evalledger_server(uri, auth=auth) as url:
        yield url


@dataclass
class Ui:
    """A test's browser page on the server at `url`, and its camera."""

    url: str
    page: Page
    shots: Path
    name: str
    taken: list[Path] = field(default_factory=list)

    def open(self, path: str) -> Page:
        self.page.goto(self.url + path)
        return self.page

    def shoot(self, what: str) -> Path:
        """A full-page screenshot, in tmp_path and in build/screenshots/."""
        self.page.wait_for_load_state("load")
        path = self.shots / f"{self.name}-{len(self.taken) + 1:02d}-{what}.png"
        self.page.screenshot(path=str(path), full_page=True)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, SCREENSHOTS / path.name)
        self.taken.append(path)
        return path


def _script_error(message: ConsoleMessage) -> bool:
    """A console error of a script (a page answered 4xx on purpose is not one)."""
    return message.type == "error" and not message.text.startswith("Failed to load resource")


@contextmanager
def new_ui(
    browser: Browser, url: str, request: pytest.FixtureRequest, tmp_path: Path, **options: Any
) -> Iterator[Ui]:
    """A fresh browser context and page for one test (options: javascript, credentials)."""
    context = browser.new_context(**{"viewport": VIEWPORT, "locale": "en-US", **options})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if _script_error(msg) else None)
    shots = tmp_path / "screenshots"
    shots.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name).strip("_")[:80]
    try:
        yield Ui(url, page, shots, name)
    finally:
        context.close()
    assert not errors, f"the page reported script errors: {errors}"
