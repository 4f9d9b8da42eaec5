"""Trusted networks (Postfix's mynetworks): clients there submit without AUTH as one
configured server; everyone else still must authenticate; a half-configured setting
refuses to start."""

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
