"""domain.limits: the field rules both front doors apply (SMTP and the REST API)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postlane.domain import limits, mime


def test_track_links_any_case_stored_as_postmark_spells_it() -> None:
    assert [limits.track_links(v) for v in ("htmlandtext", "HTMLONLY", " TextOnly ", "none")
            ] == ["HtmlAndText", "HtmlOnly", "TextOnly", "None"]
    assert limits.track_links("Sometimes") is None
    assert limits.track_links("") is None
    assert limits.track_links_choices() == "None, HtmlAndText, HtmlOnly, TextOnly"


def test_track_links_as_given_keeps_the_case() -> None:
    assert [limits.track_links_as_given(v) for v in ("htmlandtext", " HTMLONLY ", "None")
            ] == ["htmlandtext", "HTMLONLY", "None"]
    assert limits.track_links_as_given("Sometimes") is None
    assert limits.track_links_as_given("") is None
    assert limits.TRACK_LINKS_INVALID == (
        "The value for 'TrackLinks' is not valid. Valid options are: null, 'None', "
        "'HtmlAndText', 'HtmlOnly', 'TextOnly'")


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


def test_json_walks_are_iterative() -> None:
    """Issue 12: the NUL scan recursed, so a body nested 1000 deep was a RecursionError."""
    deep: object = "x\0"
    for _ in range(100_000):
        deep = [deep]
    assert limits.holds_nul(deep) and limits.nesting_depth(deep) == 100_001
    assert limits.nesting_depth("s") == 1 and limits.nesting_depth([]) == 1
    assert limits.nesting_depth({"k": [1, {"a": 2}]}) == 4


def test_counts_bodies_and_metadata() -> None:
    assert limits.too_many(Headers=100, Attachments=100, Metadata=10) is None
    assert limits.too_many(Headers=100, Attachments=101) == (
        "Attachments can have at most 100 entries; 101 were given.")
    assert limits.too_large(TextBody="t" * limits.MAX_BODY_BYTES, HtmlBody=None) is None
    # UTF-8 bytes count, not characters: 5 MB of text in two-byte letters is too large.
    assert limits.too_large(HtmlBody="\u00e9" * (limits.MAX_BODY_BYTES // 2 + 1)) == (
        "HtmlBody is larger than 5 MB.")
    assert limits.metadata_problem({f"k{i}": "v" * 80 for i in range(10)}) is None
    assert "20" in (limits.metadata_problem({"n" * 21: "v"}) or "")
    assert "80" in (limits.metadata_problem({"k": "v" * 81}) or "")
    assert limits.metadata_problem({"Color": "1", "color": "2"}) == (
        "Metadata field names differ only in letter case: 'Color' and 'color'.")


def test_compose_refuses_more_parts_than_the_limits() -> None:
    def compose(n_headers: int, n_attachments: int) -> bytes:
        return mime.compose(
            from_field="a@example.com", to_field="b@example.com", cc_field="", reply_to="",
            subject="s", text_body="t", html_body=None,
            headers=[{"Name": f"X-{i}", "Value": "v"} for i in range(n_headers)],
            attachments=[{"Name": f"{i}.txt", "ContentType": "text/plain", "Data": b"x"}
                         for i in range(n_attachments)], message_id="m", domain="example.com")

    assert compose(limits.MAX_HEADERS, limits.MAX_ATTACHMENTS).count(b"X-99: v") == 1
    for args in ((limits.MAX_HEADERS + 1, 0), (0, limits.MAX_ATTACHMENTS + 1)):
        with pytest.raises(ValueError, match="at most 100"):
            compose(*args)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=3), inner, max_size=4), max_leaves=30)


@given(_JSON)
def test_nesting_depth_counts_every_node(value: object) -> None:
    """The walk over containers only gives the depth of the deepest node of any kind."""
    assert limits.nesting_depth(value) == max(depth for _, depth in limits._nodes(value))
