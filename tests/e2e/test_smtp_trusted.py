"""Trusted networks (Postfix's mynetworks): clients there submit without AUTH as one
configured server; everyone else still must authenticate; a half-configured setting
refuses to start; and the server's SmtpApiActivated switch and the token's existence
count for trusted clients as for AUTH clients, from the next message on, without a
restart."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.harness import (
    RunningServer,
    make_message,
    start_server,
    test_settings,
    wait_until,
)

TOKEN = "trusted-server-token"


def test_trusted_network_submits_without_auth(
        make_server: Callable[..., RunningServer]) -> None:
    server = make_server(server_token=TOKEN, smtp_trusted_networks="127.0.0.0/8",
                         smtp_trusted_server_token=TOKEN)
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as smtp:
        smtp.ehlo()  # and no AUTH at all
        smtp.mail("app@example.com")
        smtp.rcpt("someone@example.com")
        code, reply = smtp.data(make_message("someone@example.com").as_bytes()
                                .replace(b"\n", b"\r\n"))
    assert code == 250
    message_id = reply.decode().rsplit(" ", 1)[-1]
    api = server.api(TOKEN)
    wait_until(lambda: api.get(f"/messages/outbound/{message_id}/details").json()["Status"]
               == "Sent", message="delivered to the trusted server's sandbox")


def _trusted_send(server: RunningServer) -> tuple[int, str]:
    """One message from a trusted client (no AUTH): the first refusal (a revoked token
    is refused at MAIL or, at the latest, in the accept: smtp/senders.py) or the DATA
    reply."""
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        code, reply = smtp.mail("app@example.com")
        if code != 250:
            return code, reply.decode()
        smtp.rcpt("someone@example.com")
        try:
            code, reply = smtp.data(make_message("someone@example.com").as_bytes()
                                    .replace(b"\n", b"\r\n"))
        except smtplib.SMTPDataError as exc:
            code, reply = exc.smtp_code, exc.smtp_error
    return code, reply.decode()


def _auth_refused(server: RunningServer, token: str) -> bool:
    """Whether AUTH with ``token`` is refused as invalid (535); False once it succeeds."""
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as smtp:
        try:
            code, _ = smtp.login(token, token)
        except smtplib.SMTPAuthenticationError as exc:
            return exc.smtp_code == 535
    assert code == 235
    return False


def _stored(server: RunningServer) -> int:
    total: int = server.api(TOKEN).get("/messages/outbound").json()["TotalCount"]
    return total


def test_trusted_clients_honour_smtp_api_activated_without_a_restart(
        make_server: Callable[..., RunningServer]) -> None:
    server = make_server(server_token=TOKEN, smtp_trusted_networks="127.0.0.0/8",
                         smtp_trusted_server_token=TOKEN)
    assert _trusted_send(server)[0] == 250
    account = server.api(account=True)
    r = account.put(f"/servers/{server.server_id}", json={"SmtpApiActivated": False})
    assert r.status_code == 200 and r.json()["SmtpApiActivated"] is False

    # Switched off: refused at the next message (AUTH clients: at AUTH, below).
    code, reply = _trusted_send(server)
    assert code == 530, reply
    assert reply.startswith("5.7.0 ") and "SMTP is switched off" in reply
    assert _stored(server) == 1

    r = account.put(f"/servers/{server.server_id}", json={"SmtpApiActivated": True})
    assert r.status_code == 200
    assert _trusted_send(server)[0] == 250
    assert _stored(server) == 2


def test_auth_clients_honour_smtp_api_activated(server: RunningServer) -> None:
    """The rule trusted clients now share: no SMTP for a server whose SMTP is off."""
    account = server.api(account=True)
    assert account.put(f"/servers/{server.server_id}",
                       json={"SmtpApiActivated": False}).status_code == 200
    assert _auth_refused(server, server.server_token)
    assert account.put(f"/servers/{server.server_id}",
                       json={"SmtpApiActivated": True}).status_code == 200
    assert not _auth_refused(server, server.server_token)


def test_trusted_clients_are_refused_once_the_token_names_no_server(
        make_server: Callable[..., RunningServer]) -> None:
    server = make_server(server_token=TOKEN, smtp_trusted_networks="127.0.0.0/8",
                         smtp_trusted_server_token=TOKEN)
    code, reply = _trusted_send(server)
    assert code == 250
    # Deleted at once, while the worker may still be screening the message (on
    # PostgreSQL the two can deadlock; the delete is retried: tests/store).
    account = server.api(account=True)
    assert account.delete(f"/servers/{server.server_id}").status_code == 200
    code, reply = _trusted_send(server)
    assert code == 530, reply
    assert "no longer names a server" in reply


def test_outside_the_trusted_networks_auth_is_still_required(
        make_server: Callable[..., RunningServer]) -> None:
    server = make_server(server_token=TOKEN, smtp_trusted_networks="10.0.0.0/8,::1/128",
                         smtp_trusted_server_token=TOKEN)
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        code, reply = smtp.mail("app@example.com")
    assert code == 530, reply


def test_trusted_networks_need_a_valid_server_token(database_url: str, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="smtp_trusted_server_token"):
        start_server(test_settings(database_url, tmp_path / "a",
                                   smtp_trusted_networks="127.0.0.0/8"))
    with pytest.raises(RuntimeError, match="not a server token"):
        start_server(test_settings(database_url, tmp_path / "b",
                                   smtp_trusted_networks="127.0.0.0/8",
                                   smtp_trusted_server_token="no-such-token"))
