"""The dashboard's template pages in process (the dashboard app over the in-process
server's loop and database, both backends): list, create and edit Standard templates and
Layouts, the live preview's JSON (the same errors as POST /templates/validate), form
tokens and origins refused, and another server's templates out of reach.

In a real browser (the preview updating as one types): tests/e2e/test_dashboard_templates.py.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support.api_servers import create_server
from tests.support.dashboard import form_token, post_login, with_token
from tests.support.in_process import InProcessServer

LAYOUT_HTML = "<html><body><h1>{{ company }}</h1>{{{ @content }}}</body></html>"
BROKEN_EACH = "<ul>{{#each items}}<li>{{ name }}</li></ul>"


@pytest.fixture
def dash(server: InProcessServer) -> httpx.Client:
    client = server.dashboard()
    assert post_login(client, server.account_token).status_code == 303
    return client


def _base(server_id: int) -> str:
    return f"/dashboard/servers/{server_id}/templates"


def _post(client: httpx.Client, page: str, action: str,
          data: dict[str, str]) -> httpx.Response:
    return client.post(action, data=with_token(data, form_token(client, page)))


def _create(client: httpx.Client, server_id: int, kind: str = "", **data: str) -> int:
    """Create through the form; the new template's id (from the redirect to its editor)."""
    query = "?type=layout" if kind == "Layout" else ""
    answer = _post(client, f"{_base(server_id)}/new{query}", _base(server_id),
                   {"template_type": kind or "Standard", **data})
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(rf"{_base(server_id)}/(\d+)", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def _preview(client: httpx.Client, server_id: int, **data: str) -> dict[str, Any]:
    answer = _post(client, f"{_base(server_id)}/new", f"{_base(server_id)}/preview", data)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    body: dict[str, Any] = answer.json()
    return body


def _api_template(server: InProcessServer, key: int | str) -> dict[str, Any]:
    with server.api() as api:
        answer = api.get(f"/templates/{key}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
    return body


def test_create_edit_and_list(server: InProcessServer, dash: httpx.Client) -> None:
    sid = server.server_id
    assert "No templates yet." in dash.get(_base(sid)).text
    layout_id = _create(dash, sid, "Layout", name="Base", alias="base", html_body=LAYOUT_HTML,
                        text_body="{{{ @content }}}\n-- {{ company }}")
    welcome_id = _create(dash, sid, name="Welcome", alias="welcome", subject="Hi {{ name }}",
                         layout_template="base", html_body="<p>Hello {{ name }}</p>")
    saved = _api_template(server, "welcome")
    assert (saved["TemplateId"], saved["TemplateType"], saved["LayoutTemplate"],
            saved["Subject"], saved["HtmlBody"], saved["TextBody"]) == (
        welcome_id, "Standard", "base", "Hi {{ name }}", "<p>Hello {{ name }}</p>", None)
    assert _api_template(server, layout_id)["TemplateType"] == "Layout"

    # The editor shows what is stored, and its preview rendered with the page.
    editor = dash.get(f"{_base(sid)}/{welcome_id}")
    assert editor.status_code == 200
    assert 'value="Hi {{ name }}"' in editor.text
    assert '<option value="base" selected>' in editor.text
    assert "Created the Standard template &#34;Welcome&#34;." in editor.text
    assert 'sandbox srcdoc="&lt;html&gt;&lt;body&gt;&lt;h1&gt;&lt;/h1&gt;&lt;p&gt;Hello' \
        in editor.text

    # Edit: every field the form sends is saved; a cleared layout is cleared. A browser
    # sends a textarea's lines as CRLF: they are stored as LF.
    page = f"{_base(sid)}/{welcome_id}"
    answer = _post(dash, page, page, {"name": "Welcome v2", "alias": "welcome-2",
                                      "subject": "Hello", "layout_template": "",
                                      "html_body": "<p>v2</p>", "text_body": "\r\nv2\r\nend"})
    assert answer.status_code == 303 and answer.headers["location"] == page
    saved = _api_template(server, welcome_id)
    assert (saved["Name"], saved["Alias"], saved["Subject"], saved["LayoutTemplate"],
            saved["HtmlBody"], saved["TextBody"]) == (
        "Welcome v2", "welcome-2", "Hello", None, "<p>v2</p>", "\nv2\nend")
    # The textarea keeps a leading line break (the parser drops the first after the tag).
    assert 'spellcheck="false">\n\nv2\nend</textarea>' in dash.get(page).text
    # A body emptied in the form is emptied.
    answer = _post(dash, page, page, {"name": "Welcome v2", "subject": "Hello",
                                      "html_body": "<p>v2</p>", "text_body": ""})
    assert answer.status_code == 303
    assert _api_template(server, welcome_id)["TextBody"] in ("", None)

    listing = dash.get(_base(sid)).text
    standard, layouts = listing.split("<h2>Layouts</h2>")
    assert f'href="{_base(sid)}/{welcome_id}">Welcome v2</a>' in standard
    assert f'href="{_base(sid)}/{layout_id}">Base</a>' in layouts
    assert "Base" not in standard and "Welcome" not in layouts


def test_a_refused_save_shows_why_and_keeps_the_draft(server: InProcessServer,
                                                      dash: httpx.Client) -> None:
    sid = server.server_id
    answer = _post(dash, f"{_base(sid)}/new", _base(sid),
                   {"template_type": "Standard", "name": "Broken", "subject": "S",
                    "html_body": BROKEN_EACH})
    assert answer.status_code == 422
    assert "Not saved: The HtmlBody contains invalid syntax" in answer.text
    assert "{{#each items}}" in answer.text  # the draft is still in the form
    with server.api() as api:
        assert api.get("/templates").json()["TotalCount"] == 0
    first = _create(dash, sid, name="One", alias="one", subject="S", html_body="x")
    answer = _post(dash, f"{_base(sid)}/new", _base(sid),
                   {"name": "Two", "alias": "ONE", "subject": "S", "html_body": "y"})
    assert answer.status_code == 422
    assert "already in use on this server" in answer.text
    # An edit refused: nothing changes.
    page = f"{_base(sid)}/{first}"
    answer = _post(dash, page, page, {"name": "One", "subject": "", "html_body": "x"})
    assert answer.status_code == 422 and "Subject field is required" in answer.text
    assert _api_template(server, first)["Subject"] == "S"


def test_preview_matches_the_validate_endpoint(server: InProcessServer,
                                               dash: httpx.Client) -> None:
    sid = server.server_id
    _create(dash, sid, "Layout", name="Base", alias="base", html_body=LAYOUT_HTML)
    answer = _preview(dash, sid, template_type="Standard", subject="Hi {{ name }}",
                      layout_template="base", html_body="<p>{{ name }}</p>",
                      text_body="Dear {{ name }}",
                      test_model='{"name": "<Ann>", "company": "ACME"}')
    assert answer["Valid"] is True and answer["Errors"] == []
    assert answer["Subject"] == "Hi <Ann>"
    assert answer["HtmlBody"] == ("<html><body><h1>ACME</h1><p>&lt;Ann&gt;</p></body></html>")
    assert answer["TextBody"] == "Dear <Ann>"
    assert answer["SuggestedTemplateModel"] == {"name": "name_Value"}

    broken = _preview(dash, sid, template_type="Standard", subject="S", html_body=BROKEN_EACH)
    with server.api() as api:
        expected = api.post("/templates/validate", json={
            "Subject": "S", "HtmlBody": BROKEN_EACH}).json()["HtmlBody"]["ValidationErrors"]
    assert expected and broken["Valid"] is False
    assert broken["Errors"] == [{"Part": "HtmlBody", **e} for e in expected]
    assert broken["HtmlBody"] is None

    # A model that is not JSON, a layout that is not there, a layout without its slot.
    answer = _preview(dash, sid, template_type="Standard", subject="S", html_body="x",
                      layout_template="nowhere", test_model="{not json")
    assert [e["Part"] for e in answer["Errors"]] == ["TestModel", "LayoutTemplate"]
    assert answer["HtmlBody"] == "x"
    answer = _preview(dash, sid, template_type="Layout", html_body="<p>no slot</p>")
    assert [e["Part"] for e in answer["Errors"]] == ["HtmlBody"]
    assert "@content" in answer["Errors"][0]["Message"]


def test_the_editor_alone_runs_its_script(server: InProcessServer, dash: httpx.Client) -> None:
    sid = server.server_id
    editor = dash.get(f"{_base(sid)}/new")
    policy = editor.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert '<script src="/static/template-preview.js" defer></script>' in editor.text
    assert '<iframe id="preview-html" class="viewer" title="HTML preview" sandbox srcdoc=' \
        in editor.text
    assert "script-src 'none'" in dash.get(_base(sid)).headers["content-security-policy"]
    script = dash.get("/static/template-preview.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_forms_and_preview_refuse_a_missing_token_or_another_origin(
        server: InProcessServer, dash: httpx.Client) -> None:
    sid = server.server_id
    template_id = _create(dash, sid, name="Kept", alias="kept", subject="S", html_body="x")
    token = form_token(dash, f"{_base(sid)}/new")
    data = {"template_type": "Standard", "name": "Forged", "subject": "S", "html_body": "y"}
    for action in (_base(sid), f"{_base(sid)}/{template_id}", f"{_base(sid)}/preview"):
        for given in ({}, {"csrf_token": "not-the-token"}):
            answer = dash.post(action, data={**data, **given})
            assert answer.status_code == 403, (action, given)
            assert "application/json" not in answer.headers["content-type"]
        answer = dash.post(action, data={**data, "csrf_token": token or ""},
                           headers={"Origin": "http://evil.example"})
        assert answer.status_code == 403 and "another site" in answer.text
    with server.api() as api:
        assert [t["Name"] for t in api.get("/templates").json()["Templates"]] == ["Kept"]
    # Logged out, the preview is a redirect to the login form, not a render.
    anonymous = server.dashboard()
    answer = anonymous.post(f"{_base(sid)}/preview", data={"html_body": "x"})
    assert answer.status_code in (303, 403)
    assert answer.status_code == 403 or answer.headers["location"].startswith("/dashboard/login")


def test_another_servers_templates_are_out_of_reach(server: InProcessServer,
                                                    dash: httpx.Client) -> None:
    sid = server.server_id
    with server.api(account=True) as account:
        other = create_server(account, Name="Other")
    other_token = other["ApiTokens"][0]
    with server.api(token=other_token) as api:
        theirs = api.post("/templates", json={
            "Name": "Theirs", "Alias": "theirs-layout", "TemplateType": "Layout",
            "HtmlBody": LAYOUT_HTML}).json()["TemplateId"]
    mine = _create(dash, sid, name="Mine", alias="mine", subject="S", html_body="x")

    assert dash.get(f"{_base(sid)}/{theirs}").status_code == 404
    page = f"{_base(sid)}/{mine}"
    answer = _post(dash, page, f"{_base(sid)}/{theirs}", {"name": "Stolen", "html_body": "z"})
    assert answer.status_code == 404
    with server.api(token=other_token) as api:
        assert api.get(f"/templates/{theirs}").json()["Name"] == "Theirs"
    assert "Theirs" not in dash.get(_base(sid)).text
    assert "Mine" not in dash.get(_base(other["ID"])).text
    # Naming their layout from this server: not found, neither in the preview nor a save.
    answer = _preview(dash, sid, template_type="Standard", subject="S", html_body="x",
                      layout_template="theirs-layout")
    assert [e["Part"] for e in answer["Errors"]] == ["LayoutTemplate"]
    assert answer["HtmlBody"] == "x"
    answer = _post(dash, page, page, {"name": "Mine", "subject": "S", "html_body": "x",
                                      "layout_template": "theirs-layout"})
    assert answer.status_code == 422
    assert _api_template(server, mine)["LayoutTemplate"] is None
    # A server that does not exist.
    assert dash.get(_base(999_999)).status_code == 404
