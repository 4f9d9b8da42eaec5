"""Browser fixtures for the dashboard tests: Debian's Chromium driven by Playwright's sync API
against a real running Postlane.

Chromium comes from POSTLANE_CHROMIUM (else /usr/bin/chromium); Playwright's own browser
download is never used. A missing browser skips the tests, unless POSTLANE_REQUIRE_BROWSER=1
(the test script sets it), which makes it a failure.

The fixtures are registered for every test module through ``pytest_plugins`` in conftest.py.
The dashboard's test modules pin ``backend`` to SQLite themselves.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.harness import RunningServer

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the skip/fail below reports it
    sync_playwright = None  # type: ignore[assignment]

REQUIRE_BROWSER = os.environ.get("POSTLANE_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _chromium() -> str | None:
    """POSTLANE_CHROMIUM when set (and only it), else the usual places."""
    configured = os.environ.get("POSTLANE_CHROMIUM")
    candidates = [configured] if configured else [
        "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _unavailable(message: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module, not per session: Playwright's sync API keeps an event loop running in
    the main thread while it is open, which would break later tests' asyncio.run()."""
    executable = _chromium()
    if sync_playwright is None:
        _unavailable("the playwright package is not installed")
    if executable is None:
        _unavailable("Chromium is missing (set POSTLANE_CHROMIUM or install chromium)")
    assert executable is not None
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=executable,
                                                  args=CHROMIUM_ARGS)
        except Exception as exc:
            _unavailable(f"Chromium at {executable} did not start: {exc}")
            raise
        yield launched
        launched.close()


@contextmanager
def open_page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) pointed at ``server``, not logged in."""
    context = browser.new_context(base_url=server.api_url, accept_downloads=True,
                                  viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    with open_page(browser, server) as opened:
        yield opened


@pytest.fixture
def dash(page: Page, server: RunningServer) -> Page:
    """``page``, logged in with the account token."""
    login(page, server.account_token)
    return page


def login(page: Page, secret: str, path: str = "/dashboard/login") -> None:
    if path:
        page.goto(path)
    page.fill("#secret", secret)
    page.click("form.login button[type=submit]")
    page.wait_for_load_state()


def flashes(page: Page) -> list[str]:
    return [text.strip() for text in page.locator(".flash").all_inner_texts()]


def error_flashes(page: Page) -> list[str]:
    return [text.strip() for text in page.locator(".flash.error").all_inner_texts()]


def path_of(page: Page, server: RunningServer) -> str:
    """The page's URL without the server's origin."""
    assert page.url.startswith(server.api_url), page.url
    return page.url[len(server.api_url):]


def server_page(page: Page, server: RunningServer, section: str = "") -> None:
    """Open one of the server's pages: "", activity, bounces, suppressions, webhooks."""
    suffix = f"/{section}" if section else ""
    page.goto(f"/dashboard/servers/{server.server_id}{suffix}")
