"""Vocabulary shared by every layer: the string values stored and shown by the API."""

from __future__ import annotations

from enum import StrEnum


class SuppressionReason(StrEnum):
    HARD_BOUNCE = "HardBounce"
    SPAM_COMPLAINT = "SpamComplaint"
    MANUAL = "ManualSuppression"


class SuppressionOrigin(StrEnum):
    RECIPIENT = "Recipient"
    CUSTOMER = "Customer"
    ADMIN = "Admin"


class DeliveryType(StrEnum):
    LIVE = "Live"
    SANDBOX = "Sandbox"


class StreamType(StrEnum):
    TRANSACTIONAL = "Transactional"
    BROADCASTS = "Broadcasts"
    INBOUND = "Inbound"


class Source(StrEnum):
    """Which front door a message came through; the suppression outcome depends on it."""

    SMTP = "smtp"
    API = "api"


class RecipientStatus(StrEnum):
    QUEUED = "Queued"
    SENT = "Sent"
    BOUNCED = "Bounced"
    SUPPRESSED = "Suppressed"
    FAILED = "Failed"


class EventType(StrEnum):
    """The kinds of entry in a message's stored history. The Messages API shows them as
    Postmark's event types (domain.outcomes.shown_event; the ones Postmark has no event
    for are left out there), the dashboard shows them all."""

    #: Never written today; kept so a row of an older version still reads.
    RECEIVED = "Received"
    DELIVERED = "Delivered"
    BOUNCED = "Bounced"
    TRANSIENT = "Transient"
    #: A tracked message opened (its pixel fetched) or one of its links clicked.
    OPENED = "Opened"
    LINK_CLICKED = "LinkClicked"
    #: Postlane's own: a suppressed recipient dropped without a bounce.
    SUPPRESSED = "Suppressed"
    #: Postlane's own: a step ran out of attempts and left the recipient Failed.
    FAILED = "Failed"
    #: Postlane's own: a webhook POST about this message ran out of attempts.
    WEBHOOK_FAILED = "WebhookFailed"


class JobKind(StrEnum):
    SCREEN = "screen"
    DELIVER = "deliver"
    NOTIFY = "notify"
    DSN = "dsn"


class JobState(StrEnum):
    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"


class ReportState(StrEnum):
    """What became of a bounce or complaint report received on the bounce domain."""

    QUEUED = "queued"
    PROCESSED = "processed"
    UNMATCHED = "unmatched"
    FAILED = "failed"


class DeliveryState(StrEnum):
    """Where one webhook delivery stands (the delivery log's State)."""

    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    FAILED = "failed"
    #: Its webhook was deleted (or the server's hook URL cleared) before it got through.
    CANCELLED = "cancelled"


class WebhookTrigger(StrEnum):
    OPEN = "Open"
    CLICK = "Click"
    DELIVERY = "Delivery"
    BOUNCE = "Bounce"
    SPAM_COMPLAINT = "SpamComplaint"
    SUBSCRIPTION_CHANGE = "SubscriptionChange"


DEFAULT_STREAMS: tuple[tuple[str, str, StreamType], ...] = (
    ("outbound", "Default Transactional Stream", StreamType.TRANSACTIONAL),
    ("broadcast", "Default Broadcast Stream", StreamType.BROADCASTS),
    ("inbound", "Default Inbound Stream", StreamType.INBOUND),
)
