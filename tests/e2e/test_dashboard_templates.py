"""The dashboard's template editor in a real browser (Chromium via Playwright) against a
real server: create a Layout and a Standard template that uses it, the live preview
updating as one types (the page's own script, under its CSP), a broken ``{{#each}}``
reported, the template's HTML kept inside the sandboxed frame with its scripts not run,
an edit, and the list.

The endpoints' rules (CSRF, other servers, refused saves): tests/api/test_dashboard_templates.py.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Page, expect

from tests.support.browser import flashes, server_page
from tests.support.harness import RunningServer

LAYOUT_HTML = ('<html><body><h1 id="brand">{{ company }}</h1>{{{ @content }}}'
               "<footer>footer</footer></body></html>")
HOSTILE_HTML = ('<p id="hello">Hello {{ name }}</p>'
                "<script>parent.document.title = 'ran'; alert('ran')</script>"
                "<img src=\"data:,\" onerror=\"alert('ran')\">")
BROKEN_EACH = "<ul>{{#each items}}<li>{{ title }}</li></ul>"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """One flow, on both stores (the other dashboard browser tests pin SQLite)."""
    return str(request.param)


def _watch(page: Page) -> tuple[list[str], list[str]]:
    """Dialogs opened, and the console's Content Security Policy complaints."""
    dialogs: list[str] = []
    refusals: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refusals.append(message.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    return dialogs, refusals


def test_create_preview_edit_and_list(dash: Page, server: RunningServer) -> None:
    dialogs, refusals = _watch(dash)
    server_page(dash, server, "templates")
    expect(dash.locator("#standard-templates")).to_contain_text("No templates yet.")

    # A Layout: its preview shows the slot's surroundings as one types.
    dash.get_by_role("link", name="New layout").click()
    dash.get_by_label("Name").fill("Base")
    dash.get_by_label("Alias").fill("base")
    dash.get_by_label("HTML body").fill(LAYOUT_HTML)
    dash.get_by_label("Test model (JSON)").fill('{"company": "ACME"}')
    preview = dash.frame_locator("#preview-html")
    expect(preview.locator("#brand")).to_have_text("ACME")
    expect(dash.locator("#preview-state")).to_have_text("Valid")
    dash.get_by_role("button", name="Create layout").click()
    dash.wait_for_load_state()
    assert flashes(dash) == ['Created the Layout template "Base".']

    # A Standard template in that Layout.
    server_page(dash, server, "templates")
    dash.get_by_role("link", name="New template").click()
    response = dash.reload()
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split(";")[1]
    dash.get_by_label("Name").fill("Welcome")
    dash.get_by_label("Alias").fill("welcome")
    dash.get_by_label("Subject").fill("Hi {{ name }}")
    dash.get_by_label("Layout").select_option("base")
    dash.get_by_label("Test model (JSON)").fill('{"name": "Ann <3", "company": "ACME"}')
    dash.get_by_label("HTML body").fill(HOSTILE_HTML)
    dash.get_by_label("Text body").fill("Hello {{ name }}")
    expect(preview.locator("#hello")).to_have_text("Hello Ann <3")
    expect(preview.locator("#brand")).to_have_text("ACME")
    expect(dash.locator("#preview-subject")).to_have_text("Hi Ann <3")
    expect(dash.locator("#preview-text")).to_have_text("Hello Ann <3")
    expect(dash.locator("#preview-model")).to_contain_text('"name": "name_Value"')
    assert dash.locator("#preview-html").get_attribute("sandbox") == ""
    # The template's HTML stays in the frame, and its scripts and handlers do not run.
    assert dash.locator("#hello").count() == 0
    preview.locator("img").wait_for(state="attached")
    assert dialogs == [] and dash.title() != "ran"

    # A broken {{#each}}: the error, with its place, and no render.
    dash.get_by_label("HTML body").fill(BROKEN_EACH)
    expect(dash.locator("#preview-state")).to_have_text("Invalid")
    errors = dash.locator("#preview-errors li")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("HtmlBody (line 1, position ")
    expect(preview.locator("#hello")).to_have_count(0)
    # Saving it anyway is refused, the draft kept, the errors shown with the page.
    dash.get_by_role("button", name="Create template").click()
    dash.wait_for_load_state()
    expect(dash.get_by_role("alert")).to_contain_text("Not saved: The HtmlBody contains")
    expect(dash.locator("#preview-errors li")).to_have_count(1)
    assert dash.get_by_label("Name").input_value() == "Welcome"

    dash.get_by_label("HTML body").fill('<p id="hello">Hello {{ name }}</p>')
    expect(dash.locator("#preview-state")).to_have_text("Valid")
    dash.get_by_role("button", name="Create template").click()
    dash.wait_for_load_state()
    assert flashes(dash) == ['Created the Standard template "Welcome".']
    # The editor of the stored template renders its preview with the page (no model yet).
    expect(preview.locator("#hello")).to_have_text("Hello")

    # Edit, then find it in the list.
    dash.get_by_label("Name").fill("Welcome email")
    dash.get_by_label("Subject").fill("Welcome, {{ name }}")
    dash.get_by_role("button", name="Save template").click()
    dash.wait_for_load_state()
    assert flashes(dash) == ['Saved the template "Welcome email".']
    dash.get_by_role("link", name="All templates").click()
    standard = dash.locator("#standard-templates")
    expect(standard.get_by_role("link", name="Welcome email")).to_have_count(1)
    expect(standard).to_contain_text("Welcome, {{ name }}")
    expect(dash.locator("#layout-templates").get_by_role("link", name="Base")).to_have_count(1)
    with server.api() as api:
        stored = api.get("/templates/welcome").json()
    assert (stored["Name"], stored["Subject"], stored["LayoutTemplate"]) == (
        "Welcome email", "Welcome, {{ name }}", "base")
    # Only the template's own script and handler were refused (in the frame), never the
    # dashboard's: the preview above updated.
    assert all("template-preview.js" not in text for text in refusals), refusals
