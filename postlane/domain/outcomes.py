"""A message's Postmark ``Status`` from the states of its recipients, and its history as
Postmark's ``MessageEvents``: the one place that maps Postlane's per-recipient
bookkeeping onto Postmark's vocabulary.

Postmark's outbound message search and details give every message a ``Status`` drawn
from a closed set (postmark-python 0.4.0's ``MessageStatus``: Sent, Processed, Queued,
Blocked, Failed, Scheduled; postmark.js lists queued, sent, processed as the outbound
``status`` filter values, and Postmark's API reference documents the filter as "queued or
sent"). A client that validates the set rejects any other word, so what happened to each
recipient (delivered, bounced, delayed, suppressed) is told by the message's
``MessageEvents`` (Delivered, Bounced, Transient, ...), never by ``Status``.

The meaning given to each value, after Postmark's documentation:

- ``Queued``: accepted, not yet processed for at least one recipient (Postmark's
  "queued"); a message with no recipient rows yet is Queued too.
- ``Sent``: handed off for at least one recipient. A bounce is the receiving side's answer
  to a message Postmark sent, so a Bounced recipient counts as Sent and the bounce shows
  as a ``Bounced`` event. Sandbox servers count as Sent as well: Postmark's sandbox mode
  processes such messages and shows them as delivered (developer/user-guide/sandbox-mode).
- ``Failed``: could not be sent (Postlane ran out of attempts before any recipient was
  handed off).
- ``Blocked``: not sent because every recipient is suppressed (inactive). Postmark uses
  Blocked for messages its rules kept from going out (support article "Inbound message
  statuses": "this message was blocked"); an outbound send screened out by the suppression
  list is the outbound counterpart.
- ``Processed`` and ``Scheduled`` are inbound statuses in Postmark (POSTed to the
  webhook; webhook retry pending): no outbound message of Postlane's has them, and the
  search filter for them matches nothing.

Precedence follows the list above: the first rule some recipient satisfies wins, so the
same table drives both the Status shown and the ``status`` search filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from postlane.domain.types import EventType, RecipientStatus


class MessageStatus(StrEnum):
    """Postmark's message Status values (postmark-python's MessageStatus)."""

    SENT = "Sent"
    PROCESSED = "Processed"
    QUEUED = "Queued"
    BLOCKED = "Blocked"
    FAILED = "Failed"
    SCHEDULED = "Scheduled"


#: In order of precedence: a message takes the first status one of its recipients is in.
_PRECEDENCE: tuple[tuple[MessageStatus, frozenset[RecipientStatus]], ...] = (
    (MessageStatus.QUEUED, frozenset({RecipientStatus.QUEUED})),
    (MessageStatus.SENT, frozenset({RecipientStatus.SENT, RecipientStatus.BOUNCED})),
    (MessageStatus.FAILED, frozenset({RecipientStatus.FAILED})),
    (MessageStatus.BLOCKED, frozenset({RecipientStatus.SUPPRESSED})),
)


@dataclass(frozen=True)
class Rule:
    """When a message has a given Status, in terms of its recipients' states: some
    recipient in ``any_of``, none in ``none_of`` (or no recipients at all, if
    ``when_empty``). An empty ``any_of`` without ``when_empty`` matches nothing."""

    any_of: frozenset[RecipientStatus]
    none_of: frozenset[RecipientStatus]
    when_empty: bool


def message_status(statuses: Iterable[RecipientStatus]) -> MessageStatus:
    """A message's Status from its recipients' states."""
    values = set(statuses)
    for status, states in _PRECEDENCE:
        if values & states:
            return status
    return MessageStatus.QUEUED


def parse_filter(value: str) -> MessageStatus | None:
    """The ``status`` query filter's value, case-insensitively (Postmark documents it in
    lower case); None for a word that is no Status (such a filter matches nothing)."""
    for status in MessageStatus:
        if status.value.lower() == value.strip().lower():
            return status
    return None


def rule(status: MessageStatus | None) -> Rule:
    """The recipient-state condition under which message_status() gives ``status``."""
    earlier: set[RecipientStatus] = set()
    for candidate, states in _PRECEDENCE:
        if candidate is status:
            return Rule(states, frozenset(earlier), candidate is MessageStatus.QUEUED)
        earlier |= states
    return Rule(frozenset(), frozenset(), False)


# --- MessageEvents ------------------------------------------------------------------------
#
# Postlane keeps a richer history than Postmark shows (EventType: a recipient dropped as
# suppressed without a bounce, a step that ran out of attempts, a webhook POST that did),
# and the dashboard shows all of it. The Messages API shows only Postmark's event types
# (postmark-python's MessageEventType: Delivered, Transient, Opened, Bounced,
# SubscriptionChanged, LinkClicked; a client that validates the set rejects any other
# word), each with the Details keys Postmark's message details documentation gives it:
#
# - Delivered and Transient (a retryable failure, retried): DeliveryMessage,
#   DestinationServer, DestinationIP;
# - Bounced (a permanent failure, given up retries, a bounce report, and a suppressed
#   recipient under the SMTP API Error: each has its bounce): Summary, BounceID;
# - Opened (a tracked message's pixel fetched): Summary; LinkClicked: Summary, Link,
#   ClickLocation (postmark.js's OpenEvent and ClickEvent).
#
# What Postmark has no message event for is left out: a suppressed recipient dropped
# without a bounce (Postmark tells the sender in the send's answer, not in the history), a
# step that ran out of attempts (the message's Status says Failed) and a failed webhook
# POST (webhook deliveries are not message events in Postmark).


class PostmarkEventType(StrEnum):
    """Postmark's message event types (postmark-python's MessageEventType)."""

    DELIVERED = "Delivered"
    TRANSIENT = "Transient"
    OPENED = "Opened"
    BOUNCED = "Bounced"
    SUBSCRIPTION_CHANGED = "SubscriptionChanged"
    LINK_CLICKED = "LinkClicked"


_DELIVERY_KEYS = ("DeliveryMessage", "DestinationServer", "DestinationIP")

#: Postlane's event type -> Postmark's, and the Details keys Postmark gives that type.
_SHOWN: dict[EventType, tuple[PostmarkEventType, tuple[str, ...]]] = {
    EventType.DELIVERED: (PostmarkEventType.DELIVERED, _DELIVERY_KEYS),
    EventType.TRANSIENT: (PostmarkEventType.TRANSIENT, _DELIVERY_KEYS),
    EventType.BOUNCED: (PostmarkEventType.BOUNCED, ("Summary", "BounceID")),
    EventType.OPENED: (PostmarkEventType.OPENED, ("Summary",)),
    EventType.LINK_CLICKED: (PostmarkEventType.LINK_CLICKED, ("Summary", "Link", "ClickLocation")),
}

#: Where a Postmark Details key is read from in Postlane's stored details, first found
#: wins: a Transient event keeps its SMTP answer as its Summary.
_SOURCES: dict[str, tuple[str, ...]] = {"DeliveryMessage": ("DeliveryMessage", "Summary")}


@dataclass(frozen=True)
class ShownEvent:
    """A message event as the Messages API shows it."""

    type: PostmarkEventType
    details: dict[str, str]


def shown_event(event_type: EventType, details: dict[str, object]) -> ShownEvent | None:
    """The Postmark event a stored event is shown as, with Postmark's Details keys (each a
    string, as Postmark gives them; "" when Postlane has no value); None when Postmark has
    no such event."""
    shown = _SHOWN.get(event_type)
    if shown is None:
        return None
    kind, keys = shown
    values: dict[str, str] = {}
    for key in keys:
        found = next((details[source] for source in _SOURCES.get(key, (key,))
                      if details.get(source) is not None), "")
        values[key] = str(found)
    return ShownEvent(kind, values)
