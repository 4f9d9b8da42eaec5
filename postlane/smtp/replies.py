"""Every reply the engine itself sends, as the bytes that go on the wire.

RFC 2034 (ENHANCEDSTATUSCODES, advertised in EHLO): every 2xx, 4xx and 5xx reply carries
an RFC 3463 enhanced code after its basic one, except the greeting and the answers to HELO
and EHLO. 354 and 334 are intermediate replies and carry none, as in Postfix. Replies
produced by handlers carry their own codes. The fixed ones are encoded once here, so the
hot path only appends bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from postlane.smtp import syntax
from postlane.smtp.contract import Options

AUTH_MECHANISMS = ("PLAIN", "LOGIN")


def wire(text: str) -> bytes:
    """One reply line of any text (it may quote the client) made fit for the wire."""
    return syntax.printable_reply(text).encode() + b"\r\n"


# Session and transaction.
OK = b"250 2.0.0 OK\r\n"
SENDER_OK = b"250 2.1.0 OK\r\n"
RECIPIENT_OK = b"250 2.1.5 OK\r\n"
START_DATA = b"354 End data with <CR><LF>.<CR><LF>\r\n"
BYE = b"221 2.0.0 Bye\r\n"
VRFY_ANSWER = b"252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n"
HELP = (b"214 2.0.0 Supported commands: AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET "
        b"STARTTLS VRFY\r\n")
IDLE = b"421 4.4.2 Idle for too long, closing connection\r\n"
COMMAND_TIMEOUT = b"421 4.4.2 Command line not complete in time, closing connection\r\n"
DATA_TIMEOUT = b"421 4.4.2 Message data not complete in time, closing connection\r\n"
SESSION_TIMEOUT = b"421 4.4.2 Session time limit reached, closing connection\r\n"
INTERNAL_ERROR = b"451 4.3.0 Internal error; please retry\r\n"
TOO_BIG = b"552 5.3.4 Message too big for system\r\n"

# Syntax and sequence.
LINE_TOO_LONG = b"500 5.5.2 Command line too long\r\n"
BAD_SYNTAX = b"500 5.5.2 Error: bad syntax\r\n"
TOO_MANY_UNKNOWN = b"502 5.5.1 Too many unrecognized commands, goodbye.\r\n"
HELO_FIRST = b"503 5.5.1 Error: send HELO first\r\n"
NESTED_MAIL = b"503 5.5.1 Error: nested MAIL command\r\n"
NEED_MAIL = b"503 5.5.1 Error: need MAIL command\r\n"
NEED_RCPT = b"503 5.5.1 Error: need RCPT command\r\n"
DATA_SYNTAX = b"501 5.5.4 Syntax: DATA\r\n"
VRFY_SYNTAX = b"501 5.5.4 Syntax: VRFY <address>\r\n"
RCPT_PARAMS = b"555 5.5.4 RCPT TO parameters not recognized\r\n"

# STARTTLS (RFC 3207).
TLS_READY = b"220 2.0.0 Ready to start TLS\r\n"
TLS_SYNTAX = b"501 5.5.4 Syntax: STARTTLS\r\n"
TLS_UNAVAILABLE = b"454 4.7.0 TLS not available\r\n"
TLS_ALREADY = b"503 5.5.1 Already using TLS\r\n"

# AUTH (RFC 4954).
AUTH_REQUIRED = b"530 5.7.0 Authentication required\r\n"
AUTH_UNAVAILABLE = b"502 5.5.1 AUTH not available\r\n"
AUTH_EHLO_FIRST = b"503 5.5.1 Error: send EHLO first\r\n"
AUTH_ALREADY = b"503 5.5.1 Already authenticated\r\n"
AUTH_IN_TRANSACTION = b"503 5.5.1 Error: AUTH not allowed during a mail transaction\r\n"
AUTH_NEEDS_TLS = b"538 5.7.11 Encryption required for requested authentication mechanism\r\n"
AUTH_UNKNOWN_MECHANISM = b"504 5.5.4 Unrecognized authentication type\r\n"
AUTH_OK = b"235 2.7.0 Authentication successful\r\n"
AUTH_INVALID = b"535 5.7.8 Authentication credentials invalid\r\n"
AUTH_TOO_MANY_FAILURES = b"421 4.7.0 Too many failed authentication attempts, closing\r\n"
AUTH_TEMPORARY_FAILURE = b"454 4.7.0 Temporary authentication failure\r\n"
AUTH_ANSWER_TOO_LONG = b"500 5.5.6 Authentication answer too long\r\n"
AUTH_CONNECTION_LOST = b"421 4.4.2 Connection lost\r\n"


def not_implemented(verb: str) -> bytes:
    return f"502 5.5.1 {verb} not implemented\r\n".encode()


def unknown_command(verb: str) -> bytes:
    return wire(f'500 5.5.2 Error: command "{verb}" not recognized')


def challenge(text: str) -> bytes:
    """An AUTH challenge (base64 text, empty for PLAIN's)."""
    return f"334 {text}\r\n".encode()


def greeting_syntax(extended: bool) -> bytes:
    return f"501 5.5.4 Syntax: {'EHLO' if extended else 'HELO'} hostname\r\n".encode()


@dataclass(frozen=True)
class Banners:
    """The replies that depend only on the listener's options, built once per listener."""

    greeting: bytes
    helo: bytes
    ehlo_clear: bytes
    ehlo_tls: bytes
    #: Instead of the greeting, over a session cap (admission.py): the client's own
    #: address's, or the listener's (RFC 5321 3.1: 421 and close).
    too_many_from_client: bytes
    too_many: bytes

    @classmethod
    def of(cls, options: Options) -> Banners:
        too_many = f"421 4.7.0 {options.hostname} Too many connections"
        return cls(greeting=wire(f"220 {options.hostname} {options.ident}"),
                   helo=wire(f"250 {options.hostname}"),
                   ehlo_clear=_ehlo(options, tls=False), ehlo_tls=_ehlo(options, tls=True),
                   too_many_from_client=wire(f"{too_many} from your address, try again later"),
                   too_many=wire(f"{too_many}, try again later"))


def _ehlo(options: Options, tls: bool) -> bytes:
    lines = [options.hostname, f"SIZE {options.max_message_bytes}", "8BITMIME", "SMTPUTF8",
             "PIPELINING", "ENHANCEDSTATUSCODES"]
    if options.tls_context is not None and not tls:
        lines.append("STARTTLS")
    if options.auth and (tls or not options.auth_require_tls):
        lines.append("AUTH " + " ".join(AUTH_MECHANISMS))
    return syntax.multiline(250, [*lines, "HELP"]).encode() + b"\r\n"
