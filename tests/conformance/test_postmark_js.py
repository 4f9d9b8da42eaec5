"""postmark.js (Postmark's official Node.js SDK, tests/node) against a real Postlane, over
every endpoint Postlane routes that the SDK has a method for. tests/node/drive.js runs one
scenario of SDK calls and prints what each promise resolved to; each value is held to the
response type postmark.js declares for that call (its .d.ts files, read by
tests/support/ts_types.py: every required member present, JSON types as declared), then to
the values the scenario expects.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_servers import create_server
from tests.support.node import SDK_MODELS, drive, node_executable
from tests.support.sdk_seed import BOUNCED, DELIVERED, Seeded, wait_sent
from tests.support.ts_types import TypeTable

#: Members whose declared type postmark.js gets wrong against Postmark's own answers:
#: TotalCount of messages is a number there, and a stream's ID is its string name.
LOOSE = frozenset({("OutboundMessages", "TotalCount"), ("MessageStreamArchiveResponse", "ID")})


@pytest.fixture(scope="module")
def node() -> str:
    return node_executable()


@pytest.fixture(scope="module")
def types(node: str) -> TypeTable:
    return TypeTable(SDK_MODELS)


def run(node: str, types: TypeTable, seeded: Seeded, scenario: str,
        **args: Any) -> dict[str, Any]:
    """The scenario's results, once every call succeeded and matched its declared type."""
    server = seeded.server
    driven = drive(node, server.api_url, server.server_token, server.account_token, scenario,
                   **args)
    assert driven.error is None, driven.error
    for step, value in driven.results.items():
        declared = driven.types[step]
        items = value if declared.endswith("[]") else [value]
        problems = [problem for item in items
                    for problem in types.problems(item, declared.removesuffix("[]"),
                                                  f"{step}", LOOSE)]
        assert problems == [], problems
    return driven.results


def test_types_are_read(types: TypeTable) -> None:
    """The .d.ts reader sees what the checks rely on (a guard against a silent no-op)."""
    required = {m.name for m in types.members("Bounce") if m.required}
    assert {"ID", "Type", "TypeCode", "Email", "BouncedAt", "MessageStream"} <= required
    assert "Tag" not in required
    assert {m.name for m in types.members("Webhook.Triggers")} >= {"Open", "Bounce"}
    assert types.problems({"ErrorCode": 0}, "DefaultResponse") == [
        "$.Message: required by DefaultResponse, missing"]


def test_send(node: str, types: TypeTable, seeded: Seeded) -> None:
    results = run(node, types, seeded, "send", inactive=BOUNCED)
    sent = results["sendEmail"]
    assert sent["ErrorCode"] == 0 and sent["Message"] == "OK" and sent["To"] == "js@example.com"
    # Every item, the refused ones too, held to MessageSendingResponse by run().
    batch = results["sendEmailBatch"]
    assert [s["To"] for s in batch] == ["js1@example.com", "js2@example.com", BOUNCED,
                                        "not-an-address"]
    assert [s["ErrorCode"] for s in batch] == [0, 0, 406, 300]
    assert [s["MessageID"] for s in batch[2:]] == ["", ""]
    wait_sent(seeded.server.api(), sent["MessageID"])


def test_messages(node: str, types: TypeTable, seeded: Seeded) -> None:
    results = run(node, types, seeded, "messages", recipient=DELIVERED,
                  messageId=seeded.delivered_id)
    listed = results["getOutboundMessages"]
    assert listed["TotalCount"] == 1
    assert [m["MessageID"] for m in listed["Messages"]] == [seeded.delivered_id]
    assert listed["Messages"][0]["To"] == [{"Email": DELIVERED, "Name": ""}]
    everything = results["getOutboundMessagesAll"]
    assert everything["TotalCount"] == len(everything["Messages"]) >= 2
    assert {seeded.delivered_id, seeded.bounced_id} <= {
        m["MessageID"] for m in everything["Messages"]}
    details = results["getOutboundMessageDetails"]
    assert details["Status"] == "Sent" and details["Metadata"] == {"order": "42"}
    assert [e["Type"] for e in details["MessageEvents"]] == ["Delivered"]
    assert "Subject: Seeded" in results["getOutboundMessageDump"]["Body"]


def test_bounces(node: str, types: TypeTable, seeded: Seeded) -> None:
    results = run(node, types, seeded, "bounces")
    [bounce] = results["getBounces"]["Bounces"]
    assert bounce["ID"] == seeded.bounce["ID"] and bounce["Email"] == BOUNCED
    assert bounce["RecordType"] == "Bounce" and bounce["Type"] == "SMTPApiError"
    assert [b["ID"] for b in results["getBouncesFiltered"]["Bounces"]] == [bounce["ID"]]
    assert results["getBounce"]["MessageID"] == seeded.bounced_id
    assert isinstance(results["getBounceDump"]["Body"], str)
    stats = results["getDeliveryStatistics"]
    assert {b["Name"]: b["Count"] for b in stats["Bounces"]}["SMTP API Error"] == 1
    activated = results["activateBounce"]
    assert activated["Bounce"]["ID"] == bounce["ID"] and activated["Bounce"]["Inactive"] is False


def test_server(node: str, types: TypeTable, seeded: Seeded) -> None:
    results = run(node, types, seeded, "server")
    assert results["getServer"]["ID"] == seeded.server.server_id
    assert results["getServer"]["DeliveryType"] == "Sandbox"
    assert results["editServer"]["Color"] == "Orange"


def test_streams(node: str, types: TypeTable, seeded: Seeded) -> None:
    results = run(node, types, seeded, "streams")
    assert results["getMessageStreams"]["TotalCount"] == 3
    assert results["getMessageStream"]["MessageStreamType"] == "Transactional"
    created = results["createMessageStream"]
    assert (created["ID"], created["Name"], created["Description"]) == (
        "js-news", "JS News", "From Node")
    assert results["editMessageStream"]["Name"] == "JS Newsletter"
    assert results["archiveMessageStream"]["ID"] == "js-news"
    assert results["archiveMessageStream"]["ExpectedPurgeDate"]
    assert results["unarchiveMessageStream"]["ArchivedAt"] is None


@pytest.mark.parametrize(("scenario", "code", "message"), [
    ("archiveDefault", 1229, "You cannot archive the default transactional and inbound "
     "streams."),
    ("unarchiveActive", 1232, "You cannot unarchive this message stream anymore."),
])
def test_stream_refusals(node: str, seeded: Seeded, scenario: str, code: int,
                         message: str) -> None:
    """Postmark's 12xx code and wording reach postmark.js's error as Postmark sends them."""
    server = seeded.server
    error = drive(node, server.api_url, server.server_token, server.account_token,
                  scenario).error
    assert error is not None
    assert (error["code"], error["statusCode"], error["message"]) == (code, 422, message)


def test_suppressions(node: str, types: TypeTable, seeded: Seeded) -> None:
    results = run(node, types, seeded, "suppressions")
    assert [s["Status"] for s in results["createSuppressions"]["Suppressions"]] == [
        "Suppressed"]
    [entry] = results["getSuppressions"]["Suppressions"]
    assert entry["EmailAddress"] == "js-gone@example.com"
    assert (entry["SuppressionReason"], entry["Origin"]) == ("ManualSuppression", "Customer")
    assert [s["Status"] for s in results["deleteSuppressions"]["Suppressions"]] == ["Deleted"]


def test_webhooks(node: str, types: TypeTable, seeded: Seeded) -> None:
    results = run(node, types, seeded, "webhooks")
    created = results["createWebhook"]
    assert created["Triggers"]["Delivery"] == {"Enabled": True}
    assert created["HttpAuth"] == {"Username": "u", "Password": "p"}
    assert [w["ID"] for w in results["getWebhooks"]["Webhooks"]] == [created["ID"]]
    assert results["getWebhook"]["Url"] == "http://127.0.0.1:9/js-hook"
    edited = results["editWebhook"]
    assert edited["Url"] == "http://127.0.0.1:9/js-hook-2"
    assert edited["Triggers"]["Open"]["Enabled"] is True
    assert results["deleteWebhook"]["ErrorCode"] == 0


def test_account_servers(node: str, types: TypeTable, seeded: Seeded) -> None:
    results = run(node, types, seeded, "account")
    listed = results["getServers"]
    assert seeded.server.server_id in [s["ID"] for s in listed["Servers"]]
    created = results["createServer"]
    assert (created["Name"], created["Color"], created["DeliveryType"]) == (
        "From Node", "Blue", "Sandbox")
    assert results["getServer"]["ID"] == created["ID"]
    assert results["editServer"]["Name"] == "From Node 2"
    assert results["deleteServer"]["ErrorCode"] == 0


def test_errors_are_the_sdk_error_classes(node: str, seeded: Seeded) -> None:
    """postmark.js picks its error class from the ErrorCode and HTTP status."""
    server = seeded.server
    r = server.api().post("/message-streams/outbound/suppressions",
                          json={"Suppressions": [{"EmailAddress": "js-inactive@example.com"}]})
    assert r.status_code == 200, r.text
    inactive = drive(node, server.api_url, server.server_token, server.account_token,
                     "inactive", to="js-inactive@example.com").error
    assert inactive is not None
    assert (inactive["name"], inactive["code"], inactive["statusCode"]) == (
        "InactiveRecipientsError", 406, 422)
    bad = drive(node, server.api_url, server.server_token, server.account_token,
                "badToken").error
    assert bad is not None
    assert (bad["name"], bad["code"], bad["statusCode"]) == ("InvalidAPIKeyError", 10, 401)


def test_templates(node: str, types: TypeTable, seeded: Seeded) -> None:
    """createTemplate, validateTemplate, sendEmailWithTemplate, its batch form and
    pushTemplates (account), each answer checked against postmark.js's declared type."""
    destination = create_server(seeded.server.api(account=True), Name="JS template push")
    results = run(node, types, seeded, "templates", source=seeded.server.server_id,
                  destination=destination["ID"])
    assert results["createTemplate"]["LayoutTemplate"] == "js-layout"
    validation = results["validateTemplate"]
    assert validation["AllContentIsValid"] is False
    assert validation["TextBody"]["RenderedContent"] == "Ann"
    assert validation["HtmlBody"]["ValidationErrors"][0]["Line"] == 1
    sent = results["sendEmailWithTemplate"]
    assert sent["ErrorCode"] == 0 and sent["To"] == "js-template@example.com"
    details = seeded.server.api().get(
        f"/messages/outbound/{sent['MessageID']}/details").json()
    assert details["Subject"] == "Hi Ann" and "<p>Hello Ann</p>" in details["HtmlBody"]
    assert [(m["ErrorCode"], m["To"]) for m in results["sendEmailBatchWithTemplates"]] == [
        (0, "js-t1@example.com"), (0, "js-t2@example.com")]
    pushed = {(t["Action"], t["Alias"]) for t in results["pushTemplates"]["Templates"]}
    assert {("Create", "js-layout"), ("Create", "js-hello")} <= pushed
