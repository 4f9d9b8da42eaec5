"""A message's Postmark ``Status`` from the states of its recipients: the one place that
maps Postlane's per-recipient bookkeeping onto Postmark's per-message vocabulary.

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

from postlane.domain.types import RecipientStatus


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
