"""Templates API: CRUD by id and by alias, Standard and Layout rules and their
ErrorCodes, listing filters, validate's test render, and the account-level push."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.api_servers import create_server, expect_error
from tests.support.in_process import InProcessServer

SUMMARY_KEYS = {"TemplateId", "Name", "Active", "Alias", "TemplateType", "LayoutTemplate"}
LAYOUT_HTML = "<html><body>{{{ @content }}}</body></html>"


def _create(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    r = api.post("/templates", json=fields)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == SUMMARY_KEYS
    return body


def test_crud_by_id_and_alias(server: InProcessServer) -> None:
    api = server.api()
    made = _create(api, Name="Welcome", Alias="welcome-1", Subject="Hi {{name}}",
                   HtmlBody="<p>Hello {{name}}</p>", TextBody="Hello {{name}}")
    assert made == {"TemplateId": made["TemplateId"], "Name": "Welcome", "Active": True,
                    "Alias": "welcome-1", "TemplateType": "Standard", "LayoutTemplate": None}
    got = api.get(f"/templates/{made['TemplateId']}").json()
    assert got["Subject"] == "Hi {{name}}" and got["HtmlBody"] == "<p>Hello {{name}}</p>"
    assert got["AssociatedServerId"] == server.server_id
    assert api.get("/templates/WELCOME-1").json() == got  # aliases ignore case
    edited = api.put("/templates/welcome-1", json={"Name": "Welcome 2"}).json()
    assert edited["Name"] == "Welcome 2" and edited["TemplateId"] == made["TemplateId"]
    assert api.get(f"/templates/{made['TemplateId']}").json()["TextBody"] == "Hello {{name}}"
    r = api.delete("/templates/welcome-1")
    assert r.json() == {"ErrorCode": 0, "Message": f"Template {made['TemplateId']} removed."}
    expect_error(api.get(f"/templates/{made['TemplateId']}"), 1101)
    expect_error(api.get("/templates/welcome-1"), 1101)
    expect_error(api.put("/templates/nothing", json={"Name": "x"}), 1101)
    expect_error(api.delete("/templates/999999"), 1101)
    again = _create(api, Name="Next", Subject="s", TextBody="t")
    assert again["TemplateId"] > made["TemplateId"]  # ids are never reused


def test_required_fields_and_invalid_values(server: InProcessServer) -> None:
    api = server.api()
    expect_error(api.post("/templates", json={"Subject": "s", "TextBody": "t"}), 1120)
    expect_error(api.post("/templates", json={"Name": "n", "Subject": "s"}), 1120)
    expect_error(api.post("/templates", json={"Name": "n", "TextBody": "t"}), 1120)
    expect_error(api.post("/templates"), 1109)  # bodyless
    expect_error(api.put("/templates/1"), 1109)
    expect_error(api.post("/templates", json={"Name": "n" * 256, "Subject": "s",
                                              "TextBody": "t"}), 1121)
    for alias in ("1abc", "has space", "bad/char", ""):
        if alias:
            expect_error(api.post("/templates", json={"Name": "n", "Subject": "s",
                                                      "TextBody": "t", "Alias": alias}), 1122)
    _create(api, Name="n", Subject="s", TextBody="t", Alias="Taken.alias_1")
    expect_error(api.post("/templates", json={"Name": "n", "Subject": "s", "TextBody": "t",
                                              "Alias": "taken.ALIAS_1"}), 1122)
    expect_error(api.post("/templates", json={"Name": "n", "Subject": "s",
                                              "TextBody": "{{#each x}}"}), 1122)
    expect_error(api.post("/templates", json={"Name": "n", "Subject": "s", "TextBody": "t",
                                              "TemplateType": "Fancy"}), 1122)


def test_layout_rules(server: InProcessServer) -> None:
    api = server.api()
    expect_error(api.post("/templates", json={"Name": "L", "Alias": "base", "TemplateType":
                                              "Layout", "HtmlBody": "<p>no slot</p>"}), 1131)
    expect_error(api.post("/templates", json={"Name": "L", "TemplateType": "Layout",
                                              "Subject": "s", "HtmlBody": LAYOUT_HTML}), 1123)
    layout = _create(api, Name="L", Alias="base", TemplateType="layout", HtmlBody=LAYOUT_HTML,
                     TextBody="-- {{{ @content }}} --")
    assert layout["TemplateType"] == "Layout"
    expect_error(api.post("/templates", json={"Name": "S", "Subject": "s", "TextBody": "t",
                                              "LayoutTemplate": "missing"}), 1101)
    standard = _create(api, Name="S", Subject="s", HtmlBody="<b>x</b>", LayoutTemplate="base")
    expect_error(api.post("/templates", json={"Name": "S2", "Subject": "s", "TextBody": "t",
                                              "LayoutTemplate": standard["Alias"] or "x"}),
                 1101)  # names no Layout
    expect_error(api.put(f"/templates/{standard['TemplateId']}",
                         json={"TemplateType": "Layout"}), 1123)
    expect_error(api.get("/templates", params={"TemplateType": "Fancy"}), 1100)
    expect_error(api.delete("/templates/base"), 1130)  # in use
    listed = api.get("/templates", params={"LayoutTemplate": "base"}).json()
    assert listed["TotalCount"] == 1
    assert listed["Templates"][0]["TemplateId"] == standard["TemplateId"]
    assert api.get("/templates", params={"TemplateType": "Layout"}).json()["TotalCount"] == 1
    assert api.get("/templates", params={"TemplateType": "All"}).json()["TotalCount"] == 2
    page = api.get("/templates", params={"Count": 1, "Offset": 1}).json()
    assert page["TotalCount"] == 2 and len(page["Templates"]) == 1
    assert set(page["Templates"][0]) == SUMMARY_KEYS
    api.put(f"/templates/{standard['TemplateId']}", json={"LayoutTemplate": ""})
    assert api.delete("/templates/base").status_code == 200


def test_validate(server: InProcessServer) -> None:
    api = server.api()
    _create(api, Name="L", Alias="base", TemplateType="Layout", HtmlBody=LAYOUT_HTML)
    r = api.post("/templates/validate", json={
        "Subject": "Hi {{name}}", "HtmlBody": "<p>{{name}} &amp; {{ product.title }}</p>",
        "TextBody": "{{name}}", "TestRenderModel": {"name": "<Ann>"},
        "LayoutTemplate": "base"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["AllContentIsValid"] is True
    assert body["Subject"] == {"ContentIsValid": True, "ValidationErrors": [],
                               "RenderedContent": "Hi <Ann>"}
    assert body["HtmlBody"]["RenderedContent"] == \
        "<html><body><p>&lt;Ann&gt; &amp; </p></body></html>"
    assert body["TextBody"]["RenderedContent"] == "<Ann>"
    assert set(body["SuggestedTemplateModel"]) == {"name", "product"}
    styled = {"HtmlBody": "<html><head><style>p { color: red }</style></head>"
                          "<body><p>{{x}}</p></body></html>", "TestRenderModel": {"x": "y"}}
    inlined = api.post("/templates/validate", json=styled).json()["HtmlBody"]["RenderedContent"]
    assert '<p style="color: red;">y</p>' in inlined and "<style>" not in inlined
    kept = api.post("/templates/validate",
                    json={**styled, "InlineCssForHtmlTestRender": False}).json()
    assert "<style>" in kept["HtmlBody"]["RenderedContent"]
    bad = api.post("/templates/validate", json={"Subject": "ok",
                                                "HtmlBody": "line\n{{#each x}}"}).json()
    assert bad["AllContentIsValid"] is False and bad["Subject"]["ContentIsValid"] is True
    errors = bad["HtmlBody"]["ValidationErrors"]
    assert errors and set(errors[0]) == {"Message", "Line", "CharacterPosition"}
    assert errors[0]["Line"] == 2


def test_push_by_alias_dry_run_then_performed(server: InProcessServer) -> None:
    api = server.api()
    account = server.api(account=True)
    other = create_server(account, Name="Destination")
    _create(api, Name="L", Alias="base", TemplateType="Layout", HtmlBody=LAYOUT_HTML)
    _create(api, Name="S", Alias="welcome", Subject="s", TextBody="t", LayoutTemplate="base")
    _create(api, Name="No alias", Subject="s", TextBody="t")
    request = {"SourceServerID": server.server_id, "DestinationServerID": other["ID"],
               "PerformChanges": False}
    dry = account.put("/templates/push", json=request).json()
    assert dry["TotalCount"] == 2
    assert {t["Action"] for t in dry["Templates"]} == {"Create"}
    assert {t["Alias"] for t in dry["Templates"]} == {"base", "welcome"}
    dest = server.api(token=other["ApiTokens"][0])
    assert dest.get("/templates").json()["TotalCount"] == 0
    done = account.put("/templates/push", json={**request, "PerformChanges": True}).json()
    assert {t["Action"] for t in done["Templates"]} == {"Create"}
    assert dest.get("/templates").json()["TotalCount"] == 2
    assert dest.get("/templates/welcome").json()["LayoutTemplate"] == "base"
    api.put("/templates/welcome", json={"TextBody": "changed"})
    again = account.put("/templates/push", json={**request, "PerformChanges": True}).json()
    assert {t["Action"] for t in again["Templates"]} == {"Edit"}
    assert dest.get("/templates/welcome").json()["TextBody"] == "changed"
    expect_error(account.put("/templates/push", json={**request, "SourceServerID": 999999}),
                 601)
    expect_error(api.put("/templates/push", json=request), 10, status=401)
    empty = create_server(account, Name="Empty source")
    expect_error(account.put("/templates/push", json={**request, "SourceServerID": empty["ID"]}),
                 1124)
    source = server.api(token=other["ApiTokens"][0])
    source.delete("/templates/welcome")
    source.post("/templates", json={"Name": "W", "Alias": "welcome", "TemplateType": "Layout",
                                    "HtmlBody": LAYOUT_HTML})
    expect_error(account.put("/templates/push", json=request), 1125)


def test_template_limit(server: InProcessServer) -> None:
    api = server.api()
    for n in range(300):
        _create(api, Name=f"T{n}", Subject="s", TextBody="t")
    expect_error(api.post("/templates", json={"Name": "one more", "Subject": "s",
                                              "TextBody": "t"}), 1105)


def test_a_huge_offset_is_refused_or_empty_never_a_500(server: InProcessServer) -> None:
    """Found by schemathesis: an Offset past 64 bits overflowed the database's integer."""
    api = server.api()
    r = api.get("/templates", params={"Count": 10, "Offset": 10**22})
    assert r.status_code == 422 and r.json()["ErrorCode"] != 0, r.text
    r = api.get("/templates", params={"Count": 10, "Offset": 2**63 - 1})
    assert r.status_code == 200 and r.json()["Templates"] == [], r.text
