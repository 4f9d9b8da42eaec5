"""SMTP command syntax (RFC 5321, RFC 4954 AUTH): pure functions, no I/O.

The session (session.py) reads lines and writes replies; everything that decides what a
line means or how a reply looks is here, where it can be tested on its own.
"""

from __future__ import annotations

import binascii
import re
from base64 import b64decode
from dataclasses import dataclass

#: Not allowed in a reply line: RFC 5321 textstring is HT and printable characters.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with its CRLF.
MAX_REPLY_LINE = 510
#: RFC 5321 Path: ``<Mailbox>`` with an optional (obsolete) source route before it. What
#: a mailbox may look like is the handler's rule (domain.addresses), not the syntax's.
_PATH = re.compile(r"<(?:@[^:<>\s]+:)?([^<>]*)>")
#: Without the angle brackets, as sloppy clients write it (Postfix takes it too).
_BARE = re.compile(r"([^\s<>]+@[^\s<>]+)(?=[ \t]|$)")
#: RFC 5321 4.5.3.1.1: a local part is at most 64 octets.
MAX_LOCAL_PART = 64
_PARAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*(?:=[!-<>-~]+)?")


def printable_reply(status: str) -> str:
    """One reply line fit for the wire. Replies may quote what a client sent (a stream
    name, say): control characters, CR and LF among them, and unencodable surrogates
    become '?' (a line break there would forge a reply line), and the line is cut to the
    limit."""
    if len(status) <= MAX_REPLY_LINE and status.isascii() and status.isprintable():
        return status  # short and clean: nearly every reply
    data = _CONTROL.sub("?", status).encode("utf-8", "replace")
    return data[:MAX_REPLY_LINE].decode("utf-8", "ignore")


def multiline(code: int, lines: list[str]) -> str:
    """``250-first``, ..., ``250 last``: one reply of several lines (of our own text)."""
    return "\r\n".join(f"{code}{'-' if i < len(lines) - 1 else ' '}{line}"
                       for i, line in enumerate(lines))


@dataclass(frozen=True)
class Path:
    """A MAIL or RCPT argument: the address (empty for the null sender ``<>``) and the
    ESMTP parameters, upper-cased names mapped to their value (None without ``=``)."""

    address: str
    params: dict[str, str | None]


class SyntaxProblem(ValueError):
    """The argument is not what the command takes; the message is the reply text."""


def parse_path(arg: str, keyword: str) -> Path:
    """Read ``FROM:<a@b> SIZE=10`` (keyword ``FROM``) or ``TO:<a@b>``.

    A source route (``<@relay:a@b>``) is accepted and ignored, as RFC 5321 asks. The
    null path ``<>`` reads as the empty address: the sender of bounces, and a recipient
    the handlers refuse.
    """
    head, colon, rest = arg.partition(":")
    if not colon or head.strip().upper() != keyword:
        raise SyntaxProblem(f"Syntax: {'MAIL FROM' if keyword == 'FROM' else 'RCPT TO'}:"
                            "<address>")
    rest = rest.lstrip(" \t")
    match = (_PATH if rest.startswith("<") else _BARE).match(rest)
    if match is None:
        raise SyntaxProblem("Syntax error in address")
    address, tail = match.group(1), rest[match.end():]
    if len(address.rpartition("@")[0].encode()) > MAX_LOCAL_PART:
        raise SyntaxProblem("Local part too long")
    if tail and tail[0] not in " \t":
        raise SyntaxProblem("Syntax error in address")
    return Path(address, parse_params(tail) if tail else {})


def parse_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for word in text.split():
        if not _PARAM.fullmatch(word):
            raise SyntaxProblem(f"Syntax error in parameter {word[:40]}")
        name, equals, value = word.partition("=")
        params[name.upper()] = value if equals else None
    return params


class AuthProblem(ValueError):
    """An AUTH answer that cannot be used; the message is the whole reply."""


def decode_answer(answer: bytes | bytearray) -> bytes:
    """An AUTH answer line: ``*`` cancels, ``=`` is the empty answer, else base64."""
    answer = answer.strip()
    if answer == b"*":
        raise AuthProblem("501 5.7.0 Auth aborted")
    if answer == b"=":
        return b""
    try:
        return b64decode(answer, validate=True)
    except binascii.Error:
        raise AuthProblem("501 5.5.2 Can't decode base64") from None


def plain_credentials(blob: bytes) -> tuple[str, str]:
    """RFC 4616: ``authzid NUL authcid NUL passwd``; the authorisation identity is
    ignored (we have no proxy logins)."""
    parts = blob.split(b"\0")
    if len(parts) != 3:
        raise AuthProblem("501 5.5.2 Malformed PLAIN credentials")
    return parts[1].decode("utf-8", "replace"), parts[2].decode("utf-8", "replace")


def mail_parameter_problem(params: dict[str, str | None], max_message_bytes: int) -> str | None:
    """The refusal for MAIL FROM's ESMTP parameters (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531
    SMTPUTF8; RFC 4954 5's AUTH= is ignored), or None when they are fine."""
    for name, value in params.items():
        if name == "SIZE":
            if value is None or not value.isdigit():
                return "501 5.5.4 Syntax: SIZE=<number>"
            if int(value) > max_message_bytes:
                return "552 5.3.4 Message size exceeds fixed maximum message size"
        elif name == "BODY":
            if value is None or value.upper() not in ("7BIT", "8BITMIME"):
                return "501 5.5.4 Syntax: BODY=7BIT|8BITMIME"
        elif name not in ("SMTPUTF8", "AUTH"):
            return f"555 5.5.4 MAIL FROM parameter {name} not recognized"
    return None
