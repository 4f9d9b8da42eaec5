"""How Mustachio sees a model value: truthy or not, printable or not, and its escaping.

The model is JSON (dict, list, str, bool, int, float, None), as Postmark receives it.

- Truthy (ContextObject.Exists): not None, not false, not 0 or 0.0, not "", and not an
  empty collection (a dict counts: an empty object is falsy). Everything else is truthy.
- Printed (ContextObject.ToString): strings, booleans and numbers only; an object or a
  list prints nothing. .NET spells booleans ``True`` / ``False`` and doubles in its own
  shortest round-trip form (``1E+16``, ``1E-05``, ``0.5``), reproduced here.
- Escaped (HttpUtility.HtmlEncode, i.e. WebUtility.HtmlEncode): ``< > " ' &`` become
  ``&lt; &gt; &quot; &#39; &amp;``, U+00A0..U+00FF and every character beyond U+FFFF a
  decimal reference (``&#233;``, ``&#128512;``); a lone surrogate becomes U+FFFD.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

_ENTITIES = {"<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "&": "&amp;"}
_NEEDS_ENCODING = re.compile("[<>\"'&\u00a0-\u00ff\ud800-\udfff\U00010000-\U0010ffff]")


def exists(value: object) -> bool:
    """Mustachio's truthiness (ContextObject.Exists)."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, (Mapping, list, tuple)):
        return len(value) > 0
    return True


def to_text(value: object) -> str:
    """What Mustachio prints for a value (ContextObject.ToString)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_double(value)
    return ""


def format_double(value: float) -> str:
    """``double.ToString()`` of .NET Core 3.0 and later (shortest round-trip digits).

    Scientific notation when the decimal exponent is below -5 or not below
    max(15, number of digits); exponents have a sign and at least two digits.
    """
    if 1e-4 <= abs(value) < 1e15:  # fixed notation in both: repr's digits, no ".0"
        text = repr(value)
        return text.removesuffix(".0")
    return _format_double(value)


def _format_double(value: float) -> str:
    """format_double by its rules, for any value."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, scale = _shortest_digits(abs(value))
    if digits == "0":
        return sign + "0"
    if scale > max(len(digits), 15) or scale < -3:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exponent = scale - 1
        return f"{sign}{mantissa}E{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
    if scale <= 0:
        return f"{sign}0.{'0' * -scale}{digits}"
    if scale >= len(digits):
        return sign + digits + "0" * (scale - len(digits))
    return f"{sign}{digits[:scale]}.{digits[scale:]}"


def _shortest_digits(value: float) -> tuple[str, int]:
    """Significant digits of repr(value) (shortest round-trip) and the position of the
    decimal point relative to them (.NET's ``number.Scale``)."""
    mantissa, _, exp = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    leading = len(whole + fraction) - len(digits)
    scale = len(whole) - leading + (int(exp) if exp else 0)
    digits = digits.rstrip("0")
    return (digits, scale) if digits else ("0", 0)


def html_encode(text: str) -> str:
    """HttpUtility.HtmlEncode as .NET Core implements it."""
    if _NEEDS_ENCODING.search(text) is None:
        return text
    return _NEEDS_ENCODING.sub(_encode_char, text)


def _encode_char(match: re.Match[str]) -> str:
    char = match.group(0)
    entity = _ENTITIES.get(char)
    if entity is not None:
        return entity
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return f"&#{code};"
