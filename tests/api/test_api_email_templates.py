"""POST /email/withTemplate and /email/batchWithTemplates in process, on both databases:
the stored template rendered with TemplateModel inside its Layout, CSS inlined (or not),
the result sent as /email sends it (same rules, same 406), and Postmark's errors for a
missing template, a Layout, a missing model and a model the template cannot render."""

from __future__ import annotations

import email
from email import policy
from typing import Any

import httpx
from postmark.models.outbound import SendResponse

from tests.support.api_servers import expect_error
from tests.support.harness import wait_until
from tests.support.in_process import InProcessServer

LAYOUT = ("<html><head><style>p { color: red }</style></head>"
          "<body>{{{ @content }}}<footer>{{company}}</footer></body></html>")


def _templates(api: httpx.Client) -> dict[str, Any]:
    layout = api.post("/templates", json={"Name": "Base", "Alias": "base",
                                          "TemplateType": "Layout", "HtmlBody": LAYOUT,
                                          "TextBody": "{{{ @content }}}\n-- {{company}}"})
    assert layout.status_code == 200, layout.text
    made = api.post("/templates", json={
        "Name": "Welcome", "Alias": "welcome", "LayoutTemplate": "base",
        "Subject": "Welcome, {{name}}!", "HtmlBody": "<p>Hello {{name}}</p>"
        "{{#each items}}<i>{{title}}</i>{{/each}}",
        "TextBody": "Hello {{name}}"})
    assert made.status_code == 200, made.text
    body: dict[str, Any] = made.json()
    return body


def _send(index: int = 0, **fields: Any) -> dict[str, Any]:
    return {"From": "app@example.com", "To": f"user{index}@example.com",
            "TemplateAlias": "welcome",
            "TemplateModel": {"name": "<Ann>", "company": "Acme",
                              "items": [{"title": "one"}, {"title": "two"}]}, **fields}


def _mime(api: httpx.Client, message_id: str) -> email.message.EmailMessage:
    raw = api.get(f"/messages/outbound/{message_id}/dump").json()["Body"]
    parsed = email.message_from_string(raw, policy=policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_a_template_send_is_rendered_in_its_layout(server: InProcessServer) -> None:
    api = server.api()
    _templates(api)
    r = api.post("/email/withTemplate", json=_send(Tag="welcome", Metadata={"k": "v"}))
    assert r.status_code == 200, r.text
    sent = r.json()
    assert sent["ErrorCode"] == 0 and sent["To"] == "user0@example.com"
    details = api.get(f"/messages/outbound/{sent['MessageID']}/details").json()
    assert details["Subject"] == "Welcome, <Ann>!"  # the subject is not HTML: not escaped
    assert details["Tag"] == "welcome" and details["Metadata"] == {"k": "v"}
    html = details["HtmlBody"]
    assert "<p style=\"color: red;\">Hello &lt;Ann&gt;</p>" in html  # escaped and inlined
    assert "<i>one</i><i>two</i>" in html and "<footer>Acme</footer>" in html
    assert details["TextBody"] == "Hello <Ann>\n-- Acme"
    parsed = _mime(api, sent["MessageID"])
    assert parsed["Subject"] == "Welcome, <Ann>!"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hello <Ann>\n-- Acme"


def test_by_id_and_without_inlining(server: InProcessServer) -> None:
    api = server.api()
    made = _templates(api)
    send = _send(InlineCss=False)
    del send["TemplateAlias"]
    send["TemplateId"] = made["TemplateId"]
    r = api.post("/email/withTemplate", json=send)
    assert r.status_code == 200, r.text
    html = api.get(f"/messages/outbound/{r.json()['MessageID']}/details").json()["HtmlBody"]
    assert "<style>p { color: red }</style>" in html and "<p>Hello &lt;Ann&gt;</p>" in html


def test_template_send_errors(server: InProcessServer) -> None:
    api = server.api()
    _templates(api)
    expect_error(api.post("/email/withTemplate", json=_send(TemplateAlias="nope")), 1101)
    expect_error(api.post("/email/withTemplate", json=_send(TemplateAlias="base")), 1122)
    both = _send(TemplateId=1)
    expect_error(api.post("/email/withTemplate", json=both), 1122)
    missing = _send()
    del missing["TemplateModel"]
    expect_error(api.post("/email/withTemplate", json=missing), 300)
    no_to = _send()
    del no_to["To"]
    expect_error(api.post("/email/withTemplate", json=no_to), 300)
    assert api.get("/messages/outbound", params={"count": 10, "offset": 0}
                   ).json()["TotalCount"] == 0


def test_a_model_the_template_cannot_render_is_accepted_then_bounced(
        server: InProcessServer) -> None:
    """Postmark accepts the send and reports it as a TemplateRenderingFailed bounce: the
    Bounce API, the message's Failed Status and Bounced event, and nothing delivered; in a
    batch only that item fails, and the address stays active."""
    api = server.api()
    _templates(api)
    unrenderable = _send(TemplateModel={"name": "x", "items": "not a list"})
    r = api.post("/email/withTemplate", json=unrenderable)
    assert r.status_code == 200, r.text
    assert SendResponse(**r.json()).error_code == 0
    message_id = r.json()["MessageID"]
    batch = api.post("/email/batchWithTemplates", json={"Messages": [
        _send(1), _send(2, TemplateModel={"items": 7})]})
    assert [item["ErrorCode"] for item in batch.json()] == [0, 0]
    wait_until(lambda: len(api.get("/bounces", params={"count": 10}).json()["Bounces"])
               == 2, message="two TemplateRenderingFailed bounces")
    bounces = api.get("/bounces", params={"count": 10}).json()["Bounces"]
    assert sorted((b["Type"], b["TypeCode"], b["Email"], b["Inactive"]) for b in bounces) == [
        ("TemplateRenderingFailed", 100010, "user0@example.com", False),
        ("TemplateRenderingFailed", 100010, "user2@example.com", False)]
    assert all("cannot be rendered" in b["Details"] for b in bounces)
    details = api.get(f"/messages/outbound/{message_id}/details").json()
    assert details["Status"] == "Failed"
    assert [e["Type"] for e in details["MessageEvents"]] == ["Bounced"]
    wait_until(lambda: api.get(f"/messages/outbound/{batch.json()[0]['MessageID']}"
                               "/details").json()["Status"] == "Sent", message="delivered")
    assert api.get("/message-streams/outbound/suppressions/dump").json() == {
        "Suppressions": []}


def test_a_template_send_to_a_suppressed_recipient_is_406(server: InProcessServer) -> None:
    api = server.api()
    _templates(api)
    r = api.post("/message-streams/outbound/suppressions",
                 json={"Suppressions": [{"EmailAddress": "user0@example.com"}]})
    assert r.status_code == 200, r.text
    expect_error(api.post("/email/withTemplate", json=_send()), 406)


def test_batch_with_templates_answers_each_message(server: InProcessServer) -> None:
    api = server.api()
    _templates(api)
    r = api.post("/email/batchWithTemplates", json={"Messages": [
        _send(0), _send(1, TemplateAlias="nope"), {"To": "x@example.com"}, _send(3)]})
    assert r.status_code == 200, r.text
    results = r.json()
    assert [item["ErrorCode"] for item in results] == [0, 1101, 300, 0]
    assert results[3]["To"] == "user3@example.com"
    # Refused items parse as postmark-python's SendResponse too: To as given, no MessageID.
    parsed = [SendResponse.model_validate(item) for item in results]
    assert [(p.to, p.message_id == "") for p in parsed] == [
        ("user0@example.com", False), ("user1@example.com", True), ("x@example.com", True),
        ("user3@example.com", False)]
    expect_error(api.post("/email/batchWithTemplates", json=[_send()]), 403)
