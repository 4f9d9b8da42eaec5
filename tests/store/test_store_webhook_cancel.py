"""Deleting a webhook cancels its deliveries still to be attempted, on both backends
(issue 12, item 1): their state and their jobs end in the same transaction; delivered
ones and other webhooks' stay as they were; an attempt that was in flight cannot undo
the cancellation."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from postlane.domain.types import DeliveryState, JobKind, JobState
from postlane.store import jobs, servers, webhooks
from postlane.store.database import Database
from postlane.store.schema import jobs as jobs_table


def _setup(db: Database) -> tuple[int, int, int, list[int]]:
    """A server with two webhooks; deliveries: doomed pending, doomed delivered, other."""
    with db.write() as conn:
        server_id = servers.create(conn, f"cancel-{time.monotonic_ns()}")
        doomed, other = (webhooks.create(conn, server_id, {
            "url": f"http://127.0.0.1:9/{name}", "stream": "outbound", "http_auth": None,
            "http_headers": [], "triggers": {}}) for name in ("doomed", "other"))
        ids = webhooks.add_deliveries(conn, [
            {"server_id": server_id, "webhook_id": hook, "url": "http://127.0.0.1:9/",
             "record_type": "Bounce", "payload": {}, "http_auth": None, "http_headers": []}
            for hook in (doomed, doomed, other)])
        jobs.enqueue_many(conn, JobKind.NOTIFY, [str(i) for i in ids], 11,
                          server_ids=[server_id] * 3)
        webhooks.record_attempt(conn, ids[1], delivered=True, final=True, status=200,
                                error=None)
    return server_id, doomed, other, ids


def _job_states(db: Database) -> dict[str, str]:
    with db.read() as conn:
        rows = conn.execute(sa.select(jobs_table.c.ref, jobs_table.c.state)).all()
        return dict(rows)


def _states(db: Database, ids: list[int]) -> list[DeliveryState]:
    with db.read() as conn:
        found = [webhooks.get_delivery(conn, i) for i in ids]
    return [d.state for d in found if d is not None]


def test_delete_cancels_what_is_still_to_go(db: Database) -> None:
    server_id, doomed, _, ids = _setup(db)
    with db.write() as conn:
        in_flight = jobs.claim(conn, "w1", 1, 3600)  # the first delivery's POST is running
        assert webhooks.delete(conn, server_id, doomed)
        assert not webhooks.delete(conn, server_id, doomed)

    assert _states(db, ids) == [DeliveryState.CANCELLED, DeliveryState.DELIVERED,
                                DeliveryState.PENDING]
    with db.read() as conn:
        cancelled = webhooks.get_delivery(conn, ids[0])
    assert cancelled is not None
    assert cancelled.last_error == f"Cancelled: webhook {doomed} was deleted"
    assert _job_states(db) == {str(ids[0]): JobState.DONE.value,
                               str(ids[1]): JobState.QUEUED.value,  # its own job settles it
                               str(ids[2]): JobState.QUEUED.value}

    # The POST that was in flight fails afterwards: its record does not reopen it...
    with db.write() as conn:
        webhooks.record_attempt(conn, ids[0], delivered=False, final=False, status=500,
                                error="HTTP 500")
        jobs.fail(conn, in_flight[0], "HTTP 500", 60)
    assert _states(db, ids)[0] is DeliveryState.CANCELLED
    # ... and one that succeeded cannot complete a job that is no longer its own.
    with pytest.raises(jobs.LeaseLost), db.write() as conn:
        jobs.complete(conn, in_flight[0])


def test_a_cancelled_delivery_can_be_reopened(db: Database) -> None:
    server_id, doomed, _, ids = _setup(db)
    with db.write() as conn:
        webhooks.delete(conn, server_id, doomed)
        webhooks.reopen(conn, ids[0])
        assert jobs.retry_now(conn, JobKind.NOTIFY, str(ids[0]), done_too=True)
    assert _states(db, ids)[0] is DeliveryState.RETRYING
    assert _job_states(db)[str(ids[0])] == JobState.QUEUED.value
