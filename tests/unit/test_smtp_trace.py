"""The Received: trace header (postlane/smtp/trace.py): RFC 5321 4.4 fields, RFC 3848
protocol keywords, and nothing a client says about itself can break out of the header."""

from __future__ import annotations

import email
from email.policy import compat32

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postlane.smtp import trace
from postlane.smtp.trace import address_literal, protocol, rfc5322_date

EPOCH = 0.0  # Thu, 01 Jan 1970 00:00:00 +0000


def received(helo: str | None, peer: object, hostname: str, with_protocol: str,
             recipients: list[str], now: float) -> bytes:
    return trace.received(trace.opening(helo, peer, hostname, with_protocol), recipients, now)


@pytest.mark.parametrize(("extended", "tls", "authenticated", "keyword"), [
    (False, False, False, "SMTP"), (False, True, True, "SMTP"),
    (True, False, False, "ESMTP"), (True, True, False, "ESMTPS"),
    (True, False, True, "ESMTPA"), (True, True, True, "ESMTPSA")])
def test_protocol_keywords_follow_rfc_3848(extended: bool, tls: bool, authenticated: bool,
                                           keyword: str) -> None:
    assert protocol(extended, tls, authenticated) == keyword


@pytest.mark.parametrize(("peer", "literal"), [
    (("192.0.2.1", 2525), "[192.0.2.1]"),
    (("2001:db8::1", 2525, 0, 0), "[IPv6:2001:db8::1]"),
    (("::ffff:192.0.2.7", 2525, 0, 0), "[192.0.2.7]"),
    (("fe80::1%eth0", 2525, 0, 2), "[IPv6:fe80::1%eth0]"),
    (("256.1.1.1", 1), "unknown"), (("1.2.3", 1), "unknown"), (("::1::2", 1), "unknown"),
    (None, "unknown"), ("/run/postlane.sock", "unknown"), (("not an ip", 1), "unknown"),
    ((), "unknown")])
def test_address_literals(peer: object, literal: str) -> None:
    assert address_literal(peer) == literal


def test_one_recipient_is_named() -> None:
    header = received("client.example", ("192.0.2.1", 40000), "mx.postlane.test", "ESMTPSA",
                      ["rcpt@example.com"], EPOCH)
    assert header == (b"Received: from client.example ([192.0.2.1])\r\n"
                      b"\tby mx.postlane.test (Postlane) with ESMTPSA\r\n"
                      b"\tfor <rcpt@example.com>; Thu, 01 Jan 1970 00:00:00 +0000\r\n")


def test_several_recipients_are_not_named() -> None:
    """Naming one of several would show a Bcc recipient to the others."""
    header = received("client.example", ("192.0.2.1", 40000), "mx", "ESMTP",
                      ["a@example.com", "b@example.com"], EPOCH)
    assert header == (b"Received: from client.example ([192.0.2.1])\r\n"
                      b"\tby mx (Postlane) with ESMTP; Thu, 01 Jan 1970 00:00:00 +0000\r\n")


@pytest.mark.parametrize("rcpt", ["a b@example.com", "<x>@example.com", "jos\u00e9@example.com",
                                  "a\r\nX-Injected: 1@example.com", ""])
def test_a_recipient_that_is_not_plain_ascii_is_left_out(rcpt: str) -> None:
    header = received("c", ("192.0.2.1", 1), "mx", "ESMTP", [rcpt], EPOCH)
    assert b"for <" not in header and header.count(b"\r\n") == 2


def test_the_date_is_rfc_5322_and_follows_the_clock() -> None:
    assert rfc5322_date(EPOCH) == "Thu, 01 Jan 1970 00:00:00 +0000"
    assert rfc5322_date(1704189600.9) == "Tue, 02 Jan 2024 10:00:00 +0000"
    assert rfc5322_date(1704189601.0) == "Tue, 02 Jan 2024 10:00:01 +0000"


@given(helo=st.text(max_size=400))
def test_any_helo_stays_inside_one_header(helo: str) -> None:
    header = received(helo, ("192.0.2.1", 1), "mx", "ESMTP", ["r@example.com"], EPOCH)
    assert header.isascii() and header.count(b"\r\n") == 3
    assert len(max(header.split(b"\r\n"), key=len)) < 300
    message = email.message_from_bytes(header + b"Subject: s\r\n\r\nbody\r\n", policy=compat32)
    assert message.keys() == ["Received", "Subject"]
    assert not message.defects


def test_a_missing_helo_name_reads_unknown() -> None:
    assert received(None, None, "mx", "SMTP", [], EPOCH).startswith(
        b"Received: from unknown (unknown)\r\n")
