"""addresses.parse_list answers a plain bare address without the email package's parser:
for every such address the answer is the one the parser gives (a property test), and
anything else still goes to the parser."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from postlane.domain import addresses

ATOM = st.from_regex(r"[A-Za-z0-9_+\-]{1,8}", fullmatch=True)
LABEL = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,6}[A-Za-z0-9])?", fullmatch=True)


@settings(max_examples=500)
@given(st.lists(ATOM, min_size=1, max_size=4), st.lists(LABEL, min_size=1, max_size=4))
def test_a_plain_address_is_answered_as_the_parser_does(local: list[str],
                                                         domain: list[str]) -> None:
    value = ".".join(local) + "@" + ".".join(domain)
    assert addresses._PLAIN_RE.fullmatch(value)
    assert addresses.parse_list(value) == addresses._parsed(value) == [("", value)]


def test_anything_else_is_parsed() -> None:
    assert addresses.parse_list("Ann <ann@example.com>") == [("Ann", "ann@example.com")]
    assert addresses.parse_list(" a@example.com , b@example.com") == [
        ("", "a@example.com"), ("", "b@example.com")]
    for bad in ("a..b@example.com", ".a@example.com", "a@-x.com", "a@x.com\n"):
        try:
            got = addresses.parse_list(bad)
        except ValueError:
            continue
        assert got == addresses._parsed(bad)
