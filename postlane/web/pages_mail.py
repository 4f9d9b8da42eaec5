"""Dashboard pages about mail: activity, a message (the Sandbox viewer), bounces."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from postlane.domain import bounce_types, outcomes, payloads
from postlane.domain.errors import Refused
from postlane.domain.records import Page
from postlane.services import bounces as bounce_service
from postlane.services import messages as message_service
from postlane.store import bounces
from postlane.store.database import Database
from postlane.web import deps, session
from postlane.web.pages import load_server
from postlane.web.render import back_to, flash, page

router = APIRouter(prefix="/dashboard/servers/{server_id}",
                   dependencies=[Depends(session.require_login)])
PAGE_SIZE = 100


def _search(db: Database, server_id: int,
            filters: dict[str, Any]) -> message_service.Listing:
    with db.read() as conn:
        return message_service.listing(conn, server_id, PAGE_SIZE, 0, filters)


def _details(db: Database, server_id: int, message_id: str) -> dict[str, Any]:
    with db.read() as conn:
        # The whole timeline, Postlane's own entries too (a step that gave up, a failed
        # webhook POST): the API shows only Postmark's event types.
        return message_service.details(conn, server_id, message_id, history=True)


@router.get("/activity")
async def activity(request: Request, server_id: int) -> Response:
    db = deps.db(request)
    server = await db.run(load_server, db, server_id)
    filters = {"recipient": deps.query(request, "recipient"),
               "status": deps.query(request, "status")}
    listing = await db.run(_search, db, server_id, filters)
    return page(request, "activity.html", server=server, section="activity",
                messages=listing.answer["Messages"], outcomes=listing.outcomes,
                total=listing.answer["TotalCount"], filters=filters,
                statuses=[s.value for s in outcomes.MessageStatus])


@router.get("/messages/{message_id}")
async def message(request: Request, server_id: int, message_id: str) -> Response:
    db = deps.db(request)
    server = await db.run(load_server, db, server_id)
    details = await db.run(_details, db, server_id, message_id)
    return page(request, "message.html", server=server, section="activity", message=details)


def _bounces(db: Database, server_id: int, bounce_type: str | None,
             email: str | None) -> Page[dict[str, Any]]:
    with db.read() as conn:
        found = bounces.search(conn, server_id, count=PAGE_SIZE, offset=0,
                               bounce_type=bounce_type, email_filter=email)
    return Page(found.total, [payloads.bounce(b, include_content=False) for b in found.items])


@router.get("/bounces")
async def bounce_list(request: Request, server_id: int) -> Response:
    db = deps.db(request)
    server = await db.run(load_server, db, server_id)
    filters = {"type": deps.query(request, "type"), "email": deps.query(request, "email")}
    found = await db.run(_bounces, db, server_id, filters["type"], filters["email"])
    return page(request, "bounces.html", server=server, section="bounces", bounces=found.items,
                total=found.total, filters=filters, types=bounce_types.ALL_TYPES)


def _activate(db: Database, server_id: int, bounce_id: int) -> str:
    with db.write() as conn:
        row = bounce_service.activate(conn, server_id, bounce_id)
    return row.email


@router.post("/bounces/{bounce_id}/activate")
async def activate(request: Request, server_id: int, bounce_id: int) -> Response:
    db = deps.db(request)
    try:
        email = await db.run(_activate, db, server_id, bounce_id)
        flash(request, f"{email} is active again.")
    except Refused as exc:
        flash(request, exc.message, "error")
    return back_to(f"/dashboard/servers/{server_id}/bounces")
