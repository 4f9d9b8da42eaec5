"""The dashboard's Suppressions page (CSV import and export, search, reactivate, spam
complaints final) and Webhooks page (delivery log, manual Retry) in a real browser."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page

from postlane.domain.retry import WEBHOOK_SCHEDULE, max_attempts
from postlane.domain.types import SuppressionOrigin, SuppressionReason
from postlane.store import suppressions
from postlane.store.database import Database
from tests.support.browser import error_flashes, flashes, login, open_page, server_page
from tests.support.harness import (
    RunningServer,
    WebhookReceiver,
    make_message,
    smtp_send,
    wait_until,
)


@pytest.fixture
def backend() -> str:
    """The dashboard reads the same store as the API: its browser tests run on SQLite."""
    return "sqlite"


CSV_TEXT = ("EmailAddress\r\n"
            "Alpha@Example.com\r\n"
            "\r\n"
            "beta@example.com\r\n"
            "not-an-address\r\n")


def _submit(page: Page, button: str) -> None:
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def _listed(page: Page) -> list[list[str]]:
    """The suppression table's rows as [email, reason, origin]."""
    return [row.locator("td").all_inner_texts()[:3]
            for row in page.locator("tbody tr").all() if row.locator("td").count() > 1]


def test_suppressions_csv_search_reactivate(dash: Page, server: RunningServer, db: Database,
                                            tmp_path: Path) -> None:
    upload = tmp_path / "import.csv"
    upload.write_text(CSV_TEXT)
    server_page(dash, server, "suppressions")
    assert dash.get_by_text("No suppressed addresses.").count() == 1

    # Import: two addresses; the invalid one is reported; header and blank line skipped.
    dash.get_by_label("CSV file").set_input_files(str(upload))
    _submit(dash, "Import CSV")
    assert flashes(dash) == [
        "Imported: 2 address(es)",
        "not-an-address: An invalid email address was provided."]
    assert error_flashes(dash) == ["not-an-address: An invalid email address was provided."]
    assert sorted(_listed(dash)) == [["alpha@example.com", "ManualSuppression", "Customer"],
                                     ["beta@example.com", "ManualSuppression", "Customer"]]

    # Export CSV downloads exactly those rows under Postmark's field names.
    with dash.expect_download() as download:
        dash.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == f"suppressions-{server.server_id}-outbound.csv"
    rows = list(csv.reader(Path(download.value.path()).read_text().splitlines()))
    assert rows[0] == ["EmailAddress", "SuppressionReason", "Origin", "CreatedAt"]
    assert sorted(r[:3] for r in rows[1:]) == [
        ["alpha@example.com", "ManualSuppression", "Customer"],
        ["beta@example.com", "ManualSuppression", "Customer"]]
    assert all(r[3].endswith("Z") for r in rows[1:])

    # Search by address (case-insensitive, as the suppression keys are).
    dash.get_by_placeholder("Email address").fill("BETA@example.com")
    _submit(dash, "Search")
    assert _listed(dash) == [["beta@example.com", "ManualSuppression", "Customer"]]

    # Reactivate removes it; the API agrees.
    _submit(dash, "Reactivate")
    assert flashes(dash) == ["Reactivated: 1 address(es) (beta@example.com)"]
    assert _listed(dash) == [["alpha@example.com", "ManualSuppression", "Customer"]]
    with server.api() as api:
        dump = api.get("/message-streams/outbound/suppressions/dump").json()["Suppressions"]
    assert [s["EmailAddress"] for s in dump] == ["alpha@example.com"]

    # A spam complaint is final: listed, but with no Reactivate button.
    with db.write() as conn:
        suppressions.add(conn, server.server_id, "outbound", "spammed@example.com",
                         SuppressionReason.SPAM_COMPLAINT, SuppressionOrigin.RECIPIENT)
    dash.reload()
    spam = dash.locator("tbody tr", has_text="spammed@example.com")
    assert spam.locator("td").all_inner_texts()[:3] == [
        "spammed@example.com", "SpamComplaint", "Recipient"]
    assert spam.get_by_role("button", name="Reactivate").count() == 0
    alpha = dash.locator("tbody tr", has_text="alpha@example.com")
    assert alpha.get_by_role("button", name="Reactivate").count() == 1


def test_import_reports_many_long_bad_rows(dash: Page, server: RunningServer,
                                          tmp_path: Path) -> None:
    """Flashes travel in the session cookie: a file of long bad rows must still be reported
    (they used to overflow the cookie, and the page showed nothing at all)."""
    upload = tmp_path / "bad.csv"
    upload.write_text("ok@example.com\n" + "".join(f"{'y' * 600}{i}\n" for i in range(12)))
    server_page(dash, server, "suppressions")
    dash.get_by_label("CSV file").set_input_files(str(upload))
    _submit(dash, "Import CSV")
    assert flashes(dash)[0] == "Imported: 1 address(es) (ok@example.com)"
    errors = error_flashes(dash)
    assert len(errors) == 11 and errors[-1] == "... and 2 more."
    assert all(e.startswith("yyy") and e.endswith("…: An invalid email address was provided.")
               for e in errors[:10])


INJECTION = '"><b id="injected">x</b>'


def test_user_input_is_escaped(dash: Page, server: RunningServer) -> None:
    """Markup typed into forms comes back as text, in flashes and in reflected filters."""
    server_page(dash, server, "suppressions")
    dash.get_by_label("Address to suppress").fill(INJECTION)
    _submit(dash, "Suppress")
    assert error_flashes(dash) == [f"{INJECTION}: An invalid email address was provided."]
    assert dash.locator("#injected").count() == 0
    for section, field in (("activity", "recipient"), ("bounces", "email"),
                           ("suppressions", "q")):
        query = urlencode({field: INJECTION})
        dash.goto(f"/dashboard/servers/{server.server_id}/{section}?{query}")
        assert dash.locator(f"input[name={field}]").input_value() == INJECTION, section
        assert dash.locator("#injected").count() == 0, section


def _delivery_state(page: Page, wanted: str) -> bool:
    page.reload()
    badge = page.locator("h2:text('Delivery log') + table tbody tr .badge")
    return badge.count() == 1 and badge.inner_text() == wanted


def _log_row(page: Page) -> dict[str, str]:
    headers = page.locator("h2:text('Delivery log') + table thead th").all_inner_texts()
    cells = page.locator("h2:text('Delivery log') + table tbody tr").first.locator("td")
    return dict(zip(headers, cells.all_inner_texts(), strict=True))


def test_webhook_delivery_log_and_retry(browser: Browser,
                                        make_server: Callable[..., RunningServer]) -> None:
    attempts = max_attempts(WEBHOOK_SCHEDULE)
    receiver = WebhookReceiver(responses=[500] * attempts).start()
    srv = make_server(retry_scale=0.00002)
    try:
        with srv.api() as api:
            assert api.put("/server", json={"EnableSmtpApiErrorHooks": True}).status_code == 200
            r = api.post("/webhooks", json={"Url": receiver.url, "MessageStream": "outbound",
                                            "Triggers": {"Bounce": {"Enabled": True}}})
            assert r.status_code == 200, r.text
            r = api.post("/message-streams/outbound/suppressions",
                         json={"Suppressions": [{"EmailAddress": "hooked@example.com"}]})
            assert r.status_code == 200, r.text
        code, _ = smtp_send(srv, make_message("hooked@example.com"), ["hooked@example.com"])
        assert code == 250

        with open_page(browser, srv) as pg:
            login(pg, srv.account_token)
            server_page(pg, srv, "webhooks")
            hooks = pg.locator("h1 + table tbody tr").first.locator("td").all_inner_texts()
            assert hooks[1:3] == [receiver.url, "outbound"]

            # Every attempt answered 500: the log shows the delivery failed.
            wait_until(lambda: _delivery_state(pg, "failed"), timeout=30,
                       message="the delivery to fail for good")
            row = _log_row(pg)
            assert (row["URL"], row["Record"], row["Attempts"]) == (receiver.url, "Bounce",
                                                                    str(attempts))
            assert (row["Last status"], row["Last error"]) == ("500", "HTTP 500")
            assert len(receiver.requests) == attempts

            # The receiver recovers; Retry delivers it.
            _submit(pg, "Retry")
            assert flashes(pg) == [f"Delivery {row['ID']} queued for retry."]
            wait_until(lambda: _delivery_state(pg, "delivered"), timeout=30,
                       message="the retried delivery")
            row = _log_row(pg)
            assert (row["Last status"], row["Last error"]) == ("200", "")
            assert row["Attempts"] == str(attempts + 1)
            assert pg.get_by_role("button", name="Retry").count() == 0
        bodies = receiver.bodies()
        assert len(bodies) == attempts + 1
        assert bodies[-1]["RecordType"] == "Bounce"
        assert bodies[-1]["Email"] == "hooked@example.com"
        assert bodies[-1] == bodies[0]
    finally:
        receiver.stop()


def test_exported_cells_never_start_a_formula() -> None:
    from postlane.web.pages_lists import spreadsheet_safe

    assert spreadsheet_safe("=1+2@example.com") == "'=1+2@example.com"
    assert spreadsheet_safe("+1@example.com") == "'+1@example.com"
    assert spreadsheet_safe("-x@example.com") == "'-x@example.com"
    assert spreadsheet_safe("plain@example.com") == "plain@example.com"
