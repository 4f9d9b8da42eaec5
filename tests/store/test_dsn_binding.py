"""The dsn step's binding rules (issue 12, item 4) on both backends: a report affects the
one recipient its verified VERP token names, and nobody else; the token may come with the
envelope or, from feedback loops, quoted in the report. The network path is in
tests/e2e/test_mx_forgery.py; these are the cases around it."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from postlane import pipeline
from postlane.accept import Submission, accept
from postlane.domain import verp
from postlane.domain.records import InboundReport
from postlane.domain.types import DeliveryType, JobKind, Source
from postlane.pipeline import dsn
from postlane.store import jobs, messages, servers, signing_keys
from postlane.store import reports as stored_reports
from postlane.store.database import Database
from postlane.store.schema import bounces, suppressions

KEY = b"test key, not the stored one"
SIGNER = verp.Signer(KEY, "bounces.example.com")
DATA = Path(__file__).parents[1] / "data" / "reports"


def message_to(db: Database, *rcpts: str) -> str:
    with db.write() as conn:
        server_id = servers.create(conn, f"dsn-{time.monotonic_ns()}")
        return accept(conn, Submission(
            server_id=server_id, delivery_type=DeliveryType.SANDBOX, stream="outbound",
            source=Source.API, from_field="app@example.com", recipients=list(rcpts),
            to_field=", ".join(rcpts), raw=b"Subject: x\r\n\r\nhello\r\n")).message_id


def dsn_bytes(*blocks: dict[str, str], quoted_return_path: str = "") -> bytes:
    per_recipient = "\n".join("".join(f"{k}: {v}\n" for k, v in b.items()) for b in blocks)
    quoted = f"Return-Path: <{quoted_return_path}>\n" if quoted_return_path else ""
    return ("Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
            "--B\nContent-Type: text/plain\n\nFailed.\n"
            "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
            f"{per_recipient}\n--B\nContent-Type: text/rfc822-headers\n\n{quoted}"
            "Subject: x\n\n--B--\n").encode()


def failed(final: str, original: str | None = None) -> dict[str, str]:
    block = {"Final-Recipient": f"rfc822; {final}", "Action": "failed", "Status": "5.1.1"}
    if original:
        block["Original-Recipient"] = f"rfc822; {original}"
    return block


def process(db: Database, raw: bytes, *rcpt_to: str, key: bytes = KEY) -> InboundReport:
    """Store a report as the MX does, run its dsn job, return the settled row."""
    with db.write() as conn:
        report_id = stored_reports.insert(conn, raw, "", list(rcpt_to))
        pipeline.enqueue(conn, JobKind.DSN, str(report_id))
    with db.write() as conn:
        (job,) = [j for j in jobs.claim(conn, "test", 10, 60) if j.ref == str(report_id)]
        dsn.run(conn, job, key)
    with db.read() as conn:
        row = stored_reports.get(conn, report_id)
    assert row is not None
    return row


def bounced(db: Database) -> list[tuple[str, str]]:
    with db.read() as conn:
        return sorted((r.email, r.bounce_type) for r in conn.execute(
            sa.select(bounces.c.email, bounces.c.bounce_type)))


def suppressed(db: Database) -> list[str]:
    with db.read() as conn:
        return sorted(conn.execute(sa.select(suppressions.c.email)).scalars())


def test_an_alias_expanded_downstream_is_still_the_bound_recipient(db: Database) -> None:
    message_id = message_to(db, "alias@example.com", "other@example.com")
    raw = dsn_bytes(failed("real@internal.example", original="alias@example.com"))
    row = process(db, raw, SIGNER.return_path(message_id, "alias@example.com"))
    assert row.state == "processed" and row.message_id == message_id
    assert bounced(db) == [("alias@example.com", "HardBounce")]


def test_a_report_about_a_stranger_applies_to_nobody(db: Database) -> None:
    message_id = message_to(db, "bob@example.com")
    row = process(db, dsn_bytes(failed("stranger@example.net")),
                  SIGNER.return_path(message_id, "bob@example.com"))
    assert row.state == "unmatched" and "stranger@example.net" in row.note
    assert bounced(db) == [] and suppressed(db) == []


def test_a_block_naming_nobody_is_the_token_holders(db: Database) -> None:
    message_id = message_to(db, "alice@example.com", "bob@example.com")
    raw = dsn_bytes({"Action": "failed", "Status": "5.1.1"})
    process(db, raw, SIGNER.return_path(message_id, "bob@example.com"))
    assert bounced(db) == [("bob@example.com", "HardBounce")]
    with db.read() as conn:
        status = {r.email: r.status for r in messages.recipients_of(conn, message_id)}
    assert status == {"alice@example.com": "Queued", "bob@example.com": "Bounced"}


def test_one_forged_block_spoils_the_whole_report(db: Database) -> None:
    """A copy's report names only its own recipient; one that also names another recipient
    of the message was made up, so none of it is believed."""
    message_id = message_to(db, "alice@example.com", "bob@example.com")
    raw = dsn_bytes(failed("bob@example.com"), failed("alice@example.com"))
    row = process(db, raw, SIGNER.return_path(message_id, "bob@example.com"))
    assert row.state == "unmatched" and "alice@example.com" in row.note
    assert bounced(db) == []


def test_the_token_may_come_quoted_when_the_report_is_sent_elsewhere(db: Database) -> None:
    message_id = message_to(db, "alice@example.com", "bob@example.com")
    raw = dsn_bytes(failed("bob@example.com"),
                    quoted_return_path=SIGNER.return_path(message_id, "bob@example.com"))
    row = process(db, raw, "postmaster@bounces.example.com")
    assert row.state == "processed"
    assert bounced(db) == [("bob@example.com", "HardBounce")]


def test_the_first_token_that_verifies_binds(db: Database) -> None:
    message_id = message_to(db, "alice@example.com", "bob@example.com")
    bad = f"{verp.PREFIX}+{message_id}.{'a' * verp.TOKEN_LENGTH}@bounces.example.com"
    process(db, dsn_bytes(failed("bob@example.com")), bad,
            SIGNER.return_path(message_id, "bob@example.com"))
    assert bounced(db) == [("bob@example.com", "HardBounce")]


def test_a_token_signed_with_another_key_binds_nobody(db: Database) -> None:
    message_id = message_to(db, "bob@example.com")
    path = SIGNER.return_path(message_id, "bob@example.com")
    row = process(db, dsn_bytes(failed("bob@example.com")), path, key=b"the server's key")
    assert row.state == "unmatched" and "does not verify" in row.note
    assert row.message_id is None and row.server_id is None
    assert bounced(db) == []


def test_an_unreadable_report_at_a_token_is_an_unknown_bounce_that_suppresses_nobody(
        db: Database) -> None:
    message_id = message_to(db, "alice@example.com", "bob@example.com")
    raw = (DATA / "garbage.eml").read_bytes()
    process(db, raw, SIGNER.return_path(message_id, "bob@example.com"))
    assert bounced(db) == [("bob@example.com", "Unknown")]
    assert suppressed(db) == []


def test_the_stored_key_is_made_once_and_shared(db: Database, database_url: str) -> None:
    """Every process (here: a second engine on the same database) signs with one key."""
    first = signing_keys.verp_key(db, None)
    other = Database(database_url, pool_size=1)
    try:
        assert signing_keys.verp_key(other, None) == first
    finally:
        other.close()
    assert len(first) == 64  # 256 random bits, hex
    with db.write() as conn:
        assert signing_keys.verp_key_in(conn, None) == first
        # A configured secret wins, and is not stored.
        assert signing_keys.verp_key_in(conn, "configured") == b"configured"
        assert signing_keys.get_or_create(conn, signing_keys.VERP).encode() == first


def test_nul_in_what_a_report_says_is_stored_not_fatal(db: Database) -> None:
    """PostgreSQL text holds no NUL: a report carrying some still settles (once)."""
    message_id = message_to(db, "alice@example.com", "bob@example.com")
    path = SIGNER.return_path(message_id, "bob@example.com")
    block = {**failed("bob@example.com"), "Diagnostic-Code": "smtp; 550 no\0such user"}
    process(db, dsn_bytes(block), path)
    assert bounced(db) == [("bob@example.com", "HardBounce")]
    stranger = process(db, dsn_bytes(failed("x\0y@example.net")), path)
    assert stranger.state == "unmatched" and "\0" not in stranger.note
