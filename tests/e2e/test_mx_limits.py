"""What one client can make the bounce MX store is bounded (issue 12, item 4), over real
SMTP on both backends: reports are size-capped by a limit of their own and rate-limited
per client address."""

from __future__ import annotations

import smtplib
from collections.abc import Callable

import sqlalchemy as sa

from postlane.store.schema import inbound_reports
from tests.support.harness import RunningServer

REPORT = b"Subject: a report\r\n\r\n" + b"x" * 60 + b"\r\n"


def stored(server: RunningServer) -> int:
    with server.app.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(inbound_reports)
                                ).scalar_one())


def connect(server: RunningServer, source: str = "127.0.0.1") -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", server.inbound_port, timeout=30,
                        source_address=(source, 0))
    smtp.ehlo("mx.example.net")
    return smtp


def test_reports_have_a_size_cap_of_their_own(
        make_server: Callable[..., RunningServer]) -> None:
    # Smaller than the submission limit here, to tell them apart.
    server = make_server(mx_max_report_bytes=8192, smtp_max_message_bytes=1024 * 1024)
    rcpt = f"fbl@{server.settings.bounce_domain}"
    with connect(server) as smtp:
        assert smtp.esmtp_features["size"] == "8192"
        # Announced too big: refused at MAIL, before a byte of it is sent.
        code, reply = smtp.mail("", ["SIZE=9000"])
        assert (code, reply[:5]) == (552, b"5.3.4")
        assert smtp.mail("")[0] == 250 and smtp.rcpt(rcpt)[0] == 250
        code, reply = smtp.data(b"Subject: big\r\n\r\n" + (b"y" * 70 + b"\r\n") * 200)
        assert (code, reply[:5]) == (552, b"5.3.4")
        # Under the cap it is taken.
        assert smtp.mail("")[0] == 250 and smtp.rcpt(rcpt)[0] == 250
        assert smtp.data(REPORT)[0] == 250
    assert stored(server) == 1


def test_a_client_over_its_rate_is_told_to_come_back(
        make_server: Callable[..., RunningServer]) -> None:
    server = make_server(mx_reports_per_client_per_minute=2)
    rcpt = f"fbl@{server.settings.bounce_domain}"
    with connect(server) as smtp:
        for _ in range(2):
            assert smtp.mail("")[0] == 250 and smtp.rcpt(rcpt)[0] == 250
            assert smtp.data(REPORT)[0] == 250
        code, reply = smtp.mail("")
        assert (code, reply[:5]) == (450, b"4.7.1")
    # A new connection from the same address is the same client.
    with connect(server) as smtp:
        assert smtp.mail("")[0] == 450
    # Another client is not held back by the first (Linux routes all of 127/8 to lo).
    with connect(server, source="127.0.0.2") as smtp:
        assert smtp.mail("")[0] == 250 and smtp.rcpt(rcpt)[0] == 250
        assert smtp.data(REPORT)[0] == 250
    assert stored(server) == 3
