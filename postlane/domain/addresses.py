"""Address parsing and normalisation, so suppression keys match however an app spells them."""

from __future__ import annotations

import re
import unicodedata
from email.headerregistry import Address
from email.utils import getaddresses

from postlane.domain import limits

# Deliberately permissive local part, strict enough to reject obvious garbage and
# header-injection attempts (no whitespace, no angle brackets, no control characters).
_ADDR_RE = re.compile(r"^[^\s\x00-\x1f\x7f@<>()\[\],;:\"\\]+"
                      r"@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*$")


#: A bare address of the plainest form (dot-atoms of letters, digits and _+-, no spaces,
#: names, quotes or brackets): what almost every field holds. getaddresses' answer for it
#: is the address itself with no name, so parse_list gives that without the parser.
_PLAIN_RE = re.compile(r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*"
                       r"@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*")


def normalize(address: str) -> str:
    """The key of an address (suppressions, recipients, bounces; every store lookup and
    the screening use it): trimmed, lower-cased and in Unicode NFC, so that an é typed as
    one code point or as e plus a combining accent is one address."""
    return unicodedata.normalize("NFC", address.strip().lower())


def is_valid(address: str) -> bool:
    return len(address) <= 254 and bool(_ADDR_RE.match(address.strip()))


def parse_list(value: str | None) -> list[tuple[str, str]]:
    """Split a To/Cc/Bcc field ("A <a@x>, b@y") into (display name, address) pairs.

    Raises ValueError naming the first address that is not valid.
    """
    if not value or not value.strip():
        return []
    if len(value) <= 254 and _PLAIN_RE.fullmatch(value):
        return [("", value)]
    return _parsed(value)


def _parsed(value: str) -> list[tuple[str, str]]:
    """parse_list by the email package's parser, for any field."""
    if limits.has_line_break(value):
        raise ValueError("Address fields cannot contain line breaks")
    if value.count("<") != value.count(">") or value.count('"') % 2:
        raise ValueError(f"Invalid address field '{value.strip()}': unbalanced <> or quotes")
    result: list[tuple[str, str]] = []
    for name, addr in getaddresses([value]):
        if not addr or not is_valid(addr):
            raise ValueError(f"Invalid email address in '{value.strip()}'"
                             + (f": '{addr.strip()}'" if addr and addr.strip() != value.strip()
                                else ""))
        result.append((name, addr.strip()))
    return result


def parse_one(value: str | None) -> tuple[str, str]:
    pairs = parse_list(value)
    if len(pairs) != 1:
        raise ValueError(f"Expected exactly one address in '{value}'")
    return pairs[0]


def format_address(name: str, addr: str) -> str:
    if not name:
        return addr
    local, _, domain = addr.rpartition("@")
    return str(Address(display_name=name, username=local, domain=domain))
