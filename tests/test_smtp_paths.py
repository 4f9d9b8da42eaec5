"""The shortcuts in smtp/protocol.py give what the long way gives: the MAIL/RCPT path
reading matches aiosmtpd's own parser, the clean-reply fast path matches the full
cleaning, and protocols copied from a prototype match constructed ones."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP
from hypothesis import example, given, settings
from hypothesis import strategies as st

from postlane.smtp.protocol import PostlaneSMTP, _line, printable_reply

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
atom = st.text(ATEXT, min_size=1, max_size=8)
label = st.text("abcXYZ019-", min_size=1, max_size=8)
plain = st.builds(lambda local, domain: f"{'.'.join(local)}@{'.'.join(domain)}",
                  st.lists(atom, min_size=1, max_size=3), st.lists(label, min_size=1, max_size=3))
params = st.sampled_from(["", " SIZE=2048", "  BODY=8BITMIME SMTPUTF8", "\tX=1", "x", " (c) X",
                          "(comment)", " ", ">"])
path = st.builds(lambda addr, tail: f"<{addr}>{tail}", plain, params)
noise = st.text("<>@.\" ()[]\\a1-:\t", max_size=24)


def parsers(local_part_limit: int) -> tuple[SMTP, SMTP]:
    ours, theirs = PostlaneSMTP.__new__(PostlaneSMTP), SMTP.__new__(SMTP)
    ours.local_part_limit = theirs.local_part_limit = local_part_limit
    return ours, theirs


@settings(max_examples=600, deadline=None)
@given(arg=st.one_of(path, noise, st.builds(str.__add__, path, noise)),
       limit=st.sampled_from([0, 4, 64]))
@example(arg="<a@b.c>", limit=0)
@example(arg="<a.b@c> SIZE=1", limit=0)
@example(arg="<toolong@b.c>", limit=4)
@example(arg="<a@b.c>(comment)", limit=0)
@example(arg="<a..b@c>", limit=0)
@example(arg='<"quoted"@b.c>', limit=0)
@example(arg="<a@[127.0.0.1]>", limit=0)
@example(arg="<>", limit=0)
def test_path_reading_matches_aiosmtpd(arg: str, limit: int) -> None:
    ours, theirs = parsers(limit)
    assert outcome(ours._getaddr, arg) == outcome(lambda a: SMTP._getaddr(theirs, a), arg)


def outcome(read: Callable[[str], object], arg: str) -> object:
    """The result, or the kind of exception (aiosmtpd's parser raises on some noise;
    its caller turns that into a 500 reply)."""
    try:
        return read(arg)
    except Exception as exc:
        return type(exc)


def test_plain_path_takes_the_shortcut() -> None:
    """The common form never reaches aiosmtpd's parser (the point of the shortcut)."""
    ours, _ = parsers(0)

    def refuse(arg: str) -> tuple[str | None, str | None]:
        raise AssertionError(f"aiosmtpd's parser was called for {arg!r}")

    SMTP_getaddr = SMTP._getaddr
    try:
        SMTP._getaddr = refuse  # type: ignore[method-assign,assignment]
        assert ours._getaddr("<App+tag@Mail.Example.com> SIZE=10") == (
            "App+tag@Mail.Example.com", "SIZE=10")
    finally:
        SMTP._getaddr = SMTP_getaddr  # type: ignore[method-assign]


class _Handler:
    async def handle_DATA(self, server: SMTP, session: object, envelope: object) -> str:
        return "250 OK"

    async def auth_CUSTOM(self, server: SMTP, args: list[str]) -> None:
        return None


def test_factory_copies_match_a_constructed_protocol() -> None:
    """Protocols from PostlaneSMTP.factory hold what aiosmtpd's constructor would give
    them: the same attributes, fresh stream objects of their own, and command and AUTH
    methods bound to themselves (not to the prototype or to each other)."""

    async def build() -> tuple[PostlaneSMTP, PostlaneSMTP, PostlaneSMTP]:
        loop = asyncio.get_running_loop()
        options: dict[str, Any] = {"hostname": "mx.example", "auth_required": False,
                                   "enable_SMTPUTF8": True, "loop": loop}
        make = PostlaneSMTP.factory(_Handler(), **options)
        return PostlaneSMTP(_Handler(), **options), make(), make()

    constructed, first, second = asyncio.run(build())
    assert first.__dict__.keys() == constructed.__dict__.keys()
    per_connection = {"_stream_reader_wr", "_strong_reader", "_closed", "_drain_waiters",
                      "_client_connected_cb", "_smtp_methods", "_auth_methods"}
    for name, value in first.__dict__.items():
        if name in per_connection:
            assert value is not second.__dict__[name], name
        elif name not in {"event_handler", "_handle_hooks"}:  # our handler is another object
            assert value == constructed.__dict__[name], name
    for protocol in (first, second):
        assert protocol._strong_reader is not None
        assert protocol._client_connected_cb.__self__ is protocol
        assert protocol._smtp_methods.keys() == constructed._smtp_methods.keys()
        assert all(m.__self__ is protocol for m in protocol._smtp_methods.values())
        assert protocol._auth_methods.keys() == constructed._auth_methods.keys()
        for mech in protocol._auth_methods.values():
            owner = mech.method.__self__  # type: ignore[attr-defined]
            assert owner is (protocol if mech.is_builtin else protocol.event_handler)


@settings(max_examples=500, deadline=None)
@given(status=st.one_of(st.text(max_size=600),
                        st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                max_size=600)))
@example(status="250 2.0.0 Ok: queued as 5e0c1b6e-0000-4000-8000-000000000000")
@example(status="250-mx.example\r\n250 SIZE 1000")
@example(status="550 tab\there")
@example(status="x" * 510)
@example(status="x" * 511)
def test_clean_reply_shortcut_matches_full_cleaning(status: str) -> None:
    assert printable_reply(status) == "\r\n".join(_line(line) for line in status.split("\r\n"))
