"""Signed tracking tokens: the open pixel's and each tracked link's, one per recipient.

A token names a message, one of its recipients (by the recipient row's id, so no address
shows in the URL) and, for a click, the link's index in the message (its links are
numbered in the order :mod:`postlane.domain.tracking` finds them). An HMAC over all of
it binds them: a token cannot be edited to name another link, recipient or message, and
the click endpoint redirects only to a link read from the message itself, so no token
can make it an open redirect.

The token is lower-case letters, digits, ``.`` and ``-`` only: the API lower-cases
request paths (asgi.normalize), so a token must survive that unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    OPEN = "o"
    CLICK = "c"


@dataclass(frozen=True)
class Token:
    """What a verified token names. ``link`` is 0 for an open."""

    kind: Kind
    message_id: str
    recipient_id: int
    link: int


#: The MAC is the first 128 bits of HMAC-SHA256, in hex.
_MAC_CHARS = 32
#: kind and link, recipient id, message id (a GUID), MAC.
_SHAPE = re.compile(r"^([oc])(0|[1-9][0-9]{0,5})\.([1-9][0-9]{0,18})\.([0-9a-f-]{36})"
                    r"\.([0-9a-f]{32})$")


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:_MAC_CHARS]


def sign(key: bytes, token: Token) -> str:
    body = f"{token.kind.value}{token.link}.{token.recipient_id}.{token.message_id.lower()}"
    return f"{body}.{_mac(key, body)}"


def verify(key: bytes, text: str) -> Token | None:
    """The token ``text`` names, or None for anything not signed with ``key`` as it
    stands (edited, truncated, another key's, or not a token at all)."""
    found = _SHAPE.match(text)
    if found is None:
        return None
    kind, link, recipient_id, message_id, mac = found.groups()
    if not hmac.compare_digest(_mac(key, text[:-_MAC_CHARS - 1]), mac):
        return None
    return Token(Kind(kind), message_id, int(recipient_id), int(link))


@dataclass(frozen=True)
class Urls:
    """Makes one recipient's tracking URLs under the public base URL."""

    key: bytes
    base_url: str

    def open_url(self, message_id: str, recipient_id: int) -> str:
        token = sign(self.key, Token(Kind.OPEN, message_id, recipient_id, 0))
        return f"{self.base_url.rstrip('/')}/track/open/{token}"

    def click_url(self, message_id: str, recipient_id: int, link: int) -> str:
        token = sign(self.key, Token(Kind.CLICK, message_id, recipient_id, link))
        return f"{self.base_url.rstrip('/')}/track/click/{token}"
