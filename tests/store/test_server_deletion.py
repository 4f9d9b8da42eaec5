"""Deleting a server while the worker is writing about it.

On PostgreSQL the delete takes the server's row lock and then cascades into its children,
while a worker step locks a child row first and then takes a key-share lock on the server
row (any insert that references it): the two can deadlock. The deletion must win in the
end (the database aborts one side; the delete is retried), not answer 503.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from postlane import pipeline
from postlane.domain.types import JobKind, JobState
from postlane.services import servers as server_service
from postlane.store import bounces, migrate, webhooks
from postlane.store import servers as server_store
from postlane.store.database import Database
from postlane.store.schema import bounces as bounce_table
from tests.support.records import hard_bounce


def test_a_server_deleted_while_a_worker_writes_about_it_is_deleted(
        db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: the two cannot interleave")
    migrate.upgrade(db)
    with db.write() as conn:
        server_id = server_store.create(conn, "Doomed")
        bounce = bounces.insert_many(conn, [hard_bounce(server_id, "a@example.test",
                                                        False, datetime.now(UTC))])[0]
    worker_locked = threading.Event()
    delete_waiting = threading.Event()
    worker_errors: list[BaseException] = []

    def worker_step() -> None:
        """What a pipeline step does: touch a child row, then insert a row that
        references the server."""
        try:
            with db.write() as conn:
                conn.execute(bounce_table.update().where(bounce_table.c.id == bounce.id)
                             .values(details="worker was here"))
                worker_locked.set()
                delete_waiting.wait(5)
                bounces.insert_many(conn, [hard_bounce(server_id, "b@example.test",
                                                       False, datetime.now(UTC))])
        except BaseException as error:
            worker_errors.append(error)

    worker = threading.Thread(target=worker_step)
    worker.start()
    assert worker_locked.wait(5)
    # The delete blocks on the worker's row; the worker then blocks on the server row.
    threading.Timer(0.3, delete_waiting.set).start()
    deleted = server_service.delete(db, server_id)
    worker.join(10)
    assert deleted.name == "Doomed"
    with db.read() as conn:
        assert server_store.get(conn, server_id) is None
        left = conn.execute(sa.select(sa.func.count()).select_from(bounce_table)
                            .where(bounce_table.c.server_id == server_id)).scalar()
    assert left == 0
    assert not [e for e in worker_errors if "deadlock" not in str(e).lower()]


def test_deleting_a_server_ends_its_queued_webhook_jobs(db: Database) -> None:
    """A notify job names its delivery row by id. The cascade deletes the rows, not the
    jobs (they have no foreign key), and SQLite hands a deleted row's id to the next one:
    a stale job would POST another server's delivery. The delete ends them."""
    from tests.store.test_pipeline import job_rows, make_server

    migrate.upgrade(db)
    doomed, other = make_server(db), make_server(db)
    with db.write() as conn:
        (delivery_id,) = webhooks.add_deliveries(conn, [{
            "server_id": doomed, "webhook_id": None, "url": "https://hooks.example/x",
            "record_type": "Bounce", "http_auth": None, "http_headers": [], "payload": {}}])
        pipeline.enqueue_many(conn, JobKind.NOTIFY, [str(delivery_id)], server_ids=[doomed])
        (kept_id,) = webhooks.add_deliveries(conn, [{
            "server_id": other, "webhook_id": None, "url": "https://hooks.example/y",
            "record_type": "Bounce", "http_auth": None, "http_headers": [], "payload": {}}])
        pipeline.enqueue_many(conn, JobKind.NOTIFY, [str(kept_id)], server_ids=[other])
    server_service.delete(db, doomed)
    states = {row["ref"]: row["state"] for row in job_rows(db, JobKind.NOTIFY)}
    assert states == {str(delivery_id): JobState.DONE.value, str(kept_id): JobState.QUEUED.value}
