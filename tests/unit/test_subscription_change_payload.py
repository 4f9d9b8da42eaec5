"""The SubscriptionChange webhook's payload (domain.payloads.subscription_change): Postmark's
keys, SuppressSending from the direction of the change, no reason on a removal, and the
causing message's ID, Tag and Metadata only when there is one."""

from __future__ import annotations

from datetime import UTC, datetime

from postlane.domain import payloads
from postlane.domain.records import SubscriptionChange
from postlane.domain.types import SuppressionOrigin, SuppressionReason

KEYS = {"RecordType", "MessageID", "ServerID", "MessageStream", "ChangedAt", "Recipient",
        "Origin", "SuppressSending", "SuppressionReason", "Tag", "Metadata"}
WHEN = datetime(2020, 2, 1, 10, 53, 34, 416071, tzinfo=UTC)


def change(**fields: object) -> SubscriptionChange:
    values: dict[str, object] = {
        "server_id": 23, "stream": "outbound", "email": "bounced-address@example.com",
        "origin": SuppressionOrigin.RECIPIENT, "reason": SuppressionReason.HARD_BOUNCE,
        "changed_at": WHEN, "message_id": "883953f4-6105-42a2-a16a-77a8eac79483",
        "tag": "my-tag", "metadata": {"example": "value"}}
    values.update(fields)
    return SubscriptionChange(**values)  # type: ignore[arg-type]


def test_a_hard_bounce_suppression() -> None:
    assert payloads.subscription_change(change()) == {
        "RecordType": "SubscriptionChange",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "ServerID": 23,
        "MessageStream": "outbound", "ChangedAt": "2020-02-01T10:53:34Z",
        "Recipient": "bounced-address@example.com", "Origin": "Recipient",
        "SuppressSending": True, "SuppressionReason": "HardBounce", "Tag": "my-tag",
        "Metadata": {"example": "value"}}


def test_a_customer_reactivation() -> None:
    payload = payloads.subscription_change(change(
        origin=SuppressionOrigin.CUSTOMER, reason=None, message_id=None, tag=None,
        metadata=None), include_content=True)
    assert set(payload) == KEYS
    assert (payload["Origin"], payload["SuppressSending"], payload["SuppressionReason"],
            payload["MessageID"], payload["Tag"], payload["Metadata"]) == (
        "Customer", False, None, None, None, {})
    assert type(payload["Origin"]) is str
