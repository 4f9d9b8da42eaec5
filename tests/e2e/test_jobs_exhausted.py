"""A job that runs out of attempts leaves a visible event on its message, and its
recipients are not left Queued for ever: a real server whose screen step cannot read a
suppression row (one written with a reason this version does not know, as after a
downgrade) fails on every attempt; when its schedule is spent the message's details, as
the API and the dashboard show them, say so."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Browser

from postlane.domain.types import SuppressionOrigin, SuppressionReason
from postlane.store import suppressions
from postlane.store.database import Database
from postlane.store.schema import suppressions as suppressions_table
from tests.support.browser import login, open_page
from tests.support.harness import make_message, smtp_send, start_server, test_settings, wait_until


def test_a_step_that_always_fails_leaves_failed_recipients_and_an_event(
        database_url: str, tmp_path: Path, browser: Browser) -> None:
    # The internal schedule (about 6 minutes) shrunk to a fraction of a second.
    running = start_server(test_settings(database_url, tmp_path / "data", retry_scale=0.001))
    db = Database(database_url, pool_size=2)
    try:
        with db.write() as conn:
            suppressions.add(conn, running.server_id, "outbound", "poison@example.com",
                             SuppressionReason.MANUAL, SuppressionOrigin.CUSTOMER)
            conn.execute(sa.update(suppressions_table).values(reason="FromANewerVersion"))
        msg = make_message("ok@example.com, poison@example.com")
        code, message_id = smtp_send(running, msg, ["ok@example.com", "poison@example.com"])
        assert code == 250
        api = running.api()

        def given_up() -> dict[str, object] | None:
            shown = api.get(f"/messages/outbound/{message_id}/details").json()
            return shown if shown["Status"] != "Queued" else None

        shown = wait_until(given_up, timeout=30, message="the screen job to run out")
        assert shown["Status"] == "Failed"
        # Postmark has no message event for a step that gave up: the API's events stay
        # Postmark's (none here), the Status says Failed.
        assert shown["MessageEvents"] == []
        # The dashboard's timeline shows Postlane's own entry for each recipient: which
        # step gave up, after how many attempts, and why.
        with open_page(browser, running) as page:
            login(page, running.account_token)
            page.goto(f"/dashboard/servers/{running.server_id}/messages/{message_id}")
            rows = page.locator("tbody tr").all_inner_texts()
        failed = [row for row in rows if "Failed" in row and "gave up" in row]
        assert len(failed) == 2, rows
        assert sorted(r for r in ("ok@example.com", "poison@example.com")
                      for row in failed if r in row) == ["ok@example.com",
                                                         "poison@example.com"]
        for row in failed:
            assert "Step: screen" in row and "Attempts: 6" in row, row
            assert "FromANewerVersion" in row, row
    finally:
        db.close()
        running.stop()
