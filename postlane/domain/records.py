"""Typed records: what the store returns, one frozen dataclass per kind of stored row.

Field names are the stored columns' names, so a record reads like the table it comes
from; values that are one of the domain's vocabularies are its enums (a StrEnum is its
string, so payloads and pages show the same text as before). Layers above the store read
attributes, never column names in strings, and never see the driver's row type.

First what is set up (servers, streams, webhooks), then the mail and what became of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from postlane.domain.types import (
    DeliveryState,
    DeliveryType,
    EventType,
    RecipientStatus,
    ReportState,
    Source,
    StreamType,
    SuppressionOrigin,
    SuppressionReason,
)

T = TypeVar("T")

#: Decoded JSON as stored: what the sender attached, or what a step recorded.
JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a search, and how many matched in all (the APIs' TotalCount)."""

    total: int
    items: list[T]


@dataclass(frozen=True, slots=True, kw_only=True)
class Server:
    """A server and its settings (Postmark's Server API fields, in snake_case)."""

    id: int
    name: str
    color: str
    delivery_type: DeliveryType
    smtp_api_activated: bool
    enable_smtp_api_error_hooks: bool
    raw_email_enabled: bool
    bounce_hook_url: str
    delivery_hook_url: str
    open_hook_url: str
    click_hook_url: str
    inbound_hook_url: str
    post_first_open_only: bool
    track_opens: bool
    #: As the client gave it (any case); limits.track_links() spells it as Postmark does.
    track_links: str
    include_bounce_content_in_hook: bool
    inbound_domain: str
    inbound_hash: str
    inbound_spam_threshold: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a submission is from, as a front door authenticated it: the server it sends
    as, and whether that server delivers (Live) or only keeps mail (Sandbox)."""

    server_id: int
    delivery_type: DeliveryType

    @classmethod
    def of(cls, server: Server) -> Identity:
        return cls(server.id, server.delivery_type)


@dataclass(frozen=True, slots=True, kw_only=True)
class Stream:
    """A message stream of a server; ``id`` is unique within the server only."""

    server_id: int
    id: str
    name: str
    description: str | None
    stream_type: StreamType
    unsubscribe_handling: str
    created_at: datetime
    updated_at: datetime | None
    archived_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Webhook:
    """A webhook configuration: where to POST which records of one stream."""

    id: int
    server_id: int
    url: str
    stream: str
    #: {"Username": ..., "Password": ...}, or None for no HTTP authentication.
    http_auth: dict[str, str] | None
    #: [{"Name": ..., "Value": ...}, ...], sent with every POST.
    http_headers: list[dict[str, str]]
    #: Per trigger name ("Bounce", "Delivery", ...): {"Enabled": ..., "IncludeContent": ...}.
    triggers: dict[str, dict[str, bool]]
    created_at: datetime

    def trigger(self, name: str) -> dict[str, bool]:
        """One trigger's switches; empty when the webhook does not mention it."""
        return (self.triggers or {}).get(name) or {}


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookDelivery:
    """One record queued for one URL, and how its POSTs went (the delivery log)."""

    id: int
    server_id: int
    #: None for a server's legacy hook URL (BounceHookUrl, DeliveryHookUrl).
    webhook_id: int | None
    url: str
    record_type: str
    payload: dict[str, Any]
    http_auth: dict[str, str] | None
    http_headers: list[dict[str, str]]
    state: DeliveryState
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundReport:
    """A bounce or complaint report received on the bounce domain, kept whatever its fate
    (parsing the report itself is :mod:`postlane.domain.reports`)."""

    id: int
    mail_from: str
    rcpt_to: list[str]
    #: The report as received; None where a listing left the bytes out.
    raw: bytes | None
    size: int
    received_at: datetime
    state: ReportState
    #: "dsn" or "arf" once read; None before, or when it could not be parsed.
    kind: str | None
    note: str
    server_id: int | None
    message_id: str | None
    processed_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """An outbound message as accepted: what the sender gave, and how it is tracked."""

    id: str
    server_id: int
    stream: str
    source: Source
    from_field: str
    to_field: str
    cc_field: str
    bcc_field: str
    reply_to: str
    subject: str
    tag: str
    metadata: dict[str, str]
    headers: list[dict[str, str]]
    text_body: str | None
    html_body: str | None
    attachments: list[JsonObject]
    raw: bytes | None
    size: int
    track_opens: bool
    #: As the client gave it (any case); limits.track_links() spells it as Postmark does.
    track_links: str
    sandboxed: bool
    received_at: datetime
    #: Set when its template could not be rendered: screening bounces every recipient
    #: as TemplateRenderingFailed instead of delivering.
    render_error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """One recipient of a message: the unit the pipeline screens, delivers and bounces."""

    id: int
    message_id: str
    server_id: int
    #: Normalised (the suppression key); ``address`` is as the sender wrote it.
    email: str
    address: str
    status: RecipientStatus
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Engagement:
    """An open or a click of a tracked message, with the message's fields that Postmark's
    Open and Click records carry (read with it)."""

    id: int
    server_id: int
    message_id: str
    recipient_id: int
    recipient: str
    user_agent: str
    #: {"Name", "Company", "Family"}, as the User-Agent was read.
    client: dict[str, str]
    os: dict[str, str]
    platform: str
    ip: str
    received_at: datetime
    stream: str
    tag: str
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Open(Engagement):
    first_open: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Click(Engagement):
    original_link: str
    #: "HTML" or "Text" (Postmark's ClickLocation).
    click_location: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEvent:
    """One entry of a message's history (Postmark's MessageEvents)."""

    id: int
    message_id: str
    recipient: str
    event_type: EventType
    details: JsonObject
    occurred_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    """An address on a stream's suppression list, and why it is there."""

    email: str
    stream: str
    reason: SuppressionReason
    origin: SuppressionOrigin
    server_id: int
    created_at: datetime
    id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionChange:
    """An address added to (``reason`` set) or removed from (``reason`` None) a stream's
    suppression list: what the SubscriptionChange webhook announces. ``message_id``,
    ``tag`` and ``metadata`` are the message that caused it, when one did."""

    server_id: int
    stream: str
    email: str
    origin: SuppressionOrigin
    reason: SuppressionReason | None
    changed_at: datetime
    message_id: str | None = None
    tag: str | None = None
    metadata: JsonObject | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewBounce:
    """A bounce about to be stored: everything but the id the store gives it."""

    server_id: int
    stream: str
    message_id: str
    #: The recipient the bounce settled (None for reports about already-sent mail).
    recipient_id: int | None
    #: Postmark's bounce type name (bounce_types.BounceType.type), e.g. "HardBounce".
    bounce_type: str
    type_code: int
    name: str
    description: str
    details: str
    email: str
    from_field: str
    subject: str
    tag: str
    metadata: dict[str, str]
    content: str | None
    dump_available: bool
    inactive: bool
    can_activate: bool
    bounced_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounce(NewBounce):
    """A stored bounce: what the Bounce API lists and the bounce webhook carries."""

    id: int


@dataclass(frozen=True, slots=True)
class BounceCount:
    """How many bounces of one type a server has (the delivery stats)."""

    bounce_type: str
    count: int


@dataclass(frozen=True, slots=True)
class Template:
    """A server's stored template: a Standard one (its LayoutTemplate names a Layout's
    alias) or a Layout (its bodies hold ``{{{ @content }}}``)."""

    id: int
    server_id: int
    name: str
    alias: str | None
    subject: str | None
    html_body: str | None
    text_body: str | None
    #: "Standard" or "Layout", as Postmark spells them.
    template_type: str
    layout_template: str | None
    active: bool
    created_at: datetime
