"""Dashboard pages for suppressions (search, add, reactivate, CSV) and webhooks."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from postlane.domain import addresses, payloads
from postlane.domain.errors import Refused
from postlane.services import streams as stream_service
from postlane.services import suppressions as suppression_service
from postlane.services import webhooks as webhook_service
from postlane.store import streams, suppressions, webhooks
from postlane.store.database import Database
from postlane.web import deps, session
from postlane.web.pages import load_server
from postlane.web.render import back_to, flash, page

router = APIRouter(prefix="/dashboard/servers/{server_id}",
                   dependencies=[Depends(session.require_login)])
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000
MAX_ERROR_FLASHES = 10
#: Addresses per transaction when importing: bulk inserts, and SQLite's single write lock is
#: never held for a whole large file, so accepts keep flowing during an import.
IMPORT_CHUNK = 10_000
CSV_HEADER = ("EmailAddress", "SuppressionReason", "Origin", "CreatedAt")


def _suppression_context(db: Database, server_id: int, stream: str,
                         q: str | None) -> dict[str, Any]:
    with db.read() as conn:
        rows = suppressions.dump(conn, server_id, stream,
                                 email=addresses.normalize(q) if q else None, limit=1000)
        return {"streams": streams.listing(conn, server_id, None, False),
                "suppressions": [payloads.suppression(r) for r in rows]}


@router.get("/suppressions")
async def suppression_list(request: Request, server_id: int) -> Response:
    db = deps.db(request)
    server = await db.run(load_server, db, server_id)
    stream = (deps.query(request, "stream") or "outbound").lower()
    q = deps.query(request, "q")
    context = await db.run(_suppression_context, db, server_id, stream, q)
    return page(request, "suppressions.html", server=server, section="suppressions",
                stream=stream, q=q, **context)


def _apply(db: Database, server_id: int, stream: str, emails: list[str],
           remove: bool) -> list[dict[str, Any]]:
    with db.write() as conn:
        action = suppression_service.reactivate if remove else suppression_service.suppress
        return action(conn, server_id, stream, emails)


async def _import(db: Database, server_id: int, stream: str,
                  emails: list[str]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for start in range(0, len(emails), IMPORT_CHUNK):
        results += await db.run(_apply, db, server_id, stream,
                                emails[start:start + IMPORT_CHUNK], False)
    return results


def _report(request: Request, results: list[dict[str, Any]], done: str) -> None:
    ok = [r["EmailAddress"] for r in results if r["Status"] != "Failed"]
    failed = [f"{_short(r['EmailAddress']) or '(blank)'}: {r['Message']}" for r in results
              if r["Status"] == "Failed"]
    if ok:
        flash(request, f"{done}: {len(ok)} address(es)" + (f" ({ok[0]})" if len(ok) == 1 else ""))
    for line in failed[:MAX_ERROR_FLASHES]:
        flash(request, line, "error")
    if len(failed) > MAX_ERROR_FLASHES:
        flash(request, f"... and {len(failed) - MAX_ERROR_FLASHES} more.", "error")


def _short(text: str, limit: int = 80) -> str:
    """Flashes travel in the session cookie (4 KB at most): a long bad row would lose them."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


async def _change(request: Request, server_id: int, remove: bool) -> Response:
    form = await request.form()
    stream = str(form.get("stream") or "outbound")
    db = deps.db(request)
    try:
        results = await db.run(_apply, db, server_id, stream, [str(form.get("email") or "")],
                               remove)
        deps.wake_worker(request)  # SubscriptionChange webhooks may be queued
        _report(request, results, "Reactivated" if remove else "Suppressed")
    except Refused as exc:
        flash(request, exc.message, "error")
    return back_to(f"/dashboard/servers/{server_id}/suppressions?stream={stream}")


@router.post("/suppressions/add")
async def add(request: Request, server_id: int) -> Response:
    return await _change(request, server_id, remove=False)


@router.post("/suppressions/delete")
async def delete(request: Request, server_id: int) -> Response:
    return await _change(request, server_id, remove=True)


def parse_csv(data: bytes) -> list[str]:
    """Addresses from the first column; a header row naming EmailAddress is skipped."""
    text = data.decode("utf-8-sig", "replace")
    emails: list[str] = []
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0].strip():
            continue
        if not emails and row[0].strip().lower() in ("emailaddress", "email", "email address"):
            continue
        emails.append(row[0].strip())
    return emails


@router.post("/suppressions/import")
async def import_csv(request: Request, server_id: int) -> Response:
    form = await request.form(max_part_size=MAX_IMPORT_BYTES)
    stream = str(form.get("stream") or "outbound")
    upload = form.get("file")
    target = f"/dashboard/servers/{server_id}/suppressions?stream={stream}"
    if not isinstance(upload, UploadFile):
        flash(request, "Choose a CSV file to import.", "error")
        return back_to(target)
    data = await upload.read(MAX_IMPORT_BYTES + 1)
    emails = parse_csv(data[:MAX_IMPORT_BYTES])
    if len(data) > MAX_IMPORT_BYTES or len(emails) > MAX_IMPORT_ROWS:
        flash(request, f"The file is too large: at most {MAX_IMPORT_ROWS} addresses "
                       f"and {MAX_IMPORT_BYTES // (1024 * 1024)} MiB.", "error")
        return back_to(target)
    db = deps.db(request)
    try:
        _report(request, await _import(db, server_id, stream, emails), "Imported")
        deps.wake_worker(request)
    except Refused as exc:
        flash(request, exc.message, "error")
    return back_to(target)


def _export(db: Database, server_id: int, stream: str) -> str:
    with db.read() as conn:
        stream_service.require(conn, server_id, stream)
        rows = suppressions.dump(conn, server_id, stream)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in rows:
        item = payloads.suppression(row)
        writer.writerow([spreadsheet_safe(str(item[key])) for key in CSV_HEADER])
    return out.getvalue()


def spreadsheet_safe(cell: str) -> str:
    """A valid address may start with "=" or "+"; spreadsheets would run it as a formula."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


@router.get("/suppressions/export")
async def export_csv(request: Request, server_id: int) -> Response:
    stream = (deps.query(request, "stream") or "outbound").lower()
    db = deps.db(request)
    body = await db.run(_export, db, server_id, stream)
    return Response(body, media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="suppressions-{server_id}-{stream}.csv"'})


def _webhook_context(db: Database, server_id: int) -> dict[str, Any]:
    with db.read() as conn:
        return {"webhooks": [payloads.webhook(r) for r in webhooks.listing(conn, server_id)],
                "deliveries": [payloads.webhook_delivery(r)
                               for r in webhooks.deliveries(conn, server_id, limit=200)]}


@router.get("/webhooks")
async def webhook_list(request: Request, server_id: int) -> Response:
    db = deps.db(request)
    server = await db.run(load_server, db, server_id)
    context = await db.run(_webhook_context, db, server_id)
    return page(request, "webhooks.html", server=server, section="webhooks", **context)


def _retry(db: Database, server_id: int, delivery_id: int) -> None:
    with db.write() as conn:
        webhook_service.retry_delivery(conn, server_id, delivery_id)


@router.post("/webhook-deliveries/{delivery_id}/retry")
async def retry(request: Request, server_id: int, delivery_id: int) -> Response:
    db = deps.db(request)
    try:
        await db.run(_retry, db, server_id, delivery_id)
        deps.wake_worker(request)
        flash(request, f"Delivery {delivery_id} queued for retry.")
    except Refused as exc:
        flash(request, exc.message, "error")
    return back_to(f"/dashboard/servers/{server_id}/webhooks")
