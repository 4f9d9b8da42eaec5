"""Bulk suppression inserts (store.suppressions.add_many) on both backends, and the
customer suppress service built on them: new rows counted, existing suppressions keep
their reason, duplicates collapse, scoping by server and stream, chunking past one
statement, per-address results unchanged, and concurrent imports that overlap."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from postlane.domain.types import SuppressionOrigin, SuppressionReason
from postlane.services import suppressions as service
from postlane.store import servers, suppressions
from postlane.store.database import Database
from postlane.store.schema import suppressions as table

MANUAL = SuppressionReason.MANUAL
CUSTOMER = SuppressionOrigin.CUSTOMER


def make_server(db: Database) -> int:
    with db.write() as conn:
        return servers.create(conn, f"srv-{time.monotonic_ns()}")


def add_many(db: Database, server_id: int, emails: list[str], stream: str = "outbound",
             reason: SuppressionReason = MANUAL,
             origin: SuppressionOrigin = CUSTOMER) -> int:
    with db.write() as conn:
        return suppressions.add_many(conn, server_id, stream, emails, reason, origin)


def rows(db: Database, server_id: int, stream: str = "outbound") -> dict[str, RowMapping]:
    with db.read() as conn:
        found = conn.execute(sa.select(table).where(table.c.server_id == server_id,
                                                    table.c.stream == stream)).mappings()
        return {row["email"]: row for row in found}


def test_add_many_inserts_and_counts(db: Database) -> None:
    server_id = make_server(db)
    assert add_many(db, server_id, ["a@example.com", "b@example.com"]) == 2
    stored = rows(db, server_id)
    assert set(stored) == {"a@example.com", "b@example.com"}
    for row in stored.values():
        assert (row["reason"], row["origin"]) == ("ManualSuppression", "Customer")
        assert row["created_at"] is not None
    with db.read() as conn:
        found = suppressions.lookup(conn, server_id, "outbound",
                                    ["a@example.com", "c@example.com"])
    assert list(found) == ["a@example.com"]
    assert found["a@example.com"].reason is MANUAL


def test_add_many_keeps_existing_reason_and_counts_only_new(db: Database) -> None:
    server_id = make_server(db)
    with db.write() as conn:
        suppressions.add(conn, server_id, "outbound", "hard@example.com",
                         SuppressionReason.HARD_BOUNCE, SuppressionOrigin.RECIPIENT)
    added = add_many(db, server_id, ["hard@example.com", "new@example.com"])
    assert added == 1
    stored = rows(db, server_id)
    assert stored["hard@example.com"]["reason"] == "HardBounce"
    assert stored["hard@example.com"]["origin"] == "Recipient"
    assert stored["new@example.com"]["reason"] == "ManualSuppression"
    assert add_many(db, server_id, ["hard@example.com", "new@example.com"]) == 0
    assert len(rows(db, server_id)) == 2


def test_add_many_collapses_duplicates_and_accepts_empty(db: Database) -> None:
    server_id = make_server(db)
    assert add_many(db, server_id, []) == 0
    assert add_many(db, server_id, ["d@example.com", "d@example.com", "e@example.com"]) == 2
    assert set(rows(db, server_id)) == {"d@example.com", "e@example.com"}


def test_add_many_is_scoped_by_server_and_stream(db: Database) -> None:
    first, second = make_server(db), make_server(db)
    assert add_many(db, first, ["s@example.com"]) == 1
    assert add_many(db, first, ["s@example.com"], stream="broadcast") == 1
    assert add_many(db, second, ["s@example.com"]) == 1
    assert set(rows(db, first)) == {"s@example.com"}
    assert set(rows(db, first, "broadcast")) == {"s@example.com"}
    assert set(rows(db, second)) == {"s@example.com"}
    with db.read() as conn:
        assert suppressions.count(conn, first) == 2
        assert suppressions.count(conn, second) == 1


def test_add_many_spans_several_statements(db: Database) -> None:
    server_id = make_server(db)
    emails = [f"user{i}@bulk.example.com" for i in range(5_500)]
    assert add_many(db, server_id, emails[:3_000]) == 3_000
    assert add_many(db, server_id, emails) == 2_500  # the first 3,000 are already there
    stored = rows(db, server_id)
    assert len(stored) == 5_500
    with db.read() as conn:
        found = suppressions.lookup(conn, server_id, "outbound",
                                    [*emails[::500], "missing@bulk.example.com"])
    assert set(found) == set(emails[::500])


def test_add_many_rolls_back_with_its_transaction(db: Database) -> None:
    server_id = make_server(db)
    try:
        with db.write() as conn:
            suppressions.add_many(conn, server_id, "outbound", ["r@example.com"], MANUAL,
                                  CUSTOMER)
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    assert rows(db, server_id) == {}


def test_suppress_service_results_per_address(db: Database) -> None:
    server_id = make_server(db)
    with db.write() as conn:
        suppressions.add(conn, server_id, "outbound", "spam@example.com",
                         SuppressionReason.SPAM_COMPLAINT, SuppressionOrigin.RECIPIENT)
    with db.write() as conn:
        results = service.suppress(conn, server_id, "Outbound", [
            " Mixed@Example.COM ", "not-an-address", "spam@example.com", "mixed@example.com",
            ""])
    assert results == [
        {"EmailAddress": "Mixed@Example.COM", "Status": "Suppressed", "Message": None},
        {"EmailAddress": "not-an-address", "Status": "Failed", "Message": service.INVALID},
        {"EmailAddress": "spam@example.com", "Status": "Suppressed", "Message": None},
        {"EmailAddress": "mixed@example.com", "Status": "Suppressed", "Message": None},
        {"EmailAddress": "", "Status": "Failed", "Message": service.INVALID},
    ]
    stored = rows(db, server_id)
    assert set(stored) == {"mixed@example.com", "spam@example.com"}
    assert stored["spam@example.com"]["reason"] == "SpamComplaint"  # never downgraded
    assert stored["mixed@example.com"]["reason"] == "ManualSuppression"


def test_concurrent_overlapping_imports_all_land(db: Database) -> None:
    """Two imports racing on the same addresses: no unique-key error, every address once."""
    server_id = make_server(db)
    emails = [f"race{i}@example.com" for i in range(3_000)]
    errors: list[BaseException] = []
    counts: list[int] = []

    def run(batch: list[str]) -> None:
        try:
            counts.append(add_many(db, server_id, batch))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(emails,)),
               threading.Thread(target=run, args=(emails[::-1],))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(counts) == 3_000
    assert len(rows(db, server_id)) == 3_000
