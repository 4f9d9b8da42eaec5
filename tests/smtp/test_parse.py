"""Reading a received message (postlane/smtp/parse.py) at its limits, in process: header
fields, MIME depth and parts are bounded exactly at the documented numbers (TooComplex,
a permanent 554); an unknown charset is read as UTF-8 and stored; a line break that an
RFC 2047 word decodes to never reaches a stored field; and which messages are light
enough to parse on the event loop."""

from __future__ import annotations

import base64

import pytest

from postlane.accept import Submission
from postlane.domain.types import DeliveryType
from postlane.smtp import parse
from postlane.smtp.parse import MalformedMessage, TooComplex

HEAD = b"From: a@example.com\r\nTo: r@example.com\r\n"  # two fields


def _read(raw: bytes) -> Submission:
    return parse.to_submission(raw, "a@example.com", ["r@example.com"], 1,
                               DeliveryType.SANDBOX)


def _multipart(parts: list[bytes], head: bytes = HEAD) -> bytes:
    body = b"".join(b"--b\r\n" + part for part in parts)
    return (head + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + body
            + b"--b--\r\n")


def _nested(levels: int) -> bytes:
    """``levels`` MIME entities, each inside the one before (the message is the first)."""
    head, tail = HEAD, b""
    for level in range(levels - 1, 0, -1):
        head += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level,
                                                                                  level)
        tail = b"--b%d--\r\n" % level + tail
    return head + b"Content-Type: text/plain\r\n\r\nleaf\r\n" + tail


def test_header_fields_up_to_the_limit_are_read() -> None:
    fields = b"X-F: v\r\n" * (parse.MAX_HEADER_FIELDS - 2)
    assert _read(HEAD + fields + b"\r\nbody\r\n").text_body == "body\r\n"
    with pytest.raises(TooComplex, match=f"more than {parse.MAX_HEADER_FIELDS} header"):
        _read(HEAD + fields + b"X-F: one too many\r\n\r\nbody\r\n")


def test_folded_lines_are_not_fields() -> None:
    fields = b"X-F: v\r\n\tcontinued\r\n more\r\n" * (parse.MAX_HEADER_FIELDS - 2)
    assert _read(HEAD + fields + b"\r\nbody\r\n").text_body == "body\r\n"


def test_header_fields_count_across_the_parts() -> None:
    """Two fields at the top, one more for Content-Type, and each part's own."""
    part = b"Content-Type: text/plain\r\n" + b"X-F: v\r\n" * 9 + b"\r\nx\r\n"  # ten
    fitting = (parse.MAX_HEADER_FIELDS - 3) // 10
    assert _read(_multipart([part] * fitting)).text_body == "x"
    with pytest.raises(TooComplex, match="header fields"):
        _read(_multipart([part] * (fitting + 1)))


def test_nesting_is_bounded_at_the_limit() -> None:
    assert _read(_nested(parse.MAX_MIME_DEPTH)).text_body == "leaf"
    with pytest.raises(TooComplex, match=f"nested more than {parse.MAX_MIME_DEPTH}"):
        _read(_nested(parse.MAX_MIME_DEPTH + 1))


def test_message_rfc822_nesting_counts_as_nesting() -> None:
    inner = HEAD + b"Subject: inner\r\n\r\nbody\r\n"
    for _ in range(parse.MAX_MIME_DEPTH + 1):
        inner = HEAD + b"Content-Type: message/rfc822\r\n\r\n" + inner
    with pytest.raises(TooComplex, match="nested"):
        _read(inner)


def test_parts_are_bounded_at_the_limit() -> None:
    """The message and every part count, containers included."""
    part = b"Content-Type: text/plain\r\n\r\nx\r\n"
    raw = _multipart([part] * (parse.MAX_MIME_PARTS - 1))
    assert _read(raw).text_body == "x"
    with pytest.raises(TooComplex, match=f"more than {parse.MAX_MIME_PARTS} MIME parts"):
        _read(_multipart([part] * parse.MAX_MIME_PARTS))


def test_a_recursion_error_is_a_permanent_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the parser recurse too deep within the limits (a smaller stack), the
    message is refused for good, not 451 for ever."""
    monkeypatch.setattr(parse, "MAX_MIME_DEPTH", 100_000)
    monkeypatch.setattr(parse, "MAX_MIME_PARTS", 100_000)
    with pytest.raises(TooComplex, match="too deep"):
        _read(_nested(3000))


@pytest.mark.parametrize("charset", ["x-unknown-foo", "base64"])
def test_an_unknown_charset_is_read_as_utf8(charset: str) -> None:
    text = b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n\r\nh\xc3\xa9 \xff\r\n"
    assert _read(HEAD + text).text_body == "h\u00e9 \ufffd\r\n"
    assert _read(_multipart([text])).text_body == "h\u00e9 \ufffd"


def test_encoded_line_breaks_never_reach_a_stored_field() -> None:
    raw = (b"From: =?utf-8?q?Ann=0D=0AX-Evil:_1?= <a@example.com>\r\n"
           b"To: r@example.com\r\nSubject: =?utf-8?q?Hi=0D=0ABcc:_x@y?=\r\n"
           b"Reply-To: =?utf-8?b?" + base64.b64encode(b"r\xe2\x80\xa8s")
           + b"?= <rt@example.com>\r\n"
           b"X-PM-Tag: =?utf-8?q?t=0Ag?=\r\nX-PM-Metadata-k: =?utf-8?q?v=0Bw=00?=\r\n\r\nx\r\n")
    sub = _read(raw)
    assert sub.subject == "Hi  Bcc: x@y"
    assert sub.from_field == "Ann  X-Evil: 1 <a@example.com>"
    assert sub.reply_to == "r s <rt@example.com>"  # U+2028 too
    assert sub.tag == "t g"
    assert sub.metadata == {"k": "v w\ufffd"}  # NUL stays without_nul's
    assert sub.raw == raw  # the message itself is kept as it came


def test_is_light() -> None:
    assert parse.is_light(HEAD + b"Subject: s\r\n\r\nbody\r\n")
    assert not parse.is_light(_multipart([b"\r\nx\r\n"]))
    assert not parse.is_light(HEAD + b"Content-Type: Message/RFC822\r\n\r\n" + HEAD)
    assert not parse.is_light(HEAD + b"\r\n" + b"x" * parse.INLINE_BYTES)


def test_other_malformed_messages_are_still_malformed() -> None:
    with pytest.raises(MalformedMessage) as refused:
        _read(HEAD + b"Subject: " + b"s" * 2001 + b"\r\n\r\nx\r\n")
    assert not isinstance(refused.value, TooComplex)


@pytest.mark.parametrize(("header", "stored"), [
    (b"X-PM-TrackLinks: htmlOnly\r\n", "htmlOnly"),      # any case, kept as given
    (b"X-PM-TrackLinks:  TextOnly \r\n", "TextOnly"),
    (b"X-PM-TrackLinks: Sometimes\r\n", "None"),         # a header cannot be refused
    (b"", "None"),
])
def test_x_pm_tracklinks_is_kept_as_given(header: bytes, stored: str) -> None:
    assert _read(HEAD + header + b"\r\nbody\r\n").track_links == stored
