"""Postmark's bounce-testing addresses (domain.bounce_testing) and the one rule of which
bounce types deactivate (bounce_types.deactivation): pure."""

from __future__ import annotations

import pytest

from postlane.domain import bounce_testing, bounce_types
from postlane.domain.bounce_types import BY_TYPE
from postlane.domain.types import SuppressionReason

#: Every type Postmark's Bounce API lists (the seed's InternalError label is none of them).
POSTMARK_TYPES = [t.type for t in bounce_types.ALL_TYPES
                  if t is not bounce_types.SEED_SMTP_API_ERROR]


def address(local: str) -> str:
    return f"{local}@{bounce_testing.DOMAIN}"


@pytest.mark.parametrize("type_name", POSTMARK_TYPES)
def test_each_type_has_its_address_in_any_case(type_name: str) -> None:
    for local in (type_name, type_name.lower(), type_name.upper()):
        assert bounce_testing.bounce_type(address(local)) is BY_TYPE[type_name]


def test_the_table_covers_postmarks_types() -> None:
    assert len(POSTMARK_TYPES) == 22
    assert {"HardBounce", "SoftBounce", "SpamComplaint", "DMARCPolicy",
            "TemplateRenderingFailed", "SMTPApiError"} <= set(POSTMARK_TYPES)


@pytest.mark.parametrize("local", ["Hard_Bounce", "hard-bounce", "hard.bounce", "HARD_bounce"])
def test_separators_are_ignored(local: str) -> None:
    assert bounce_testing.bounce_type(address(local)) is BY_TYPE["HardBounce"]


@pytest.mark.parametrize("local", ["nosuchtype", "test", "internalerror", "hardbounce+1"])
def test_an_unknown_local_part_is_a_hard_bounce(local: str) -> None:
    assert bounce_testing.bounce_type(address(local)) is BY_TYPE["HardBounce"]


@pytest.mark.parametrize("email", [
    "hardbounce@example.com", "hardbounce@postmarkapp.com",
    "hardbounce@sub.bounce-testing.postmarkapp.com", "bounce-testing.postmarkapp.com",
    "hardbounce@bounce-testing.postmarkapp.com.evil.example"])
def test_other_domains_are_delivered_as_usual(email: str) -> None:
    assert bounce_testing.bounce_type(email) is None
    assert not bounce_testing.is_testing(email)


def test_the_domain_is_matched_in_any_case_and_with_a_final_dot() -> None:
    assert bounce_testing.bounce_type("SoftBounce@Bounce-Testing.PostmarkApp.com") \
        is BY_TYPE["SoftBounce"]
    assert bounce_testing.is_testing("x@bounce-testing.postmarkapp.com.")


def test_the_header_wins_over_the_local_part() -> None:
    assert bounce_testing.bounce_type(address("anything"), "Soft_Bounce") \
        is BY_TYPE["SoftBounce"]
    assert bounce_testing.bounce_type(address("blocked"), "spamnotification") \
        is BY_TYPE["SpamNotification"]
    # A header naming no type leaves the choice to the address.
    assert bounce_testing.bounce_type(address("blocked"), "nonsense") is BY_TYPE["Blocked"]
    assert bounce_testing.bounce_type("x@example.com", "HardBounce") is None


def test_header_value_from_rest_headers_and_raw_messages() -> None:
    assert bounce_testing.header_value([{"Name": "X-Other", "Value": "1"},
                                        {"Name": "x-pm-bounce-type", "Value": " Blocked "}]
                                       ) == "Blocked"
    assert bounce_testing.header_value([]) is None
    raw = (b"From: a@example.com\r\nX-PM-Bounce-Type: SoftBounce\r\nSubject: s\r\n\r\n"
           b"X-PM-Bounce-Type: HardBounce\r\n")
    assert bounce_testing.raw_header_value(raw) == "SoftBounce"
    assert bounce_testing.raw_header_value(b"From: a@example.com\n\nbody") is None


def test_details_say_it_was_a_test() -> None:
    text = bounce_testing.details(address("HardBounce"), BY_TYPE["HardBounce"])
    assert "Test bounce" in text and bounce_testing.DOMAIN in text and "HardBounce" in text


@pytest.mark.parametrize(("type_name", "inactive", "can_activate", "suppress"), [
    ("HardBounce", True, True, SuppressionReason.HARD_BOUNCE),
    ("SpamComplaint", True, False, SuppressionReason.SPAM_COMPLAINT),
    ("SoftBounce", False, False, None),
    ("Transient", False, False, None),
    ("Blocked", False, False, None),
])
def test_which_types_deactivate(type_name: str, inactive: bool, can_activate: bool,
                                suppress: SuppressionReason | None) -> None:
    rule = bounce_types.deactivation(BY_TYPE[type_name])
    assert (rule.inactive, rule.can_activate, rule.suppress) == (inactive, can_activate,
                                                                  suppress)
