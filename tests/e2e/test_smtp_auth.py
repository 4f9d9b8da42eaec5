"""The SMTP submission listener's gate: AUTH with a server token, STARTTLS (development and
configured certificates, AUTH that needs TLS), and the size and recipient limits. Real
smtplib/aiosmtplib clients on real sockets, on both storage backends."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import smtplib
import ssl
import time
from pathlib import Path

import aiosmtplib
import pytest
import sqlalchemy as sa

from postlane.smtp.tls import ensure_self_signed
from postlane.store import schema
from tests.support.harness import RunningServer, make_message, wait_until
from tests.support.smtp_support import (
    SENDER,
    count_rows,
    custom_server,
    message_id,
    session,
    transmit,
    unverified_tls,
    wire,
)

RCPT = "rcpt@example.com"


def _plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


# --- AUTH -------------------------------------------------------------------------------

def test_mail_from_before_auth_is_refused(server: RunningServer) -> None:
    with session(server, token="") as smtp:
        code, reply = smtp.mail(SENDER)
        assert code == 530, reply
        assert smtp.rcpt(RCPT)[0] == 530
    assert count_rows(server, schema.messages) == 0


@pytest.mark.parametrize("user_suffix, password_suffix", [("x", "x"), ("", "x"), ("x", "")])
def test_bad_credentials_are_refused(server: RunningServer, user_suffix: str,
                                     password_suffix: str) -> None:
    """A wrong token, or a user name that differs from the password, is 535."""
    token = server.server_token
    with session(server, token="") as smtp:
        code, reply = smtp.docmd("AUTH", "PLAIN " + _plain(token + user_suffix,
                                                           token + password_suffix))
        assert code == 535, reply
        # Still unauthenticated.
        assert smtp.mail(SENDER)[0] == 530


def test_account_token_is_not_an_smtp_credential(server: RunningServer) -> None:
    with session(server, token="") as smtp, pytest.raises(smtplib.SMTPAuthenticationError) as err:
        smtp.login(server.account_token, server.account_token)
    assert err.value.smtp_code == 535


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_mechanisms_with_the_server_token(server: RunningServer, mechanism: str) -> None:
    with session(server, token="") as smtp:
        assert mechanism in smtp.esmtp_features["auth"].upper().split()
        smtp.user = smtp.password = server.server_token
        authobject = smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login
        code, reply = smtp.auth(mechanism, authobject, initial_response_ok=False)
        assert code == 235, reply
        code, text = transmit(smtp, make_message(RCPT, subject=f"via {mechanism}"), [RCPT])
    assert code == 250, text
    details = server.api().get(f"/messages/outbound/{message_id(text)}/details").json()
    assert details["Subject"] == f"via {mechanism}"


def test_deleted_servers_token_no_longer_authenticates(server: RunningServer) -> None:
    account = server.api(account=True)
    created = account.post("/servers", json={"Name": "Short-lived"})
    assert created.status_code == 200, created.text
    token = created.json()["ApiTokens"][0]
    with session(server, token=token) as smtp:
        code, text = transmit(smtp, make_message(RCPT), [RCPT])
        assert code == 250, text

    removed = account.delete(f"/servers/{created.json()['ID']}")
    assert removed.status_code == 200, removed.text
    with session(server, token="") as smtp:
        code, reply = smtp.docmd("AUTH", "PLAIN " + _plain(token, token))
        assert code == 535, reply
    # The surviving server's token is unaffected.
    with session(server) as smtp:
        assert transmit(smtp, make_message(RCPT), [RCPT])[0] == 250


# --- STARTTLS ---------------------------------------------------------------------------

def test_starttls_upgrade_then_auth_and_send(server: RunningServer) -> None:
    with session(server, token="") as smtp:
        assert smtp.has_extn("starttls")
        code, reply = smtp.starttls(context=unverified_tls())
        assert code == 220, reply
        assert isinstance(smtp.sock, ssl.SSLSocket)
        served = smtp.sock.getpeercert(binary_form=True)
        smtp.ehlo("client.example.com")
        assert not smtp.has_extn("starttls")  # already on TLS
        smtp.login(server.server_token, server.server_token)
        code, text = transmit(smtp, make_message(RCPT, subject="over TLS"), [RCPT])
    assert code == 250, text
    assert server.api().get(f"/messages/outbound/{message_id(text)}/details"
                            ).json()["Subject"] == "over TLS"
    # Without configuration, the development certificate under the data dir is served.
    dev_cert = server.settings.data_dir / "tls" / "smtp-cert.pem"
    assert served == ssl.PEM_cert_to_DER_cert(dev_cert.read_text())


def test_auth_requires_tls_when_configured(database_url: str, tmp_path: Path) -> None:
    with custom_server(database_url, tmp_path / "data", smtp_auth_require_tls=True) as server:
        token = server.server_token
        with session(server, token="") as smtp:
            assert not smtp.has_extn("auth")  # not offered in clear text
            code, reply = smtp.docmd("AUTH", "PLAIN " + _plain(token, token))
            assert code == 538, reply
            assert smtp.mail(SENDER)[0] == 530
            smtp.rset()
            assert smtp.starttls(context=unverified_tls())[0] == 220
            smtp.ehlo("client.example.com")
            assert smtp.has_extn("auth")
            smtp.login(token, token)
            code, text = transmit(smtp, make_message(RCPT), [RCPT])
        assert code == 250, text
        assert count_rows(server, schema.messages) == 1


def test_aiosmtplib_starttls_client(database_url: str, tmp_path: Path) -> None:
    """An asyncio client that upgrades on its own (start_tls) and logs in after."""
    with custom_server(database_url, tmp_path / "data", smtp_auth_require_tls=True) as server:
        msg = make_message(RCPT, subject="aiosmtplib")

        async def send() -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
            return await aiosmtplib.send(
                msg, hostname="127.0.0.1", port=server.smtp_port, start_tls=True,
                tls_context=unverified_tls(), username=server.server_token,
                password=server.server_token, timeout=30)

        refused, reply = asyncio.run(send())
        assert refused == {}
        details = server.api().get(f"/messages/outbound/{message_id(reply)}/details").json()
        assert details["Subject"] == "aiosmtplib"


def test_configured_certificate_is_served(database_url: str, tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path / "mine", "mail.postlane.test")
    with custom_server(database_url, tmp_path / "data", tls_cert_file=cert,
                       tls_key_file=key) as server:
        with session(server, token="") as smtp:
            assert smtp.starttls(context=unverified_tls())[0] == 220
            assert isinstance(smtp.sock, ssl.SSLSocket)
            served = smtp.sock.getpeercert(binary_form=True)
            smtp.ehlo("client.example.com")
            smtp.login(server.server_token, server.server_token)
            assert transmit(smtp, make_message(RCPT), [RCPT])[0] == 250
        assert served == ssl.PEM_cert_to_DER_cert(cert.read_text())
        # No development certificate was made in its place.
        assert not (server.settings.data_dir / "tls" / "smtp-cert.pem").exists()


# --- limits -----------------------------------------------------------------------------

def test_message_over_the_size_limit_is_552_and_not_stored(database_url: str,
                                                           tmp_path: Path) -> None:
    with custom_server(database_url, tmp_path / "data", smtp_max_message_bytes=4096) as server:
        with session(server) as smtp:
            assert smtp.esmtp_features.get("size") == "4096"
            code, reply = transmit(smtp, make_message(RCPT, body="x\n" * 10_000), [RCPT])
            assert code == 552, reply
            # A declared size over the limit is refused at MAIL already.
            code, refusal = smtp.mail(SENDER, ["SIZE=20000"])
            assert code == 552, refusal
            smtp.rset()
            # The session stays usable for a message that fits.
            code, text = transmit(smtp, make_message(RCPT, body="small"), [RCPT])
            assert code == 250, text
        assert count_rows(server, schema.messages) == 1
        assert count_rows(server, schema.messages, schema.messages.c.id != message_id(text)) == 0


def test_recipients_over_the_limit_get_452(database_url: str, tmp_path: Path) -> None:
    with custom_server(database_url, tmp_path / "data", smtp_max_recipients=3) as server:
        rcpts = [f"r{i}@example.com" for i in range(5)]
        with session(server) as smtp:
            assert smtp.mail(SENDER)[0] == 250
            codes = [smtp.rcpt(r)[0] for r in rcpts]
            assert codes == [250, 250, 250, 452, 452]
            code, reply = smtp.data(wire(make_message(", ".join(rcpts[:3]))))
            assert code == 250, reply
        details = server.api().get(
            f"/messages/outbound/{message_id(reply.decode())}/details").json()
        assert details["Recipients"] == rcpts[:3]
        assert count_rows(server, schema.recipients) == 3


@pytest.mark.parametrize("address", ["not-an-address", "two@@example.com", "a b@example.com",
                                     "x@-bad-.example"])
def test_invalid_recipient_is_553(server: RunningServer, address: str) -> None:
    with session(server) as smtp:
        assert smtp.mail(SENDER)[0] == 250
        code, reply = smtp.rcpt(address)
        assert code == 553, reply
        # The envelope is still good for valid recipients.
        assert smtp.rcpt(RCPT)[0] == 250
        code, reply = smtp.data(wire(make_message(RCPT)))
        assert code == 250, reply
    assert count_rows(server, schema.recipients) == 1


def test_a_slow_token_lookup_does_not_stall_other_sessions(server: RunningServer) -> None:
    """The token check runs off the event loop: while one AUTH waits for the database,
    sessions already in progress are answered. (A lookup on the loop would freeze the
    whole process for as long as the database takes, or a connection attempt lasts.)"""
    if not server.app.db.is_sqlite:
        lock_sql = "LOCK TABLE server_tokens IN ACCESS EXCLUSIVE MODE"
    else:
        pytest.skip("SQLite readers are never blocked (WAL); PostgreSQL can hold a lock")
    busy = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10)
    busy.login(server.server_token, server.server_token)
    waiting = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30)
    waiting.ehlo()
    engine = sa.create_engine(server.app.db.engine.url)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(sa.text(lock_sql))  # the token lookup now waits for this
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                auth = pool.submit(waiting.login, server.server_token, server.server_token)
                wait_until(lambda: _lock_waiters(engine), message="the token lookup to block")
                assert not auth.done()  # waiting for the lock...
                started = time.monotonic()
                assert busy.noop()[0] == 250  # ...while the other session is answered
                assert busy.mail("app@example.com")[0] == 250
                assert time.monotonic() - started < 2
                conn.rollback()  # releases the lock
                assert auth.result(timeout=20)[0] == 235
    finally:
        busy.close()
        waiting.close()
        engine.dispose()


def _lock_waiters(engine: sa.Engine) -> int:
    """Backends of this database waiting for a lock: the blocked token lookup."""
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar_one())
