"""REST messages to internationalised addresses (RFC 6531/6532): the address headers carry
the address as UTF-8, not as an encoded word, which mail clients would show as garbage and
which is not an address at all (RFC 2047 section 5 forbids encoded words in addr-spec)."""

from __future__ import annotations

from email import message_from_string, policy

from postlane.domain import mime

UTF8 = "josé@example.test"


def _compose(to: str, subject: str = "Hi") -> bytes:
    return mime.compose(from_field="app@sender.test", to_field=to, cc_field="", reply_to="",
                        subject=subject, text_body="Hello", html_body=None, headers=[],
                        attachments=[], message_id="m1", domain="postlane.test")


def test_an_internationalised_address_is_written_as_utf8() -> None:
    raw = _compose(f"Jos <{UTF8}>, ok@example.test", subject="Grüße")
    assert f"\r\nTo: Jos <{UTF8}>, ok@example.test\r\n".encode() in raw
    parsed = message_from_string(raw.decode(), policy=policy.SMTPUTF8)
    assert [a.addr_spec for a in parsed["To"].addresses] == [UTF8, "ok@example.test"]


def test_ascii_addresses_keep_encoded_words_elsewhere() -> None:
    """Mail that needs no SMTPUTF8 stays 7-bit: a non-ASCII subject is an encoded word."""
    raw = _compose("ok@example.test", subject="Grüße")
    assert raw.isascii()
    assert b"Subject: =?utf-8?" in raw
