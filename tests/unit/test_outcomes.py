"""A message's Postmark Status from its recipients' states, and the search filter's rule
that must agree with it (domain/outcomes.py)."""

from __future__ import annotations

from itertools import combinations

import pytest

from postlane.domain import outcomes
from postlane.domain.outcomes import MessageStatus
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
