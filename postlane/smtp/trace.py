"""The RFC 5321 4.4 trace header every accepted message gets before its handler sees it.

    Received: from client.example ([192.0.2.1])
            by mail.example (Postlane) with ESMTPSA
            for <rcpt@example.com>; Tue, 02 Jan 2024 10:00:00 +0000

What the client said about itself (its HELO name) is cleaned before it goes in: it must
not break the header or start another. AUTH identities and tokens never appear; the
``with`` keyword says only that AUTH was used (RFC 3848).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

#: What a HELO name keeps: a domain or an address literal; anything else becomes "?".
_NOT_HELO = re.compile(r"[^A-Za-z0-9.\-_:\[\]]")
MAX_HELO = 255
_IPV4 = re.compile(r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}")
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
    return _literal(_host(peer))


def _host(peer: Any) -> str | None:
    """The address in a transport's ``peername`` (None for a Unix socket, say)."""
    if isinstance(peer, tuple) and peer and isinstance(peer[0], str):
        return peer[0]
    return None


def _literal(host: str | None) -> str:
    if host is None:
        return "unknown"
    if ":" not in host:  # the common case, without ipaddress's cost
        return f"[{host}]" if _IPV4.fullmatch(host) else "unknown"
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return "unknown"
    mapped = address.ipv4_mapped
    return f"[IPv6:{address.compressed}]" if mapped is None else f"[{mapped}]"


def rfc5322_date(now: float) -> str:
    """``Tue, 02 Jan 2024 10:00:00 +0000``; formatted once a second, not once a message."""
    global _date_cache
    second = int(now)
    if _date_cache[0] != second:
        _date_cache = (second, format_datetime(datetime.fromtimestamp(second, UTC)))
    return _date_cache[1]


def opening(helo: str | None, peer: Any, hostname: str, with_protocol: str) -> str:
    """What the header says of every message in a session: who came from where, to whom
    and how."""
    return _opening(helo, _host(peer), hostname, with_protocol)


@functools.lru_cache(maxsize=1024)
def _opening(helo: str | None, host: str | None, hostname: str, with_protocol: str) -> str:
    """Cached: clients come back with the same name from the same address, one new
    connection per message for many."""
    name = _NOT_HELO.sub("?", (helo or "unknown")[:MAX_HELO])
    return (f"Received: from {name} ({_literal(host)})\r\n"
            f"\tby {hostname} (Postlane) with {with_protocol}")


def received(opening_lines: str, recipients: list[str], now: float) -> bytes:
    """The header, folded as Postfix folds it, CRLF included. ``for`` names the recipient
    only when there is exactly one: naming several would disclose Bcc recipients to each
    other."""
    only = recipients[0] if len(recipients) == 1 else None
    target = f"\r\n\tfor <{only}>" if only and _PLAIN_MAILBOX.fullmatch(only) else ""
    return f"{opening_lines}{target}; {rfc5322_date(now)}\r\n".encode()
