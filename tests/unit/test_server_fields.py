"""The server settings' rules (services.servers), shared by the API's request model and
the dashboard's form: canonical values, and every broken rule named with its field."""

from __future__ import annotations

import pytest

from postlane.api.errors import ErrorCode
from postlane.asgi.errors import Answer, answer
from postlane.domain import limits
from postlane.domain.errors import FieldProblem, InvalidFields
from postlane.services.servers import (
    ServerFields,
    validated,
)


def test_values_are_stored_as_given_or_as_postmark_spells_them() -> None:
    """Color and TrackLinks as given (echoed so), DeliveryType canonical."""
    fields = validated(ServerFields(color="purple", delivery_type="sandbox",
                                    track_links="htmlonly", bounce_hook_url="",
                                    inbound_spam_threshold=5, smtp_api_activated=False))
    assert fields.changes() == {"color": "purple", "delivery_type": "Sandbox",
                                "track_links": "htmlonly", "bounce_hook_url": "",
                                "inbound_spam_threshold": 5, "smtp_api_activated": False}
    assert validated(ServerFields()).changes() == {}


def test_every_broken_rule_is_named() -> None:
    with pytest.raises(InvalidFields) as caught:
        validated(ServerFields(name="n" * (limits.SERVER_NAME_LENGTH + 1), color="Magenta",
                               bounce_hook_url="ftp://x/y", delivery_type="Test",
                               track_links="Sometimes", inbound_spam_threshold=-1,
                               inbound_domain="d" * 256,
                               click_hook_url="https://e.com/" + "p" * 2000))
    assert list(caught.value.problems) == [
        FieldProblem("name", "String should have at most 200 characters"),
        FieldProblem("color", "must be one of Purple, Blue, Turquoise, Green, Red, Yellow, "
                              "Grey, Orange"),
        FieldProblem("delivery_type", "must be Live or Sandbox"),
        FieldProblem("bounce_hook_url", "must be an http:// or https:// URL"),
        FieldProblem("click_hook_url", "String should have at most 2000 characters"),
        FieldProblem("inbound_domain", "String should have at most 255 characters"),
        FieldProblem("inbound_spam_threshold", "Input should be greater than or equal to 0"),
        FieldProblem("track_links", "must be one of None, HtmlAndText, HtmlOnly, TextOnly"),
    ]
    assert answer(caught.value) == Answer(422, ErrorCode.INCOMPATIBLE_JSON)
    assert caught.value.message.startswith("Invalid request: name: String should have")


def test_spam_threshold_fits_its_column() -> None:
    assert validated(ServerFields(inbound_spam_threshold=limits.SPAM_THRESHOLD_MAX))
    with pytest.raises(InvalidFields, match="less than or equal to 2147483647"):
        validated(ServerFields(inbound_spam_threshold=limits.SPAM_THRESHOLD_MAX + 1))
