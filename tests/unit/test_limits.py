"""domain.limits: the field rules both front doors apply (SMTP and the REST API)."""

from __future__ import annotations

from postlane.domain import limits


def test_track_links_any_case_stored_as_postmark_spells_it() -> None:
    assert [limits.track_links(v) for v in ("htmlandtext", "HTMLONLY", " TextOnly ", "none")
            ] == ["HtmlAndText", "HtmlOnly", "TextOnly", "None"]
    assert limits.track_links("Sometimes") is None
    assert limits.track_links("") is None
    assert limits.track_links_choices() == "None, HtmlAndText, HtmlOnly, TextOnly"


def test_header_switch() -> None:
    assert limits.header_switch("true") and limits.header_switch(" TRUE ")
    assert not any(limits.header_switch(v) for v in ("", "false", "yes", "1"))


def test_too_long_names_the_first_field_over_its_column() -> None:
    assert limits.too_long(From="a" * 1000, Subject="s" * 2000) is None
    assert limits.too_long(From="f", Subject="s" * 2001, Tag="t" * 1001) == (
        "Subject is longer than 2000 characters.")


def test_nul() -> None:
    assert limits.holds_nul({"Metadata": {"k": ["a", "b\0"]}})
    assert limits.holds_nul({"k\0": 1})
    assert not limits.holds_nul({"Subject": "fine", "Count": 3, "Flag": None})
    assert limits.without_nul("a\0b") == "a\ufffdb"
