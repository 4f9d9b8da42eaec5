"""Opens and clicks: what the public /track endpoints record, and the Messages API's
searches of them.

A token that does not verify, or names a message or recipient that is gone (deleted, or
past retention), records nothing and its endpoint answers 404; a click redirects only to
the link read back from the stored message (domain.tracking.links), never to anything
the URL carries.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

from postlane.domain import payloads, rendering, tracking, tracking_urls
from postlane.domain.errors import Entity, NotFound
from postlane.domain.records import Click, Message, Open, Recipient, Server
from postlane.domain.tracking_urls import Kind
from postlane.domain.types import EventType, WebhookTrigger
from postlane.pipeline import notify
from postlane.services.user_agents import read
from postlane.store import Transaction, messages, servers
from postlane.store import tracking as store
from postlane.store.schema import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Visit:
    """Who fetched a tracking URL: the request's User-Agent and client address."""

    user_agent: str
    ip: str


@dataclass(frozen=True)
class _Found:
    message: Message
    recipient: Recipient
    server: Server


def _find(conn: Transaction, key: bytes, text: str, kind: Kind
          ) -> tuple[tracking_urls.Token, _Found] | None:
    token = tracking_urls.verify(key, text)
    if token is None or token.kind is not kind:
        return None
    message = messages.get(conn, None, token.message_id)
    recipient = store.recipient(conn, token.recipient_id)
    if message is None or recipient is None or recipient.message_id != message.id:
        return None
    server = servers.get(conn, message.server_id)
    if server is None:
        return None
    return token, _Found(message, recipient, server)


def _reader_row(found: _Found, visit: Visit) -> dict[str, Any]:
    reader = read(visit.user_agent)
    return {"server_id": found.server.id, "message_id": found.message.id,
            "recipient_id": found.recipient.id, "recipient": found.recipient.address,
            "user_agent": visit.user_agent[:2000], "client": reader.client, "os": reader.os,
            "platform": reader.platform, "ip": visit.ip[:64], "received_at": utcnow()}


def _shown(found: _Found, row: dict[str, Any]) -> dict[str, Any]:
    """The stored row with its message's fields, as a record reads it back."""
    message = found.message
    return {**row, "stream": message.stream, "tag": message.tag,
            "metadata": message.metadata or {}}


def opened(conn: Transaction, key: bytes, text: str, visit: Visit) -> bool:
    """Record an open for the token ``text``; False when it names nothing."""
    hit = _find(conn, key, text, Kind.OPEN)
    if hit is None:
        return False
    _, found = hit
    row = _reader_row(found, visit)
    row["first_open"] = not store.opened_before(conn, found.message.id, found.recipient.id)
    row["id"] = store.add_open(conn, row)
    record = Open(**_shown(found, row))
    messages.add_event(conn, found.message.id, found.recipient.address, EventType.OPENED,
                       {"Summary": f"Email opened with {record.client['Name']}"},
                       record.received_at)
    notify.enqueue_many(conn, [notify.Notice(
        found.server, found.message.stream, WebhookTrigger.OPEN, "Open",
        functools.partial(_open_payload, record), first_open=record.first_open)])
    return True


def clicked(conn: Transaction, key: bytes, text: str, visit: Visit) -> str | None:
    """Record a click for the token ``text`` and return the link it stands for; None
    when it names nothing."""
    hit = _find(conn, key, text, Kind.CLICK)
    if hit is None:
        return None
    token, found = hit
    found_links = _links(found.message)
    if token.link >= len(found_links):
        return None
    link = found_links[token.link]
    row = _reader_row(found, visit)
    row.update(original_link=link.url, click_location=link.location.value)
    row["id"] = store.add_click(conn, row)
    record = Click(**_shown(found, row))
    messages.add_event(conn, found.message.id, found.recipient.address,
                       EventType.LINK_CLICKED,
                       {"Summary": f"Link clicked with {record.client['Name']}",
                        "Link": link.url, "ClickLocation": link.location.value},
                       record.received_at)
    notify.enqueue(conn, found.server, found.message.stream, WebhookTrigger.CLICK, "Click",
                   functools.partial(_click_payload, record))
    return link.url


def _links(message: Message) -> list[tracking.Link]:
    """The message's links as deliver numbered them; none when it cannot be read (a
    message deliver could not rewrite went out untracked)."""
    try:
        return tracking.links(rendering.raw(message))
    except Exception:
        log.exception("links of message %s could not be read", message.id)
        return []


def _open_payload(record: Open, _include_content: bool) -> dict[str, Any]:
    return payloads.open_record(record)


def _click_payload(record: Click, _include_content: bool) -> dict[str, Any]:
    return payloads.click_record(record)


def search_opens(conn: Transaction, server_id: int, count: int, offset: int,
                 filters: dict[str, Any]) -> dict[str, Any]:
    page = store.search_opens(conn, server_id, count=count, offset=offset, **filters)
    return {"TotalCount": page.total, "Opens": [payloads.open_record(o) for o in page.items]}


def search_clicks(conn: Transaction, server_id: int, count: int, offset: int,
                  filters: dict[str, Any]) -> dict[str, Any]:
    page = store.search_clicks(conn, server_id, count=count, offset=offset, **filters)
    return {"TotalCount": page.total,
            "Clicks": [payloads.click_record(c) for c in page.items]}


def of_message(conn: Transaction, server_id: int, message_id: str) -> None:
    """Refuse a message the server does not have, as the other message routes do."""
    if messages.get(conn, server_id, message_id) is None:
        raise NotFound(Entity.MESSAGE, message_id)
