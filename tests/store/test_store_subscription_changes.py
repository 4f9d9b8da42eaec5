"""pipeline.subscriptions on both backends, below the API: store.suppressions.add_new names
exactly the rows it added (across statements, and when two imports race on the same
addresses, so each address is announced once), and a bulk import announces every new
address in batches when a SubscriptionChange webhook listens, and nothing otherwise."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from postlane.domain.types import JobKind, SuppressionOrigin, SuppressionReason
from postlane.pipeline import subscriptions
from postlane.store import servers, suppressions, webhooks
from postlane.store.database import Database
from postlane.store.schema import jobs, webhook_deliveries

MANUAL = SuppressionReason.MANUAL
CUSTOMER = SuppressionOrigin.CUSTOMER
LISTENING = {"SubscriptionChange": {"Enabled": True}}


def make_server(db: Database, triggers: dict[str, dict[str, bool]] | None = None) -> int:
    with db.write() as conn:
        server_id = servers.create(conn, f"srv-{time.monotonic_ns()}")
        if triggers is not None:
            webhooks.create(conn, server_id, {"url": "https://hooks.example.com/sc",
                                              "stream": "outbound", "http_headers": [],
                                              "triggers": triggers})
        return server_id


def announced(db: Database, server_id: int) -> list[str]:
    """The recipients of the server's queued SubscriptionChange deliveries (each with its
    NOTIFY job)."""
    with db.read() as conn:
        rows = conn.execute(sa.select(webhook_deliveries.c.id, webhook_deliveries.c.payload)
                            .where(webhook_deliveries.c.server_id == server_id,
                                   webhook_deliveries.c.record_type == "SubscriptionChange")
                            ).all()
        refs = set(conn.execute(sa.select(jobs.c.ref).where(
            jobs.c.kind == JobKind.NOTIFY.value, jobs.c.server_id == server_id)).scalars())
    assert {str(row.id) for row in rows} == refs
    return sorted(row.payload["Recipient"] for row in rows)


def test_add_new_names_only_the_new_rows_across_statements(db: Database) -> None:
    server_id = make_server(db)
    emails = [f"user{i:05}@bulk.example.com" for i in range(5_500)]
    with db.write() as conn:
        assert suppressions.add_many(conn, server_id, "outbound", emails[:3_000], MANUAL,
                                     CUSTOMER) == 3_000
    with db.write() as conn:
        added = suppressions.add_new(conn, server_id, "outbound", [*emails, emails[-1]],
                                     MANUAL, CUSTOMER)
    assert added == emails[3_000:]
    with db.write() as conn:
        assert suppressions.add_new(conn, server_id, "outbound", emails, MANUAL,
                                    CUSTOMER) == []
        assert suppressions.add_new(conn, server_id, "outbound", [], MANUAL, CUSTOMER) == []


def test_a_bulk_import_is_announced_in_batches_only_when_listened(db: Database) -> None:
    quiet, listened = make_server(db), make_server(db, LISTENING)
    emails = [f"user{i:05}@bulk.example.com" for i in range(6_001)]
    for server_id in (quiet, listened):
        for start in range(0, len(emails), 3_000):  # the dashboard imports in chunks
            with db.write() as conn:
                subscriptions.suppress(conn, server_id, "outbound", emails[start:start + 3_000],
                                       MANUAL, CUSTOMER)
    assert announced(db, quiet) == []
    assert announced(db, listened) == emails
    with db.read() as conn:
        assert suppressions.count(conn, quiet) == suppressions.count(conn, listened) == 6_001


def test_a_disabled_or_other_trigger_does_not_listen(db: Database) -> None:
    server_id = make_server(db, {"SubscriptionChange": {"Enabled": False},
                                 "Bounce": {"Enabled": True}})
    with db.write() as conn:
        assert subscriptions.suppress(conn, server_id, "outbound", ["a@example.com"], MANUAL,
                                      CUSTOMER) == 1
        assert subscriptions.release(conn, server_id, "outbound", "a@example.com", CUSTOMER)
    assert announced(db, server_id) == []


def test_racing_imports_announce_each_address_once(db: Database) -> None:
    server_id = make_server(db, LISTENING)
    emails = [f"race{i:04}@example.com" for i in range(2_000)]
    errors: list[BaseException] = []

    def run(batch: list[str]) -> None:
        try:
            with db.write() as conn:
                subscriptions.suppress(conn, server_id, "outbound", batch, MANUAL, CUSTOMER)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(emails,)),
               threading.Thread(target=run, args=(emails[::-1],))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert announced(db, server_id) == emails


def test_release_announces_only_a_removal(db: Database) -> None:
    server_id = make_server(db, LISTENING)
    with db.write() as conn:
        assert not subscriptions.release(conn, server_id, "outbound", "none@example.com",
                                         CUSTOMER)
        subscriptions.suppress(conn, server_id, "outbound", ["x@example.com"], MANUAL, CUSTOMER)
        assert subscriptions.release(conn, server_id, "outbound", "x@example.com", CUSTOMER)
    assert announced(db, server_id) == ["x@example.com", "x@example.com"]
