"""The dashboard's bounce hook URL is held to the API's rule (issue 12, item 5): on a server
whose operator does not allow private webhook targets, a URL that spells a link-local or
loopback address is not saved, and the page says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.support.browser import error_flashes, flashes, server_page
from tests.support.harness import RunningServer, start_server, test_settings


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    """The ``dash`` fixture's server, without private webhook targets."""
    running = start_server(test_settings(database_url, tmp_path / "data",
                                         webhook_allow_private_targets=False))
    yield running
    running.stop()


def _bounce_hook_url(server: RunningServer) -> str:
    with server.api() as api:
        url: str = api.get("/server").json()["BounceHookUrl"]
    return url


def _save(dash: Page, server: RunningServer, url: str) -> None:
    server_page(dash, server)
    dash.get_by_label("Bounce hook URL").fill(url)
    dash.get_by_role("button", name="Save settings").click()
    dash.wait_for_load_state()


def test_private_bounce_hook_urls_are_not_saved(dash: Page, server: RunningServer) -> None:
    _save(dash, server, "http://169.254.169.254/latest/meta-data/")
    assert error_flashes(dash) == [
        "Not saved: bounce hook url: webhook host 169.254.169.254 resolves to a link-local "
        "address (169.254.169.254); refused"]
    _save(dash, server, "http://0x7f.1:8080/bounce")
    assert error_flashes(dash) == [
        "Not saved: bounce hook url: webhook host 0x7f.1 resolves to a loopback address "
        "(127.0.0.1); refused"]
    assert _bounce_hook_url(server) == ""

    _save(dash, server, "https://hooks.example.com/bounce")
    assert flashes(dash) == ["Settings saved."]
    assert _bounce_hook_url(server) == "https://hooks.example.com/bounce"
