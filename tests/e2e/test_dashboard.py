"""The dashboard in a real browser (Chromium via Playwright) against a real server: login and
its redirects, server settings, the seed flow through the UI, and the Sandbox viewer.

Suppressions and webhooks pages: tests/e2e/test_dashboard_lists.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page

from tests.support.browser import error_flashes, flashes, login, open_page, path_of, server_page
from tests.support.harness import RunningServer, make_message, smtp_send, wait_until

ADMIN_PASSWORD = "correct horse battery staple"
SEED = "seed@example.com"


@pytest.fixture
def backend() -> str:
    """The dashboard reads the same store as the API: its browser tests run on SQLite (one
    smoke test below parametrises ``backend`` to PostgreSQL)."""
    return "sqlite"


def _post_login(page: Page, secret: str) -> int:
    """Submit the login form; the status of the POST's response."""
    page.fill("#secret", secret)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("form.login button[type=submit]")
    page.wait_for_load_state()
    return answer.value.status


def test_login_logout_and_redirects(browser: Browser,
                                    make_server: Callable[..., RunningServer]) -> None:
    srv = make_server(admin_password=ADMIN_PASSWORD)
    with open_page(browser, srv) as pg:
        # A wrong secret: HTTP 401, still on the login form, with an error; no session.
        pg.goto("/dashboard/login")
        assert _post_login(pg, "not-the-token") == 401
        assert path_of(pg, srv).startswith("/dashboard/login")
        assert pg.get_by_role("alert").inner_text() == "That token or password is not valid."
        pg.goto("/dashboard")
        assert path_of(pg, srv) == "/dashboard/login?next=%2Fdashboard"

        # The account token logs in and lists the Default server.
        assert _post_login(pg, srv.account_token) == 303
        assert path_of(pg, srv) == "/dashboard"
        assert pg.get_by_role("link", name="Default").count() == 1
        # The session cookie is never sent cross-site, never read by JS (forms carry a token
        # as well: test_dashboard_security.py).
        cookie, = (c for c in pg.context.cookies() if c["name"] == "postlane_session")
        assert cookie["sameSite"] == "Strict" and cookie["httpOnly"] is True

        # Logout ends the session: dashboard pages redirect to the login form again.
        pg.get_by_role("button", name="Log out").click()
        pg.wait_for_load_state()
        assert path_of(pg, srv) == "/dashboard/login"
        bounces = f"/dashboard/servers/{srv.server_id}/bounces?type=HardBounce"
        pg.goto(bounces)
        assert path_of(pg, srv).startswith("/dashboard/login?next=")
        assert pg.locator("input[name=next]").input_value() == bounces

        # ... and back where the user was going (query included) after login.
        login(pg, srv.account_token, path="")
        assert path_of(pg, srv) == bounces
        assert pg.get_by_label("Bounce type").input_value() == "HardBounce"
        pg.get_by_role("button", name="Log out").click()

        # The admin password logs in too.
        pg.goto("/dashboard/login")
        assert _post_login(pg, ADMIN_PASSWORD) == 303
        assert pg.get_by_role("link", name="Default").count() == 1
        pg.get_by_role("button", name="Log out").click()

        # An open redirect through ``next`` lands on /dashboard: in the link, and when the
        # form's hidden field is tampered with.
        pg.goto("/dashboard/login?next=//evil.example")
        login(pg, ADMIN_PASSWORD, path="")
        assert pg.url == f"{srv.api_url}/dashboard"
        pg.get_by_role("button", name="Log out").click()
        pg.goto("/dashboard/login")
        for target in ("//evil.example", "https://evil.example/", "/\\evil.example"):
            pg.locator("input[name=next]").evaluate("(e, t) => e.value = t", target)
            login(pg, ADMIN_PASSWORD, path="")
            assert pg.url == f"{srv.api_url}/dashboard", target
            pg.get_by_role("button", name="Log out").click()
            pg.wait_for_load_state()


def _settings_api(server: RunningServer) -> dict[str, object]:
    with server.api() as api:
        body: dict[str, object] = api.get("/server").json()
    return body


def enable_hooks(dash: Page, server: RunningServer) -> None:
    server_page(dash, server)
    dash.get_by_label("SMTP API Error hooks").check()
    dash.get_by_role("button", name="Save settings").click()
    dash.wait_for_load_state()
    assert flashes(dash) == ["Settings saved."]


def test_settings(dash: Page, server: RunningServer) -> None:
    assert _settings_api(server)["EnableSmtpApiErrorHooks"] is False
    enable_hooks(dash, server)
    assert _settings_api(server)["EnableSmtpApiErrorHooks"] is True
    assert dash.get_by_label("SMTP API Error hooks").is_checked()

    # An invalid bounce hook URL (a URL the browser accepts, a scheme the server refuses):
    # an error flash, and nothing changes, not even the checkbox unticked in the same form.
    dash.get_by_label("SMTP API Error hooks").uncheck()
    dash.get_by_label("Bounce hook URL").fill("ftp://hooks.example/bounce")
    dash.get_by_role("button", name="Save settings").click()
    dash.wait_for_load_state()
    assert error_flashes(dash) == ["Not saved: bounce hook url: must be an http:// or https:// URL"]
    after = _settings_api(server)
    assert after["EnableSmtpApiErrorHooks"] is True
    assert after["BounceHookUrl"] == ""
    assert dash.get_by_label("SMTP API Error hooks").is_checked()


def _bounce_rows(dash: Page) -> int:
    dash.reload()
    return dash.locator("tbody tr").count()


def test_seed_flow_through_the_dashboard(dash: Page, server: RunningServer,
                                         tmp_path: Path) -> None:
    enable_hooks(dash, server)

    # 1. Suppress the address on the Suppressions page.
    server_page(dash, server, "suppressions")
    dash.get_by_label("Address to suppress").fill(SEED)
    dash.get_by_role("button", name="Suppress").click()
    dash.wait_for_load_state()
    assert flashes(dash) == [f"Suppressed: 1 address(es) ({SEED})"]
    row = dash.locator("tbody tr", has_text=SEED)
    assert row.locator("td").all_inner_texts()[:3] == [SEED, "ManualSuppression", "Customer"]

    # 2. Send to it over SMTP.
    code, message_id = smtp_send(server, make_message(SEED, subject="Seed via UI"), [SEED])
    assert code == 250

    # 3. The Bounces page shows the SMTP API Error naming the suppression reason.
    server_page(dash, server, "bounces")
    wait_until(lambda: _bounce_rows(dash) == 1, message="the bounce row")
    cells = dash.locator("tbody tr").first.locator("td").all_inner_texts()
    assert "SMTP API Error" in cells[1] and "InternalError 4003" in cells[1]
    assert cells[2] == SEED
    assert "ManualSuppression" in cells[3]
    assert cells[5] == "Yes"
    shot = tmp_path / "bounces.png"
    dash.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0

    # The type filter shows it under InternalError and hides it under HardBounce.
    for bounce_type, rows in (("InternalError", 1), ("HardBounce", 0), ("", 1)):
        dash.get_by_label("Bounce type").select_option(bounce_type)
        dash.get_by_role("button", name="Filter").click()
        dash.wait_for_load_state()
        assert dash.locator("tbody tr", has_text=SEED).count() == rows, bounce_type
        assert dash.get_by_text(f"{rows} bounce(s)").count() == 1

    # Activity lists the message as Blocked (never sent); its page lists the Bounced event.
    server_page(dash, server, "activity")
    message_row = dash.locator("tbody tr", has_text="Seed via UI")
    assert message_row.locator(".badge.status").inner_text() == "Blocked"
    assert message_row.locator(".outcomes li").all_inner_texts() == [f"{SEED} Suppressed"]
    message_row.get_by_role("link", name="Seed via UI").click()
    dash.wait_for_load_state()
    assert path_of(dash, server) == f"/dashboard/servers/{server.server_id}/messages/{message_id}"
    events = dash.locator("h2:text('Events') + table tbody tr")
    assert events.count() == 1
    assert events.first.locator("td").nth(2).inner_text() == "Bounced"
    assert events.first.locator("td").nth(1).inner_text() == SEED

    # Reactivate from the Bounces page: the address is deliverable again.
    server_page(dash, server, "bounces")
    dash.get_by_role("button", name="Reactivate").click()
    dash.wait_for_load_state()
    assert flashes(dash) == [f"{SEED} is active again."]
    assert dash.locator("tbody tr").first.locator("td").nth(5).inner_text() == "No"
    assert dash.get_by_role("button", name="Reactivate").count() == 0
    server_page(dash, server, "suppressions")
    assert dash.locator("tbody tr", has_text=SEED).count() == 0

    code, second_id = smtp_send(server, make_message(SEED, subject="Seed again"), [SEED])
    assert code == 250
    with server.api() as api:
        wait_until(lambda: api.get(f"/messages/outbound/{second_id}/details").json()["Status"]
                   == "Sent", message="the second message delivered to the sandbox")
    server_page(dash, server, "activity")
    again = dash.locator("tbody tr", has_text="Seed again")
    assert again.locator(".badge.status").inner_text() == "Sent"
    server_page(dash, server, "bounces")
    assert dash.get_by_text("1 bounce(s)").count() == 1


def test_activity_shows_each_recipients_outcome(dash: Page, server: RunningServer) -> None:
    """A message with one suppressed recipient is Sent (the other one went out), and the
    activity list says which recipient was held back."""
    enable_hooks(dash, server)
    with server.api() as api:
        api.post("/message-streams/outbound/suppressions",
                 json={"Suppressions": [{"EmailAddress": SEED}]})
    kept = "kept@example.com"
    code, message_id = smtp_send(server, make_message(f"{SEED}, {kept}", subject="Two"),
                                 [SEED, kept])
    assert code == 250
    with server.api() as api:
        wait_until(lambda: api.get(f"/messages/outbound/{message_id}/details").json()["Status"]
                   == "Sent", message="the kept recipient delivered to the sandbox")
    server_page(dash, server, "activity")
    row = dash.locator("tbody tr", has_text="Two")
    assert row.locator(".badge.status").inner_text() == "Sent"
    assert row.locator(".outcomes li").all_inner_texts() == [f"{SEED} Suppressed",
                                                              f"{kept} Sent"]
    assert row.locator(".outcomes li", has_text=SEED).locator(".badge.bad").count() == 1


HTML_BODY = ('<h1 id="greeting">Hello from the HTML body</h1>'
             '<script>alert("ran"); document.body.insertAdjacentHTML("beforeend",'
             ' "<p id=ran>script ran</p>"); parent.document.title = "pwned";</script>'
             '<img src="{pixel}" onerror="alert(1)">'
             '"></iframe><p id="escaped">attribute breakout</p>')
TEXT_BODY = "Plain text for <b>readers</b> & friends"
SUBJECT = "Viewer <i>test</i>"


@pytest.fixture
def image_host() -> Iterator[list[dict[str, str]]]:
    """A real HTTP server on another origin; yields the headers of each GET it answers."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    seen.append({"url": f"http://127.0.0.1:{httpd.server_address[1]}/pixel.png"})
    yield seen
    httpd.shutdown()
    httpd.server_close()


def test_sandbox_viewer(dash: Page, server: RunningServer,
                        image_host: list[dict[str, str]]) -> None:
    pixel = image_host.pop()["url"]
    with server.api() as api:
        r = api.post("/email", json={
            "From": "sender@example.com", "To": "viewer@example.com", "Subject": SUBJECT,
            "HtmlBody": HTML_BODY.format(pixel=pixel), "TextBody": TEXT_BODY})
        assert r.status_code == 200, r.text
        message_id = r.json()["MessageID"]
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    dash.on("dialog", on_dialog)
    response = dash.goto(f"/dashboard/servers/{server.server_id}/messages/{message_id}")
    assert response is not None
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"

    viewer = dash.frame_locator("iframe.viewer")
    assert viewer.locator("#greeting").inner_text() == "Hello from the HTML body"
    assert dash.locator("iframe.viewer").get_attribute("sandbox") == ""
    assert dash.locator("#text-body").inner_text() == TEXT_BODY
    assert dash.locator("h1").inner_text() == SUBJECT
    assert dash.title() == f"{SUBJECT} · Postlane"
    # The HtmlBody stays inside the frame: nothing broke out of the srcdoc attribute...
    assert dash.locator("#escaped").count() == 0
    assert viewer.locator("#escaped").inner_text() == "attribute breakout"
    # ... and its scripts did not run (sandbox without allow-scripts), not even handlers.
    viewer.locator("img").first.wait_for(state="attached")
    assert viewer.locator("#ran").count() == 0
    assert dialogs == []
    # Remote images load, but the dashboard's URL does not leak to their host.
    wait_until(lambda: image_host, message="the message's remote image")
    assert "referer" not in image_host[0]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_smoke_on_postgresql(dash: Page, server: RunningServer) -> None:
    assert dash.get_by_role("link", name="Default").count() == 1
    server_page(dash, server, "suppressions")
    dash.get_by_label("Address to suppress").fill("pg@example.com")
    dash.get_by_role("button", name="Suppress").click()
    dash.wait_for_load_state()
    assert dash.locator("tbody tr", has_text="pg@example.com").count() == 1
    with server.api() as api:
        dump = api.get("/message-streams/outbound/suppressions/dump").json()
    assert [s["EmailAddress"] for s in dump["Suppressions"]] == ["pg@example.com"]
    for section in ("activity", "bounces", "webhooks", ""):
        server_page(dash, server, section)
        assert dash.locator("h1").count() == 1
