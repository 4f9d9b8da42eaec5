"""The envelope sender of outgoing mail names the message and the recipient (VERP), so a
bounce report that comes back can be tied to the one recipient it is about.

Each recipient's copy leaves in its own SMTP transaction with its own return path::

    pm_bounces+<message id>.<token>@<bounce domain>

The token is an HMAC of the message id and the recipient's address under a key only the
server has, cut to 16 base32 characters (80 bits). A recipient sees his own return path
in his copy and can compute no other: a report that arrives with his token can only be
about him (postlane.pipeline.dsn holds it to that). Lower-case base32 and hex survive
MTAs that fold the local part's case, and the local part is 64 characters, the most
RFC 5321 (4.5.3.1.1) asks every server to accept.

Return paths of the older form (``pm_bounces+<message id>@``, no token) are still
recognised, so such reports are kept and explained, but they bind no recipient.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

PREFIX = "pm_bounces"
#: Base32 characters of the HMAC kept in the address (5 bits each: 80 bits).
TOKEN_LENGTH = 16
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_TOKEN_RE = re.compile(rf"^{PREFIX}\+({_UUID})\.([a-z2-7]{{{TOKEN_LENGTH}}})@", re.IGNORECASE)
_LEGACY_RE = re.compile(rf"^{PREFIX}\+({_UUID})@", re.IGNORECASE)
#: Binds the MAC to this use of the key (a key shared with other uses signs nothing here).
_CONTEXT = b"postlane-verp-v1"

#: Header added to every delivered message, as Postmark does; reports often quote it.
MESSAGE_ID_HEADER = "X-PM-Message-Id"


@dataclass(frozen=True)
class Token:
    """What a tokened return path states: the message, and a MAC naming a recipient."""

    message_id: str
    mac: str


def _mac(key: bytes, message_id: str, email: str) -> str:
    data = b"\0".join((_CONTEXT, message_id.lower().encode(), email.encode("utf-8")))
    digest = hmac.new(key, data, hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:TOKEN_LENGTH]


@dataclass(frozen=True)
class Signer:
    """Signs return paths: the server's key and the bounce domain they point at."""

    key: bytes
    bounce_domain: str

    def return_path(self, message_id: str, email: str) -> str:
        """The envelope sender of ``message_id``'s copy to ``email`` (as stored: the
        recipient's normalised address)."""
        return f"{PREFIX}+{message_id}.{_mac(self.key, message_id, email)}@{self.bounce_domain}"


def binds(key: bytes, token: Token, email: str) -> bool:
    """Whether ``token`` was signed with ``key`` for ``email`` (constant-time compare)."""
    return hmac.compare_digest(_mac(key, token.message_id, email), token.mac.lower())


def _local(address: str) -> str:
    return address.strip().strip("<>").strip()


def token_from(address: str) -> Token | None:
    """The token of a tokened return path, unchecked (see :func:`binds`)."""
    match = _TOKEN_RE.match(_local(address))
    return Token(match.group(1).lower(), match.group(2).lower()) if match else None


def legacy_message_id(address: str) -> str | None:
    """The message id of an old-style return path (no token): it binds no recipient."""
    match = _LEGACY_RE.match(_local(address))
    return match.group(1).lower() if match else None


def message_id_from(address: str) -> str | None:
    """The message a return path of either form names (for notes and lookups only)."""
    token = token_from(address)
    return token.message_id if token is not None else legacy_message_id(address)
