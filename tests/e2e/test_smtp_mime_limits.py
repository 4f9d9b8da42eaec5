"""What a message's shape can cost over SMTP (issue 12, item 6 and the low items), with a
real client: a header list or MIME tree beyond the limits in postlane/smtp/parse.py is a
permanent 554 5.6.0 (never a 451 the client retries forever), and parsing it does not
hold up the other sessions; an unknown charset is stored, not refused; an RFC 2047 word
that decodes to CR/LF cannot put a line break into a stored field."""

from __future__ import annotations

import threading
import time

import pytest

from postlane.smtp import parse
from tests.support.harness import RunningServer
from tests.support.smtp_support import RawSession, message_id, send_raw

HEAD = b"From: sender@example.com\r\nTo: rcpt@example.com\r\nSubject: shape\r\n"


def _nested(depth: int) -> bytes:
    """A message whose MIME tree is ``depth`` multiparts deep around one text part."""
    head, tail = b"MIME-Version: 1.0\r\n", b""
    for level in range(depth, 0, -1):
        boundary = b"b%d" % level
        head += (b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n--'
                 + boundary + b"\r\n")
        tail = b"--" + boundary + b"--\r\n" + tail
    return HEAD + head + b"Content-Type: text/plain\r\n\r\nleaf\r\n" + tail


def _noop_latencies(port: int, until: threading.Event) -> list[float]:
    """NOOP round trips on a session of its own, one after another until ``until``."""
    session = RawSession(port)
    session.reply()
    took: list[float] = []
    try:
        while True:
            started = time.monotonic()
            assert session.send(b"NOOP")
            reply = session.reply()
            took.append(time.monotonic() - started)
            assert reply is not None and reply[-1].startswith(b"250 ")
            if until.is_set():
                return took
    finally:
        session.close()


def test_200k_header_lines_get_554_and_other_sessions_are_answered_meanwhile(
        server: RunningServer) -> None:
    raw = HEAD + b"X-Filler: v\r\n" * 200_000 + b"\r\nbody\r\n"
    done = threading.Event()
    latencies: list[float] = []
    watcher = threading.Thread(target=lambda: latencies.extend(
        _noop_latencies(server.smtp_port, done)))
    watcher.start()
    try:
        code, reply = send_raw(server, raw)
    finally:
        done.set()
        watcher.join(30)
    assert code == 554, reply
    assert reply.startswith("5.6.0 ") and str(parse.MAX_HEADER_FIELDS) in reply, reply
    # A generous bound: this is about the loop never being held, not about speed.
    assert latencies and max(latencies) < 1.0, latencies


@pytest.mark.parametrize("depth", [parse.MAX_MIME_DEPTH + 1, 2000])
def test_deep_mime_nesting_is_a_permanent_554(server: RunningServer, depth: int) -> None:
    code, reply = send_raw(server, _nested(depth))
    assert code == 554, reply  # not 451: the client would retry it forever
    assert reply.startswith("5.6.0 ") and "nest" in reply, reply


def test_nesting_at_the_limit_is_accepted(server: RunningServer) -> None:
    code, reply = send_raw(server, _nested(parse.MAX_MIME_DEPTH - 1))
    assert code == 250, reply


def test_too_many_mime_parts_are_a_permanent_554(server: RunningServer) -> None:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n"
                     for _ in range(parse.MAX_MIME_PARTS + 1))
    raw = (HEAD + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           + parts + b"--b--\r\n")
    code, reply = send_raw(server, raw)
    assert code == 554, reply
    assert reply.startswith("5.6.0 ") and "parts" in reply, reply


@pytest.mark.parametrize("multipart", [False, True], ids=["single", "multipart"])
def test_an_unknown_charset_is_stored_not_refused(server: RunningServer,
                                                  multipart: bool) -> None:
    text = (b"Content-Type: text/plain; charset=x-unknown-foo\r\n\r\nHello \xe9t\xe9\r\n")
    if multipart:
        raw = (HEAD + b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; "
               b"boundary=b\r\n\r\n--b\r\n" + text + b"--b--\r\n")
    else:
        raw = HEAD + b"MIME-Version: 1.0\r\n" + text
    code, reply = send_raw(server, raw)
    assert code == 250, reply
    details = server.api().get(f"/messages/outbound/{message_id(reply)}/details").json()
    assert details["TextBody"].startswith("Hello ")
    dump = server.api().get(f"/messages/outbound/{message_id(reply)}/dump").json()["Body"]
    assert "x-unknown-foo" in dump  # the message itself is kept as it came


def test_an_encoded_line_break_in_the_subject_is_neutralised(server: RunningServer) -> None:
    raw = (b"From: sender@example.com\r\nTo: rcpt@example.com\r\n"
           b"Subject: =?utf-8?q?Hi=0D=0ABcc:_x@y?=\r\nX-PM-Tag: =?utf-8?q?t=0Ag?=\r\n"
           b"X-PM-Metadata-key: =?utf-8?q?v=0D=0Aw?=\r\n\r\nbody\r\n")
    code, reply = send_raw(server, raw)
    assert code == 250, reply
    details = server.api().get(f"/messages/outbound/{message_id(reply)}/details").json()
    assert details["Subject"] == "Hi  Bcc: x@y"
    assert details["Tag"] == "t g"
    assert details["Metadata"] == {"key": "v  w"}
    assert details["Recipients"] == ["rcpt@example.com"]  # no Bcc came of it
