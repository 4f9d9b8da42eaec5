"""postmark-python (the pydantic-typed SDK) against a real Postlane, over every endpoint
Postlane routes that the SDK has a method for. The SDK parses each answer into its pydantic
models, which reject a missing required field or an unknown enum value: the assertions
below are on those parsed models (values and types), the strictest reading a client gives.

Where a Postlane answer does not satisfy the SDK, the test is marked xfail(strict=True) with
the exact mismatch, so that it fails (and the mark must go) once the answer is fixed.
"""

from __future__ import annotations

import base64
from datetime import datetime

import pytest
from postmark import (
    Attachment,
    Email,
    Header,
    InvalidAPIKeyException,
    PostmarkAPIException,
    sync,
)
from postmark.models.bounces import BounceType
from postmark.models.outbound.enums import MessageEventType, MessageStatus, TrackLinksOption
from postmark.models.servers import DeliveryType, ServerColor
from postmark.models.streams import MessageStreamType, UnsubscribeHandlingType
from postmark.models.suppressions.enums import SuppressionOrigin, SuppressionReason

from tests.support.sdk_seed import BOUNCED, DELIVERED, SENDER, Seeded, wait_sent


def test_send(client: sync.SyncServerClient, seeded: Seeded) -> None:
    sent = client.outbound.send(Email(
        sender=SENDER, to="one@example.com", subject="Hi", text_body="Hello", tag="welcome",
        metadata={"user": "7"}, headers=[Header(name="X-Order", value="9")],
        attachments=[Attachment(name="a.txt", content=base64.b64encode(b"hi").decode(),
                                content_type="text/plain")]))
    assert sent.success and sent.error_code == 0 and sent.message == "OK"
    assert sent.to == "one@example.com"
    assert isinstance(sent.submitted_at, datetime) and sent.submitted_at.tzinfo is not None
    wait_sent(seeded.server.api(), sent.message_id)
    details = client.outbound.get(sent.message_id)
    assert details.attachments == ["a.txt"]
    assert details.tag == "welcome" and details.metadata == {"user": "7"}
    assert details.body and "X-Order: 9" in details.body


def test_track_links_reads_back_as_sent(client: sync.SyncServerClient,
                                        seeded: Seeded) -> None:
    """The SDK sends TrackLinks in its canonical spelling; echoed as given, its strict
    enum reads back what it sent."""
    sent = client.outbound.send(Email(sender=SENDER, to="links@example.com", subject="L",
                                      html_body="<a href='https://example.com'>x</a>",
                                      track_links=TrackLinksOption.HTML_AND_TEXT))
    wait_sent(seeded.server.api(), sent.message_id)
    assert client.outbound.get(sent.message_id).track_links is TrackLinksOption.HTML_AND_TEXT


def test_send_batch(client: sync.SyncServerClient) -> None:
    sent = client.outbound.send_batch([
        {"sender": SENDER, "to": f"batch{n}@example.com", "subject": f"Batch {n}",
         "html_body": "<p>Hello</p>"} for n in range(2)])
    assert [s.to for s in sent] == ["batch0@example.com", "batch1@example.com"]
    assert all(s.success and s.message == "OK" for s in sent)
    assert len({s.message_id for s in sent}) == 2


def test_send_batch_with_refused_items(client: sync.SyncServerClient) -> None:
    """A refused item is answered in its place and parses as a SendResponse like the
    others: a suppressed recipient (406) and an invalid address (300)."""
    sent = client.outbound.send_batch([
        {"sender": SENDER, "to": "batch-ok@example.com", "subject": "OK", "text_body": "x"},
        {"sender": SENDER, "to": BOUNCED, "subject": "Inactive", "text_body": "x"},
        {"sender": SENDER, "to": "not-an-address", "subject": "Invalid", "text_body": "x"}])
    assert [(s.to, s.error_code, s.success) for s in sent] == [
        ("batch-ok@example.com", 0, True), (BOUNCED, 406, False),
        ("not-an-address", 300, False)]
    assert BOUNCED in sent[1].message and sent[1].message_id == ""
    assert all(isinstance(s.submitted_at, datetime) for s in sent)


def test_send_error_is_a_typed_exception(client: sync.SyncServerClient) -> None:
    with pytest.raises(PostmarkAPIException) as raised:
        client.outbound.send({"sender": SENDER, "to": BOUNCED, "subject": "Again",
                              "text_body": "Hello"})
    assert raised.value.error_code == 406
    assert raised.value.http_status == 422


def test_bad_token_is_invalid_api_key(seeded: Seeded) -> None:
    bad = sync.ServerClient("not-a-token", retries=0, base_url=seeded.server.api_url)
    with bad, pytest.raises(InvalidAPIKeyException) as raised:
        bad.server.get()
    assert raised.value.error_code == 10 and raised.value.http_status == 401


def test_outbound_list(client: sync.SyncServerClient, seeded: Seeded) -> None:
    page = client.outbound.list(count=50, offset=0, recipient=DELIVERED)
    assert page.total == 1 and len(page.items) == 1
    message = page.items[0]
    assert message.message_id == seeded.delivered_id
    assert [a.email for a in message.to] == [DELIVERED]
    assert message.recipients == [DELIVERED]
    assert message.sender == SENDER and message.subject == "Seeded" and message.tag == "seed"
    assert message.status is MessageStatus.SENT
    assert message.track_links is TrackLinksOption.NONE and message.track_opens is False
    assert message.metadata == {"order": "42"}
    assert message.message_stream == "outbound"
    assert message.sandboxed is True
    assert isinstance(message.received_at, datetime)


def test_outbound_details_and_dump(client: sync.SyncServerClient, seeded: Seeded) -> None:
    message = client.outbound.get(seeded.delivered_id)
    assert message.message_id == seeded.delivered_id
    assert message.text_body == "Hello"
    assert message.body and "Subject: Seeded" in message.body
    assert [e.type for e in message.message_events] == [MessageEventType.DELIVERED]
    event = message.message_events[0]
    assert event.recipient == DELIVERED and isinstance(event.received_at, datetime)
    dump = client.outbound.get_dump(seeded.delivered_id)
    assert "Subject: Seeded" in dump.body


def test_outbound_details_of_a_bounced_message(client: sync.SyncServerClient,
                                               seeded: Seeded) -> None:
    # Screened out by a suppression: never sent, so Blocked; the bounce is its event.
    message = client.outbound.get(seeded.bounced_id)
    assert message.recipients == [BOUNCED]
    assert message.status is MessageStatus.BLOCKED
    assert message.message_events[0].type is MessageEventType.BOUNCED


def test_outbound_details_with_a_suppressed_recipient(client: sync.SyncServerClient,
                                                      seeded: Seeded) -> None:
    """Sent to a live and a suppressed recipient over the API (Postmark: "Message OK, but
    will not deliver to these inactive addresses"): the suppressed one gets no event
    (Postmark has none for it), the other its Delivered; every event one of the enum's."""
    sent = client.outbound.send({"sender": SENDER, "to": f"mixed@example.com, {BOUNCED}",
                                 "subject": "Mixed", "text_body": "Hello"})
    assert sent.success and BOUNCED in sent.message
    wait_sent(seeded.server.api(), sent.message_id)
    message = client.outbound.get(sent.message_id)
    assert message.status is MessageStatus.SENT
    assert [(e.recipient, e.type) for e in message.message_events] == [
        ("mixed@example.com", MessageEventType.DELIVERED)]


def test_bounces(client: sync.SyncServerClient, seeded: Seeded) -> None:
    page = client.bounces.list(count=50, offset=0)
    assert page.total == 1
    bounce = page.items[0]
    assert bounce.id == seeded.bounce["ID"]
    assert bounce.type is BounceType.SMTP_API_ERROR and bounce.type_code == 100007
    assert bounce.email == BOUNCED and bounce.message_id == seeded.bounced_id
    assert bounce.server_id == seeded.server.server_id
    assert bounce.message_stream == "outbound" and bounce.subject == "Bounced"
    assert isinstance(bounce.bounced_at, datetime)
    filtered = client.bounces.list(count=50, offset=0, type=BounceType.SMTP_API_ERROR,
                                   email_filter="gone", message_stream="outbound")
    assert [b.id for b in filtered.items] == [bounce.id]
    assert client.bounces.list(count=50, offset=0, type=BounceType.HARD_BOUNCE).total == 0
    single = client.bounces.get(bounce.id)
    assert single.id == bounce.id and single.content is not None
    assert isinstance(client.bounces.get_dump(bounce.id).body, str)


def test_delivery_stats(client: sync.SyncServerClient) -> None:
    stats = client.bounces.get_delivery_stats()
    assert stats.inactive_mails >= 0
    by_type = {b.type: b for b in stats.bounces}
    assert by_type["SMTPApiError"].count == 1
    assert by_type["SMTPApiError"].type_code == 100007


def test_server(client: sync.SyncServerClient, seeded: Seeded) -> None:
    server = client.server.get()
    assert server.id == seeded.server.server_id
    assert seeded.server.server_token in server.api_tokens
    assert server.delivery_type is DeliveryType.SANDBOX
    assert server.enable_smtp_api_error_hooks is True
    assert server.inbound_address.endswith(server.inbound_hash + "@" +
                                           server.inbound_address.split("@")[1])
    edited = client.server.edit(color=ServerColor.GREEN)
    assert edited.color is ServerColor.GREEN and edited.name == server.name


def test_message_streams(client: sync.SyncServerClient, seeded: Seeded) -> None:
    page = client.stream.list()
    assert page.total == 3
    assert {(s.id, s.message_stream_type) for s in page.items} == {
        ("outbound", MessageStreamType.TRANSACTIONAL),
        ("broadcast", MessageStreamType.BROADCASTS), ("inbound", MessageStreamType.INBOUND)}
    outbound = client.stream.get("outbound")
    assert outbound.server_id == seeded.server.server_id
    assert isinstance(outbound.created_at, datetime)

    created = client.stream.create("news", "News", MessageStreamType.BROADCASTS,
                                   description="Monthly")
    assert (created.id, created.name, created.description) == ("news", "News", "Monthly")
    assert isinstance(created.subscription_management_configuration.unsubscribe_handling_type,
                      UnsubscribeHandlingType)
    edited = client.stream.edit("news", name="Newsletter")
    assert edited.name == "Newsletter" and edited.description == "Monthly"
    archived = client.stream.archive("news")
    assert archived.id == "news" and isinstance(archived.expected_purge_date, datetime)
    restored = client.stream.unarchive("news")
    assert restored.archived_at is None and restored.name == "Newsletter"
    # Postmark's rules, with its 12xx codes, as the SDK's typed exception.
    refusals = [(lambda: client.stream.archive("outbound"), 1229),
                (lambda: client.stream.unarchive("news"), 1232),
                (lambda: client.stream.get("ghost"), 1226),
                (lambda: client.stream.create("news", "Again",
                                              MessageStreamType.BROADCASTS), 1230),
                (lambda: client.stream.create("pm-x", "Mine",
                                              MessageStreamType.BROADCASTS), 1233)]
    for call, code in refusals:
        with pytest.raises(PostmarkAPIException) as raised:
            call()
        assert (raised.value.error_code, raised.value.http_status) == (code, 422)


def test_suppressions(client: sync.SyncServerClient) -> None:
    created = client.suppressions.create("outbound", ["a@example.com", "b@example.com"])
    assert [(s.email_address, s.status) for s in created] == [
        ("a@example.com", "Suppressed"), ("b@example.com", "Suppressed")]
    dump = client.suppressions.dump("outbound", email_address="a@example.com")
    assert len(dump) == 1
    entry = dump[0]
    assert entry.suppression_reason is SuppressionReason.MANUAL_SUPPRESSION
    assert entry.origin is SuppressionOrigin.CUSTOMER
    assert isinstance(entry.created_at, datetime)
    deleted = client.suppressions.delete("outbound", ["a@example.com", "b@example.com"])
    assert [s.status for s in deleted] == ["Deleted", "Deleted"]


def test_webhooks(client: sync.SyncServerClient) -> None:
    created = client.webhooks.create(
        "http://127.0.0.1:9/hook", message_stream="outbound",
        http_auth={"Username": "u", "Password": "p"},
        http_headers=[{"Name": "X-Check", "Value": "1"}],
        triggers={"Bounce": {"Enabled": True, "IncludeContent": True}})
    assert created.url == "http://127.0.0.1:9/hook" and created.message_stream == "outbound"
    assert created.triggers.bounce.enabled is True
    assert created.triggers.bounce.include_content is True
    assert created.triggers.open.enabled is False
    assert created.http_auth is not None and created.http_auth.username == "u"
    assert [(h.name, h.value) for h in created.http_headers or []] == [("X-Check", "1")]
    assert [w.id for w in client.webhooks.list(message_stream="outbound")] == [created.id]
    assert client.webhooks.get(created.id).url == created.url
    edited = client.webhooks.edit(created.id, triggers={"Open": {"Enabled": True,
                                                                 "PostFirstOpenOnly": True}})
    assert edited.triggers.open.enabled and edited.triggers.open.post_first_open_only
    deleted = client.webhooks.delete(created.id)
    assert deleted.error_code == 0 and deleted.message
    assert client.webhooks.list() == []


def test_activate_bounce(client: sync.SyncServerClient, seeded: Seeded) -> None:
    activated = client.bounces.activate(seeded.bounce["ID"])
    assert activated.message
    assert activated.bounce.id == seeded.bounce["ID"] and activated.bounce.inactive is False


def test_account_servers(account: sync.SyncAccountClient, seeded: Seeded) -> None:
    page = account.server.list(count=50, offset=0)
    assert seeded.server.server_id in [s.id for s in page.items]
    assert page.total == len(page.items)
    created = account.server.create("Staging", color=ServerColor.RED,
                                    delivery_type=DeliveryType.SANDBOX)
    assert created.name == "Staging" and created.color is ServerColor.RED
    assert created.delivery_type is DeliveryType.SANDBOX and len(created.api_tokens) == 1
    assert account.server.get(created.id).inbound_hash == created.inbound_hash
    edited = account.server.edit(created.id, name="Staging 2")
    assert edited.name == "Staging 2"
    deleted = account.server.delete(created.id)
    assert deleted.error_code == 0 and deleted.message


def test_outbound_stream_pages_through_everything(client: sync.SyncServerClient) -> None:
    """The SDK's paging generator (count/offset until a short page) sees every message
    once, two at a time as at once."""
    everything = client.outbound.list(count=500, offset=0, status="sent")
    streamed = client.outbound.stream(batch_size=2, max_messages=1000, status="sent")
    assert len(everything.items) >= 4
    assert [m.message_id for m in streamed] == [m.message_id for m in everything.items]


def test_outbound_list_with_a_bounced_message(client: sync.SyncServerClient,
                                              seeded: Seeded) -> None:
    listed = client.outbound.list(count=500, offset=0)
    by_id = {m.message_id: m.status for m in listed.items}
    assert by_id[seeded.bounced_id] is MessageStatus.BLOCKED
    assert by_id[seeded.delivered_id] is MessageStatus.SENT
