"""SMTP command syntax (postlane/smtp/syntax.py): paths and parameters, AUTH answers and
reply cleaning. Plain paths are checked against aiosmtpd's RFC 5322 parser, an
independent reading of the same grammar."""

from __future__ import annotations

import re
from base64 import b64encode

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import example, given, settings
from hypothesis import strategies as st

from postlane.smtp.syntax import (
    AuthProblem,
    Path,
    SyntaxProblem,
    decode_answer,
    multiline,
    parse_path,
    plain_credentials,
    printable_reply,
)

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
atom = st.text(ATEXT, min_size=1, max_size=8)
label = st.text("abcXYZ019-", min_size=1, max_size=8)
plain = st.builds(lambda local, domain: f"{'.'.join(local)}@{'.'.join(domain)}",
                  st.lists(atom, min_size=1, max_size=3), st.lists(label, min_size=1, max_size=3))
params = st.sampled_from(["", " SIZE=2048", "  BODY=8BITMIME SMTPUTF8", "\tX=1"])


def aiosmtpd_reading(arg: str) -> tuple[str | None, str | None]:
    reader = SMTP.__new__(SMTP)
    reader.local_part_limit = 64
    result: tuple[str | None, str | None] = reader._getaddr(arg)
    return result


@settings(max_examples=400, deadline=None)
@given(address=plain, tail=params)
@example(address="a@b.c", tail="")
@example(address="App+tag@Mail.Example.com", tail=" SIZE=10")
def test_plain_paths_read_as_aiosmtpd_reads_them(address: str, tail: str) -> None:
    path = parse_path(f"FROM:<{address}>{tail}", "FROM")
    theirs, rest = aiosmtpd_reading(f"<{address}>{tail}")
    assert path.address == theirs
    assert path.params == {w.partition("=")[0].upper(): (w.partition("=")[2] or None)
                           for w in (rest or "").split()}


@pytest.mark.parametrize(("arg", "expected"), [
    ("FROM:<>", Path("", {})),
    ("from: <a@b.c>", Path("a@b.c", {})),
    ("FROM:a@b.c SIZE=5", Path("a@b.c", {"SIZE": "5"})),  # no brackets: lenient, as Postfix
    ("FROM:<@relay.example:a@b.c>", Path("a@b.c", {})),  # source route ignored (RFC 5321)
    ("FROM:<zoë@exämple.com> SMTPUTF8", Path("zoë@exämple.com", {"SMTPUTF8": None})),
    ("FROM:<not an address>", Path("not an address", {})),  # the handler refuses it (553)
])
def test_mail_paths(arg: str, expected: Path) -> None:
    assert parse_path(arg, "FROM") == expected


@pytest.mark.parametrize("arg", ["TO:<a@b.c>", "FROM<a@b.c>", "FROM:<a@b.c", "FROM:<a@b.c>x",
                                 "FROM:a", "FROM:<a@b.c> =x", "FROM:<a@b.c> SIZE==1",
                                 f"FROM:<{'x' * 65}@b.c>", ""])
def test_malformed_mail_arguments(arg: str) -> None:
    with pytest.raises(SyntaxProblem):
        parse_path(arg, "FROM")


def test_null_path_reads_as_the_empty_address() -> None:
    assert parse_path("TO:<>", "TO") == Path("", {})  # the handlers refuse it (553)
    assert parse_path("TO:<a@b.c>", "TO") == Path("a@b.c", {})


def test_auth_answers() -> None:
    assert decode_answer(b64encode(b"\0user\0pass") + b"  ") == b"\0user\0pass"
    assert decode_answer(b"=") == b""
    for answer, reply in ((b"*", "501 5.7.0 Auth aborted"),
                          (b"not base64!", "501 5.5.2 Can't decode base64")):
        with pytest.raises(AuthProblem, match=reply):
            decode_answer(answer)
    assert plain_credentials(b"admin\0tok\0tok") == ("tok", "tok")
    assert plain_credentials(b"\0t\xff\0t") == ("t\ufffd", "t")
    with pytest.raises(AuthProblem, match="501"):
        plain_credentials(b"only-two\0parts")


def test_multiline_reply() -> None:
    assert multiline(250, ["mx", "SIZE 10", "HELP"]) == "250-mx\r\n250-SIZE 10\r\n250 HELP"
    assert multiline(250, ["only"]) == "250 only"


@settings(max_examples=500, deadline=None)
@given(status=st.one_of(st.text(max_size=600),
                        st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                max_size=600)))
@example(status="250 2.0.0 Ok: queued as 5e0c1b6e-0000-4000-8000-000000000000")
@example(status="550 5.7.1 stream (a\r\n250 forged) not found")
@example(status="550 tab\there")
@example(status="x" * 510)
@example(status="x" * 511)
def test_replies_are_one_clean_line(status: str) -> None:
    """Whatever a reply quotes, it goes out as one line of at most 510 octets with no
    control character but HT: a CR or LF in it would forge a second reply line."""
    cleaned = printable_reply(status)
    assert len(cleaned.encode()) <= 510
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", cleaned)
    if len(status) <= 510 and status.isascii() and status.isprintable():
        assert cleaned == status
    else:
        assert len(cleaned) <= len(status)
