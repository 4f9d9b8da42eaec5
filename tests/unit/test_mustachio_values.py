"""Values as .NET prints and escapes them (HttpUtility.HtmlEncode, double.ToString())."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postlane.domain.mustachio import values
from postlane.domain.mustachio.values import exists, format_double, html_encode, to_text


@pytest.mark.parametrize(("text", "encoded"), [
    ("<>\"'&", "&lt;&gt;&quot;&#39;&amp;"),
    ("café", "caf&#233;"),
    ("\xa0\xff", "&#160;&#255;"),
    ("\x9f\u0100€", "\x9f\u0100€"),
    ("😀", "&#128512;"),
    ("a\ud800b", "a\ufffdb"),
    ("/=`", "/=`"),
    ("plain", "plain"),
])
def test_html_encode(text: str, encoded: str) -> None:
    assert html_encode(text) == encoded


@pytest.mark.parametrize(("value", "printed"), [
    (0.0, "0"), (-0.0, "-0"), (1.0, "1"), (-60.0, "-60"), (0.1, "0.1"), (2.5e-5, "2.5E-05"),
    (0.0001, "0.0001"), (1e14, "100000000000000"), (1e15, "1E+15"),
    (1234567890123456.8, "1234567890123456.8"), (1.2345678901234568e20, "1.2345678901234568E+20"),
    (5e-324, "5E-324"), (1.7976931348623157e308, "1.7976931348623157E+308"),
    (float("nan"), "NaN"), (float("inf"), "Infinity"),
])
def test_doubles_print_as_dotnet_prints_them(value: float, printed: str) -> None:
    assert format_double(value) == printed


def test_only_scalars_print() -> None:
    assert [to_text(v) for v in ("s", True, False, 7, 0.5, None, [1], {"a": 1})] == [
        "s", "True", "False", "7", "0.5", "", "", ""]


def test_truthiness() -> None:
    assert [exists(v) for v in (None, False, 0, 0.0, "", [], {}, ())] == [False] * 8
    assert all(exists(v) for v in (True, 1, 0.1, "x", [0], {"a": None}, object()))


@given(st.floats(allow_nan=True, allow_infinity=True)
       | st.floats(min_value=1e-5, max_value=1e16)
       | st.floats(min_value=-1e16, max_value=-1e-5))
def test_format_double_shortcut_agrees_with_the_rules(value: float) -> None:
    """The repr shortcut for the fixed-notation range gives what the rules give."""
    assert values.format_double(value) == values._format_double(value)
