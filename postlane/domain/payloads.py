"""JSON payload builders: one per record type, used by the API, webhooks and dashboard alike.

Inputs are the store's records (:mod:`postlane.domain.records`); outputs carry Postmark's
exact PascalCase keys, with enums as their plain string values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from postlane.domain import addresses, outcomes, rendering
from postlane.domain.records import (
    Bounce,
    Click,
    Engagement,
    Message,
    MessageEvent,
    Open,
    Server,
    Stream,
    SubscriptionChange,
    Suppression,
    Webhook,
    WebhookDelivery,
)
from postlane.domain.types import RecipientStatus

#: An archived message stream is purged this long after it was archived.
STREAM_PURGE_AFTER = timedelta(days=45)


def stream_purge_date(archived_at: datetime) -> datetime:
    """When an archived stream is due for purging (its ExpectedPurgeDate): until then it
    can be unarchived."""
    return archived_at + STREAM_PURGE_AFTER


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, the form every Postmark SDK parses."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bounce(row: Bounce, include_content: bool = True) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "RecordType": "SpamComplaint" if row.bounce_type == "SpamComplaint" else "Bounce",
        "ID": row.id,
        "Type": row.bounce_type,
        "TypeCode": row.type_code,
        "Name": row.name,
        "Tag": row.tag,
        "MessageID": row.message_id,
        "ServerID": row.server_id,
        "MessageStream": row.stream,
        "Description": row.description,
        "Details": row.details,
        "Email": row.email,
        "From": row.from_field,
        "BouncedAt": iso(row.bounced_at),
        "DumpAvailable": row.dump_available,
        "Inactive": row.inactive,
        "CanActivate": row.can_activate,
        "Subject": row.subject,
        "Metadata": row.metadata or {},
    }
    if include_content:
        payload["Content"] = row.content or ""
    return payload


def delivery(message: Message, recipient: str, delivered_at: datetime,
             details: str) -> dict[str, Any]:
    """The Delivery webhook's payload."""
    return {
        "RecordType": "Delivery",
        "ServerID": message.server_id,
        "MessageStream": message.stream,
        "MessageID": message.id,
        "Recipient": recipient,
        "Tag": message.tag,
        "DeliveredAt": iso(delivered_at),
        "Details": details,
        "Metadata": message.metadata or {},
    }


def _geo(ip: str) -> dict[str, str]:
    """Postmark's Geo block: Postlane has no location database, so only the IP is known."""
    return {"CountryISOCode": "", "Country": "", "RegionISOCode": "", "Region": "",
            "City": "", "Zip": "", "Coords": "", "IP": ip}


def _engagement(row: Engagement) -> dict[str, Any]:
    return {
        "Client": dict(row.client), "OS": dict(row.os), "Platform": row.platform,
        "UserAgent": row.user_agent, "Geo": _geo(row.ip), "MessageID": row.message_id,
        "MessageStream": row.stream, "ReceivedAt": iso(row.received_at), "Tag": row.tag,
        "Recipient": row.recipient, "Metadata": row.metadata or {},
    }


def open_record(row: Open) -> dict[str, Any]:
    """Postmark's Open record: the Open webhook's payload and an entry of the opens
    search. ReadSeconds is 0: a pixel fetch tells when a message was opened, not how long
    it was read."""
    return {"RecordType": "Open", "FirstOpen": row.first_open, **_engagement(row),
            "ReadSeconds": 0}


def click_record(row: Click) -> dict[str, Any]:
    """Postmark's Click record: the Click webhook's payload and an entry of the clicks
    search."""
    return {"RecordType": "Click", "ClickLocation": row.click_location,
            "OriginalLink": row.original_link, **_engagement(row)}


def subscription_change(row: SubscriptionChange, include_content: bool = False) -> dict[str, Any]:
    """The SubscriptionChange webhook's payload (the trigger has no content to include).
    SuppressSending says which way it went; a removal has no SuppressionReason."""
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": row.message_id,
        "ServerID": row.server_id,
        "MessageStream": row.stream,
        "ChangedAt": iso(row.changed_at),
        "Recipient": row.email,
        "Origin": row.origin.value,
        "SuppressSending": row.reason is not None,
        "SuppressionReason": row.reason.value if row.reason is not None else None,
        "Tag": row.tag,
        "Metadata": row.metadata or {},
    }


def suppression(row: Suppression) -> dict[str, Any]:
    return {
        "EmailAddress": row.email,
        "SuppressionReason": row.reason.value,
        "Origin": row.origin.value,
        "CreatedAt": iso(row.created_at),
    }


def server(row: Server, tokens: Sequence[str], api_url: str) -> dict[str, Any]:
    return {
        "ID": row.id,
        "Name": row.name,
        "ApiTokens": list(tokens),
        "Color": row.color,
        "SmtpApiActivated": row.smtp_api_activated,
        "RawEmailEnabled": row.raw_email_enabled,
        "DeliveryType": row.delivery_type.value,
        "ServerLink": f"{api_url}/dashboard/servers/{row.id}",
        "InboundAddress": f"{row.inbound_hash}@inbound.postlane.local",
        "InboundHookUrl": row.inbound_hook_url,
        "BounceHookUrl": row.bounce_hook_url,
        "OpenHookUrl": row.open_hook_url,
        "DeliveryHookUrl": row.delivery_hook_url,
        "ClickHookUrl": row.click_hook_url,
        "PostFirstOpenOnly": row.post_first_open_only,
        "InboundDomain": row.inbound_domain,
        "InboundHash": row.inbound_hash,
        "InboundSpamThreshold": row.inbound_spam_threshold,
        "TrackOpens": row.track_opens,
        "TrackLinks": row.track_links,
        "IncludeBounceContentInHook": row.include_bounce_content_in_hook,
        "EnableSmtpApiErrorHooks": row.enable_smtp_api_error_hooks,
    }


def message_stream(row: Stream) -> dict[str, Any]:
    return {
        "ID": row.id,
        "ServerID": row.server_id,
        "Name": row.name,
        "Description": row.description,
        "MessageStreamType": row.stream_type.value,
        "CreatedAt": iso(row.created_at),
        "UpdatedAt": iso(row.updated_at),
        "ArchivedAt": iso(row.archived_at),
        "ExpectedPurgeDate": (iso(stream_purge_date(row.archived_at))
                              if row.archived_at else None),
        "SubscriptionManagementConfiguration": {
            "UnsubscribeHandlingType": row.unsubscribe_handling,
        },
    }


def webhook(row: Webhook) -> dict[str, Any]:
    auth = row.http_auth
    return {
        "ID": row.id,
        "Url": row.url,
        "MessageStream": row.stream,
        "HttpAuth": ({"Username": auth.get("Username", ""), "Password": auth.get("Password", "")}
                     if auth else None),
        "HttpHeaders": list(row.http_headers or []),
        "Triggers": row.triggers,
    }


def webhook_delivery(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "ID": row.id,
        "WebhookID": row.webhook_id,
        "Url": row.url,
        "RecordType": row.record_type,
        "State": row.state.value,
        "Attempts": row.attempts,
        "LastStatusCode": row.last_status,
        "LastError": row.last_error,
        "CreatedAt": iso(row.created_at),
        "DeliveredAt": iso(row.delivered_at),
    }


def _people(field: str) -> list[dict[str, str]]:
    try:
        return [{"Email": addr, "Name": name} for name, addr in addresses.parse_list(field)]
    except ValueError:
        return [{"Email": field, "Name": ""}] if field else []


def message_summary(row: Message, recipient_statuses: Iterable[RecipientStatus],
                    recipient_addresses: Sequence[str]) -> dict[str, Any]:
    return {
        "Tag": row.tag,
        "MessageID": row.id,
        "MessageStream": row.stream,
        "To": _people(row.to_field),
        "Cc": _people(row.cc_field),
        "Bcc": _people(row.bcc_field),
        "Recipients": list(recipient_addresses),
        "ReceivedAt": iso(row.received_at),
        "From": row.from_field,
        "Subject": row.subject,
        "Attachments": [a.get("Name", "") for a in row.attachments or []],
        "Status": outcomes.message_status(recipient_statuses).value,
        "TrackOpens": row.track_opens,
        "TrackLinks": row.track_links,
        "Metadata": row.metadata or {},
        "Sandboxed": row.sandboxed,
    }


def message_event(row: MessageEvent) -> dict[str, Any] | None:
    """The event as the Messages API shows it (Postmark's type and Details keys, by
    domain.outcomes); None when Postmark has no such event."""
    shown = outcomes.shown_event(row.event_type, row.details or {})
    if shown is None:
        return None
    return {"Recipient": row.recipient, "Type": shown.type.value,
            "ReceivedAt": iso(row.occurred_at), "Details": shown.details}


def history_event(row: MessageEvent) -> dict[str, Any]:
    """The event as Postlane stored it, for the dashboard's timeline: every kind (its own
    too) with all its details."""
    return {"Recipient": row.recipient, "Type": row.event_type.value,
            "ReceivedAt": iso(row.occurred_at), "Details": row.details or {}}


def message_details(row: Message, recipient_statuses: Iterable[RecipientStatus],
                    recipient_addresses: Sequence[str], events: Iterable[MessageEvent],
                    *, history: bool = False) -> dict[str, Any]:
    """Postmark's message details; with ``history``, the events as Postlane keeps them
    (the dashboard) instead of as the Messages API shows them."""
    details = message_summary(row, recipient_statuses, recipient_addresses)
    shown = ([history_event(e) for e in events] if history
             else [event for e in events if (event := message_event(e)) is not None])
    details.update({
        "TextBody": row.text_body or "",
        "HtmlBody": row.html_body or "",
        "Body": rendering.raw(row).decode("utf-8", "replace"),
        "MessageEvents": shown,
    })
    return details
