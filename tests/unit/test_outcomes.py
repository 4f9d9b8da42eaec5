"""A message's Postmark Status from its recipients' states, and the search filter's rule
that must agree with it (domain/outcomes.py)."""

from __future__ import annotations

from itertools import combinations

import pytest
from postmark.models.outbound.enums import MessageEventType

from postlane.domain import outcomes
from postlane.domain.outcomes import MessageStatus
from postlane.domain.types import EventType
from postlane.domain.types import RecipientStatus as R

#: Every set of recipient states a message can be in (the empty one included).
ALL_SETS = [frozenset(c) for n in range(len(R) + 1) for c in combinations(R, n)]


@pytest.mark.parametrize(("states", "expected"), [
    ([], "Queued"),
    ([R.SENT, R.QUEUED], "Queued"),
    ([R.SENT, R.BOUNCED], "Sent"),
    ([R.BOUNCED], "Sent"),  # a bounce answers a message that was sent: a Bounced event
    ([R.BOUNCED, R.SUPPRESSED], "Sent"),
    ([R.SUPPRESSED], "Blocked"),
    ([R.SUPPRESSED, R.FAILED], "Failed"),
    ([R.FAILED], "Failed"),
])
def test_message_status(states: list[R], expected: str) -> None:
    status = outcomes.message_status(states)
    assert status == expected and status.value == expected


def test_every_status_shown_is_one_of_postmarks() -> None:
    postmark = {"Sent", "Processed", "Queued", "Blocked", "Failed", "Scheduled"}
    assert {s.value for s in MessageStatus} == postmark
    assert {outcomes.message_status(states).value for states in ALL_SETS} <= postmark


@pytest.mark.parametrize("status", list(MessageStatus))
def test_filter_rule_agrees_with_the_status(status: MessageStatus) -> None:
    rule = outcomes.rule(status)
    for states in ALL_SETS:
        matches = (not states and rule.when_empty) or (
            bool(states & rule.any_of) and not states & rule.none_of)
        assert matches == (outcomes.message_status(states) is status), (status, states)


def test_parse_filter() -> None:
    assert outcomes.parse_filter("queued") is MessageStatus.QUEUED
    assert outcomes.parse_filter("Sent") is MessageStatus.SENT
    assert outcomes.parse_filter(" BLOCKED ") is MessageStatus.BLOCKED
    assert outcomes.parse_filter("bounced") is None
    unknown = outcomes.rule(None)
    assert not unknown.any_of and not unknown.when_empty


# --- MessageEvents as the Messages API shows them ------------------------------------------

def test_every_shown_event_type_is_one_postmark_python_accepts() -> None:
    assert {t.value for t in outcomes.PostmarkEventType} == {
        t.value for t in MessageEventType}
    for kind in EventType:
        shown = outcomes.shown_event(kind, {})
        assert shown is None or MessageEventType(shown.type.value)


@pytest.mark.parametrize(("kind", "details", "expected"), [
    (EventType.DELIVERED, {"DeliveryMessage": "250 OK", "DestinationServer": "mx.test",
                           "DestinationIP": "192.0.2.1"},
     ("Delivered", {"DeliveryMessage": "250 OK", "DestinationServer": "mx.test",
                    "DestinationIP": "192.0.2.1"})),
    # A retryable failure: its SMTP answer (stored as Summary) is the DeliveryMessage.
    (EventType.TRANSIENT, {"Summary": "Temporary failure, will retry: 451 later",
                           "DestinationServer": "mx.test"},
     ("Transient", {"DeliveryMessage": "Temporary failure, will retry: 451 later",
                    "DestinationServer": "mx.test", "DestinationIP": ""})),
    # Every bounce (permanent failure, SMTP API Error of a suppressed recipient, report):
    # Postmark's Summary and BounceID, Postlane's own keys left for the dashboard.
    (EventType.BOUNCED, {"Summary": "550 unknown", "BounceID": 7, "Type": "HardBounce",
                         "SuppressionReason": "ManualSuppression"},
     ("Bounced", {"Summary": "550 unknown", "BounceID": "7"})),
    # Tracking: postmark.js's OpenEvent and ClickEvent details.
    (EventType.OPENED, {"Summary": "Email opened with Chrome 1"},
     ("Opened", {"Summary": "Email opened with Chrome 1"})),
    (EventType.LINK_CLICKED, {"Summary": "Link clicked with Chrome 1",
                              "Link": "https://example.com/", "ClickLocation": "HTML"},
     ("LinkClicked", {"Summary": "Link clicked with Chrome 1", "Link": "https://example.com/",
                      "ClickLocation": "HTML"})),
])
def test_shown_event_has_postmarks_type_and_details(
        kind: EventType, details: dict[str, object],
        expected: tuple[str, dict[str, str]]) -> None:
    shown = outcomes.shown_event(kind, details)
    assert shown is not None and (shown.type.value, shown.details) == expected


@pytest.mark.parametrize("kind", [EventType.RECEIVED, EventType.SUPPRESSED, EventType.FAILED,
                                  EventType.WEBHOOK_FAILED])
def test_postlanes_own_events_are_not_shown(kind: EventType) -> None:
    """No Postmark equivalent: a silent suppression, a step that gave up, a webhook POST
    that failed (Postmark keeps webhook deliveries out of message events)."""
    assert outcomes.shown_event(kind, {"Summary": "x"}) is None
