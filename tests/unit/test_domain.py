"""The pure core: bounce-type table, suppression rules, retry schedules, addresses, payload
builders and MIME composition. No database, no sockets."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import uuid
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage

import pytest

from postlane.domain import addresses, bounce_types, ids, mime, payloads, retry, suppression
from postlane.domain.bounce_types import SmtpApiErrorLabels
from postlane.domain.records import (
    Bounce,
    Message,
    MessageEvent,
    Server,
    Stream,
    Suppression,
    Webhook,
)
from postlane.domain.suppression import Outcome
from postlane.domain.types import (
    DeliveryType,
    EventType,
    RecipientStatus,
    Source,
    StreamType,
    SuppressionOrigin,
    SuppressionReason,
)

# --- bounce types -----------------------------------------------------------------------

#: postmark.js src/client/models/webhooks/enums/BounceTypeCode.ts (the official SDK's enum).
POSTMARK_BOUNCE_TYPE_CODES = {
    "HardBounce": 1, "Transient": 2, "Unsubscribe": 16, "Subscribe": 32, "AutoResponder": 64,
    "AddressChange": 128, "DnsError": 256, "SpamNotification": 512, "OpenRelayTest": 1024,
    "Unknown": 2048, "SoftBounce": 4096, "VirusNotification": 8192,
    "ChallengeVerification": 16384, "BadEmailAddress": 100000, "SpamComplaint": 100001,
    "ManuallyDeactivated": 100002, "Unconfirmed": 100003, "Blocked": 100006,
    "SMTPApiError": 100007, "InboundError": 100008, "DMARCPolicy": 100009,
    "TemplateRenderingFailed": 100010,
}


def test_table_matches_postmark_sdk_enum() -> None:
    for name, code in POSTMARK_BOUNCE_TYPE_CODES.items():
        found = bounce_types.lookup(name)
        assert found is not None, name
        assert (found.type, found.code) == (name, code)
        assert bounce_types.BY_CODE[code].type == name
    # Exactly the SDK's types plus the seed's InternalError, no strays.
    assert {bt.type for bt in bounce_types.ALL_TYPES} == {*POSTMARK_BOUNCE_TYPE_CODES,
                                                          "InternalError"}


@pytest.mark.parametrize("spelling", ["HardBounce", "hardbounce", "HARDBOUNCE", "hArDbOuNcE"])
def test_lookup_is_case_insensitive(spelling: str) -> None:
    found = bounce_types.lookup(spelling)
    assert found is not None and found.code == 1 and found.type == "HardBounce"


def test_lookup_unknown_is_none() -> None:
    assert bounce_types.lookup("NoSuchType") is None
    assert bounce_types.lookup("") is None


def test_seed_labels_are_the_default() -> None:
    seed = bounce_types.smtp_api_error_type(SmtpApiErrorLabels.SEED)
    assert (seed.type, seed.code, seed.name, seed.description) == (
        "InternalError", 4003, "SMTP API Error", "Recipient is on the suppression list")
    assert bounce_types.lookup("internalerror") == seed
    assert bounce_types.BY_CODE[4003] == seed
    assert SmtpApiErrorLabels("seed") is SmtpApiErrorLabels.SEED


def test_postmark_native_labels() -> None:
    native = bounce_types.smtp_api_error_type(SmtpApiErrorLabels.POSTMARK)
    assert (native.type, native.code, native.name, native.description) == (
        "SMTPApiError", 100007, "SMTP API Error", "Recipient is on the suppression list")
    assert bounce_types.lookup("smtpapierror") == native
    assert SmtpApiErrorLabels("postmark") is SmtpApiErrorLabels.POSTMARK


def test_is_smtp_api_error() -> None:
    assert bounce_types.is_smtp_api_error("InternalError")
    assert bounce_types.is_smtp_api_error("SMTPApiError")
    assert not bounce_types.is_smtp_api_error("HardBounce")


# --- suppression rules ------------------------------------------------------------------

WHEN = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


def suppressed(email: str = "a@example.com",
               reason: SuppressionReason = SuppressionReason.HARD_BOUNCE,
               origin: SuppressionOrigin = SuppressionOrigin.RECIPIENT) -> Suppression:
    return Suppression(email=email, stream="outbound", reason=reason, origin=origin,
                       server_id=1, created_at=WHEN, id=1)


SUPPRESSED = suppressed()

OUTCOMES = [
    (None, Source.SMTP, True, Outcome.DELIVER),
    (None, Source.SMTP, False, Outcome.DELIVER),
    (None, Source.API, True, Outcome.DELIVER),
    (None, Source.API, False, Outcome.DELIVER),
    (SUPPRESSED, Source.SMTP, True, Outcome.SMTP_API_ERROR),
    (SUPPRESSED, Source.SMTP, False, Outcome.SILENT),
    (SUPPRESSED, Source.API, True, Outcome.REJECT),
    (SUPPRESSED, Source.API, False, Outcome.REJECT),
]


@pytest.mark.parametrize(("found", "source", "hooks", "expected"), OUTCOMES)
def test_outcome(found: Suppression | None, source: Source, hooks: bool,
                 expected: Outcome) -> None:
    assert suppression.outcome(found, source, hooks) is expected


def test_customer_can_delete() -> None:
    assert suppression.customer_can_delete(SuppressionReason.HARD_BOUNCE)
    assert suppression.customer_can_delete(SuppressionReason.MANUAL)
    assert not suppression.customer_can_delete(SuppressionReason.SPAM_COMPLAINT)


@pytest.mark.parametrize("reason", list(SuppressionReason))
def test_smtp_api_error_details_names_the_reason(reason: SuppressionReason) -> None:
    details = suppression.smtp_api_error_details(
        suppressed("who@example.com", reason, SuppressionOrigin.CUSTOMER))
    assert reason.value in details
    assert "who@example.com" in details and "outbound" in details


def test_inactive_recipients_wording() -> None:
    assert suppression.inactive_recipients_message(["a@x", "b@y"]) == (
        "You tried to send to recipient(s) that have been marked as inactive. Found inactive "
        "addresses: a@x, b@y. Inactive recipients are ones that have generated a hard bounce, "
        "a spam complaint, or a manual suppression.")


# --- retry schedules --------------------------------------------------------------------

def test_next_delay_walks_the_schedule() -> None:
    schedule = (10.0, 20.0, 40.0)
    assert retry.next_delay(0, schedule) is None  # nothing has run yet: no retry to plan
    assert [retry.next_delay(n, schedule) for n in (1, 2, 3)] == [10.0, 20.0, 40.0]
    assert retry.next_delay(4, schedule) is None  # exhausted
    assert retry.next_delay(99, schedule) is None
    assert retry.max_attempts(schedule) == 4  # first try plus one per step


def test_next_delay_scale() -> None:
    assert retry.next_delay(1, retry.WEBHOOK_SCHEDULE, scale=0.01) == pytest.approx(0.6)
    assert retry.next_delay(2, retry.DELIVERY_SCHEDULE, scale=2.0) == 600.0
    assert retry.next_delay(len(retry.INTERNAL_SCHEDULE) + 1, retry.INTERNAL_SCHEDULE,
                            scale=0.5) is None


@pytest.mark.parametrize("schedule", [retry.WEBHOOK_SCHEDULE, retry.DELIVERY_SCHEDULE,
                                      retry.INTERNAL_SCHEDULE])
def test_every_schedule_allows_exactly_max_attempts(schedule: tuple[float, ...]) -> None:
    attempts = 1
    while retry.next_delay(attempts, schedule) is not None:
        attempts += 1
    assert attempts == retry.max_attempts(schedule)
    assert list(schedule) == sorted(schedule)  # back-off never shrinks


def test_webhook_schedule_is_postmarks() -> None:
    # 1, 5, 10, 10, 10, 15, 30 minutes, 1, 2, 6 hours.
    assert [s / 60 for s in retry.WEBHOOK_SCHEDULE] == [1, 5, 10, 10, 10, 15, 30, 60, 120, 360]


# --- addresses --------------------------------------------------------------------------

def test_normalize() -> None:
    assert addresses.normalize("  Jane.Doe@Example.COM \t") == "jane.doe@example.com"


@pytest.mark.parametrize("good", ["a@example.com", "first.last+tag@sub.example.co.uk",
                                  "x@y", "o'brien@example.com", " padded@example.com "])
def test_is_valid_accepts(good: str) -> None:
    assert addresses.is_valid(good)


@pytest.mark.parametrize("bad", ["", "plain", "@example.com", "a@", "a b@example.com",
                                 "<a@example.com>", "a@b..com", "a@-b.com", "a@@b.com",
                                 "a\r\n@b.com", "a" * 250 + "@b.com"])
def test_is_valid_rejects(bad: str) -> None:
    assert not addresses.is_valid(bad)


def test_parse_list_display_names_and_quoted_commas() -> None:
    assert addresses.parse_list('"Doe, John" <john@example.com>, jane@example.com, '
                                'Bob Smith <bob@example.com>') == [
        ("Doe, John", "john@example.com"), ("", "jane@example.com"),
        ("Bob Smith", "bob@example.com")]


def test_parse_list_empty() -> None:
    assert addresses.parse_list(None) == []
    assert addresses.parse_list("   ") == []


@pytest.mark.parametrize("field", ["a@example.com\r\nBcc: evil@example.com",
                                   "a@example.com\nb@example.com", "a@example.com\0"])
def test_parse_list_rejects_line_breaks(field: str) -> None:
    with pytest.raises(ValueError, match="line breaks"):
        addresses.parse_list(field)


@pytest.mark.parametrize("field", ["not an address", "a@example.com, garbage",
                                   "Name <not-an-address>", "a@b..com"])
def test_parse_list_rejects_garbage(field: str) -> None:
    with pytest.raises(ValueError, match="Invalid email address"):
        addresses.parse_list(field)


def test_parse_one_and_format() -> None:
    assert addresses.parse_one("Jane <jane@example.com>") == ("Jane", "jane@example.com")
    with pytest.raises(ValueError):
        addresses.parse_one("a@example.com, b@example.com")
    assert addresses.format_address("", "a@example.com") == "a@example.com"
    formatted = addresses.format_address("Doe, Jane", "jane@example.com")
    assert addresses.parse_list(formatted) == [("Doe, Jane", "jane@example.com")]


# --- payload builders: key sets from the official postmark.js models --------------------

#: src/client/models/bounces/Bounce.ts; BounceWebhook.ts adds Metadata.
BOUNCE_KEYS = {"RecordType", "ID", "Type", "TypeCode", "Name", "Tag", "MessageID", "ServerID",
               "Description", "Details", "Email", "From", "BouncedAt", "DumpAvailable",
               "Inactive", "CanActivate", "Subject", "Content", "MessageStream"}
BOUNCE_WEBHOOK_KEYS = BOUNCE_KEYS | {"Metadata"}
#: src/client/models/suppressions/Suppression.ts
SUPPRESSION_KEYS = {"EmailAddress", "SuppressionReason", "Origin", "CreatedAt"}
#: src/client/models/server/Server.ts (postmark 3.x, with DeliveryType)
SERVER_KEYS = {"ID", "Name", "ApiTokens", "ServerLink", "Color", "SmtpApiActivated",
               "RawEmailEnabled", "DeliveryType", "InboundAddress", "InboundHookUrl",
               "BounceHookUrl", "OpenHookUrl", "DeliveryHookUrl", "ClickHookUrl",
               "PostFirstOpenOnly", "InboundDomain", "InboundHash", "InboundSpamThreshold",
               "TrackOpens", "TrackLinks", "IncludeBounceContentInHook",
               "EnableSmtpApiErrorHooks"}
#: src/client/models/streams/MessageStream.ts
STREAM_KEYS = {"ID", "ServerID", "Name", "Description", "MessageStreamType", "CreatedAt",
               "UpdatedAt", "ArchivedAt", "ExpectedPurgeDate",
               "SubscriptionManagementConfiguration"}
#: src/client/models/webhooks/Webhook.ts
WEBHOOK_KEYS = {"ID", "Url", "HttpAuth", "HttpHeaders", "MessageStream", "Triggers"}
#: src/client/models/messages/OutboundMessage.ts; Postmark's API also returns Sandboxed.
MESSAGE_KEYS = {"MessageID", "Tag", "To", "Cc", "Bcc", "Recipients", "ReceivedAt", "From",
                "Subject", "Attachments", "Status", "TrackOpens", "TrackLinks", "Metadata",
                "MessageStream", "Sandboxed"}
DETAILS_KEYS = MESSAGE_KEYS | {"TextBody", "HtmlBody", "Body", "MessageEvents"}
#: src/client/models/messages/OutboundMessageEvents.ts
EVENT_KEYS = {"Recipient", "Type", "ReceivedAt", "Details"}

def bounce_row() -> Bounce:
    return Bounce(id=7, bounce_type="InternalError", type_code=4003, name="SMTP API Error",
                  tag="welcome", message_id="m-1", server_id=3, stream="outbound",
                  recipient_id=None, description="Recipient is on the suppression list",
                  details="HardBounce", email="a@example.com", from_field="s@example.com",
                  bounced_at=WHEN, dump_available=True, inactive=True, can_activate=True,
                  subject="Hi", metadata={}, content=None)


def test_bounce_payload_keys() -> None:
    payload = payloads.bounce(bounce_row())
    assert set(payload) == BOUNCE_WEBHOOK_KEYS
    assert payload["BouncedAt"] == "2024-01-15T10:30:00Z"
    assert payload["Metadata"] == {} and payload["Content"] == ""
    assert payload["RecordType"] == "Bounce"
    assert set(payloads.bounce(bounce_row(), include_content=False)) == \
        BOUNCE_WEBHOOK_KEYS - {"Content"}


def test_suppression_payload_keys() -> None:
    payload = payloads.suppression(suppressed())
    assert set(payload) == SUPPRESSION_KEYS
    assert payload["CreatedAt"] == "2024-01-15T10:30:00Z"
    assert (payload["SuppressionReason"], payload["Origin"]) == ("HardBounce", "Recipient")
    assert type(payload["SuppressionReason"]) is str and type(payload["Origin"]) is str


def test_server_payload_keys() -> None:
    row = Server(id=1, name="Default", color="Blue", smtp_api_activated=True,
                 raw_email_enabled=False, delivery_type=DeliveryType.SANDBOX, inbound_hash="abc",
                 inbound_hook_url="", bounce_hook_url="", open_hook_url="",
                 delivery_hook_url="", click_hook_url="", post_first_open_only=False,
                 inbound_domain="", inbound_spam_threshold=0, track_opens=False,
                 track_links="None", include_bounce_content_in_hook=False,
                 enable_smtp_api_error_hooks=True, created_at=WHEN)
    payload = payloads.server(row, ["tok"], "http://127.0.0.1:1")
    assert set(payload) == SERVER_KEYS
    assert payload["ApiTokens"] == ["tok"] and payload["InboundAddress"].startswith("abc@")
    assert payload["DeliveryType"] == "Sandbox" and type(payload["DeliveryType"]) is str


def test_message_stream_payload_keys() -> None:
    row = Stream(id="outbound", server_id=1, name="Default", description=None,
                 stream_type=StreamType.TRANSACTIONAL, created_at=WHEN, updated_at=None,
                 archived_at=None, unsubscribe_handling="None")
    payload = payloads.message_stream(row)
    assert set(payload) == STREAM_KEYS
    assert payload["MessageStreamType"] == "Transactional"
    assert payload["SubscriptionManagementConfiguration"] == {"UnsubscribeHandlingType": "None"}


def test_webhook_payload_keys() -> None:
    row = Webhook(id=2, server_id=1, url="http://h/x", stream="outbound",
                  http_auth={"Username": "u", "Password": "p"},
                  http_headers=[{"Name": "X-A", "Value": "1"}],
                  triggers={"Bounce": {"Enabled": True, "IncludeContent": False}},
                  created_at=WHEN)
    payload = payloads.webhook(row)
    assert set(payload) == WEBHOOK_KEYS
    assert payload["HttpAuth"] == {"Username": "u", "Password": "p"}
    assert payloads.webhook(dataclasses.replace(row, http_auth=None))["HttpAuth"] is None


def message_row() -> Message:
    return Message(id="m-1", server_id=1, source=Source.API, tag="", stream="outbound",
                   to_field='"Doe, Jane" <jane@example.com>', cc_field="", bcc_field="",
                   reply_to="", received_at=WHEN, from_field="s@example.com", subject="Hi",
                   attachments=[{"Name": "a.txt"}], headers=[], track_opens=False,
                   track_links="None", metadata={"k": "v"}, sandboxed=True, text_body="hello",
                   html_body=None, raw=b"Subject: Hi\r\n\r\nhello", size=22)


def test_message_summary_and_details_keys() -> None:
    summary = payloads.message_summary(message_row(), [RecipientStatus.SENT],
                                       ["jane@example.com"])
    assert set(summary) == MESSAGE_KEYS
    assert summary["To"] == [{"Email": "jane@example.com", "Name": "Doe, Jane"}]
    assert summary["Status"] == "Sent" and summary["Attachments"] == ["a.txt"]
    event = MessageEvent(id=1, message_id="m-1", recipient="jane@example.com",
                         event_type=EventType.DELIVERED, occurred_at=WHEN,
                         details={"DeliveryMessage": "ok"})
    details = payloads.message_details(message_row(), [RecipientStatus.SENT],
                                       ["jane@example.com"], [event])
    assert set(details) == DETAILS_KEYS
    assert [set(e) for e in details["MessageEvents"]] == [EVENT_KEYS]
    assert details["HtmlBody"] == "" and details["Body"].endswith("hello")
    # Postlane's own events: left out of the API's answer, kept in the dashboard's history.
    gave_up = MessageEvent(id=2, message_id="m-1", recipient="jane@example.com",
                           event_type=EventType.WEBHOOK_FAILED, occurred_at=WHEN,
                           details={"Summary": "gave up"})
    both = [event, gave_up]
    shown = payloads.message_details(message_row(), [RecipientStatus.SENT],
                                     ["jane@example.com"], both)
    assert [e["Type"] for e in shown["MessageEvents"]] == ["Delivered"]
    history = payloads.message_details(message_row(), [RecipientStatus.SENT],
                                       ["jane@example.com"], both, history=True)
    assert [e["Type"] for e in history["MessageEvents"]] == ["Delivered", "WebhookFailed"]
    assert history["MessageEvents"][1]["Details"] == {"Summary": "gave up"}


def test_iso_is_utc_with_z() -> None:
    plus_two = datetime(2024, 1, 15, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    assert payloads.iso(plus_two) == "2024-01-15T10:30:00Z"
    assert payloads.iso(None) is None


# --- MIME -------------------------------------------------------------------------------

def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_compose_parses_back_with_attachments() -> None:
    raw = mime.compose(
        from_field="Sender <s@example.com>", to_field='"Doe, Jane" <jane@example.com>',
        cc_field="c@example.com", reply_to="r@example.com", subject="Report ✓",
        text_body="plain body", html_body="<p>html body</p>",
        headers=[{"Name": "X-Custom", "Value": "yes"}],
        attachments=[{"Name": "data.bin", "ContentType": "application/octet-stream",
                      "Data": b"\x00\x01binary\xff"},
                     {"Name": "logo.png", "ContentType": "image/png", "Data": b"\x89PNG..",
                      "ContentID": "logo@cid"}],
        message_id="abc-123", domain="example.com")
    msg = parse(raw)
    assert msg["From"] == "Sender <s@example.com>"
    assert msg["To"].addresses[0].display_name == "Doe, Jane"
    assert msg["Cc"] == "c@example.com" and msg["Reply-To"] == "r@example.com"
    assert msg["Subject"] == "Report ✓"
    assert msg["X-Custom"] == "yes"
    assert "abc-123" in msg["Message-ID"] and msg["Message-ID"].endswith("@example.com>")
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().strip() == "plain body"
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and "<p>html body</p>" in html.get_content()
    found = {part.get_filename(): part for part in msg.walk() if part.get_filename()}
    assert set(found) == {"data.bin", "logo.png"}
    assert [p.get_filename() for p in msg.iter_attachments()] == ["data.bin"]
    assert found["data.bin"].get_payload(decode=True) == b"\x00\x01binary\xff"
    assert found["logo.png"].get_content_type() == "image/png"
    assert found["logo.png"]["Content-ID"] == "<logo@cid>"  # inline, beside the HTML
    assert found["logo.png"].get_content_disposition() == "inline"


def test_compose_html_only_and_no_attachments() -> None:
    raw = mime.compose(from_field="s@example.com", to_field="t@example.com", cc_field="",
                       reply_to="", subject="S", text_body=None, html_body="<b>hi</b>",
                       headers=[], attachments=[], message_id="x", domain="example.com")
    msg = parse(raw)
    assert msg.get_content_type() == "text/html"
    assert "<b>hi</b>" in msg.get_content()
    assert msg["Cc"] is None and list(msg.iter_attachments()) == []


def test_delivered_copies_withhold_bcc_and_control_headers() -> None:
    raw = (b"From: a@example.com\r\nBcc: hidden@example.com,\r\n other@example.com\r\n"
           b"BCC : shout@example.com\r\nX-PM-Tag: t\r\nBcc-Note: kept\r\n"
           b"Subject: s\r\n\r\nBcc: in the body stays\r\n")
    out = mime.for_delivery(raw, "0190-id")
    assert out == (b"From: a@example.com\r\nBcc-Note: kept\r\nSubject: s\r\n"
                   b"X-PM-Message-Id: 0190-id\r\n\r\nBcc: in the body stays\r\n")


def test_message_ids_are_version_7_guids_in_time_order() -> None:
    start = 1_790_000_000_000_000_000  # ns
    made = [ids.message_id(start + step * 1_000_000) for step in range(200)]
    for step, value in enumerate(made):
        parsed = uuid.UUID(value)
        assert str(parsed) == value and parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert parsed.int >> 80 == start // 1_000_000 + step  # milliseconds up front
    assert made == sorted(made)  # one millisecond apart: in order
    assert len({ids.message_id(start) for _ in range(1000)}) == 1000  # random tail
