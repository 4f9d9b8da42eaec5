"""Hypothesis fuzzing of the SMTP submission listener over real sockets.

(a) Random command lines before AUTH: every line gets a well-formed reply, the connection
is closed only after a reply that says so (221, 421, 502 goodbye), MAIL FROM is never
accepted without AUTH, no handler exception leaks out, and the server stays usable.
(b) Random MIME after AUTH: 250 (and the message is readable through the Messages API and
reaches the Sandbox) or a 4xx/5xx with text, never a dropped connection.
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support.harness import RunningServer, make_message, smtp_send, wait_until
from tests.support.smtp_support import RawSession, send_raw

FUZZ = settings(max_examples=80, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

def closes(reply: bytes) -> bool:
    """Replies after which the server may close: QUIT, policy 421, aiosmtpd's bogus limit."""
    return reply[:3] in (b"221", b"421") or (reply[:3] == b"502" and b"goodbye" in reply)


VERBS = ["HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "EXPN",
         "HELP", "AUTH", "STARTTLS", "BDAT", "ETRN", "TURN", "SEND", "SOML", "SAML", "XCLIENT",
         "PROXY"]
ADDRESSES = st.sampled_from([b"<sender@example.com>", b"<>", b"<a@b>", b"sender@example.com",
                             b"<\x00@example.com>", b"<\xff\xfe@example.com>",
                             b"<" + b"a" * 300 + b"@example.com>", b"<@route:a@b.c>"])
ARGUMENT = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.one_of(st.integers(400, 6000), st.sampled_from([70_000, 300_000])).map(lambda n: b"A" * n),
    st.sampled_from([b"\x00", b"\x00\x00\x00", b"\xc3\x28", b"\x1b[31m", b"\r", b"%s%n",
                     b"=?utf-8?B?AAAA?="]),
)


@st.composite
def command_line(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["verb", "mail", "auth", "garbage"]))
    if kind == "mail":
        verb = draw(st.sampled_from([b"MAIL FROM:", b"mail from:", b"MAIL FROM: ", b"RCPT TO:"]))
        params = draw(st.sampled_from([b"", b" SIZE=100", b" BODY=8BITMIME", b" SMTPUTF8",
                                       b" SIZE=99999999999", b" BODY=junk", b" X=\x00"]))
        line = verb + draw(ADDRESSES) + params
    elif kind == "auth":
        mech = draw(st.sampled_from([b"PLAIN", b"LOGIN", b"CRAM-MD5", b"XOAUTH2", b"plain",
                                     b"", b"\x00"]))
        line = b"AUTH " + mech + b" " + draw(ARGUMENT)
    elif kind == "garbage":
        line = draw(st.binary(min_size=0, max_size=200))
    else:
        verb = draw(st.sampled_from(VERBS)).encode()
        if draw(st.booleans()):
            verb = verb.lower()
        line = verb + (b" " + draw(ARGUMENT) if draw(st.booleans()) else b"")
    return line.replace(b"\n", b"")  # one command per line: a bare LF would end it early


def run_session(port: int, lines: list[bytes]) -> None:
    session = RawSession(port)
    try:
        greeting = session.reply()
        assert greeting is not None and greeting[-1].startswith(b"220"), greeting
        last = greeting
        for line in lines:
            if not session.send(line):
                raise AssertionError(f"connection dropped before {line[:80]!r} was sent")
            reply = session.reply()
            assert reply is not None, f"no reply to {line[:80]!r}: connection dropped"
            code, text = reply[-1][:3], reply[-1][4:]
            event(f"reply {reply[-1][:30]!r}")
            assert not text.startswith(b"Error: ("), f"handler exception leaked: {reply!r}"
            if line[:10].upper().startswith(b"MAIL"):
                assert code != b"250", f"MAIL accepted without AUTH: {line[:80]!r}"
            if closes(reply[-1]):
                assert session.reply() is None, f"still open after {reply!r}"
                return
            if code == b"220":  # STARTTLS: the rest would be a TLS handshake
                return
            last = reply
        in_sync(session, last)
    finally:
        session.close()


def in_sync(session: RawSession, last: list[bytes]) -> None:
    """Exactly one reply per line: a NOOP's reply must come next, not a stale extra one."""
    if last[-1].startswith(b"334"):  # an AUTH exchange is waiting for the client's answer
        assert session.send(b"*")
        aborted = session.reply()
        assert aborted is not None and aborted[-1].startswith(b"501"), aborted
    assert session.send(b"NOOP sync")
    assert session.reply() == [b"250 2.0.0 OK"], "replies out of step with commands"


def assert_still_serving(server: RunningServer) -> None:
    code, message_id = smtp_send(server, make_message("after-fuzz@example.com"),
                                 ["after-fuzz@example.com"])
    assert code == 250
    with server.api() as api:
        wait_until(lambda: details(api, message_id)["Status"] == "Sent", timeout=30,
                   message="a normal message delivered to the Sandbox after fuzzing")


def details(api: httpx.Client, message_id: str) -> dict[str, Any]:
    r = api.get(f"/messages/outbound/{message_id}/details")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_random_command_lines(server: RunningServer) -> None:
    @FUZZ
    @given(lines=st.lists(command_line(), min_size=1, max_size=12), ehlo=st.booleans())
    def fuzz(lines: list[bytes], ehlo: bool) -> None:
        run_session(server.smtp_port, ([b"EHLO fuzz.example.com"] if ehlo else []) + lines)

    fuzz()
    assert_still_serving(server)


TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=20)
HEADER_NAMES = ["Subject", "From", "To", "Cc", "Reply-To", "Date", "Message-ID",
                "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
                "Content-Disposition", "X-PM-Message-Stream", "X-PM-Tag", "X-PM-TrackOpens",
                "X-PM-TrackLinks", "X-PM-Metadata-", "Received"]
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)
ENCODED_WORD = st.builds(
    lambda cs, enc, junk: b"=?" + cs + b"?" + enc + b"?" + junk + b"?=",
    st.sampled_from([b"utf-8", b"iso-8859-1", b"bogus-charset", b"", b"utf-7", b"UTF-16"]),
    st.sampled_from([b"B", b"Q", b"b", b"X", b""]),
    st.binary(max_size=40).map(lambda b: bytes(c for c in b if 32 < c < 127)))
HEADER_VALUE = st.one_of(
    TEXT.map(lambda t: t.encode()),
    ENCODED_WORD,
    st.lists(ENCODED_WORD, max_size=5).map(b" ".join),
    st.binary(max_size=60),
    st.integers(1000, 20000).map(lambda n: b"\r\n ".join([b"x" * 900] * (n // 900 + 1))),
    st.sampled_from([b"multipart/mixed; boundary=", b'multipart/mixed; boundary=""',
                     b"multipart/alternative", b"text/plain; charset=no-such-charset",
                     b"message/rfc822", b"text/html; charset=utf-8", b"base64",
                     b"quoted-printable", b"attachment; filename*=bogus''%ZZ", b"true",
                     b"<>", b"a@b, , ,<", b'"unterminated <x@example.com>'])
)


@st.composite
def header(draw: st.DrawFn) -> bytes:
    name = draw(st.one_of(st.sampled_from(HEADER_NAMES).map(str.encode),
                          TOKEN.map(lambda t: b"X-PM-Metadata-" + t.encode()),
                          st.binary(min_size=1, max_size=20)))
    if name == b"X-PM-Metadata-":
        name += draw(TOKEN).encode()
    value = draw(HEADER_VALUE)
    return (name.replace(b"\r", b"").replace(b"\n", b"") + b": "
            + value.replace(b"\r\n ", b"\0FOLD").replace(b"\r", b"").replace(b"\n", b"")
            .replace(b"\0FOLD", b"\r\n "))


@st.composite
def multipart(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A multipart Content-Type and a body whose boundaries may not match it."""
    boundary = draw(TOKEN).encode()
    declared = draw(st.sampled_from([boundary, boundary + b"x", b""]))
    subtype = draw(st.sampled_from([b"mixed", b"alternative", b"related", b"bogus"]))
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        part_headers = draw(st.lists(header(), max_size=3))
        nested = draw(st.booleans())
        content = (draw(multipart())[1] if nested else draw(st.binary(max_size=200)))
        parts.append(b"\r\n".join(part_headers) + b"\r\n\r\n" + content)
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    if draw(st.booleans()):
        body += b"--" + boundary + b"--\r\n"
    ctype = b"Content-Type: multipart/" + subtype + b"; boundary=\"" + declared + b"\""
    return ctype, body


@st.composite
def mime_message(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(header(), max_size=10))
    if draw(st.integers(0, 9)) == 0:  # one line over the 1000-byte limit
        headers.append(b"X-Long: " + b"y" * draw(st.integers(1001, 4000)))
    if draw(st.booleans()):
        headers += [b"From: Fuzz <fuzz@example.com>", b"To: rcpt@example.com"]
    kind = draw(st.sampled_from(["text", "binary", "multipart", "base64"]))
    if kind == "multipart":
        ctype, body = draw(multipart())
        headers.append(ctype)
    elif kind == "base64":
        headers += [b"Content-Type: text/plain; charset=utf-8",
                    b"Content-Transfer-Encoding: base64"]
        body = draw(st.binary(max_size=200).map(lambda b: bytes(c for c in b if c > 32)))
    elif kind == "binary":
        body = draw(st.binary(max_size=300))
    else:
        body = draw(TEXT).encode()
    headers = draw(st.permutations(headers))
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


def test_random_mime_after_auth(server: RunningServer) -> None:
    accepted: list[str] = []
    api = server.api()

    @FUZZ
    @given(raw=mime_message())
    def fuzz(raw: bytes) -> None:
        code, text = send_raw(server, raw)  # a dropped connection raises here
        event(f"DATA reply {code} {text[:40] if code != 250 else ''}")
        if code == 250:
            message_id = text.rsplit(" ", 1)[-1]
            assert details(api, message_id)["MessageID"] == message_id
            r = api.get(f"/messages/outbound/{message_id}/dump")
            assert r.status_code == 200, r.text
            accepted.append(message_id)
        else:
            assert 400 <= code < 600 and len(text.split()) >= 2, (code, text)
            assert not text.startswith("Error: ("), f"handler exception leaked: {text}"
            assert code != 451, f"accept failed unexpectedly: {text}"

    fuzz()
    assert accepted, "no fuzzed message was accepted at all"
    wait_until(lambda: all(details(api, m)["Status"] == "Sent" for m in accepted),
               timeout=30, message="every accepted fuzzed message delivered to the Sandbox")
    assert_still_serving(server)
    api.close()
