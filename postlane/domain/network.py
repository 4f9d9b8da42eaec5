"""Where a tenant may make Postlane connect: webhook targets and MX hosts (issue 12, items
5 and 10). A URL's host is classified here in every spelling that some parser turns into a
non-public address without asking DNS (inet_aton's decimal, octal, hex and short forms,
IPv6 with an IPv4 address inside, localhost names); names that need DNS are vetted again
after resolution by the outbound adapters, with ``vet`` from here. Also the headers a tenant
may add to a webhook POST. Pure: no DNS, no sockets.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any
from urllib.parse import unquote, urlsplit

IPAddress = IPv4Address | IPv6Address


class AddressKind(StrEnum):
    """What an address is, for deciding whether a tenant may reach it."""

    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    SHARED = "shared (carrier-grade NAT)"
    UNSPECIFIED = "unspecified"
    MULTICAST = "multicast"
    RESERVED = "reserved"

    @property
    def described(self) -> str:
        """The kind with its article, as sentences name it: 'a loopback address'."""
        article = "an" if self.value[0] in "aeiou" else "a"
        return f"{article} {self.value} address"


_V4: tuple[tuple[IPv4Network, AddressKind], ...] = tuple(
    (IPv4Network(net), kind) for net, kind in (
        ("0.0.0.0/8", AddressKind.UNSPECIFIED),  # "this network"; 0.0.0.0 reaches loopback
        ("10.0.0.0/8", AddressKind.PRIVATE),
        ("100.64.0.0/10", AddressKind.SHARED),
        ("127.0.0.0/8", AddressKind.LOOPBACK),
        ("169.254.0.0/16", AddressKind.LINK_LOCAL),
        ("172.16.0.0/12", AddressKind.PRIVATE),
        ("192.0.0.0/24", AddressKind.RESERVED),
        ("192.0.2.0/24", AddressKind.RESERVED),
        ("192.88.99.0/24", AddressKind.RESERVED),
        ("192.168.0.0/16", AddressKind.PRIVATE),
        ("198.18.0.0/15", AddressKind.RESERVED),
        ("198.51.100.0/24", AddressKind.RESERVED),
        ("203.0.113.0/24", AddressKind.RESERVED),
        ("224.0.0.0/4", AddressKind.MULTICAST),
        ("240.0.0.0/4", AddressKind.RESERVED),  # with the broadcast address
    ))

_V6: tuple[tuple[IPv6Network, AddressKind], ...] = tuple(
    (IPv6Network(net), kind) for net, kind in (
        ("::/128", AddressKind.UNSPECIFIED),
        ("::1/128", AddressKind.LOOPBACK),
        ("64:ff9b:1::/48", AddressKind.PRIVATE),  # local-use NAT64 (RFC 8215)
        ("100::/64", AddressKind.RESERVED),  # discard-only
        ("2001::/32", AddressKind.RESERVED),  # Teredo: tunnels, never a webhook receiver
        ("2001:10::/28", AddressKind.RESERVED),
        ("2001:20::/28", AddressKind.RESERVED),
        ("2001:db8::/32", AddressKind.RESERVED),
        ("3fff::/20", AddressKind.RESERVED),
        ("fc00::/7", AddressKind.PRIVATE),  # unique local
        ("fe80::/10", AddressKind.LINK_LOCAL),
        ("fec0::/10", AddressKind.PRIVATE),  # site-local (deprecated, still routed inside)
        ("ff00::/8", AddressKind.MULTICAST),
    ))

_GLOBAL_UNICAST = IPv6Network("2000::/3")
_UNSPECIFIED6, _LOOPBACK6 = IPv6Address("::"), IPv6Address("::1")
#: Prefixes whose last 32 bits are an IPv4 address a translator or stack will reach.
_EMBEDDING_LAST_32 = (IPv6Network("::ffff:0:0/96"),  # IPv4-mapped
                      IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (RFC 2765)
                      IPv6Network("::/96"),  # IPv4-compatible (deprecated)
                      IPv6Network("64:ff9b::/96"))  # NAT64 well-known prefix
_SIX_TO_FOUR = IPv6Network("2002::/16")


def classify(address: IPAddress) -> AddressKind:
    """The kind of ``address``; an IPv6 address that carries an IPv4 one (mapped,
    translated, compatible, NAT64, 6to4) is the kind of the address it carries."""
    if isinstance(address, IPv6Address):
        address = address.__class__(address.packed)  # the scope (%eth0) changes nothing
        embedded = _embedded_v4(address)
        if embedded is not None:
            return classify(embedded)
        return _lookup6(address)
    for network, kind in _V4:
        if address in network:
            return kind
    return AddressKind.PUBLIC


def _embedded_v4(address: IPv6Address) -> IPv4Address | None:
    if address in (_UNSPECIFIED6, _LOOPBACK6):  # not IPv4-compatible: themselves
        return None
    if any(address in prefix for prefix in _EMBEDDING_LAST_32):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    return None


def _lookup6(address: IPv6Address) -> AddressKind:
    for network, kind in _V6:
        if address in network:
            return kind
    return AddressKind.PUBLIC if address in _GLOBAL_UNICAST else AddressKind.RESERVED


# --- host spellings ---------------------------------------------------------------------

#: Full stops that IDNA (UTS 46) maps to "." before a client looks the name up.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
#: Names every resolver answers from its hosts file or by rule (RFC 6761: *.localhost).
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost",
                             "ip6-loopback"})
_HEX = re.compile(r"0[xX][0-9a-fA-F]*")
_OCTAL = re.compile(r"0[0-7]+")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def normal_host(host: str) -> str:
    """``host`` as a resolver sees it: percent-decoded, NFKC (full-width digits and
    letters), IDNA's full stops, lower case, without brackets or one trailing dot."""
    host = unicodedata.normalize("NFKC", unquote(host)).translate(_DOTS).lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") and len(host) > 1 else host


def _number(part: str) -> int | None:
    """One part of an inet_aton address: decimal, octal (leading 0) or hex (0x)."""
    if _HEX.fullmatch(part):
        return int(part[2:] or "0", 16)  # WHATWG reads a bare "0x" as 0
    if _OCTAL.fullmatch(part):
        return int(part, 8)
    if _DECIMAL.fullmatch(part):
        return int(part)
    return None


def _inet_aton(host: str) -> IPv4Address | None:
    """The IPv4 address inet_aton (and the WHATWG URL parser) reads in ``host``: one to
    four numbers, the last filling the remaining bytes ("127.1", "2130706433")."""
    parts = host.split(".")
    if len(parts) > 4:
        return None
    numbers = [_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    *head, last = values
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(values)):
        return None
    value = last
    for position, byte in enumerate(head):
        value += byte << (8 * (3 - position))
    return IPv4Address(value)


def parse_host(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form a client connects to without DNS; None
    for a name."""
    host = normal_host(host)
    if ":" in host:
        try:
            return IPv6Address(host)
        except ValueError:
            return None
    return _inet_aton(host) if host else None


def host_kind(host: str) -> AddressKind | None:
    """What ``host`` reaches without DNS: its address's kind, LOOPBACK for localhost
    names, None for a name only DNS can answer for."""
    name = normal_host(host)
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return AddressKind.LOOPBACK
    address = parse_host(name)
    return None if address is None else classify(address)


def is_loopback_host(host: str) -> bool:
    """Whether a listener on ``host`` is reachable only from this machine."""
    return host_kind(host) is AddressKind.LOOPBACK


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a host may not be reached: the host as given, the address it reaches, and
    that address's kind."""

    host: str
    address: str
    kind: AddressKind

    def sentence(self, what: str) -> str:
        """``what`` names the host's role ("webhook host", "MX host")."""
        return f"{what} {self.host} resolves to {self.kind.described} ({self.address}); refused"


def allowed(kind: AddressKind, allow_private: bool) -> bool:
    """The one rule: public addresses always; the others only when the operator allows
    private targets (a development machine, an internal network)."""
    return kind is AddressKind.PUBLIC or allow_private


def vet(host: str, addresses: Iterable[str], allow_private: bool) -> Refusal | None:
    """A refusal when any of ``addresses`` (what ``host`` resolved to) may not be
    reached: a name that answers with one public and one private address is not trusted
    with either."""
    for text in addresses:
        address = ip_address(text)
        kind = classify(address)
        if not allowed(kind, allow_private):
            return Refusal(host, shown(address), kind)
    return None


def shown(address: IPAddress) -> str:
    """``address`` as sentences show it: an IPv4-mapped one in dotted form on every
    Python (3.13 changed str() of them)."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


# --- URLs -------------------------------------------------------------------------------

def url_host(url: str) -> str:
    """The host an http(s) URL names, as a client would connect to it; ValueError for a
    URL without one or one that parsers read differently (whitespace, backslashes, more
    than one userinfo '@')."""
    if any(c.isspace() or c == "\\" or ord(c) < 0x20 or c == "\x7f" for c in url):
        raise ValueError("a URL cannot contain whitespace, control characters or backslashes")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if parts.netloc.count("@") > 1:
        raise ValueError("a URL's host must be unambiguous (one '@' at most)")
    if not parts.hostname:
        raise ValueError("a URL needs a host")
    try:
        parts.port  # noqa: B018 - it raises for a port out of range or not a number
    except ValueError as exc:
        raise ValueError(f"a URL's port must be a number up to 65535 ({exc})") from exc
    return unquote(parts.hostname)


def target_refusal(url: str, allow_private: bool) -> Refusal | None:
    """What save time can tell about ``url`` without DNS: a refusal when its host spells
    a non-public address (a name is vetted again once resolved, when connecting). The
    URL must parse (url_host)."""
    host = url_host(url)
    kind = host_kind(host)
    if kind is None or allowed(kind, allow_private):
        return None
    address = parse_host(host)  # None for a localhost name, which reaches 127.0.0.1
    return Refusal(host, "127.0.0.1" if address is None else shown(address), kind)


# --- webhook request headers ------------------------------------------------------------

#: Headers that frame or route the request, or belong to one connection (RFC 9110 7.6.1):
#: the HTTP client sets them; a tenant's value would smuggle a second request or reroute it.
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection",
                              "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
                              "expect"})
#: RFC 9110: a field name is a token; a value is visible ASCII, spaces and tabs.
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")


def header_problem(name: str, value: str) -> str | None:
    """Why a tenant's webhook header cannot be sent, or None when it can."""
    if not _FIELD_NAME.fullmatch(name):
        return "a header name is letters, digits and !#$%&'*+-.^_`|~ only"
    if name.lower() in RESERVED_HEADERS:
        return f"the {name} header is set by Postlane and cannot be overridden"
    if not _FIELD_VALUE.fullmatch(value):
        return ("header values cannot contain line breaks or control characters, "
                "and must be ASCII")
    return None


def client_key(peer: Any) -> str:
    """The address a client (a transport's peername, or a host) is counted under by
    per-client limits: an IPv6 client by its /64, since a host is usually given a whole
    /64 and could otherwise take a new address for every try; an IPv4-mapped one as
    that IPv4 client."""
    host = peer[0] if isinstance(peer, tuple) and peer else str(peer)
    try:
        address = ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return str(host)
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(IPv6Network((address, 64), strict=False))
    return str(address)
