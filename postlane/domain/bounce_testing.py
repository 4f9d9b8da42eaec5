"""Postmark's bounce-testing addresses: mail to ``<type>@bounce-testing.postmarkapp.com``
is never sent anywhere; on any server (Sandbox or Live) it becomes a bounce of that type,
recorded like a real one (Bounce webhook, Bounce API, MessageEvents, dashboard).

The local part names the bounce type as Postmark's Bounce API spells it, in any case and
with or without separators (``HardBounce``, ``hardbounce``, ``Hard_Bounce``); one that
names no type is a HardBounce, Postmark's default. An ``X-PM-Bounce-Type`` header on the
message, when it names a type, wins over the local part (Postmark's second way to pick
the type). Pure: no store, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from email.parser import BytesHeaderParser
from email.policy import compat32

from postlane.domain.bounce_types import BY_TYPE, SEED_SMTP_API_ERROR, BounceType

DOMAIN = "bounce-testing.postmarkapp.com"
#: The message header that picks the bounce type for every bounce-testing recipient.
HEADER = "X-PM-Bounce-Type"
#: What an address whose local part names no bounce type produces.
DEFAULT = BY_TYPE["HardBounce"]

_SEPARATORS = re.compile(r"[\s_.\-]+")


def _key(name: str) -> str:
    return _SEPARATORS.sub("", name).lower()


#: Postmark's bounce types by their folded names (not the seed's InternalError label,
#: which is no Postmark type).
_BY_KEY: Mapping[str, BounceType] = {
    _key(kind.type): kind for kind in BY_TYPE.values() if kind is not SEED_SMTP_API_ERROR}


def is_testing(email: str) -> bool:
    """Whether ``email`` (normalised or as written) is on the bounce-testing domain."""
    _, at, domain = email.rpartition("@")
    return bool(at) and domain.strip().rstrip(".").lower() == DOMAIN


def named(name: str | None) -> BounceType | None:
    """The bounce type ``name`` spells (any case, separators ignored), or None."""
    return _BY_KEY.get(_key(name)) if name else None


def bounce_type(email: str, header: str | None = None) -> BounceType | None:
    """The bounce a message to ``email`` produces, or None when it is no bounce-testing
    address (it is delivered as usual). ``header`` is the message's X-PM-Bounce-Type."""
    if not is_testing(email):
        return None
    local = email.rpartition("@")[0]
    return named(header) or named(local) or DEFAULT


def header_value(headers: Iterable[Mapping[str, str]]) -> str | None:
    """X-PM-Bounce-Type from a REST message's Headers ({"Name", "Value"} items)."""
    for item in headers:
        if str(item.get("Name", "")).strip().lower() == HEADER.lower():
            return str(item.get("Value", "")).strip()
    return None


def details(email: str, kind: BounceType) -> str:
    """The bounce's Details: says plainly that it is a test and nothing was sent."""
    return (f"Test bounce: {email} is a bounce-testing address ({DOMAIN}), so the message "
            f"was not sent and a {kind.type} was recorded instead.")


def raw_header_value(raw: bytes) -> str | None:
    """X-PM-Bounce-Type from an SMTP message's own header block."""
    head = raw.partition(b"\r\n\r\n")[0] if b"\r\n\r\n" in raw else raw.partition(b"\n\n")[0]
    parsed = BytesHeaderParser(policy=compat32).parsebytes(head + b"\r\n\r\n")
    value = parsed.get(HEADER)
    return str(value).strip() if value is not None else None
