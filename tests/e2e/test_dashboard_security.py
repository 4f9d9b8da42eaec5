"""The dashboard against a forging client (issue 12, item 7), over real HTTP: a form POST
without its page's token or from another origin is refused and changes nothing; a form
that does not show a checkbox cannot switch its setting off; a logged-out session's
cookie is dead when replayed, in every process; the session cookie is Secure when the
dashboard is served over TLS. And in Chromium: the forms still work as before.

Login throttling: tests/e2e/test_dashboard_throttle.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Page

from postlane.web.app import ROUTERS
from tests.support.browser import flashes, server_page
from tests.support.dashboard import form_token, logged_in, post_login, submit
from tests.support.harness import RunningServer


@pytest.fixture
def backend() -> str:
    """HTTP-level rules: SQLite; the multi-process revocation test pins PostgreSQL."""
    return "sqlite"


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    """A logged-in dashboard session."""
    with logged_in(server.api_url, server.account_token) as session:
        yield session


def _server(server: RunningServer) -> dict[str, object]:
    with server.api() as api:
        body: dict[str, object] = api.get("/server").json()
    return body


def _suppressed(server: RunningServer) -> list[str]:
    with server.api() as api:
        dump = api.get("/message-streams/outbound/suppressions/dump").json()
    return [s["EmailAddress"] for s in dump["Suppressions"]]


def _suppress(client: httpx.Client, server: RunningServer, email: str,
              **headers: str) -> httpx.Response:
    base = f"/dashboard/servers/{server.server_id}/suppressions"
    return submit(client, base, f"{base}/add", {"stream": "outbound", "email": email},
                  headers=headers or None)


# --- CSRF: the form's token and the request's origin -------------------------------------

def _post_routes(server: RunningServer) -> list[str]:
    """Every form action of the dashboard app, with ids filled in."""
    ids = {"server_id": server.server_id, "bounce_id": 1, "delivery_id": 1, "template_id": 1}
    return sorted(route.path.format(**ids) for router in ROUTERS for route in router.routes
                  if "POST" in getattr(route, "methods", ()))


def test_every_form_action_refuses_a_post_without_the_token(client: httpx.Client,
                                                            server: RunningServer) -> None:
    actions = _post_routes(server)
    # login, logout, settings, 3 suppressions, 2 retries, 3 templates (create, save, preview)
    assert len(actions) >= 11, actions
    for action in actions:
        for data in ({}, {"csrf_token": ""}, {"csrf_token": "not-the-token"}):
            answer = client.post(action, data={**data, "email": "x@example.com",
                                               "secret": server.account_token,
                                               "enable_smtp_api_error_hooks": "true"})
            assert answer.status_code == 403, (action, data, answer.text)
    # Nothing happened: still logged in (logout refused), nothing suppressed or changed.
    assert client.get("/dashboard").status_code == 200
    assert _suppressed(server) == []
    assert _server(server)["EnableSmtpApiErrorHooks"] is False
    with server.api() as api:
        assert api.get("/templates").json()["TotalCount"] == 0


def test_a_token_from_another_session_is_refused(client: httpx.Client,
                                                 server: RunningServer) -> None:
    with logged_in(server.api_url, server.account_token) as other:
        foreign = form_token(other, "/dashboard")
    base = f"/dashboard/servers/{server.server_id}/suppressions"
    answer = client.post(f"{base}/add", data={"csrf_token": foreign or "", "stream": "outbound",
                                              "email": "x@example.com"})
    assert answer.status_code == 403
    assert _suppressed(server) == []


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},  # a sandboxed frame, a privacy-stripped redirect
    {"Referer": "http://evil.example/form.html"},
    {"Origin": "https://{host}"},  # the right host, another scheme
    {"Origin": "http://127.0.0.1:1"},  # the right address, another port
], ids=["origin", "null-origin", "referer", "scheme", "port"])
def test_a_cross_origin_post_is_refused(client: httpx.Client, server: RunningServer,
                                        headers: dict[str, str]) -> None:
    host = server.api_url.removeprefix("http://")
    forged = {name: value.format(host=host) for name, value in headers.items()}
    answer = _suppress(client, server, "x@example.com", **forged)
    assert answer.status_code == 403
    assert "another site" in answer.text
    assert _suppressed(server) == []


def test_a_same_origin_post_works(client: httpx.Client, server: RunningServer) -> None:
    answer = _suppress(client, server, "a@example.com", Origin=server.api_url,
                       Referer=f"{server.api_url}/dashboard")
    assert answer.status_code == 303
    answer = _suppress(client, server, "b@example.com")  # neither header: the token decides
    assert answer.status_code == 303
    assert sorted(_suppressed(server)) == ["a@example.com", "b@example.com"]


def test_login_needs_the_forms_token(server: RunningServer) -> None:
    with httpx.Client(base_url=server.api_url, timeout=10) as client:
        form_token(client)  # a session cookie, but the POST leaves its token out
        answer = client.post("/dashboard/login", data={"secret": server.account_token})
        assert answer.status_code == 403
        assert client.get("/dashboard").status_code == 303  # not logged in
        answer = post_login(client, server.account_token, headers={"Origin": "http://evil.example"})
        assert answer.status_code == 403
        assert client.get("/dashboard").status_code == 303


# --- checkboxes: only those the form shows --------------------------------------------------

def _settings_page(client: httpx.Client, server: RunningServer) -> tuple[str, list[str]]:
    """The settings form's action and the checkboxes its hidden markers name."""
    html = client.get(f"/dashboard/servers/{server.server_id}").text
    return (f"/dashboard/servers/{server.server_id}/settings",
            re.findall(r'type="hidden" name="checkboxes" value="([a-z_]+)"', html))


def test_a_post_without_a_checkbox_leaves_its_setting(client: httpx.Client,
                                                      server: RunningServer) -> None:
    with server.api() as api:
        assert api.put("/server", json={"EnableSmtpApiErrorHooks": True,
                                        "IncludeBounceContentInHook": True}).status_code == 200
    page = f"/dashboard/servers/{server.server_id}"
    action, shown = _settings_page(client, server)
    assert set(shown) >= {"enable_smtp_api_error_hooks", "smtp_api_activated",
                          "include_bounce_content_in_hook"}
    # A POST with neither the boxes nor their markers (an old form, a script): the text
    # field it names changes, the settings it does not name stay as they were.
    answer = submit(client, page, action, {"bounce_hook_url": "https://hooks.example/b"})
    assert answer.status_code == 303
    after = _server(server)
    assert after["BounceHookUrl"] == "https://hooks.example/b"
    assert (after["EnableSmtpApiErrorHooks"], after["SmtpApiActivated"],
            after["IncludeBounceContentInHook"]) == (True, True, True)
    # A field the form leaves out entirely is not emptied either.
    assert submit(client, page, action, {}).status_code == 303
    assert _server(server)["BounceHookUrl"] == "https://hooks.example/b"
    # The marker without its box: that box was shown and left unticked, so it goes off.
    data = {"checkboxes": "include_bounce_content_in_hook"}
    assert submit(client, page, action, data).status_code == 303
    after = _server(server)
    assert after["IncludeBounceContentInHook"] is False
    assert (after["EnableSmtpApiErrorHooks"], after["SmtpApiActivated"]) == (True, True)


def test_unticking_in_the_browser_switches_off(dash: Page, server: RunningServer) -> None:
    server_page(dash, server)
    dash.get_by_label("SMTP API Error hooks").check()
    dash.get_by_label("Include message content").check()
    dash.get_by_role("button", name="Save settings").click()
    dash.wait_for_load_state()
    assert flashes(dash) == ["Settings saved."]
    assert _server(server)["EnableSmtpApiErrorHooks"] is True
    dash.get_by_label("SMTP API Error hooks").uncheck()
    dash.get_by_label("SMTP enabled").uncheck()
    dash.get_by_role("button", name="Save settings").click()
    dash.wait_for_load_state()
    assert flashes(dash) == ["Settings saved."]
    after = _server(server)
    assert (after["EnableSmtpApiErrorHooks"], after["SmtpApiActivated"],
            after["IncludeBounceContentInHook"]) == (False, False, True)
    assert not dash.get_by_label("SMTP enabled").is_checked()


def test_every_form_in_the_browser_carries_the_token(dash: Page, server: RunningServer) -> None:
    for section in ("", "activity", "bounces", "suppressions", "webhooks", "templates",
                    "templates/new"):
        server_page(dash, server, section)
        forms = dash.locator("form[method=post]")
        assert forms.count() >= 1, section  # the logout button at least
        token = forms.first.locator("input[name=csrf_token]").input_value()
        assert len(token) >= 32
        for form in forms.all():
            assert form.locator("input[name=csrf_token]").input_value() == token, section


# --- logout revokes the session ----------------------------------------------------------

def _replay(server: RunningServer, cookie: str) -> httpx.Client:
    return httpx.Client(base_url=server.api_url, timeout=10,
                        cookies={"postlane_session": cookie})


def test_a_cookie_replayed_after_logout_is_refused(client: httpx.Client,
                                                   server: RunningServer) -> None:
    cookie = client.cookies["postlane_session"]
    token = form_token(client, "/dashboard")
    with _replay(server, cookie) as copy:
        assert copy.get("/dashboard").status_code == 200  # the copy works while logged in
    assert client.post("/dashboard/logout", data={"csrf_token": token or ""}).status_code == 303
    with _replay(server, cookie) as copy:
        answer = copy.get(f"/dashboard/servers/{server.server_id}/suppressions")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/dashboard/login?next=")
        base = f"/dashboard/servers/{server.server_id}/suppressions"
        answer = copy.post(f"{base}/add", data={"csrf_token": token or "", "stream": "outbound",
                                                "email": "replayed@example.com"})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/dashboard/login")
    assert _suppressed(server) == []


@pytest.mark.parametrize("backend", ["postgresql"])
def test_logout_is_seen_by_every_process(make_server: Callable[..., RunningServer]) -> None:
    """Two API processes on one PostgreSQL: a session from one works on the other, and a
    logout on one ends it on both."""
    first, second = make_server(), make_server()
    with logged_in(first.api_url, first.account_token) as session:
        cookie = session.cookies["postlane_session"]
        with _replay(second, cookie) as copy:
            assert copy.get("/dashboard").status_code == 200
        token = form_token(session, "/dashboard")
        assert session.post("/dashboard/logout",
                            data={"csrf_token": token or ""}).status_code == 303
    with _replay(second, cookie) as copy:
        assert copy.get("/dashboard").status_code == 303


# --- the Secure flag ---------------------------------------------------------------------

def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """The cookies a response sets, by name: their whole Set-Cookie lines, lower case."""
    return {line.split("=", 1)[0]: line.lower()
            for line in response.headers.get_list("set-cookie")}


def _form_cookies(server: RunningServer, **headers: str) -> dict[str, str]:
    """What the login form's page sets (the session cookie with the form's token)."""
    with httpx.Client(base_url=server.api_url, timeout=10) as client:
        return _set_cookies(client.get("/dashboard/login", headers=headers))


def _login_cookies(server: RunningServer, **headers: str) -> dict[str, str]:
    """What a login sets: the new session's cookie and the device cookie."""
    with httpx.Client(base_url=server.api_url, timeout=10) as client:
        answer = post_login(client, server.account_token, headers=headers or None)
        assert answer.status_code == 303, answer.text
        found = _set_cookies(answer)
    assert set(found) == {"postlane_session", "postlane_device"}, found
    return found


def _secure(cookies: dict[str, str]) -> list[bool]:
    return ["; secure" in line for line in cookies.values()]


def test_no_secure_flag_over_plain_http(server: RunningServer) -> None:
    cookies = _login_cookies(server)
    assert _secure(cookies) == [False, False]
    assert all("httponly" in line and "samesite=strict" in line for line in cookies.values())
    assert _secure(_form_cookies(server)) == [False]
    # A client cannot claim TLS: X-Forwarded-Proto counts from a trusted proxy only.
    assert _secure(_login_cookies(server, **{"X-Forwarded-Proto": "https"})) == [False, False]


def test_secure_flag_when_the_settings_say_tls_is_in_front(
        make_server: Callable[..., RunningServer]) -> None:
    """(A browser then sends the cookie back over https only, so this plain-HTTP client
    can look at the flag but not log in.)"""
    assert _secure(_form_cookies(make_server(dashboard_secure_cookie=True))) == [True]


def test_secure_flag_when_a_trusted_proxy_says_https(
        make_server: Callable[..., RunningServer]) -> None:
    srv = make_server(api_trusted_proxies=("127.0.0.1",))
    assert _secure(_form_cookies(srv, **{"X-Forwarded-Proto": "https"})) == [True]
    assert _secure(_login_cookies(srv, **{"X-Forwarded-Proto": "https"})) == [True, True]
    assert _secure(_login_cookies(srv, **{"X-Forwarded-Proto": "http"})) == [False, False]
