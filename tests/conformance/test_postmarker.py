"""postmarker (the requests-based Python SDK) against a real Postlane, over every endpoint
Postlane routes that postmarker 1.0 has a method for: sending (keywords, its Email object,
a MIME message, batches), outbound messages, bounces and delivery stats, and /server.
postmarker has no streams, suppressions, webhooks or account-server API.

postmarker builds its models (OutboundMessage, Bounce, Server) from the answer's keys, and
pages with TotalCount: the assertions are on those models' attributes and on what its
paging returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.mime.text import MIMEText

import pytest
from postmarker.core import PostmarkClient
from postmarker.exceptions import ClientError
from postmarker.models.bounces import Bounce
from postmarker.models.messages import OutboundMessage
from postmarker.models.server import Server

from tests.support.sdk_seed import BOUNCED, DELIVERED, SENDER, Seeded, wait_sent


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> Iterator[PostmarkClient]:
    # root_api_url is joined with each endpoint by urljoin: it needs the trailing slash.
    opened = PostmarkClient(server_token=seeded.server.server_token,
                            account_token=seeded.server.account_token,
                            root_api_url=seeded.server.api_url + "/", timeout=30)
    yield opened
    opened.session.close()


def test_send_keywords(client: PostmarkClient, seeded: Seeded) -> None:
    sent = client.emails.send(From=SENDER, To=["k1@example.com", "k2@example.com"],
                              Subject="Keywords", TextBody="Hello", Tag="kw",
                              Headers={"X-Order": "9"}, Metadata={"user": "7"})
    assert sent["ErrorCode"] == 0 and sent["Message"] == "OK"
    assert sent["To"] == "k1@example.com,k2@example.com"
    message = client.messages.outbound.get(sent["MessageID"])
    assert isinstance(message, OutboundMessage)
    assert message.Recipients == ["k1@example.com", "k2@example.com"]
    assert message.Tag == "kw" and message.Metadata == {"user": "7"}
    wait_sent(seeded.server.api(), sent["MessageID"])


def test_send_email_object_and_mime(client: PostmarkClient) -> None:
    email = client.emails.Email(From=SENDER, To="obj@example.com", Subject="Object",
                                HtmlBody="<p>Hello</p>")
    email.attach_binary(b"col1,col2\n", "report.csv")
    sent = email.send()
    assert sent["ErrorCode"] == 0 and sent["To"] == "obj@example.com"
    message = client.messages.outbound.get(sent["MessageID"])
    assert message.HtmlBody == "<p>Hello</p>"
    assert message.Attachments == ["report.csv"]

    mime = MIMEText("Plain body")
    mime["From"], mime["To"], mime["Subject"] = SENDER, "mime@example.com", "From MIME"
    sent = client.emails.send(message=mime)
    assert sent["ErrorCode"] == 0
    assert client.messages.outbound.get(sent["MessageID"]).TextBody == "Plain body"


def test_send_batch(client: PostmarkClient) -> None:
    sent = client.emails.send_batch(
        {"From": SENDER, "To": "b1@example.com", "Subject": "One", "TextBody": "1"},
        client.emails.Email(From=SENDER, To="b2@example.com", Subject="Two", TextBody="2"))
    assert [s["To"] for s in sent] == ["b1@example.com", "b2@example.com"]
    assert [s["ErrorCode"] for s in sent] == [0, 0]


def test_send_batch_with_refused_items(client: PostmarkClient) -> None:
    """postmarker hands back each item as answered: the refused ones in their place, with
    the same keys as the sent one."""
    sent = client.emails.send_batch(
        {"From": SENDER, "To": "b3@example.com", "Subject": "OK", "TextBody": "x"},
        {"From": SENDER, "To": BOUNCED, "Subject": "Inactive", "TextBody": "x"},
        {"From": SENDER, "To": "not-an-address", "Subject": "Invalid", "TextBody": "x"})
    assert [(s["To"], s["ErrorCode"]) for s in sent] == [
        ("b3@example.com", 0), (BOUNCED, 406), ("not-an-address", 300)]
    assert all(set(s) == set(sent[0]) for s in sent)


def test_errors_are_client_errors(client: PostmarkClient, seeded: Seeded) -> None:
    with pytest.raises(ClientError) as raised:
        client.emails.send(From=SENDER, To=BOUNCED, Subject="Again", TextBody="Hello")
    assert raised.value.error_code == 406
    bad = PostmarkClient(server_token="not-a-token", root_api_url=seeded.server.api_url + "/")
    with pytest.raises(ClientError) as raised:
        bad.server.get()
    assert raised.value.error_code == 10


def test_outbound_messages(client: PostmarkClient, seeded: Seeded) -> None:
    found = client.messages.outbound.all(recipient=DELIVERED)
    assert [m.MessageID for m in found] == [seeded.delivered_id]
    message = found[0]
    assert isinstance(message, OutboundMessage)
    assert str(message) == f"Sent message to {DELIVERED}"
    assert message.Subject == "Seeded" and message.Tag == "seed" and message.Sandboxed is True
    details = message.get()
    assert details.MessageID == seeded.delivered_id
    assert [e["Type"] for e in details.MessageEvents] == ["Delivered"]
    assert "Subject: Seeded" in message.get_dump()
    assert "Subject: Seeded" in client.messages.outbound.get_dump(seeded.delivered_id)


def test_outbound_paging(client: PostmarkClient) -> None:
    """postmarker pages by TotalCount: two at a time must still find every message."""
    everything = client.messages.outbound.all()
    paged = client.messages.outbound.all(count=2)
    assert len(paged) == 2
    assert [m.MessageID for m in paged] == [m.MessageID for m in everything[:2]]
    assert len(everything) >= 5


def test_bounces(client: PostmarkClient, seeded: Seeded) -> None:
    found = client.bounces.all()
    assert [b.ID for b in found] == [seeded.bounce["ID"]]
    bounce = found[0]
    assert isinstance(bounce, Bounce)
    assert bounce.Email == BOUNCED and bounce.MessageID == seeded.bounced_id
    assert bounce.Type == "SMTPApiError" and bounce.TypeCode == 100007
    assert [b.ID for b in client.bounces.all(emailFilter="gone", type="SMTPApiError")] == \
        [bounce.ID]
    assert client.bounces.all(type="HardBounce") == []
    assert client.bounces.get(bounce.ID).Subject == "Bounced"
    assert isinstance(bounce.dump, str)
    assert bounce.message.MessageID == seeded.bounced_id


def test_delivery_stats(client: PostmarkClient) -> None:
    stats = client.bounces.deliverystats
    assert isinstance(stats["InactiveMails"], int)
    assert {b["Name"]: b["Count"] for b in stats["Bounces"]}["SMTP API Error"] == 1


def test_server(client: PostmarkClient, seeded: Seeded) -> None:
    server = client.server.get()
    assert isinstance(server, Server)
    assert seeded.server.server_id == server.ID
    assert seeded.server.server_token in server.ApiTokens
    assert server.DeliveryType == "Sandbox"
    server.edit(Color="Purple")
    assert server.Color == "Purple"
    assert client.server.get().Color == "Purple"


def test_activate_bounce(client: PostmarkClient, seeded: Seeded) -> None:
    bounce = client.bounces.get(seeded.bounce["ID"])
    assert bounce.Inactive is True
    assert bounce.activate()
    assert bounce.Inactive is False
