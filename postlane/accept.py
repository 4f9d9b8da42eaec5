"""The single accept step both front doors reach (through services.sending, which checks
the stream first).

A message, one row per recipient and its first pipeline job are written in one
transaction: once this returns, the message is durable and will be screened. The SMTP
listener answers 250 only after it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from postlane import pipeline
from postlane.domain import addresses, ids
from postlane.domain.records import Template
from postlane.domain.types import DeliveryType, JobKind, Source
from postlane.store import Transaction, messages
from postlane.store.schema import utcnow


@dataclass
class Submission:
    """A message as either front door understood it."""

    server_id: int
    delivery_type: DeliveryType
    stream: str
    source: Source
    from_field: str
    recipients: list[str]
    to_field: str = ""
    cc_field: str = ""
    bcc_field: str = ""
    reply_to: str = ""
    subject: str = ""
    tag: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    headers: list[dict[str, str]] = field(default_factory=list)
    text_body: str | None = None
    html_body: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    raw: bytes | None = None
    size: int = 0
    track_opens: bool = False
    track_links: str = "None"
    #: Chosen when the submission is made, outside the accept transaction (ids.py).
    message_id: str = field(default_factory=ids.message_id)
    #: The REST server token it was sent with, when that was taken from a cache: the
    #: accepting transaction checks it again (services.sending.send_many).
    token: str | None = None
    #: A template send whose template could not be rendered with its model: accepted as
    #: Postmark accepts it, then bounced as TemplateRenderingFailed (pipeline.screen).
    render_error: str | None = None
    #: The stored templates it was rendered from, when they were taken from a cache
    #: (services.template_cache): the accepting transaction checks they are still current.
    rendered_from: tuple[Template, ...] = ()


@dataclass(frozen=True)
class Accepted:
    message_id: str
    received_at: datetime


def accept(conn: Transaction, sub: Submission) -> Accepted:
    """Store the message and enqueue its screening, in the caller's transaction."""
    return accept_many(conn, [sub])[0]


def accept_many(conn: Transaction, subs: list[Submission]) -> list[Accepted]:
    """Store several messages with one statement per table (group commit uses this)."""
    now = utcnow()
    accepted = [Accepted(sub.message_id, now) for sub in subs]
    message_rows: list[dict[str, Any]] = []
    recipient_rows: list[dict[str, Any]] = []
    for sub, acc in zip(subs, accepted, strict=True):
        message_rows.append(_message_row(sub, acc))
        unique: dict[str, str] = {}
        for given in sub.recipients:
            unique.setdefault(addresses.normalize(given), given.strip())
        recipient_rows.extend(messages.recipient_row(acc.message_id, sub.server_id, key, given,
                                                     now) for key, given in unique.items())
    messages.insert_many(conn, message_rows, recipient_rows)
    pipeline.enqueue_many(conn, JobKind.SCREEN, [a.message_id for a in accepted])
    return accepted


def _message_row(sub: Submission, acc: Accepted) -> dict[str, Any]:
    return {
        "id": acc.message_id, "server_id": sub.server_id, "stream": sub.stream,
        "source": sub.source.value, "from_field": sub.from_field, "to_field": sub.to_field,
        "cc_field": sub.cc_field, "bcc_field": sub.bcc_field, "reply_to": sub.reply_to,
        "subject": sub.subject, "tag": sub.tag, "metadata": sub.metadata,
        "headers": sub.headers, "text_body": sub.text_body, "html_body": sub.html_body,
        "attachments": sub.attachments, "raw": sub.raw, "size": sub.size,
        "track_opens": sub.track_opens, "track_links": sub.track_links,
        "sandboxed": sub.delivery_type is DeliveryType.SANDBOX, "received_at": acc.received_at,
        "render_error": sub.render_error,
    }
