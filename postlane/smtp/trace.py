"""The RFC 5321 4.4 trace header every accepted message gets before its handler sees it.

    Received: from client.example ([192.0.2.1])
            by mail.example (Postlane) with ESMTPSA
            for <rcpt@example.com>; Tue, 02 Jan 2024 10:00:00 +0000

What the client said about itself (its HELO name) is cleaned before it goes in: it must
not break the header or start another. AUTH identities and tokens never appear; the
``with`` keyword says only that AUTH was used (RFC 3848).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

#: What a HELO name keeps: a domain or an address literal; anything else becomes "?".
_NOT_HELO = re.compile(r"[^A-Za-z0-9.\-_:\[\]]")
MAX_HELO = 255
#: A recipient named in ``for``: a plain ASCII mailbox (anything stranger is left out).
_PLAIN_MAILBOX = re.compile(r"[!-;=?-~]{1,320}")
_date_cache: tuple[int, str] = (-1, "")


def protocol(extended: bool, tls: bool, authenticated: bool) -> str:
    """The ``with`` keyword: SMTP after HELO; after EHLO, ESMTP with S for TLS and A for
    AUTH (RFC 3848)."""
    if not extended:
        return "SMTP"
    return "ESMTP" + ("S" if tls else "") + ("A" if authenticated else "")


def address_literal(peer: Any) -> str:
    """The client's address as RFC 5321 writes it: ``[192.0.2.1]`` or ``[IPv6:2001:db8::1]``
    (an IPv4 address mapped into IPv6 reads as IPv4); ``unknown`` without one."""
    if not (isinstance(peer, tuple) and peer and isinstance(peer[0], str)):
        return "unknown"
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is None:
            return f"[IPv6:{address.compressed}]"
        address = address.ipv4_mapped
    return f"[{address}]"


def rfc5322_date(now: float) -> str:
    """``Tue, 02 Jan 2024 10:00:00 +0000``; formatted once a second, not once a message."""
    global _date_cache
    second = int(now)
    if _date_cache[0] != second:
        _date_cache = (second, format_datetime(datetime.fromtimestamp(second, UTC)))
    return _date_cache[1]


def received(helo: str | None, peer: Any, hostname: str, with_protocol: str,
             recipients: list[str], now: float) -> bytes:
    """The header, folded as Postfix folds it, CRLF included. ``for`` names the recipient
    only when there is exactly one: naming several would disclose Bcc recipients to each
    other."""
    name = _NOT_HELO.sub("?", (helo or "unknown")[:MAX_HELO])
    only = recipients[0] if len(recipients) == 1 else None
    target = f"\r\n\tfor <{only}>" if only and _PLAIN_MAILBOX.fullmatch(only) else ""
    return (f"Received: from {name} ({address_literal(peer)})\r\n"
            f"\tby {hostname} (Postlane) with {with_protocol}{target}; "
            f"{rfc5322_date(now)}\r\n").encode()
