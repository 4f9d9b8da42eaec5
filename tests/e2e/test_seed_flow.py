"""The seed's testing procedure, literally: suppress via the API, send via smtplib, receive
the SMTP API Error bounce at a real webhook receiver, see it in GET /bounces, reactivate
via suppressions/delete, send again, and get no bounce."""

from __future__ import annotations

from email.message import EmailMessage

from tests.support.harness import RunningServer, WebhookReceiver, smtp_send, wait_until

SUPPRESSED = "test@example.com"


def test_seed_procedure(server: RunningServer, receiver: WebhookReceiver) -> None:
    api = server.api()
    account = server.api(account=True)

    # Configure: enable SMTP API Error hooks with the account token (as the seed shows).
    r = account.put(f"/servers/{server.server_id}", json={"EnableSmtpApiErrorHooks": True})
    assert r.status_code == 200, r.text
    assert r.json()["EnableSmtpApiErrorHooks"] is True
    r = api.post("/webhooks", json={"Url": receiver.url, "MessageStream": "outbound",
                                    "Triggers": {"Bounce": {"Enabled": True}}})
    assert r.status_code == 200, r.text

    # 1. Suppress a recipient.
    r = api.post("/message-streams/outbound/suppressions",
                 json={"Suppressions": [{"EmailAddress": SUPPRESSED}]})
    assert r.status_code == 200
    assert r.json() == {"Suppressions": [{"EmailAddress": SUPPRESSED, "Status": "Suppressed",
                                          "Message": None}]}

    # 2. Transmit a message to it over SMTP: accepted with 250.
    msg = EmailMessage()
    msg["From"] = "sender@example.com"
    msg["To"] = SUPPRESSED
    msg["Subject"] = "Seed test"
    msg.set_content("Hello")
    code, message_id = smtp_send(server, msg, [SUPPRESSED])
    assert code == 250
    assert len(message_id) == 36

    # 3. Observe the rejection at the webhook...
    bodies = wait_until(receiver.bodies, message="bounce webhook")
    assert len(bodies) == 1
    hook = bodies[0]
    assert hook["RecordType"] == "Bounce"
    assert hook["Type"] == "InternalError"
    assert hook["TypeCode"] == 4003
    assert hook["Name"] == "SMTP API Error"
    assert hook["Description"] == "Recipient is on the suppression list"
    assert hook["MessageID"] == message_id
    assert hook["Email"] == SUPPRESSED
    assert hook["From"] == "sender@example.com"
    assert hook["BouncedAt"].endswith("Z")
    assert hook["MessageStream"] == "outbound"
    assert hook["ServerID"] == server.server_id
    assert "ManualSuppression" in hook["Details"]
    assert hook["Subject"] == "Seed test"
    assert hook["Inactive"] is True and hook["CanActivate"] is True
    assert "Content" not in hook  # IncludeContent was not asked for

    # ... and in the Bounce API.
    listing = api.get("/bounces", params={"count": 10, "offset": 0}).json()
    assert listing["TotalCount"] == 1
    assert listing["Bounces"][0]["ID"] == hook["ID"]
    assert listing["Bounces"][0]["TypeCode"] == 4003

    # The message is not delivered: its Status is Postmark's Blocked (every recipient
    # suppressed: domain/outcomes.py), and its details show the bounce event.
    details = api.get(f"/messages/outbound/{message_id}/details").json()
    assert details["Status"] == "Blocked"
    assert [e["Type"] for e in details["MessageEvents"]] == ["Bounced"]

    # Reactivate via suppressions/delete.
    r = api.post("/message-streams/outbound/suppressions/delete",
                 json={"Suppressions": [{"EmailAddress": SUPPRESSED}]})
    assert r.json()["Suppressions"][0]["Status"] == "Deleted"
    assert api.get("/message-streams/outbound/suppressions/dump").json() == {"Suppressions": []}

    # Send again: delivered (Sandbox keeps it), no new bounce, no new webhook.
    code, second_id = smtp_send(server, msg, [SUPPRESSED])
    assert code == 250
    wait_until(lambda: api.get(f"/messages/outbound/{second_id}/details").json()["Status"]
               == "Sent", message="second message delivered to the sandbox")
    assert api.get("/bounces", params={"count": 10, "offset": 0}).json()["TotalCount"] == 1
    assert len(receiver.bodies()) == 1
