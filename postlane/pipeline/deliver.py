"""Delivery of screened recipients.

Sandbox servers keep the message for viewing and deliver nothing. Live delivery
(smarthost relay, direct MX) is a transport of its own; until one is configured a Live
server's messages wait in the queue with a visible error rather than being dropped.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from postlane.domain.types import DeliveryType, EventType, RecipientStatus
from postlane.store import jobs, messages, servers


class NoTransport(Exception):
    """A Live server has no outbound transport configured."""


def run(conn: Connection, job: jobs.Job) -> None:
    message = messages.get(conn, None, job.ref)
    server = servers.get(conn, message["server_id"]) if message else None
    if message is None or server is None:
        jobs.complete(conn, job)
        return
    pending = messages.recipients_of(conn, message["id"], RecipientStatus.QUEUED)
    if DeliveryType(server["delivery_type"]) is not DeliveryType.SANDBOX:
        raise NoTransport("Live delivery needs an outbound transport (relay or MX); "
                          "none is configured, the message stays queued")
    messages.set_recipient_status(conn, [r["id"] for r in pending], RecipientStatus.SENT)
    for recipient in pending:
        messages.add_event(conn, message["id"], recipient["address"], EventType.DELIVERED, {
            "DeliveryMessage": "Sandbox server: message stored, not sent.",
            "DestinationServer": "sandbox", "DestinationIP": "",
        })
    jobs.complete(conn, job)
