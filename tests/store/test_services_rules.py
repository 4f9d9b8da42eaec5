"""The rules with one home in services/, on both databases: a stream that can send, the
REST partial-406 rule, and the one reactivation rule."""

from __future__ import annotations

import time

import pytest

from postlane.accept import Submission
from postlane.domain.errors import (
    InactiveRecipients,
    StreamArchived,
    StreamCannotSend,
    StreamNotFound,
    SuppressionFinal,
)
from postlane.domain.types import DeliveryType, Source, SuppressionOrigin, SuppressionReason
from postlane.services import sending, streams, suppressions
from postlane.store import messages, servers
from postlane.store import streams as stream_store
from postlane.store import suppressions as suppression_store
from postlane.store.database import Database
from postlane.store.schema import utcnow


def make_server(db: Database) -> int:
    with db.write() as conn:
        return servers.create(conn, f"rules-{time.monotonic_ns()}")


def suppress(db: Database, server_id: int, email: str, reason: SuppressionReason) -> None:
    with db.write() as conn:
        suppression_store.add(conn, server_id, "outbound", email, reason,
                              SuppressionOrigin.CUSTOMER)


def rest_message(server_id: int, recipients: list[str], stream: str = "outbound"
                 ) -> Submission:
    return Submission(server_id=server_id, delivery_type=DeliveryType.SANDBOX, stream=stream,
                      source=Source.API, from_field="sender@example.com",
                      recipients=recipients, to_field=", ".join(recipients), subject="Rules",
                      raw=b"Subject: Rules\r\n\r\nHello\r\n")


def test_a_stream_must_exist_and_be_able_to_send(db: Database) -> None:
    server_id = make_server(db)
    with db.write() as conn:
        assert streams.require(conn, server_id, "OutBound").id == "outbound"
        assert streams.require_sending(conn, server_id, "outbound").id == "outbound"
        with pytest.raises(StreamNotFound) as missing:
            streams.require(conn, server_id, "nope")
        assert missing.value.stream_id == "nope"
        with pytest.raises(StreamCannotSend):
            streams.require_sending(conn, server_id, "inbound")
        stream_store.set_archived(conn, server_id, "broadcast", utcnow())
        assert streams.require(conn, server_id, "broadcast").archived_at is not None
        with pytest.raises(StreamArchived):
            streams.require_sending(conn, server_id, "broadcast")


def test_rest_send_leaves_out_inactive_recipients(db: Database) -> None:
    server_id = make_server(db)
    suppress(db, server_id, "gone@example.com", SuppressionReason.HARD_BOUNCE)
    with db.write() as conn:
        sent = sending.send(conn, rest_message(server_id, ["Gone@example.com",
                                                           "here@example.com"]))
        stored = [r.address for r in messages.recipients_of(conn, sent.accepted.message_id)]
    assert sent.inactive == ("gone@example.com",)
    assert sent.message == ("Message OK, but will not deliver to these inactive addresses: "
                            "gone@example.com.")
    assert stored == ["here@example.com"]


def test_rest_send_to_only_inactive_recipients_sends_nothing(db: Database) -> None:
    server_id = make_server(db)
    suppress(db, server_id, "gone@example.com", SuppressionReason.MANUAL)
    with db.write() as conn:
        with pytest.raises(InactiveRecipients) as refused:
            sending.send(conn, rest_message(server_id, ["gone@example.com"]))
        assert refused.value.addresses == ("gone@example.com",)
        assert messages.search(conn, server_id, count=10, offset=0).total == 0
        assert sending.send(conn, rest_message(server_id, ["new@example.com"])).message == "OK"


def test_reactivation_never_lifts_a_spam_complaint(db: Database) -> None:
    server_id = make_server(db)
    suppress(db, server_id, "angry@example.com", SuppressionReason.SPAM_COMPLAINT)
    suppress(db, server_id, "bounced@example.com", SuppressionReason.HARD_BOUNCE)
    with db.write() as conn:
        with pytest.raises(SuppressionFinal) as final:
            suppressions.reactivate_address(conn, server_id, "outbound", "angry@example.com")
        assert final.value.email == "angry@example.com"
        suppressions.reactivate_address(conn, server_id, "outbound", "bounced@example.com")
        assert suppression_store.get(conn, server_id, "outbound", "angry@example.com")
        assert suppression_store.get(conn, server_id, "outbound", "bounced@example.com") is None
