"""VERP return paths with per-recipient signed tokens (issue 12, item 4): pure."""

from __future__ import annotations

import pytest

from postlane.domain import verp

MESSAGE = "01a23440-30d0-75f1-8c2e-5b9d7e6f4a31"
OTHER = "5f0c2a8e-7b1d-4c3a-9e6f-0d4b8a2c1e7f"
KEY = b"k" * 32
SIGNER = verp.Signer(KEY, "bounces.example.com")


def test_the_return_path_names_the_message_and_fits_rfc_5321() -> None:
    path = SIGNER.return_path(MESSAGE, "alice@example.com")
    local, _, domain = path.partition("@")
    assert domain == "bounces.example.com"
    assert local.startswith(f"pm_bounces+{MESSAGE}.")
    assert len(local) == 64  # RFC 5321 4.5.3.1.1: every server must take 64
    assert verp.message_id_from(path) == MESSAGE
    assert SIGNER.return_path(MESSAGE, "alice@example.com") == path  # stable


def test_each_recipient_message_and_key_gets_its_own_token() -> None:
    paths = {SIGNER.return_path(MESSAGE, "alice@example.com"),
             SIGNER.return_path(MESSAGE, "bob@example.com"),
             SIGNER.return_path(OTHER, "alice@example.com"),
             verp.Signer(b"another key", "bounces.example.com").return_path(
                 MESSAGE, "alice@example.com")}
    assert len(paths) == 4


def test_a_token_binds_only_its_recipient() -> None:
    token = verp.token_from(SIGNER.return_path(MESSAGE, "bob@example.com"))
    assert token is not None and token.message_id == MESSAGE
    assert verp.binds(KEY, token, "bob@example.com")
    assert not verp.binds(KEY, token, "alice@example.com")
    assert not verp.binds(b"guessed key", token, "bob@example.com")
    # Moved to another message, the MAC no longer fits.
    assert not verp.binds(KEY, verp.Token(OTHER, token.mac), "bob@example.com")


def test_a_case_folding_mta_does_not_break_the_token() -> None:
    path = SIGNER.return_path(MESSAGE, "bob@example.com")
    token = verp.token_from(f"<{path.upper()}>")
    assert token is not None and verp.binds(KEY, token, "bob@example.com")


@pytest.mark.parametrize("mangle", [
    lambda mac: mac[:-1] + ("a" if mac[-1] != "a" else "b"),  # one character off
    lambda mac: mac[:-1],  # too short: not a token at all
    lambda mac: mac[:-1] + "1",  # not base32
])
def test_a_tampered_token_does_not_verify(mangle: object) -> None:
    mac = SIGNER.return_path(MESSAGE, "bob@example.com").split("@")[0].rsplit(".", 1)[1]
    forged = f"pm_bounces+{MESSAGE}.{mangle(mac)}@bounces.example.com"  # type: ignore[operator]
    token = verp.token_from(forged)
    assert token is None or not verp.binds(KEY, token, "bob@example.com")


def test_old_style_return_paths_are_recognised_but_carry_no_token() -> None:
    legacy = f"pm_bounces+{MESSAGE}@bounces.example.com"
    assert verp.token_from(legacy) is None
    assert verp.legacy_message_id(legacy) == MESSAGE
    assert verp.message_id_from(legacy) == MESSAGE
    assert verp.legacy_message_id(SIGNER.return_path(MESSAGE, "bob@example.com")) is None


@pytest.mark.parametrize("address", ["", "bob@example.com", "pm_bounces+nope@x.example",
                                     f"other+{MESSAGE}.abcdefghijklmnop@x.example"])
def test_other_addresses_name_nothing(address: str) -> None:
    assert verp.token_from(address) is None and verp.message_id_from(address) is None
